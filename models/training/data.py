"""Manifest loading, split handling, decoded-array cache and per-task sampling."""
from __future__ import annotations

import hashlib
import json
import os
from dataclasses import dataclass, field

import numpy as np
from PIL import Image, ImageDraw

from . import preprocess as pp

SETS = [
    "tbx11k", "shenzhen", "tbx11k_extra_da_db", "nih_cxr14_talo",
    "ieee8023_covid_cxr", "actualmed_covid_cxr", "figure1_covid_cxr",
]
CLASS_NAMES = ["healthy", "sick_not_tb", "tb"]
DET_CLASSES = ["ActiveTuberculosis", "ObsoletePulmonaryTuberculosis"]
LUNG_CLASSES = ["background", "right_lung", "left_lung"]  # patient's right = image left
# sources whose manifest has no test split: their official val is split in two halves
HOLDOUT_FROM_VAL = {"tbx11k", "shenzhen", "tbx11k_extra_da_db"}
# byte-identical pairs documented in tbx11k_extra_da_db/README (n5=n31, n1=n28, n6=n32, n2=n30)
DADB_DUPES = [("dadb_n5", "dadb_n31"), ("dadb_n1", "dadb_n28"), ("dadb_n6", "dadb_n32"),
              ("dadb_n2", "dadb_n30")]
SPLIT_RULE = ("manifest split; for tbx11k, shenzhen, tbx11k_extra_da_db (no test split in the "
              "manifest) the official val rows are divided by sha256(id): first hex digit < 8 -> "
              "'val' (tuning/threshold), else 'test' (held out); tbx11k_extra_da_db duplicate "
              "pairs: the non-train copy is dropped")


def default_data_root() -> str:
    here = os.path.dirname(os.path.abspath(__file__))
    return os.path.normpath(os.path.join(here, "..", "..", "..", "shared", "datasets"))


def cls_allowed(row) -> list:
    """Allowed class indices for the 3-class head (partial labels for DA/DB non-TB)."""
    lab = row["label"]
    if lab == "tb":
        return [2]
    if lab == "normal":
        return [0]
    if lab == "non_tb":
        if row["_set"] == "tbx11k_extra_da_db":
            return [0, 1]  # not-TB, healthy vs sick unknown
        return [1]
    raise ValueError(lab)


HELD_OUT = "held_out"


def load_rows(data_root: str, sets=SETS, hold_out=()):
    """Manifest rows with their working split (`_split`). Rows of a held-out source get the split 'held_out': they
    are in no split that training, threshold choice or model selection reads, and are scored only as that
    source's leave-one-source-out test."""
    unknown = set(hold_out) - set(sets)
    if unknown:
        raise ValueError(f"unknown source(s) to hold out: {sorted(unknown)} (sources: {', '.join(sets)})")
    rows = []
    for s in sets:
        path = os.path.join(data_root, s, "manifest.jsonl")
        with open(path) as f:
            for line in f:
                line = line.strip()
                if not line:
                    continue
                r = json.loads(line)
                r["_set"] = s
                r["_path"] = os.path.join(data_root, s, r["image"])
                r["_raw"] = line
                rows.append(r)
    by_id = {r["id"]: r for r in rows}
    drop = set()
    for a, b in DADB_DUPES:
        if a in by_id and b in by_id:
            ra, rb = by_id[a], by_id[b]
            if ra["split"] == "train" and rb["split"] != "train":
                drop.add(b)
            elif rb["split"] == "train" and ra["split"] != "train":
                drop.add(a)
            elif ra["split"] != "train":
                drop.add(b)
    out = []
    for r in rows:
        if r["id"] in drop:
            continue
        sp = r["split"]
        if r["_set"] in HOLDOUT_FROM_VAL and sp == "val":
            h = hashlib.sha256(r["id"].encode()).hexdigest()
            sp = "val" if int(h[0], 16) < 8 else "test"
        r["_split"] = HELD_OUT if r["_set"] in hold_out else sp
        r["_official_split"] = r["split"]
        out.append(r)
    return out


