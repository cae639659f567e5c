"""Evaluation per source and pooled on val/test; writes a JSON.

    /usr/bin/python3 -m models.training.evaluate --ckpt models/training/runs/main/final.pt \
        --out models/training/runs/main/eval.json
"""
from __future__ import annotations

import argparse
import json
import os
import time

import numpy as np
import torch
import torch.nn.functional as F

from . import data as D
from . import metrics as Mx
from .augment import normalise_batch
from .model import CXRNet


@torch.no_grad()
def predict(net, corpus, idx, bs=32):
    net.eval()
    res = {"tb_score": [], "probs": [], "dets": [], "lung": []}
    for k in range(0, len(idx), bs):
        ii = idx[k:k + bs]
        x = torch.from_numpy(corpus.images[ii].astype(np.float32))[:, None]
        o = net(normalise_batch(x))
        p = torch.softmax(o["cls_logits"], 1)
        res["probs"].append(p.numpy())
        res["tb_score"].append(100 * p[:, 2].numpy())
        res["dets"] += Mx.decode_centernet(o["det_heatmap"], o["det_size"], o["det_offset"],
                                           stride=net.det_stride)
        up = F.interpolate(o["lung_logits"], size=x.shape[-2:], mode="bilinear", align_corners=False)
        res["lung"].append(up.argmax(1).numpy().astype(np.uint8))
    res["tb_score"] = np.concatenate(res["tb_score"]) if idx else np.zeros(0)
    res["probs"] = np.concatenate(res["probs"]) if idx else np.zeros((0, 3))
    res["lung"] = np.concatenate(res["lung"]) if idx else np.zeros((0,))
    return res


def _r(v, n=4):
    return None if v is None else round(float(v), n)


def cls_block(items, scores, probs, thr):
    y = np.array([it.label == "tb" for it in items])
    st = Mx.binary_stats(y, scores, thr)
    st["auc"] = Mx.roc_auc(y, scores)
    st["accuracy_at_score50"] = Mx.binary_stats(y, scores, 50.0)["accuracy"]
    exact = [(k, it.cls_allowed[0]) for k, it in enumerate(items) if len(it.cls_allowed) == 1]
    if exact:
        kk = np.array([k for k, _ in exact]); yy = np.array([c for _, c in exact])
        st["acc3_exact_labels"] = float((probs[kk].argmax(1) == yy).mean())
        st["n3"] = len(exact)
    return {k: (_r(v) if isinstance(v, float) else v) for k, v in st.items()}


