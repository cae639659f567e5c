"""Metrics: ROC AUC, sens/spec, CenterNet decode, VOC AP, Dice."""
from __future__ import annotations

import numpy as np
import torch
import torch.nn.functional as F


def roc_auc(y, s):
    y = np.asarray(y).astype(bool)
    s = np.asarray(s, dtype=np.float64)
    npos, nneg = y.sum(), (~y).sum()
    if npos == 0 or nneg == 0:
        return None
    order = np.argsort(s, kind="mergesort")
    ranks = np.empty(len(s))
    ss = s[order]
    i = 0
    while i < len(ss):  # average ranks for ties
        j = i
        while j + 1 < len(ss) and ss[j + 1] == ss[i]:
            j += 1
        ranks[order[i:j + 1]] = (i + j) / 2 + 1
        i = j + 1
    return float((ranks[y].sum() - npos * (npos + 1) / 2) / (npos * nneg))


def binary_stats(y, s, thr):
    y = np.asarray(y).astype(bool)
    p = np.asarray(s) >= thr
    tp, tn = int((p & y).sum()), int((~p & ~y).sum())
    fp, fn = int((p & ~y).sum()), int((~p & y).sum())
    n = len(y)
    return {"n": n, "n_tb": int(y.sum()), "n_not_tb": int((~y).sum()),
            "accuracy": (tp + tn) / n if n else None,
            "sensitivity": tp / (tp + fn) if tp + fn else None,
            "specificity": tn / (tn + fp) if tn + fp else None,
            "tp": tp, "tn": tn, "fp": fp, "fn": fn}


def threshold_for_sensitivity(y, s, target=0.90):
    """Highest threshold whose sensitivity >= target (scores in 0..100)."""
    y = np.asarray(y).astype(bool)
    pos = np.sort(np.asarray(s)[y])[::-1]
    if len(pos) == 0:
        return 50.0
    k = int(np.ceil(target * len(pos)))  # need k positives >= thr
    return float(pos[k - 1])


def decode_centernet(hm, wh, off, K=100, stride=4):
    """hm [N,C,R,R] (sigmoid), wh [N,2,R,R] (input px), off [N,2,R,R] -> list of [k,6] arrays
    (x0,y0,x1,y1,score,cls) in input pixels."""
    N, C, R, _ = hm.shape
    peak = F.max_pool2d(hm, 3, 1, 1)
    keep = (peak == hm).float() * hm
    out = []
    for n in range(N):
        sc, idx = keep[n].reshape(-1).topk(min(K, C * R * R))
        c = idx // (R * R)
        pix = idx % (R * R)
        iy, ix = pix // R, pix % R
        ox, oy = off[n, 0].reshape(-1)[pix], off[n, 1].reshape(-1)[pix]
        w, h = wh[n, 0].reshape(-1)[pix], wh[n, 1].reshape(-1)[pix]
        cx, cy = (ix.float() + ox) * stride, (iy.float() + oy) * stride
        d = torch.stack([cx - w / 2, cy - h / 2, cx + w / 2, cy + h / 2, sc, c.float()], 1)
        out.append(d.numpy())
    return out


def iou_matrix(a, b):
    if len(a) == 0 or len(b) == 0:
        return np.zeros((len(a), len(b)))
    x0 = np.maximum(a[:, None, 0], b[None, :, 0]); y0 = np.maximum(a[:, None, 1], b[None, :, 1])
    x1 = np.minimum(a[:, None, 2], b[None, :, 2]); y1 = np.minimum(a[:, None, 3], b[None, :, 3])
    inter = np.clip(x1 - x0, 0, None) * np.clip(y1 - y0, 0, None)
    aa = (a[:, 2] - a[:, 0]) * (a[:, 3] - a[:, 1]); ab = (b[:, 2] - b[:, 0]) * (b[:, 3] - b[:, 1])
    return inter / (aa[:, None] + ab[None, :] - inter + 1e-9)