def fingerprint(rows) -> str:
    """sha256 over the raw manifest lines (as stored) of the given rows, sorted by set/id."""
    h = hashlib.sha256()
    for r in sorted(rows, key=lambda r: (r["_set"], r["id"])):
        h.update(r["_set"].encode() + b"\t" + r["_raw"].encode() + b"\n")
    return h.hexdigest()


def read_gray(path: str) -> np.ndarray:
    im = Image.open(path)
    if im.mode in ("I;16", "I;16B", "I;16L", "I"):
        a = np.asarray(im)
        return a.astype(np.uint16) if a.dtype != np.uint16 else a
    if im.mode != "L":
        im = im.convert("L")
    return np.asarray(im, dtype=np.uint8)


def lung_label_map(row, g: pp.Letterbox) -> np.ndarray | None:
    polys = row.get("lung_polygons")
    if not polys:
        return None
    S = g.size
    im = Image.new("L", (S, S), 0)
    d = ImageDraw.Draw(im)
    for name, val in (("right_lung", 1), ("left_lung", 2)):
        pts = polys.get(name)
        if not pts:
            continue
        # polygon vertices in source pixel units -> letterbox pixel units (pixel-centre convention)
        q = [((x) * g.sx + g.pad_x - 0.5, (y) * g.sy + g.pad_y - 0.5) for x, y in pts]
        d.polygon(q, fill=val)
    return np.asarray(im, dtype=np.uint8)


@dataclass
class Item:
    id: str
    source: str
    split: str
    official_split: str
    label: str
    cls_allowed: list
    boxes: np.ndarray          # [K, 5] x0,y0,x1,y1 (letterbox px), cls index
    has_det: bool
    seg_idx: int               # index into seg array or -1
    seg_ok: bool               # mask confidence ok (evaluation)
    lb: pp.Letterbox = field(repr=False, default=None)


class Corpus:
    """All images letterboxed to S, cached as float16 [N, S, S] in [0, 1]."""

    def __init__(self, data_root: str, size: int, cache_dir: str | None = None,
                 sets=SETS, ids=None, verbose=True, hold_out=()):
        self.size = size
        self.data_root = data_root
        self.hold_out = tuple(sorted(hold_out))
        rows = load_rows(data_root, sets, hold_out=self.hold_out)
        if ids is not None:
            ids = set(ids)
            rows = [r for r in rows if r["id"] in ids]
        self.rows = rows
        key = hashlib.sha256((str(size) + "|" + fingerprint(rows)).encode()).hexdigest()[:16]
        cache = None
        if cache_dir:
            os.makedirs(cache_dir, exist_ok=True)
            cache = os.path.join(cache_dir, f"corpus_{size}_{key}.npz")
        if cache and os.path.exists(cache):
            z = np.load(cache)
            self.images, self.seg = z["images"], z["seg"]
            geoms = z["geoms"]
        else:
            imgs, segs, geoms = [], [], []
            for i, r in enumerate(rows):
                px = read_gray(r["_path"])
                lb, g = pp.letterbox(pp.to_unit(px), size)
                imgs.append(lb.astype(np.float16))
                geoms.append([g.src_w, g.src_h, g.new_w, g.new_h, g.pad_x, g.pad_y])
                m = lung_label_map(r, g)
                if m is not None:
                    segs.append(m)
                if verbose and (i + 1) % 250 == 0:
                    print(f"  decoded {i + 1}/{len(rows)}", flush=True)
            self.images = np.stack(imgs)
            self.seg = np.stack(segs) if segs else np.zeros((0, size, size), np.uint8)
            geoms = np.array(geoms, dtype=np.int64)
            if cache:
                tmp = cache + ".tmp.npz"
                np.savez(tmp, images=self.images, seg=self.seg, geoms=geoms)
                os.replace(tmp, cache)
        self.items = []
        si = 0
        for r, gm in zip(rows, geoms):
            g = pp.Letterbox(size, *[int(v) for v in gm])
            bx = []
            for b in r.get("boxes") or []:
                if b["cls"] not in DET_CLASSES:
                    continue
                x0, y0 = g.to_lb(b["x0"], b["y0"])
                x1, y1 = g.to_lb(b["x1"], b["y1"])
                bx.append([x0, y0, x1, y1, DET_CLASSES.index(b["cls"])])
            boxes = np.array(bx, dtype=np.float32).reshape(-1, 5)
            has_seg = bool(r.get("lung_polygons"))
            seg_ok = has_seg and (r.get("mask_info") or {}).get("confidence", "ok") == "ok"
            self.items.append(Item(
                id=r["id"], source=r["_set"], split=r["_split"], official_split=r["_official_split"],
                label=r["label"], cls_allowed=cls_allowed(r), boxes=boxes,
                has_det=(r["_set"] == "tbx11k" and len(boxes) > 0),
                seg_idx=si if has_seg else -1, seg_ok=seg_ok, lb=g))
            if has_seg:
                si += 1

    def indices(self, split: str, pred=None):
        return [i for i, it in enumerate(self.items)
                if it.split == split and (pred is None or pred(it))]


