"""Model-card tables for transfer: leave-one-source-out arms per method, the shortcut probe and the out-of-lung
perturbation test, each read from the files the runs wrote (runs/<run>/eval.json, probe.json, perturb.json)."""
from __future__ import annotations

import json
import os

LOSO_SOURCES = ["shenzhen", "tbx11k_extra_da_db"]
SOURCE_LABEL = {"shenzhen": "Shenzhen", "tbx11k_extra_da_db": "DA/DB"}


def _load(p):
    with open(p) as f:
        return json.load(f)


def _f(v, nd=3):
    return "–" if v is None else f"{v:.{nd}f}"


def _ci(v):
    return "" if not v else f" [{v[0]:.2f}, {v[1]:.2f}]"


def arm(runs_dir, prefix, src):
    p = os.path.join(runs_dir, f"{prefix}_{src}", "eval.json")
    return _load(p) if os.path.exists(p) else None


def method_summary(runs_dir, prefix):
    """Mean LOSO AUC and specificity at 90 % sensitivity over the held-out sources (None if an arm is missing)."""
    evs = [arm(runs_dir, prefix, s) for s in LOSO_SOURCES]
    if any(e is None for e in evs):
        return None
    b = [e["loso"][s] for e, s in zip(evs, LOSO_SOURCES)]
    val = [e["splits"]["val"]["classification"]["pooled"]["auc"] for e in evs]
    return {"auc": sum(x["auc"] for x in b) / len(b),
            "spec90": sum(x["specificity_at_90_sensitivity"] for x in b) / len(b),
            "val_auc": sum(val) / len(val), "blocks": b, "steps": evs[0].get("step")}


def loso_table(runs_dir, methods):
    """methods: [(prefix, description)]."""
    head = ("| method | steps | " + " | ".join(
        f"{SOURCE_LABEL[s]} AUC [95 % CI] | {SOURCE_LABEL[s]} spec. at 90 % sens. [CI] | {SOURCE_LABEL[s]} acc. at thr."
        for s in LOSO_SOURCES) + " | mean AUC | mean spec. at 90 % | internal val AUC |")
    lines = [head, "|" + "---|" * (head.count("|") - 1)]
    for prefix, desc in methods:
        m = method_summary(runs_dir, prefix)
        if m is None:
            continue
        cells = []
        for b in m["blocks"]:
            cells += [f"{_f(b['auc'])}{_ci(b['auc95'])}",
                      f"{_f(b['specificity_at_90_sensitivity'], 2)}{_ci(b['specificity_at_90_sensitivity95'])}",
                      f"{_f(b['accuracy_at_threshold'], 2)}"]
        lines.append(f"| `{prefix}`: {desc} | {m['steps']} | " + " | ".join(cells) +
                     f" | **{_f(m['auc'])}** | {_f(m['spec90'], 2)} | {_f(m['val_auc'])} |")
    return "\n".join(lines)


def probe_table(rows):
    """rows: [(label, probe.json path, key)] -> source predictability among not-TB and among TB images."""
    lines = ["| model (embedding) | not-TB: accuracy / chance | not-TB: balanced acc. / chance | TB: accuracy / chance | "
             "TB: balanced acc. / chance |", "|---|---|---|---|---|"]
    for label, path, key in rows:
        if not os.path.exists(path):
            continue
        d = _load(path)
        # probe.json holds {"probes": {embedding: ...}}; a reader's eval.json its own probe under "shortcut_probe"
        pr = d["probes"][key] if "probes" in d else d[key]
        c = []
        for grp in ("not_tb", "tb"):
            g = pr[grp]
            c += [f"{g['accuracy']:.3f} / {g['chance']:.3f}", f"{g['balanced_accuracy']:.3f} / {g['balanced_chance']:.3f}"]
        lines.append(f"| {label} | " + " | ".join(c) + " |")
    return "\n".join(lines)


def perturb_table(rows):
    """rows: [(label, perturb.json path)] -> |change of TB score| per perturbation (median / p95 / max, n)."""
    kinds = ["frame", "text", "label", "all"]
    lines = ["| model | " + " | ".join(f"{k}: median / p95 / max (n)" for k in kinds) + " |",
             "|---|" + "---|" * len(kinds)]
    for label, path in rows:
        if not os.path.exists(path):
            continue
        pr = _load(path)["perturbations"]
        lines.append(f"| {label} | " + " | ".join(
            f"{_f(pr[k]['median'], 2)} / {_f(pr[k]['p95'], 2)} / {_f(pr[k]['max'], 2)} ({pr[k]['n']})" for k in kinds) + " |")
    return "\n".join(lines)


def main(argv=None):
    """Write the card's transfer section: prose from --text with {loso}, {probe} and {perturb} replaced by tables.

        /usr/bin/python3 -m models.training.card_transfer --text models/training/card_transfer.md \
            --method rs_global="whole image, 3-way" ... --probe "1.2.1 (whole image)=runs/ft_cls2/probe.json:whole" \
            --perturb "1.2.1=runs/ft_cls2/perturb.json" --out /tmp/transfer.md
    """
    import argparse
    ap = argparse.ArgumentParser()
    ap.add_argument("--runs-dir", default=os.path.join(os.path.dirname(os.path.abspath(__file__)), "runs"))
    ap.add_argument("--text", required=True)
    ap.add_argument("--method", action="append", default=[], metavar="PREFIX=DESCRIPTION")
    ap.add_argument("--probe", action="append", default=[], metavar="LABEL=PATH:KEY")
    ap.add_argument("--perturb", action="append", default=[], metavar="LABEL=PATH")
    ap.add_argument("--out", required=True)
    a = ap.parse_args(argv)
    methods = [tuple(m.split("=", 1)) for m in a.method]
    probes = []
    for p in a.probe:
        label, rest = p.split("=", 1)
        path, key = rest.rsplit(":", 1)
        probes.append((label, os.path.join(a.runs_dir, path), key))
    perturbs = [(lbl, os.path.join(a.runs_dir, path)) for lbl, path in (p.split("=", 1) for p in a.perturb)]
    text = open(a.text).read()
    out = (text.replace("{loso}", loso_table(a.runs_dir, methods)).replace("{probe}", probe_table(probes))
           .replace("{perturb}", perturb_table(perturbs)))
    with open(a.out, "w") as f:
        f.write(out)
    print("wrote", a.out)


if __name__ == "__main__":
    main()
