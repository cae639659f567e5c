"""Assemble the model pack: manifest.json + MODEL_CARD.md next to model.onnx.

    /usr/bin/python3 -m models.training.pack --run-dir models/training/runs/main \
        --pack-dir models/packs/cxr-tb-v1 [--reader-dir models/training/runs/<reader run>]

With --reader-dir the pack is the two-stage graph export.py --reader wrote: the network of --run-dir gives the lung
fields, boxes and evidence (its eval.json their metrics), the TB reader of --reader-dir the TB score, its operating
threshold and the embedding (its eval.json the classification metrics).
"""
from __future__ import annotations

import argparse
import datetime as dt
import json
import os

import torch

from . import data as D
from . import preprocess as pp
from .export import sha256_file
from .model import EMBEDDING_NAME, OUTPUT_NAMES, output_shapes

HERE = os.path.dirname(os.path.abspath(__file__))

OUTPUT_DOC = {
    "cls_logits": "raw logits over class_names; TB score = 100 * softmax(cls_logits)[2]",
    "det_heatmap": "per-class centre heatmap after sigmoid (det_class_names), stride det_stride",
    "det_size": "box width, height in input (letterbox) pixels at each heatmap cell",
    "det_offset": "sub-cell centre offset (x, y) in heatmap cells; centre_px = (ix + off_x) * stride",
    "lung_logits": "lung-field logits over lung_class_names at stride 2 (softmax/argmax, then upsample bilinearly)",
    "evidence": "coarse evidence map = max over det_heatmap classes, [0,1], stride det_stride",
    "embedding": "the last encoder feature map pooled (mean, then max) inside the model's own predicted lung fields "
                 "(each cell weighted by its lung share); a station fits its site head on it",
}


def load(p):
    with open(p) as f:
        return json.load(f)


def fmt(v, pct=False):
    if v is None:
        return "–"
    return f"{100 * v:.1f}%" if pct else f"{v:.3f}"


def cls_table(ev):
    lines = ["| split | source | n (TB/not) | accuracy | sensitivity | specificity | ROC AUC |",
             "|---|---|---|---|---|---|---|"]
    for sp in ("val", "test"):
        blk = ev["splits"][sp]["classification"]
        for src, c in blk.items():
            lines.append(f"| {sp} | {src} | {c['n']} ({c['n_tb']}/{c['n_not_tb']}) | {fmt(c['accuracy'], True)} | "
                         f"{fmt(c['sensitivity'], True)} | {fmt(c['specificity'], True)} | {fmt(c['auc'])} |")
    return "\n".join(lines)


def det_seg_table(ev):
    lines = ["| split | det images | AP50 active | AP50 obsolete | mAP50 | AP50 class-agnostic | mAP50:95 | lung Dice R / L / mean (n) |",
             "|---|---|---|---|---|---|---|---|"]
    for sp in ("val", "test"):
        d = ev["splits"][sp]["detection"].get("tbx11k", {})
        s = ev["splits"][sp]["segmentation"].get("shenzhen", {})
        lines.append(f"| {sp} | {d.get('n_images', '–')} | {fmt(d.get('AP50_ActiveTuberculosis'))} | "
                     f"{fmt(d.get('AP50_ObsoletePulmonaryTuberculosis'))} | {fmt(d.get('mAP50'))} | "
                     f"{fmt(d.get('AP50_agnostic'))} | {fmt(d.get('mAP50_95'))} | "
                     f"{fmt(s.get('dice_right'))} / {fmt(s.get('dice_left'))} / {fmt(s.get('dice_mean_lr'))} ({s.get('n', '–')}) |")
    o = ev.get("tbx11k_official_val_detection")
    if o:
        lines.append(f"| official TBX11K val (both halves) | {o['n_images']} | {fmt(o['AP50_ActiveTuberculosis'])} | "
                     f"{fmt(o['AP50_ObsoletePulmonaryTuberculosis'])} | {fmt(o['mAP50'])} | {fmt(o['AP50_agnostic'])} | – | |")
    return "\n".join(lines)