def average_precision(dets, gts, iou_thr=0.5, cls=None):
    """VOC all-point AP. dets: list per image [k,6]; gts: list per image [m,5]. cls=None: agnostic."""
    recs = []
    npos = 0
    for i, (d, g) in enumerate(zip(dets, gts)):
        if cls is not None:
            d = d[d[:, 5] == cls]; g = g[g[:, 4] == cls]
        npos += len(g)
        for j in range(len(d)):
            recs.append((d[j, 4], i, j))
    if npos == 0:
        return None
    recs.sort(key=lambda r: -r[0])
    used = {}
    tp = np.zeros(len(recs)); fp = np.zeros(len(recs))
    cache = {}
    for k, (sc, i, j) in enumerate(recs):
        d, g = dets[i], gts[i]
        if cls is not None:
            d = d[d[:, 5] == cls]; g = g[g[:, 4] == cls]
        if i not in cache:
            cache[i] = iou_matrix(d[:, :4], g[:, :4])
        ious = cache[i][j] if len(g) else np.zeros(0)
        if len(ious) and ious.max() >= iou_thr:
            m = int(ious.argmax())
            if (i, m) not in used:
                used[(i, m)] = 1; tp[k] = 1
            else:
                fp[k] = 1
        else:
            fp[k] = 1
    ctp, cfp = np.cumsum(tp), np.cumsum(fp)
    rec = ctp / npos
    prec = ctp / np.maximum(ctp + cfp, 1e-9)
    mrec = np.concatenate([[0], rec, [1]]); mpre = np.concatenate([[0], prec, [0]])
    for i in range(len(mpre) - 2, -1, -1):
        mpre[i] = max(mpre[i], mpre[i + 1])
    idx = np.where(mrec[1:] != mrec[:-1])[0]
    return float(np.sum((mrec[idx + 1] - mrec[idx]) * mpre[idx + 1]))


def dice(pred, gt, label):
    p, g = pred == label, gt == label
    den = p.sum() + g.sum()
    return float(2 * (p & g).sum() / den) if den else None


def nms_by_class(d, iou_thr=0.5):
    """Greedy class-wise NMS on [k,6] (x0,y0,x1,y1,score,cls) — the runtime's nmsByClass (postprocess.ts)."""
    if len(d) == 0:
        return d
    d = d[np.argsort(-d[:, 4], kind="stable")]
    keep = []
    for j in range(len(d)):
        same = [k for k in keep if d[k, 5] == d[j, 5]]
        if same and iou_matrix(d[j:j + 1, :4], d[same, :4]).max() > iou_thr:
            continue
        keep.append(j)
    return d[keep]


def display_calibration(dets, gts, thresholds=None, iou_thr=0.5):
    """Choose the box display score: the threshold t maximising F1 of the boxes a reader would see.

    dets: per image [k,6] after class-wise NMS; gts: per image [m,>=4] (empty for images known to have no lesion).
    A shown box (score >= t) is a true positive when it matches a not-yet-matched ground-truth box at IoU >= iou_thr
    (class-agnostic, greedy by score within the image); every other shown box is a false positive.
    Ties in F1 go to the higher threshold (fewer boxes). Returns the chosen point and the whole curve.
    """
    if thresholds is None:
        thresholds = np.round(np.arange(0.02, 0.801, 0.01), 2)
    npos = int(sum(len(g) for g in gts))
    curve = []
    for t in thresholds:
        tp = fp = 0
        pos_hit = neg_any = 0
        for d, g in zip(dets, gts):
            s = d[d[:, 4] >= t] if len(d) else d
            s = s[np.argsort(-s[:, 4], kind="stable")] if len(s) else s
            used = set()
            hit = False
            if len(s) and len(g):
                ious = iou_matrix(s[:, :4], np.asarray(g, dtype=np.float64)[:, :4])
                for j in range(len(s)):
                    cand = [(ious[j, m], m) for m in range(len(g)) if m not in used and ious[j, m] >= iou_thr]
                    if cand:
                        used.add(max(cand)[1]); tp += 1; hit = True
                    else:
                        fp += 1
            else:
                fp += len(s)
            if len(g):
                pos_hit += int(hit)
            else:
                neg_any += int(len(s) > 0)
        p = tp / (tp + fp) if tp + fp else None
        r = tp / npos if npos else None
        f1 = 2 * p * r / (p + r) if p and r else 0.0
        curve.append({"t": float(t), "tp": tp, "fp": fp, "precision": p, "recall": r, "f1": f1,
                      "lesion_images_with_a_correct_box": pos_hit, "lesion_free_images_with_a_box": neg_any})
    best = max(curve, key=lambda c: (round(c["f1"], 9), c["t"]))
    return best, curve
