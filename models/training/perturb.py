"""Out-of-lung perturbation test: how far does the TB score move when something is added outside the thorax?

    /usr/bin/python3 -m models.training.perturb --ckpt models/training/runs/ft_cls2/final.pt \
        [--reader models/training/runs/<reader>/final.pt] --out models/training/runs/<run>/perturb.json

On every test-split image (full pipeline from the original pixels: letterbox, z-score, model), four perturbations
drawn at the image's own resolution, as X-ray units and careless workflows add them:
  frame   a bright frame 1.2 % of the longest side wide around the whole image
  text    burned-in white text (patient ID, date) along the top and bottom edges, in corners clear of the lungs
  label   a white label block (14 % x 7 % of the image) with a dark letter in a corner clear of the lungs
  all     the three together
"Clear of the lungs": the model's own lung fields on the unperturbed image, dilated by 4 % of the image, must not
touch the drawn area; corners are tried in turn and an image with no clear corner is counted, not scored, for that
perturbation. The report gives, per perturbation, the absolute change of the TB score (0..100): median, 95th
percentile, maximum and the images it was measured on.
"""
from __future__ import annotations

import argparse
import json
import os

import numpy as np
import torch
import torch.nn.functional as F
from PIL import Image, ImageDraw, ImageFont

from . import data as D
from . import preprocess as pp
from .evaluate import load_net

CORNERS = ("top_left", "top_right", "bottom_left", "bottom_right")


def _font(px):
    try:
        return ImageFont.load_default(size=px)
    except TypeError:  # Pillow without scalable default font
        return ImageFont.load_default()


def corner_box(corner, W, H, bw, bh, margin):
    x0 = margin if "left" in corner else W - margin - bw
    y0 = margin if "top" in corner else H - margin - bh
    return int(x0), int(y0), int(x0 + bw), int(y0 + bh)


def clear(lung, box):
    x0, y0, x1, y1 = box
    return not lung[max(0, y0):y1, max(0, x0):x1].any()


def draw_frame(img, vmax):
    H, W = img.shape
    t = max(2, int(round(0.012 * max(W, H))))
    out = img.copy()
    out[:t, :] = vmax
    out[-t:, :] = vmax
    out[:, :t] = vmax
    out[:, -t:] = vmax
    return out


def draw_text(img, vmax, lung):
    """White text strips in two clear corners (one top, one bottom where possible)."""
    H, W = img.shape
    px = max(8, int(0.03 * H))
    strips = [("ID 0042137 M 45Y", "top"), ("2026-11-30 09:14 PA", "bottom")]
    pil = Image.fromarray(np.zeros((H, W), np.uint8))
    d = ImageDraw.Draw(pil)
    font = _font(px)
    used = 0
    for text, side in strips:
        l, t, r, b = d.textbbox((0, 0), text, font=font)
        bw, bh = r - l, b - t
        for corner in [c for c in CORNERS if c.startswith(side)] + list(CORNERS):
            box = corner_box(corner, W, H, bw, bh, int(0.02 * W))
            if clear(lung, box):
                d.text((box[0] - l, box[1] - t), text, fill=255, font=font)
                used += 1
                break
    if not used:
        return None
    m = np.asarray(pil) > 127
    out = img.copy()
    out[m] = vmax
    return out


def draw_label(img, vmax, lung):
    H, W = img.shape
    bw, bh = int(0.14 * W), int(0.07 * H)
    for corner in ("top_right", "top_left", "bottom_right", "bottom_left"):
        box = corner_box(corner, W, H, bw, bh, int(0.02 * W))
        if clear(lung, box):
            out = img.copy()
            x0, y0, x1, y1 = box
            out[y0:y1, x0:x1] = vmax
            pil = Image.fromarray(np.zeros((H, W), np.uint8))
            d = ImageDraw.Draw(pil)
            font = _font(int(bh * 0.7))
            d.text((x0 + bw * 0.35, y0 + bh * 0.1), "R", fill=255, font=font)
            out[np.asarray(pil) > 127] = 0
            return out
    return None