def task_steps(run_dir):
    """Batches each task received in a run (the last progress record of train_log.jsonl)."""
    p = os.path.join(run_dir, "train_log.jsonl")
    last = None
    if os.path.exists(p):
        with open(p) as f:
            for line in f:
                rec = json.loads(line)
                if "tasks" in rec:
                    last = rec["tasks"]
    return last or {}


def compare_table(run_dirs):
    """One row per run. A single-task arm reports only its own task's metrics (the other heads are untrained)."""
    rows = []
    for rd in run_dirs:
        p = os.path.join(rd, "eval.json")
        if not os.path.exists(p):
            continue
        ev = load(p)
        v, t = ev["splits"]["val"], ev["splits"]["test"]

        def g(blk, *keys):
            x = blk
            for k in keys:
                x = (x or {}).get(k)
            return x
        sampler = ev.get("sampler") or ""
        only = sampler.split(":", 1)[1] if sampler.startswith("single:") else None
        show = lambda task, val: val if only in (None, task) else None
        ts = task_steps(rd)
        fp = os.path.join(rd, "final.pt")
        ck_args = torch.load(fp, map_location="cpu")["args"] if os.path.exists(fp) else {}
        size = ck_args.get("size", "?")
        steps = ev.get("step")
        if ck_args.get("soup_of"):
            # A weight average has no sampler or step count of its own: name what was averaged.
            sampler = "average of " + " + ".join(
                os.path.basename(os.path.dirname(s["ckpt"])) + f" ({s['step']})" for s in ck_args["soup_of"])
            steps = "–"
        split = f"{ts.get('cls', 0)}/{ts.get('det', 0)}/{ts.get('seg', 0)}" if ts else "–"
        rows.append(
            f"| {os.path.basename(os.path.normpath(rd))} | {sampler} | {size} | {steps} | "
            f"{split} | "
            f"{fmt(show('cls', g(v, 'classification', 'pooled', 'auc')))} | "
            f"{fmt(show('cls', g(v, 'classification', 'pooled_without_tbx11k', 'auc')))} | "
            f"{fmt(show('cls', g(v, 'classification', 'shenzhen', 'auc')))} | "
            f"{fmt(show('cls', g(v, 'classification', 'tbx11k_extra_da_db', 'auc')))} | "
            f"{fmt(show('cls', g(t, 'classification', 'pooled', 'auc')))} | "
            f"{fmt(show('cls', g(t, 'classification', 'pooled_without_tbx11k', 'auc')))} | "
            f"{fmt(show('det', g(v, 'detection', 'tbx11k', 'mAP50')))} | "
            f"{fmt(show('det', g(v, 'detection', 'tbx11k', 'AP50_agnostic')))} | "
            f"{fmt(show('det', g(t, 'detection', 'tbx11k', 'mAP50')))} | "
            f"{fmt(show('seg', g(v, 'segmentation', 'shenzhen', 'dice_mean_lr')))} | "
            f"{fmt(show('seg', g(t, 'segmentation', 'shenzhen', 'dice_mean_lr')))} |")
    if not rows:
        return ""
    head = ["## Sampler comparison: joint (inverse / proportional / uniform) vs single-task at equal per-task budget",
            "Same network, seed 1234, batch 16, lr 2e-3 cosine, except the fine-tunes (`ft_*`, which start from another "
            "run's weights with their own seed and lr; see 'Which run is packed') and weight averages. "
            "Steps cls/det/seg = batches each task received ('–': the run's log was not kept). "
            "A single-task arm gets exactly the batches its task received in the joint run it is paired with "
            "(warmup scaled to its length, own loss only) and reports only its own task. "
            "AUC = TB vs not-TB; 'no-TBX' = pooled without TBX11K (no same-source negatives there); "
            "mAP50 = mean AP50 of the two TBX11K classes on the val / test half; Dice = mean of right/left lung on "
            "Shenzhen 'ok' masks. Every number: that run's `eval.json` (models/training/runs/<run>/), split in the header.",
            "",
            "| run | sampler | input | steps | steps cls/det/seg | val AUC | val AUC no-TBX | val AUC Shenzhen | "
            "val AUC DA/DB | test AUC | test AUC no-TBX | val mAP50 | val AP50 agnostic | test mAP50 | val Dice | test Dice |",
            "|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|"]
    return "\n".join(head + rows)