def evaluate(net, corpus, splits=("val", "test"), threshold=None, log=print):
    t0 = time.time()
    out = {"splits": {}, "split_rule": D.SPLIT_RULE}
    preds = {}
    for sp in splits:
        idx = corpus.indices(sp)
        preds[sp] = (idx, predict(net, corpus, idx))
    if threshold is None:
        idx, pr = preds["val"]
        y = [corpus.items[i].label == "tb" for i in idx]
        threshold = Mx.threshold_for_sensitivity(y, pr["tb_score"], 0.90)
    out["threshold"] = {"tb_score": _r(threshold, 6), "rule": "highest TB score threshold with >= 90% sensitivity on pooled val"}
    for sp in splits:
        idx, pr = preds[sp]
        items = [corpus.items[i] for i in idx]
        blk = {"classification": {}, "detection": {}, "segmentation": {}}
        blk["classification"]["pooled"] = cls_block(items, pr["tb_score"], pr["probs"], threshold)
        for src in D.SETS:
            sel = [k for k, it in enumerate(items) if it.source == src]
            if sel:
                blk["classification"][src] = cls_block([items[k] for k in sel], pr["tb_score"][sel],
                                                       pr["probs"][sel], threshold)
        # pooled excluding TBX11K (shortcut check: only mixed-label sources + negatives)
        sel = [k for k, it in enumerate(items) if it.source != "tbx11k"]
        blk["classification"]["pooled_without_tbx11k"] = cls_block(
            [items[k] for k in sel], pr["tb_score"][sel], pr["probs"][sel], threshold)
        # detection on TBX11K
        dk = [k for k, it in enumerate(items) if it.source == "tbx11k" and it.has_det]
        if dk:
            dets = [pr["dets"][k] for k in dk]
            gts = [items[k].boxes for k in dk]
            d = {"n_images": len(dk), "n_boxes": int(sum(len(g) for g in gts))}
            for ci, cn in enumerate(D.DET_CLASSES):
                d[f"AP50_{cn}"] = _r(Mx.average_precision(dets, gts, 0.5, ci))
            aps = [d[f"AP50_{cn}"] for cn in D.DET_CLASSES if d[f"AP50_{cn}"] is not None]
            d["mAP50"] = _r(np.mean(aps)) if aps else None
            d["AP50_agnostic"] = _r(Mx.average_precision(dets, gts, 0.5, None))
            ths = np.arange(0.5, 0.96, 0.05)
            d["mAP50_95"] = _r(np.mean([np.mean([v for v in (Mx.average_precision(dets, gts, t, c) for c in range(2)) if v is not None]) for t in ths]))
            blk["detection"]["tbx11k"] = d
            blk["detection"]["_dets"] = (dk, dets)
        # negatives: mean max evidence on non-TB images vs TB images (sanity)
        # segmentation
        sk = [k for k, it in enumerate(items) if it.seg_idx >= 0 and it.seg_ok]
        if sk:
            dr, dl, db = [], [], []
            for k in sk:
                gt = corpus.seg[items[k].seg_idx]
                pd = pr["lung"][k]
                dr.append(Mx.dice(pd, gt, 1)); dl.append(Mx.dice(pd, gt, 2))
                db.append(Mx.dice(pd > 0, gt > 0, True))
            blk["segmentation"]["shenzhen"] = {"n": len(sk), "dice_right": _r(np.mean(dr)),
                                               "dice_left": _r(np.mean(dl)),
                                               "dice_mean_lr": _r((np.mean(dr) + np.mean(dl)) / 2),
                                               "dice_both_lungs": _r(np.mean(db))}
        out["splits"][sp] = blk
    # TBX11K official val (= val + test halves) detection
    if "val" in preds and "test" in preds:
        dets, gts = [], []
        for sp in ("val", "test"):
            if "_dets" in out["splits"][sp]["detection"]:
                dk, dd = out["splits"][sp]["detection"]["_dets"]
                items = [corpus.items[preds[sp][0][k]] for k in dk]
                dets += dd; gts += [it.boxes for it in items]
        if dets:
            d = {"n_images": len(dets)}
            for ci, cn in enumerate(D.DET_CLASSES):
                d[f"AP50_{cn}"] = _r(Mx.average_precision(dets, gts, 0.5, ci))
            d["mAP50"] = _r(np.mean([d[f"AP50_{cn}"] for cn in D.DET_CLASSES]))
            d["AP50_agnostic"] = _r(Mx.average_precision(dets, gts, 0.5, None))
            out["tbx11k_official_val_detection"] = d
    if "val" in preds:
        out["display_score"] = display_score_on_val(corpus, *preds["val"])
    if getattr(corpus, "hold_out", ()):
        out.update(held_out_blocks(net, corpus, threshold))
    for sp in splits:
        out["splits"][sp]["detection"].pop("_dets", None)
    out["eval_seconds"] = round(time.time() - t0, 1)
    return out


def held_out_blocks(net, corpus, threshold):
    """Leave-one-source-out: every image of each held-out source, scored at the threshold from the other sources'
    val split; lung Dice there where drawn masks exist."""
    from . import transfer as TR
    idx = corpus.indices(D.HELD_OUT)
    pr = predict(net, corpus, idx)
    loso, seg = {}, {}
    for src in corpus.hold_out:
        sel = [k for k, i in enumerate(idx) if corpus.items[i].source == src]
        loso[src] = TR.loso_block([corpus.items[idx[k]].label == "tb" for k in sel], pr["tb_score"][sel], threshold)
        sk = [k for k in sel if corpus.items[idx[k]].seg_idx >= 0 and corpus.items[idx[k]].seg_ok]
        if sk:
            d = [(Mx.dice(pr["lung"][k], corpus.seg[corpus.items[idx[k]].seg_idx], 1) +
                  Mx.dice(pr["lung"][k], corpus.seg[corpus.items[idx[k]].seg_idx], 2)) / 2 for k in sk]
            seg[src] = {"n": len(sk), "dice_mean_lr": _r(np.mean(d))}
    return {"loso": loso, "held_out_segmentation": seg}


