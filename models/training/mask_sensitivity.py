"""Where does a bright frame reach the TB score of a two-stage model: through the lung fields, or past them?

    /usr/bin/python3 -m models.training.mask_sensitivity --ckpt models/training/runs/ft_cls2/final.pt \
        --reader models/training/runs/<reader>/final.pt --out models/training/runs/<reader>/mask_sensitivity.json

On every 10th test-split image (and any --id), the frame of perturb.py is drawn and the reader scores the framed
image three ways: with the lung fields the network finds on it (what the pack does), with the lung fields of the
unframed image (an "oracle" mask: only the pixels inside the lungs can then move the score), and both with the soft
lung probability and with the fields thresholded at 0.5. It also reports the overlap (IoU) of the thresholded
fields before and after the frame.
"""
from __future__ import annotations

import argparse
import json
import os

import numpy as np
import torch

from . import data as D
from . import perturb as P
from . import preprocess as pp
from .export import two_stage
from .model import CXRNet
from .reader import lung_probability


@torch.no_grad()
def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--ckpt", required=True)
    ap.add_argument("--reader", required=True)
    ap.add_argument("--data-root", default=D.default_data_root())
    ap.add_argument("--every", type=int, default=10)
    ap.add_argument("--id", action="append", default=[])
    ap.add_argument("--out", required=True)
    ap.add_argument("--threads", type=int, default=int(os.environ.get("CXR_THREADS", "1")))
    a = ap.parse_args(argv)
    torch.set_num_threads(a.threads)
    ck = torch.load(a.ckpt, map_location="cpu")
    net = CXRNet(**ck.get("model_kwargs", {}))
    net.load_state_dict(ck["model"])
    net.eval()
    size = ck["args"]["size"]
    two = two_stage(net, a.reader, size)
    rows = [r for r in D.load_rows(a.data_root) if r["_split"] == "test"]
    rows = [r for i, r in enumerate(rows) if i % a.every == 0 or r["id"] in a.id]

    def score(x, lung):
        o = two.reader(x, lung)
        return 100 * float(torch.softmax(two.reader.class_log_probs(o["logits"]), 1)[0, 2])

    per = []
    for r in rows:
        raw = D.read_gray(r["_path"])
        fr = P.draw_frame(raw, 255 if raw.dtype == np.uint8 else 65535)
        x0 = torch.from_numpy(pp.preprocess(raw, size)[0])
        x1 = torch.from_numpy(pp.preprocess(fr, size)[0])
        l0 = lung_probability(net(x0)["lung_logits"], size)
        l1 = lung_probability(net(x1)["lung_logits"], size)
        h0, h1 = (l0 >= 0.5).float(), (l1 >= 0.5).float()
        iou = float((h0 * h1).sum() / ((h0 + h1) > 0).sum().clamp_min(1))
        s0 = score(x0, l0)
        per.append({"id": r["id"], "score": round(s0, 3), "mask_iou": round(iou, 4),
                    "delta_own_soft": round(abs(score(x1, l1) - s0), 3),
                    "delta_oracle_soft": round(abs(score(x1, l0) - s0), 3),
                    "delta_own_hard": round(abs(score(x1, h1) - score(x0, h0)), 3),
                    "delta_oracle_hard": round(abs(score(x1, h0) - score(x0, h0)), 3)})
    keys = ["delta_own_soft", "delta_oracle_soft", "delta_own_hard", "delta_oracle_hard", "mask_iou"]
    summary = {k: {"median": round(float(np.median([p[k] for p in per])), 4),
                   "max" if k != "mask_iou" else "min": round(float((max if k != "mask_iou" else min)(p[k] for p in per)), 4)}
               for k in keys}
    out = {"ckpt": a.ckpt, "reader": a.reader, "n": len(per), "summary": summary, "images": per}
    with open(a.out, "w") as f:
        json.dump(out, f, indent=1)
    print(json.dumps(summary))


if __name__ == "__main__":
    main()