def display_fields(ev):
    """det_decode display score: calibrated on val by evaluate.display_score_on_val (older eval.json: 0.3)."""
    ds = ev.get("display_score")
    if not ds:
        return {"suggested_display_score": 0.3, "display_score_rule": "fixed default (not calibrated)"}
    a = ds["at_score"]
    return {"suggested_display_score": ds["score"], "display_score_rule": ds["rule"],
            "display_score_chosen_on": "val split (see training.split_rule)",
            "display_score_val": {"precision": a["precision"], "recall": a["recall"], "f1": a["f1"],
                                  "lesion_images": ds["n_images_with_boxes"],
                                  "lesion_images_with_a_correct_box": a["lesion_images_with_a_correct_box"],
                                  "lesion_free_images": ds["n_images_without_lesion"],
                                  "lesion_free_images_with_a_box": a["lesion_free_images_with_a_box"]}}


def display_section(ev):
    ds = ev.get("display_score")
    if not ds:
        return ""
    a = ds["at_score"]
    rows = ["| display score | precision | recall | F1 | TBX11K val images with a correct box | lesion-free val images with a box |",
            "|---|---|---|---|---|---|"]
    for c in ds["curve"]:
        if c["t"] in (0.1, 0.15, 0.2, 0.25, 0.3) or c["t"] == ds["score"]:
            mark = " **(chosen)**" if c["t"] == ds["score"] else ""
            rows.append(f"| {c['t']:.2f}{mark} | {fmt(c['precision'])} | {fmt(c['recall'])} | {fmt(c['f1'])} | "
                        f"{c['lesion_images_with_a_correct_box']}/{ds['n_images_with_boxes']} | "
                        f"{c['lesion_free_images_with_a_box']}/{ds['n_images_without_lesion']} |")
    return "\n".join([
        f"### Box display score ({ds['score']:.2f}, chosen on val)",
        f"Rule: {ds['rule']}. At {ds['score']:.2f} on val: precision {fmt(a['precision'])}, recall {fmt(a['recall'])}, "
        f"F1 {fmt(a['f1'])}. The runtime shows boxes whose score reaches `det_decode.suggested_display_score`.",
        "", *rows])


def reader_training(run_dir, rev, rck):
    """The TB reader's training, as the manifest records it."""
    r = rck["args"]
    return {"run": os.path.basename(os.path.normpath(run_dir)), "steps": rck.get("step"), "head": r["head"],
            "augmentation": r["aug"], "sampler": r["sampler"], "seed": r["seed"], "lr": r["lr"],
            "batch_size": r["batch_size"], "lung_dilation_px": r["dilate"], "width": r["width"],
            "adversary_weight": r.get("adv", 0.0), "mixstyle": r.get("mixstyle", 0.0),
            "instance_norm": r.get("instance_norm", False),
            "held_out_sources": list(rev.get("hold_out") or []),
            "lung_fields_from": os.path.basename(os.path.dirname(r["lungs"])),
            "train_fingerprint_sha256": rck.get("meta", {}).get("train_fingerprint")}