# ---------------------------------------------------------------- task data sets / samplers
TASKS = ["cls", "det", "seg"]


def task_indices(corpus: Corpus, split="train", seg_only_ok=True):
    cls = corpus.indices(split)
    det = corpus.indices(split, lambda it: it.has_det)
    seg = corpus.indices(split, lambda it: it.seg_idx >= 0 and (it.seg_ok or not seg_only_ok))
    return {"cls": cls, "det": det, "seg": seg}


def cls_group_weights(corpus: Corpus, idx, class_mass=(0.3, 0.3, 0.4)):
    """Per-image sampling weights for the classification task, balancing sources.

    Groups = (source, label). Each group gets mass proportional to sqrt(group size) inside its
    label class; label classes get fixed total mass (healthy, sick/not-TB, TB).  DA/DB non-TB
    (healthy-or-sick) counts half to healthy, half to sick.
    """
    groups = {}
    for i in idx:
        it = corpus.items[i]
        groups.setdefault((it.source, it.label), []).append(i)
    w = np.zeros(len(corpus.items), dtype=np.float64)
    cls_of = {"normal": [0], "non_tb": [1], "tb": [2]}
    mass = {}
    for (src, lab), members in groups.items():
        cl = [0, 1] if (lab == "non_tb" and src == "tbx11k_extra_da_db") else cls_of[lab]
        for c in cl:
            mass.setdefault(c, []).append(((src, lab), np.sqrt(len(members)) / len(cl)))
    for c, lst in mass.items():
        tot = sum(m for _, m in lst)
        for (key, m) in lst:
            members = groups[key]
            w[members] += class_mass[c] * m / tot / len(members)
    w = w[idx]
    return w / w.sum()


def mixed_source_weights(corpus: Corpus, idx, mixed_mass: float, class_mass=(0.3, 0.3, 0.4)):
    """cls_group_weights, but a fixed share `mixed_mass` of the draws goes to the sources that hold both TB and
    not-TB images (Shenzhen, DA/DB): split equally between those sources and, inside each, equally between its TB
    and its not-TB images. Only there does "TB or not" differ within one hospital's images, so only there can the
    classifier not answer by recognising the source. The other (1 - mixed_mass) keeps the default rule over the
    remaining images."""
    labels = {}
    for i in idx:
        it = corpus.items[i]
        labels.setdefault(it.source, set()).add(it.label == "tb")
    mixed = sorted(s for s, ls in labels.items() if len(ls) == 2)
    if not mixed or not mixed_mass or not 0 < mixed_mass < 1:
        return cls_group_weights(corpus, idx, class_mass)
    rest = [i for i in idx if corpus.items[i].source not in mixed]
    w_rest = dict(zip(rest, cls_group_weights(corpus, rest, class_mass) * (1 - mixed_mass)))
    w = np.zeros(len(idx))
    for k, i in enumerate(idx):
        it = corpus.items[i]
        if it.source in mixed:
            same = sum(1 for j in idx if corpus.items[j].source == it.source
                       and (corpus.items[j].label == "tb") == (it.label == "tb"))
            w[k] = mixed_mass / len(mixed) / 2 / same
        else:
            w[k] = w_rest[i]
    return w / w.sum()