DISPLAY_RULE = ("threshold on the det_heatmap peak score (after class-wise NMS at IoU 0.5, as in the runtime) "
                "maximising F1 of the shown boxes on the val split: TBX11K val images with their boxes, plus every "
                "not-TB val image of any source (all its shown boxes are false positives); a shown box is correct "
                "when it matches an unmatched ground-truth box at IoU >= 0.5, class-agnostic; TB images without box "
                "annotations (Shenzhen, DA/DB) are left out; grid 0.02..0.80 step 0.01, ties to the higher score")


def display_score_on_val(corpus, idx, pr):
    """Calibrate the box display score on val (never test); see DISPLAY_RULE."""
    dets, gts, n_tb, n_neg = [], [], 0, 0
    for k, i in enumerate(idx):
        it = corpus.items[i]
        if it.source == "tbx11k" and it.has_det:
            gts.append(it.boxes); n_tb += 1
        elif it.label != "tb":
            gts.append(np.zeros((0, 5), np.float32)); n_neg += 1
        else:
            continue
        dets.append(Mx.nms_by_class(pr["dets"][k], 0.5))
    best, curve = Mx.display_calibration(dets, gts)
    pick = lambda c: {k: (_r(v) if isinstance(v, float) else v) for k, v in c.items()}
    return {"score": best["t"], "rule": DISPLAY_RULE, "split": "val",
            "n_images_with_boxes": n_tb, "n_images_without_lesion": n_neg,
            "at_score": pick(best),
            "curve": [pick(c) for c in curve if round(c["t"] * 100) % 5 == 0 or c["t"] == best["t"]]}


def summary_line(ev):
    parts = []
    for sp, blk in ev["splits"].items():
        c = blk["classification"]["pooled"]
        parts.append(f"{sp}: acc={c['accuracy']} auc={c['auc']} sens={c['sensitivity']} spec={c['specificity']}")
        c2 = blk["classification"]["pooled_without_tbx11k"]
        parts.append(f"{sp}-noTBX: auc={c2['auc']} acc={c2['accuracy']}")
        if "tbx11k" in blk["detection"]:
            parts.append(f"{sp}: mAP50={blk['detection']['tbx11k']['mAP50']}")
        if "shenzhen" in blk["segmentation"]:
            parts.append(f"{sp}: dice={blk['segmentation']['shenzhen']['dice_mean_lr']}")
    return " | ".join(parts)


def load_net(ckpt_path):
    ck = torch.load(ckpt_path, map_location="cpu")
    net = CXRNet(**ck.get("model_kwargs", {}))
    net.load_state_dict(ck["model"])
    net.eval()
    return net, ck


def main(argv=None):
    ap = argparse.ArgumentParser()
    ap.add_argument("--ckpt", required=True)
    ap.add_argument("--data-root", default=D.default_data_root())
    ap.add_argument("--cache-dir", default="/tmp/cxr_tb_cache")
    ap.add_argument("--out", required=True)
    ap.add_argument("--threads", type=int, default=int(os.environ.get("CXR_THREADS", "1")))
    a = ap.parse_args(argv)
    torch.set_num_threads(a.threads)
    net, ck = load_net(a.ckpt)
    corpus = D.Corpus(a.data_root, ck["args"]["size"], a.cache_dir)
    ev = evaluate(net, corpus)
    ev["checkpoint"] = a.ckpt
    ev["step"] = ck.get("step")
    # the same run description train.py writes (the pack's comparison table reads it)
    ev.update(run=ck["args"].get("run"), sampler=ck["args"].get("sampler"),
              task_probs=ck.get("meta", {}).get("probs"), sizes=ck.get("meta", {}).get("sizes"))
    with open(a.out, "w") as f:
        json.dump(ev, f, indent=1)
    print(summary_line(ev))


if __name__ == "__main__":
    main()