@torch.no_grad()
def tb_score_and_lungs(model, raw, size):
    x, g = pp.preprocess(raw, size)
    o = model(torch.from_numpy(x))
    score = 100 * float(torch.softmax(o["cls_logits"], 1)[0, 2])
    lung = o["lung_logits"].argmax(1, keepdim=True).float()
    return score, lung, g


def lung_in_source(lung, g, W, H, dilate_frac=0.04):
    """The lung label map (stride 2 of the letterbox) as a boolean mask at the source resolution, dilated."""
    up = F.interpolate(lung, size=(g.size, g.size), mode="nearest")[0, 0].numpy() > 0
    crop = up[g.pad_y:g.pad_y + g.new_h, g.pad_x:g.pad_x + g.new_w].astype(np.uint8) * 255
    m = np.asarray(Image.fromarray(crop).resize((W, H), Image.NEAREST)) > 127
    r = max(1, int(dilate_frac * max(W, H)))
    t = torch.from_numpy(m.astype(np.float32))[None, None]
    return F.max_pool2d(t, 2 * r + 1, 1, r)[0, 0].numpy() > 0


def run(model, rows, size, log=print):
    deltas = {k: [] for k in ("frame", "text", "label", "all")}
    skipped = {k: 0 for k in deltas}
    worst = {k: None for k in deltas}
    for n, r in enumerate(rows):
        raw = D.read_gray(r["_path"])
        vmax = 255 if raw.dtype == np.uint8 else 65535
        H, W = raw.shape
        s0, lung, g = tb_score_and_lungs(model, raw, size)
        lm = lung_in_source(lung, g, W, H)
        fr = draw_frame(raw, vmax)
        tx = draw_text(raw, vmax, lm)
        lb = draw_label(raw, vmax, lm)
        al = None
        if tx is not None and lb is not None:
            al = draw_frame(draw_label(draw_text(raw, vmax, lm), vmax, lm), vmax)
        for k, im in (("frame", fr), ("text", tx), ("label", lb), ("all", al)):
            if im is None:
                skipped[k] += 1
                continue
            d = abs(tb_score_and_lungs(model, im, size)[0] - s0)
            deltas[k].append(d)
            if worst[k] is None or d > worst[k]["delta"]:
                worst[k] = {"id": r["id"], "delta": round(d, 3), "score": round(s0, 3)}
        if (n + 1) % 50 == 0:
            log(f"  {n + 1}/{len(rows)}")
    out = {}
    for k, v in deltas.items():
        v = np.array(v)
        out[k] = {"n": int(len(v)), "no_clear_corner": skipped[k],
                  "median": round(float(np.median(v)), 4) if len(v) else None,
                  "p95": round(float(np.percentile(v, 95)), 4) if len(v) else None,
                  "max": round(float(v.max()), 4) if len(v) else None,
                  "worst": worst[k]}
    return out


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--ckpt", required=True, help="CXRNet checkpoint")
    ap.add_argument("--reader", default=None, help="TB reader checkpoint (the two-stage model)")
    ap.add_argument("--data-root", default=D.default_data_root())
    ap.add_argument("--split", default="test")
    ap.add_argument("--out", required=True)
    ap.add_argument("--limit", type=int, default=0, help="only the first N images of the split (a quick look)")
    ap.add_argument("--threads", type=int, default=int(os.environ.get("CXR_THREADS", "1")))
    a = ap.parse_args(argv)
    torch.set_num_threads(a.threads)
    net, ck = load_net(a.ckpt)
    size = ck["args"]["size"]
    model = net
    if a.reader:
        from .export import two_stage
        model = two_stage(net, a.reader, size)
    rows = [r for r in D.load_rows(a.data_root) if r["_split"] == a.split]
    if a.limit:
        rows = rows[::max(1, len(rows) // a.limit)][:a.limit]
    res = {"model": {"ckpt": a.ckpt, "reader": a.reader}, "split": a.split, "n_images": len(rows),
           "perturbations": run(model.eval(), rows, size), "rule": __doc__.split("\n\n", 2)[2].strip()}
    with open(a.out, "w") as f:
        json.dump(res, f, indent=1)
    print(json.dumps(res["perturbations"], indent=1))


if __name__ == "__main__":
    main()
