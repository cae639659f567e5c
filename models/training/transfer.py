"""Measures of transfer to a source the model never saw: leave-one-source-out (LOSO) blocks with bootstrap
intervals, and the shortcut probe (how well a linear classifier on the embedding tells the sources apart).

A LOSO block scores every image of the held-out source; its threshold comes from the remaining sources' val split
(the highest TB score threshold with >= 90 % sensitivity there), as a new clinic would get the pack's threshold.
"""
from __future__ import annotations

import numpy as np

from . import metrics as Mx

BOOTSTRAP_DRAWS = 2000


def spec_at_sens(y, s, target=0.90):
    """Specificity at the highest threshold that keeps sensitivity >= target on these same images."""
    y = np.asarray(y).astype(bool)
    s = np.asarray(s, dtype=np.float64)
    if y.sum() == 0 or (~y).sum() == 0:
        return None
    thr = Mx.threshold_for_sensitivity(y, s, target)
    return float((s[~y] < thr).mean())


def bootstrap(y, s, stat, draws=BOOTSTRAP_DRAWS, seed=0):
    """Stratified percentile bootstrap 95 % interval of stat(y, s) (TB and not-TB resampled separately)."""
    y = np.asarray(y).astype(bool)
    s = np.asarray(s, dtype=np.float64)
    pos, neg = np.flatnonzero(y), np.flatnonzero(~y)
    if len(pos) == 0 or len(neg) == 0:
        return None
    rng = np.random.default_rng(seed)
    vals = []
    for _ in range(draws):
        ii = np.concatenate([rng.choice(pos, len(pos)), rng.choice(neg, len(neg))])
        v = stat(y[ii], s[ii])
        if v is not None:
            vals.append(v)
    lo, hi = np.percentile(vals, [2.5, 97.5])
    return [round(float(lo), 4), round(float(hi), 4)]


def loso_block(y, s, threshold, seed=0):
    """y: TB or not per image of the held-out source, s: TB scores 0..100, threshold: from the other sources' val."""
    y = np.asarray(y).astype(bool)
    s = np.asarray(s, dtype=np.float64)
    st = Mx.binary_stats(y, s, threshold)
    auc = Mx.roc_auc(y, s)
    sp90 = spec_at_sens(y, s)
    r = lambda v: None if v is None else round(float(v), 4)
    return {"n": int(len(y)), "n_tb": int(y.sum()), "n_not_tb": int((~y).sum()),
            "auc": r(auc), "auc95": bootstrap(y, s, Mx.roc_auc, seed=seed),
            "specificity_at_90_sensitivity": r(sp90),
            "specificity_at_90_sensitivity95": bootstrap(y, s, spec_at_sens, seed=seed + 1),
            "threshold_from_other_sources_val": r(threshold),
            "accuracy_at_threshold": r(st["accuracy"]), "sensitivity_at_threshold": r(st["sensitivity"]),
            "specificity_at_threshold": r(st["specificity"])}


# ------------------------------------------------------------------------------------------- shortcut probe
def _standardise(xtr, xte):
    mu, sd = xtr.mean(0), xtr.std(0) + 1e-6
    return (xtr - mu) / sd, (xte - mu) / sd


def softmax_regression(x, y, n_cls, l2=1.0, iters=300):
    """Multinomial logistic regression by full-batch gradient descent with a fixed step (deterministic)."""
    n, d = x.shape
    w = np.zeros((d, n_cls))
    b = np.zeros(n_cls)
    oh = np.eye(n_cls)[y]
    lr = 0.5
    for _ in range(iters):
        z = x @ w + b
        z -= z.max(1, keepdims=True)
        p = np.exp(z)
        p /= p.sum(1, keepdims=True)
        g = p - oh
        w -= lr * (x.T @ g / n + l2 * w / n)
        b -= lr * g.mean(0)
    return w, b


def probe_accuracy(emb, groups, folds=5, seed=0, l2=1.0):
    """Cross-validated accuracy of predicting `groups` (source names) from `emb`, folds stratified by group, against
    chance (always answering the commonest group). Groups with fewer than `folds` members are left out."""
    emb = np.asarray(emb, dtype=np.float64)
    names, counts = np.unique(groups, return_counts=True)
    keep_names = [n for n, c in zip(names, counts) if c >= folds]
    sel = np.array([g in keep_names for g in groups])
    x = emb[sel]
    gi = np.array([keep_names.index(g) for g in np.asarray(groups)[sel]])
    if len(keep_names) < 2:
        return None
    rng = np.random.default_rng(seed)
    fold = np.zeros(len(gi), dtype=int)
    for c in range(len(keep_names)):
        idx = np.flatnonzero(gi == c)
        rng.shuffle(idx)
        fold[idx] = np.arange(len(idx)) % folds
    pred = np.zeros(len(gi), dtype=int)
    for f in range(folds):
        tr, te = fold != f, fold == f
        xtr, xte = _standardise(x[tr], x[te])
        w, b = softmax_regression(xtr, gi[tr], len(keep_names), l2=l2)
        pred[te] = (xte @ w + b).argmax(1)
    chance = float(np.bincount(gi).max() / len(gi))
    acc = float((pred == gi).mean())
    bal = float(np.mean([(pred[gi == c] == c).mean() for c in range(len(keep_names))]))
    return {"accuracy": round(acc, 4), "chance": round(chance, 4),
            "excess_over_chance": round(acc - chance, 4),
            "balanced_accuracy": round(bal, 4), "balanced_chance": round(1 / len(keep_names), 4),
            "n": int(len(gi)),
            "sources": {n: int((gi == k).sum()) for k, n in enumerate(keep_names)}}


def shortcut_probe(emb, sources, is_tb, folds=5, seed=0):
    """Source predictability from the embedding among not-TB images and among TB images separately (DA/DB's
    "non_tb" and "tb" count as their own source, like every other)."""
    sources = np.asarray(sources)
    is_tb = np.asarray(is_tb).astype(bool)
    return {"not_tb": probe_accuracy(emb[~is_tb], sources[~is_tb], folds, seed),
            "tb": probe_accuracy(emb[is_tb], sources[is_tb], folds, seed)}