def main(argv=None):
    ap = argparse.ArgumentParser()
    ap.add_argument("--run-dir", required=True)
    ap.add_argument("--pack-dir", default=os.path.join(HERE, "..", "packs", "cxr-tb-v1"))
    ap.add_argument("--name", default="cxr-tb-v1")
    ap.add_argument("--version", required=True,
                    help="the pack's version; new weights need a new one (the station keys stored results by name and version)")
    ap.add_argument("--data-root", default=D.default_data_root())
    ap.add_argument("--reader-dir", default=None,
                    help="the TB reader run whose weights export.py --reader put in the graph")
    ap.add_argument("--card-extra", action="append", default=None,
                    help="card sections appended, in order (default: card_sections.md)")
    ap.add_argument("--compare-runs", nargs="*", default=[],
                    help="run dirs with eval.json for the sampler comparison table")
    a = ap.parse_args(argv)
    ev = load(os.path.join(a.run_dir, "eval.json"))
    # the TB score's own evaluation: the reader's where the graph has one
    rev = load(os.path.join(a.reader_dir, "eval.json")) if a.reader_dir else None
    rck = torch.load(os.path.join(a.reader_dir, "final.pt"), map_location="cpu") if a.reader_dir else None
    cev = rev or ev
    ck = torch.load(os.path.join(a.run_dir, "final.pt"), map_location="cpu")
    args = ck["args"]
    size = args["size"]
    onnx_path = os.path.join(a.pack_dir, "model.onnx")
    # the outputs export.py wrote (with the embedding where the model was exported with one)
    export_rec = os.path.join(a.pack_dir, "model.export.json")
    shapes = load(export_rec)["outputs"] if os.path.exists(export_rec) else output_shapes(size)
    names = [n for n in OUTPUT_NAMES + [EMBEDDING_NAME] if n in shapes]
    rows = D.load_rows(a.data_root)
    train_rows = [r for r in rows if r["_split"] == "train"]
    val_rows = [r for r in rows if r["_split"] == "val"]
    test_rows = [r for r in rows if r["_split"] == "test"]
    thr = cev["threshold"]["tb_score"]
    val_pooled = cev["splits"]["val"]["classification"]["pooled"]
    manifest = {
        "name": a.name,
        "version": a.version,
        "created_utc": dt.datetime.utcnow().replace(microsecond=0).isoformat() + "Z",
        "framework": {"trained_with": f"PyTorch {torch.__version__}", "format": "onnx", "opset": 17},
        "model_file": "model.onnx",
        "model_sha256": sha256_file(onnx_path),
        "model_bytes": os.path.getsize(onnx_path),
        "input": {"name": "image", "shape": ["N", 1, size, size], "dtype": "float32"},
        "input_size": size,
        "preprocess": pp.preprocess_spec(size),
        "outputs": [{"name": n, "shape": shapes[n], "dtype": "float32", "description": OUTPUT_DOC[n]}
                    for n in names],
        **({"embedding": {"name": EMBEDDING_NAME, "dim": shapes[EMBEDDING_NAME][1],
                          "pooling": ("mean then max over the cells of the TB reader's last feature map (the vector its "
                                      "TB head reads), each cell weighted by the share of it inside the predicted lung "
                                      "fields" if rev else
                                      "mean then max over the cells of the last encoder feature map, each cell "
                                      "weighted by the share of it inside the predicted lung fields"),
                          "base_logit": "ln(p / (1 - p)) with p = softmax(cls_logits)[tb_class_index]",
                          "use": "input of a site-specific head fitted on this station's confirmed cases"}}
           if EMBEDDING_NAME in shapes else {}),
        "class_names": D.CLASS_NAMES,
        "tb_class_index": 2,
        "tb_score": "100 * softmax(cls_logits)[:, 2]",
        "det_class_names": D.DET_CLASSES,
        "det_stride": 4,
        "det_decode": {"peak": "3x3 max-pool NMS on det_heatmap", "top_k": 100,
                       "box": "cx=(ix+off_x)*4, cy=(iy+off_y)*4, w,h=det_size; x0=cx-w/2 ... in letterbox px, then map back with preprocess.letterbox.inverse",
                       **display_fields(ev)},
        "lung_class_names": D.LUNG_CLASSES,
        "lung_stride": 2,
        "lung_note": "right_lung = patient's right = image left on a PA view",
        "evidence": {"name": "evidence", "stride": 4, "definition": "max over det_heatmap classes"},
        "operating_point": {
            "tb_score_threshold": thr,
            "rule": cev["threshold"]["rule"],
            "chosen_on": "val split (see split_rule)",
            "val_sensitivity": val_pooled["sensitivity"], "val_specificity": val_pooled["specificity"],
            "note": "calibrate locally before use (WHO: set the threshold on local data)",
        },
        "training": {
            "run": os.path.basename(os.path.normpath(a.run_dir)),
            "steps": ck.get("step"), "sampler": args["sampler"], "seed": args["seed"],
            "init_from": ck["meta"].get("init"), "lr": args["lr"],
            **({"weights_averaged_from": args["soup_of"],
                "batchnorm_reestimated_on_train_batches": args.get("soup_bn_batches")} if args.get("soup_of") else {}),
            "batch_size": args["batch_size"], "task_sizes": ck["meta"]["sizes"],
            "task_probs": ck["meta"]["probs"],
            **({"tb_reader": reader_training(a.reader_dir, rev, rck)} if rev else {}),
            "data_sets": D.SETS,
            "split_rule": D.SPLIT_RULE,
            "train_fingerprint_sha256": D.fingerprint(train_rows),
            "train_rows": len(train_rows),
            "val_fingerprint_sha256": D.fingerprint(val_rows), "val_rows": len(val_rows),
            "test_fingerprint_sha256": D.fingerprint(test_rows), "test_rows": len(test_rows),
            "fingerprint_rule": "sha256 over '<set>\\t<raw manifest.jsonl line>\\n' for the rows, sorted by (set, id)",
        },
        "metrics_summary": {
            sp: {"tb_accuracy": cev["splits"][sp]["classification"]["pooled"]["accuracy"],
                 "tb_auc": cev["splits"][sp]["classification"]["pooled"]["auc"],
                 "tb_sensitivity": cev["splits"][sp]["classification"]["pooled"]["sensitivity"],
                 "tb_specificity": cev["splits"][sp]["classification"]["pooled"]["specificity"],
                 "det_mAP50_tbx11k": ev["splits"][sp]["detection"].get("tbx11k", {}).get("mAP50"),
                 "lung_dice": ev["splits"][sp]["segmentation"].get("shenzhen", {}).get("dice_mean_lr")}
            for sp in ("val", "test")},
        "parity_fixture": "parity/index.json",
        "metrics_file": "metrics.json",
        "intended_use": "adult PA/AP chest X-ray triage aid for TB; not a diagnosis",
    }
    with open(os.path.join(a.pack_dir, "metrics.json"), "w") as f:
        json.dump({**ev, "tb_reader": rev} if rev else ev, f, indent=1)
    with open(os.path.join(a.pack_dir, "manifest.json"), "w") as f:
        json.dump(manifest, f, indent=1)
    # the run a fine-tune started from, by name (the card is read at the station: no file paths)
    init_note = f", initialised from run `{os.path.basename(os.path.dirname(ck['meta']['init']))}`" if ck["meta"].get("init") else ""
    if args.get("soup_of"):
        init_note += (f"; weights averaged over {len(args['soup_of'])} checkpoints "
                      f"({', '.join('run `' + os.path.basename(os.path.dirname(s['ckpt'])) + '` step ' + str(s['step']) for s in args['soup_of'])}), "
                      f"BatchNorm statistics re-estimated on {args.get('soup_bn_batches')} train batches")
    extras = a.card_extra or [os.path.join(HERE, "card_sections.md")]
    extra = "\n\n".join(open(p).read() for p in extras if os.path.exists(p))
    if rev:
        intro = ("Two-stage chest X-ray model for an offline TB-clinic reading station. Stage 1, a multi-task network, "
                 "finds the lung fields (right / left), TB lesion boxes (CenterNet-style; active, obsolete) and a coarse "
                 "evidence heatmap. Stage 2, the TB reader, sees only the lungs: the input inside the (slightly "
                 "dilated) predicted lung fields, standardised with the mean and spread of the pixels there, everything "
                 "else set to 0; its last feature map is pooled inside the lung fields (the `embedding` output) and "
                 "gives TB / sick-not-TB / healthy (TB score = 100·p(TB)). Whatever lies outside the thorax (borders, "
                 "burned-in text, label blocks) reaches the TB score only through the lung outline.")
    else:
        intro = ("Multi-task chest X-ray model for an offline TB-clinic reading station: TB / sick-not-TB / healthy "
                 "classification (TB score = 100·p(TB)), CenterNet-style TB lesion detection (active, obsolete), "
                 "lung-field segmentation (right / left) and a coarse evidence heatmap.")
    card = f"""# Model card — {a.name} v{a.version}

{intro}
Trained from scratch (no pretrained weights) on a 2-core CPU. ONNX opset 17, {manifest['model_bytes'] / 1e6:.1f} MB,
sha256 `{manifest['model_sha256']}`.

## Intended use
Adult PA/AP chest radiographs; triage aid that flags images for a human reader. **Not** a diagnostic
device. The operating threshold (TB score ≥ {thr:.2f}, chosen on the validation split for ≥ 90 %
sensitivity) must be re-calibrated on local data before use, as WHO advises for CAD software.
Not for children, lateral views, or non-chest images.

## Data and splits
Public data sets, each used under its own terms: TBX11K (Liu et al., CVPR 2020), its TB subset with lesion boxes
(800 images) and its extra DA/DB sets (173 after dropping duplicates); the Shenzhen set (US National Library of
Medicine with Shenzhen No. 3 People's Hospital; 290 images, 174 with approximate lung masks); an NIH ChestX-ray14
subset (NIH Clinical Center; 311); the COVID-19 image data collection of Cohen et al. (ieee8023; 287); and the
Actualmed (44) and Figure 1 (37) COVID-19 sets of the COVIDx collection.
Split rule: {D.SPLIT_RULE}.
Rows: train {len(train_rows)}, val {len(val_rows)}, test {len(test_rows)}.
Training-data fingerprint (sha256): `{manifest['training']['train_fingerprint_sha256']}`.

**Source shortcut.** All TBX11K images are TB-positive and no same-source negatives exist, so a classifier can
learn "which hospital". Guards: per-image z-score normalisation, gamma/blur/noise and affine/aspect/zoom-out
augmentation (which also produces black letterbox borders on square sources), class-and-source balanced
sampling (sqrt of group size), and evaluation per source plus a pooled figure **without TBX11K**. Only Shenzhen
and DA/DB contain both TB and non-TB images; their per-source AUC is the most honest TB signal here.

## Metrics (threshold {thr:.2f} from val; run `{manifest['training']['run']}`, {ck.get('step')} steps, sampler `{args['sampler']}`{init_note})
Paper figures for reference (PaliGemma-CXR): TB accuracy 90.3 %, detection mAP 19.4 — different data, model
and evaluation protocol, not directly comparable.

### Classification (TB vs not-TB){" — the TB reader, run `" + os.path.basename(os.path.normpath(a.reader_dir)) + "`" if rev else ""}
{cls_table(cev)}

### Detection (TBX11K) and lung segmentation (Shenzhen, confidence "ok" masks)
{det_seg_table(ev)}

{display_section(ev)}

{compare_table(a.compare_runs)}

{extra}
"""
    with open(os.path.join(a.pack_dir, "MODEL_CARD.md"), "w") as f:
        f.write(card)
    print("wrote", os.path.join(a.pack_dir, "manifest.json"), os.path.join(a.pack_dir, "MODEL_CARD.md"))


if __name__ == "__main__":
    main()