def task_probabilities(sizes: dict, sampler: str) -> dict:
    """sampler: 'inverse' (p ~ 1/n), 'proportional' (p ~ n), 'uniform', 'single:<task>',
    'weights:cls=0.6,det=0.3,seg=0.1' (explicit task shares, normalised; unnamed tasks get 0)."""
    tasks = [t for t in TASKS if sizes.get(t, 0) > 0]
    if sampler.startswith("weights:"):
        raw = {}
        for part in sampler.split(":", 1)[1].split(","):
            k, _, v = part.partition("=")
            k = k.strip()
            if k not in TASKS:
                raise ValueError(f"unknown task {k!r} in sampler {sampler!r}")
            w = float(v)
            if not w >= 0:
                raise ValueError(f"task weight must be >= 0: {part!r}")
            if w > 0 and k not in tasks:
                raise ValueError(f"task {k} has no data")
            raw[k] = w
        z = sum(raw.values())
        if z <= 0:
            raise ValueError(f"sampler {sampler!r} gives every task weight 0")
        return {t: raw.get(t, 0.0) / z for t in TASKS}
    if sampler.startswith("single:"):
        t = sampler.split(":", 1)[1]
        if t not in tasks:
            raise ValueError(f"unknown/empty task {t}")
        return {k: (1.0 if k == t else 0.0) for k in TASKS}
    if sampler == "inverse":
        raw = {t: 1.0 / sizes[t] for t in tasks}
    elif sampler == "proportional":
        raw = {t: float(sizes[t]) for t in tasks}
    elif sampler == "uniform":
        raw = {t: 1.0 for t in tasks}
    else:
        raise ValueError(sampler)
    z = sum(raw.values())
    return {t: raw.get(t, 0.0) / z for t in TASKS}


class TaskSampler:
    """Draws (task, batch indices). All randomness from one numpy Generator (checkpointable)."""

    def __init__(self, corpus: Corpus, sampler: str, batch_size: int, seed: int,
                 split="train", task_idx=None, mixed_source_mass=None):
        self.corpus = corpus
        self.idx = task_idx or task_indices(corpus, split)
        self.sizes = {t: len(v) for t, v in self.idx.items()}
        self.probs = task_probabilities(self.sizes, sampler)
        self.bs = batch_size
        self.rng = np.random.default_rng(seed)
        if not self.idx["cls"]:
            self.cls_w = None
        elif mixed_source_mass:
            self.cls_w = mixed_source_weights(corpus, self.idx["cls"], mixed_source_mass)
        else:
            self.cls_w = cls_group_weights(corpus, self.idx["cls"])

    def state(self):
        return self.rng.bit_generator.state

    def set_state(self, st):
        self.rng.bit_generator.state = st

    def draw(self):
        tasks = TASKS
        p = np.array([self.probs[t] for t in tasks])
        t = tasks[int(self.rng.choice(len(tasks), p=p / p.sum()))]
        pool = self.idx[t]
        if t == "cls":
            sel = self.rng.choice(len(pool), size=self.bs, replace=True, p=self.cls_w)
        else:
            sel = self.rng.choice(len(pool), size=self.bs, replace=len(pool) < self.bs)
        return t, [pool[int(i)] for i in sel]
