"""Train the TB reader (reader.py) on lung-masked images, optionally leaving sources out, and evaluate it.

    /usr/bin/python3 -m models.training.train_reader --run rd_shz --lungs models/training/runs/seg_noshz/final.pt \
        --hold-out-source shenzhen --steps 1500 --head hier --aug acq --sampler balanced

The lung fields come from a CXRNet checkpoint (`--lungs`), computed once per image and cached; in a leave-one-source-
out arm that checkpoint must not have seen the held-out source either (see the training README). eval.json holds
the internal val/test figures (sources not held out), a LOSO block per held-out source (every image of it, threshold
from the other sources' val split, AUC and specificity at 90 % sensitivity with bootstrap intervals) and the shortcut
probe on the val + test embeddings.
"""
from __future__ import annotations

import argparse
import hashlib
import json
import os
import time

import numpy as np
import torch
import torch.nn.functional as F

from . import data as D
from . import metrics as Mx
from . import transfer as TR
from .augment import acquisition_randomise, apply_intensity, random_affines, warp_pair
from .evaluate import cls_block, load_net
from .export import sha256_file
from .reader import TBReader, lung_probability
from .train import lr_at

HERE = os.path.dirname(os.path.abspath(__file__))


def parse_args(argv=None):
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--run", required=True)
    ap.add_argument("--runs-dir", default=os.path.join(HERE, "runs"))
    ap.add_argument("--data-root", default=D.default_data_root())
    ap.add_argument("--cache-dir", default="/tmp/cxr_tb_cache")
    ap.add_argument("--lungs", required=True, help="CXRNet checkpoint whose lung fields mask the reader's input")
    ap.add_argument("--hold-out-source", action="append", default=[], metavar="NAME",
                    help="leave this source out of training, threshold choice and selection (repeatable)")
    ap.add_argument("--size", type=int, default=256)
    ap.add_argument("--steps", type=int, default=1500)
    ap.add_argument("--batch-size", type=int, default=16)
    ap.add_argument("--lr", type=float, default=2e-3)
    ap.add_argument("--weight-decay", type=float, default=1e-4)
    ap.add_argument("--warmup", type=int, default=100)
    ap.add_argument("--seed", type=int, default=1234)
    ap.add_argument("--threads", type=int, default=int(os.environ.get("CXR_THREADS", "1")))
    ap.add_argument("--head", default="tri", choices=["tri", "hier"])
    ap.add_argument("--aug", default="base", choices=["base", "acq"],
                    help="base: the multi-task trainer's gamma/blur/noise; acq: acquisition randomisation")
    ap.add_argument("--sampler", default="mixed:0.6",
                    help="mixed:F (the multi-task trainer's rule with F of the draws on the mixed sources) or "
                         "balanced (equal mass per source within TB and within not-TB, half each)")
    ap.add_argument("--adv", type=float, default=0.0,
                    help="weight of the class-conditional source adversary (gradient reversal), 0 = off")
    ap.add_argument("--mixstyle", type=float, default=0.0,
                    help="probability of MixStyle (feature-statistics mixing between samples) after the stem and the "
                         "first stage, training only; 0 = off")
    ap.add_argument("--instance-norm", action="store_true", help="instance normalisation in the reader's stem")
    ap.add_argument("--no-mask", action="store_true", help="(comparison arm) the whole image, pooled over all cells")
    ap.add_argument("--width", default="24,32,64,96,128")
    ap.add_argument("--dilate", type=int, default=9, help="lung mask dilation, px at the input size (odd)")
    ap.add_argument("--ckpt-every", type=int, default=100)
    ap.add_argument("--log-every", type=int, default=25)
    ap.add_argument("--resume", action="store_true")
    ap.add_argument("--ids", default=None, help="(tests) comma-separated ids to restrict the corpus")
    return ap.parse_args(argv)


# --------------------------------------------------------------------------------------------- lung fields
@torch.no_grad()
def lung_maps(corpus, ckpt, cache_dir=None, bs=32):
    """uint8 [N,S,S]: 255 * (1 - p(background)) of the checkpoint's lung logits on each (unaugmented) image, as the
    exported graph computes it. Cached per checkpoint and corpus."""
    key = hashlib.sha256((sha256_file(ckpt) + "|" + str(corpus.size) + "|" +
                          D.fingerprint(corpus.rows)).encode()).hexdigest()[:16]
    path = os.path.join(cache_dir, f"lungs_{corpus.size}_{key}.npy") if cache_dir else None
    if path and os.path.exists(path):
        return np.load(path)
    net, _ = load_net(ckpt)
    from .augment import normalise_batch
    out = np.zeros((len(corpus.items), corpus.size, corpus.size), np.uint8)
    for k in range(0, len(corpus.items), bs):
        x = torch.from_numpy(corpus.images[k:k + bs].astype(np.float32))[:, None]
        p = lung_probability(net(normalise_batch(x))["lung_logits"], corpus.size)
        out[k:k + bs] = (p[:, 0].clamp(0, 1) * 255 + 0.5).to(torch.uint8).numpy()
    if path:
        tmp = path + ".tmp.npy"
        np.save(tmp, out)
        os.replace(tmp, path)
    return out


# ----------------------------------------------------------------------------------------------- sampling
def balanced_weights(corpus, idx):
    """Equal mass per source within TB and within not-TB; TB and not-TB half each."""
    groups = {}
    for i in idx:
        it = corpus.items[i]
        groups.setdefault((it.label == "tb", it.source), []).append(i)
    per_label = {}
    for (tb, _), members in groups.items():
        per_label[tb] = per_label.get(tb, 0) + 1
    w = {}
    for (tb, _), members in groups.items():
        for i in members:
            w[i] = 0.5 / per_label[tb] / len(members)
    arr = np.array([w[i] for i in idx])
    return arr / arr.sum()


def cls_weights(corpus, idx, sampler):
    if sampler == "balanced":
        return balanced_weights(corpus, idx)
    if sampler.startswith("mixed:"):
        return D.mixed_source_weights(corpus, idx, float(sampler.split(":", 1)[1]))
    raise ValueError(f"sampler {sampler!r}: mixed:F or balanced")


# ----------------------------------------------------------------------------------------------- training
def labels_for(items, head):
    """Targets per head: tri -> allowed-class mask [B,3]; hier -> (tb [B], abnormal [B], abnormal known [B])."""
    if head == "tri":
        allowed = torch.zeros(len(items), 3, dtype=torch.bool)
        for b, it in enumerate(items):
            allowed[b, it.cls_allowed] = True
        return allowed
    tb = torch.tensor([it.label == "tb" for it in items], dtype=torch.float32)
    abn = torch.tensor([it.label in ("tb", "non_tb") for it in items], dtype=torch.float32)
    known = torch.tensor([not (it.label == "non_tb" and len(it.cls_allowed) > 1) for it in items],
                         dtype=torch.float32)
    return tb, abn, known


def cls_loss(logits, target, head):
    if head == "tri":
        logp = F.log_softmax(logits, 1)
        return -(torch.logsumexp(logp.masked_fill(~target, -1e9), 1)).mean()
    tb, abn, known = target
    l_tb = F.binary_cross_entropy_with_logits(logits[:, 1], tb)
    l_abn = (F.binary_cross_entropy_with_logits(logits[:, 0], abn, reduction="none") * known).sum() / \
        known.sum().clamp_min(1)
    return l_tb + 0.5 * l_abn


def source_maps(corpus, idx):
    tb = sorted({corpus.items[i].source for i in idx if corpus.items[i].label == "tb"})
    nt = sorted({corpus.items[i].source for i in idx if corpus.items[i].label != "tb"})
    return tb, nt


def make_input(corpus, lungs, idx, rng, aug, train=True, no_mask=False):
    x = torch.from_numpy(corpus.images[idx].astype(np.float32))[:, None]
    m = torch.ones_like(x) if no_mask else torch.from_numpy(lungs[idx].astype(np.float32) / 255.0)[:, None]
    if train:
        x = acquisition_randomise(x, rng) if aug == "acq" else apply_intensity(x, rng)
        M, T, _ = random_affines(len(idx), rng, 1.0, 0.0)
        x, m = warp_pair(x, m, M, T)
        if no_mask:
            m = torch.ones_like(m)
    return x, m


def build_reader(a, n_tb=0, n_not=0):
    width = tuple(int(v) for v in str(a["width"] if isinstance(a, dict) else a.width).split(","))
    g = (lambda k: a[k]) if isinstance(a, dict) else (lambda k: getattr(a, k))
    opt = (lambda k, d: a.get(k, d)) if isinstance(a, dict) else (lambda k, d: getattr(a, k, d))
    return TBReader(width=width, head=g("head"), dilate=1 if g("no_mask") else g("dilate"),
                    n_source_tb=n_tb, n_source_not=n_not, mixstyle=opt("mixstyle", 0.0),
                    instance_norm=opt("instance_norm", False))


def train(a):
    torch.set_num_threads(a.threads)
    np.random.seed(a.seed)
    torch.manual_seed(a.seed)
    run_dir = os.path.join(a.runs_dir, a.run)
    os.makedirs(run_dir, exist_ok=True)
    logf = open(os.path.join(run_dir, "train_log.jsonl"), "a")

    def log(msg, **kw):
        logf.write(json.dumps({"t": round(time.time(), 1), "msg": msg, **kw}) + "\n")
        logf.flush()
        print(msg, json.dumps(kw) if kw else "", flush=True)

    ids = a.ids.split(",") if a.ids else None
    corpus = D.Corpus(a.data_root, a.size, a.cache_dir, ids=ids, hold_out=a.hold_out_source)
    lungs = lung_maps(corpus, a.lungs, a.cache_dir)
    idx = corpus.indices("train")
    w = cls_weights(corpus, idx, a.sampler)
    src_tb, src_not = source_maps(corpus, idx)
    adv = a.adv > 0
    net = build_reader(a, len(src_tb) if adv else 0, len(src_not) if adv else 0)
    opt = torch.optim.AdamW(net.parameters(), lr=a.lr, weight_decay=a.weight_decay)
    rng = np.random.default_rng(a.seed)
    aug_rng = np.random.default_rng(a.seed + 1)
    train_rows = [r for r in corpus.rows if r["_split"] == "train"]
    meta = {"n_train": len(idx), "train_fingerprint": D.fingerprint(train_rows), "lungs_sha256": sha256_file(a.lungs),
            "sources_tb": src_tb, "sources_not_tb": src_not}
    step = 0
    ck_last = os.path.join(run_dir, "ckpt_last.pt")
    if a.resume and os.path.exists(ck_last):
        ck = torch.load(ck_last, map_location="cpu")
        net.load_state_dict(ck["model"])
        opt.load_state_dict(ck["opt"])
        rng.bit_generator.state, aug_rng.bit_generator.state = ck["rng"], ck["aug_rng"]
        torch.set_rng_state(ck["torch_rng"])
        step = ck["step"]
        log("resumed", step=step)
    else:
        log("start", args=vars(a), **meta)

    def save(path, final=False):
        ck = {"model": net.state_dict(), "step": step, "args": vars(a), "meta": meta, "kind": "tb_reader"}
        if not final:
            ck.update(opt=opt.state_dict(), rng=rng.bit_generator.state, aug_rng=aug_rng.bit_generator.state,
                      torch_rng=torch.get_rng_state())
        torch.save(ck, path + ".tmp")
        os.replace(path + ".tmp", path)

    acc, cnt = {}, {}
    t0 = time.time()
    net.train()
    while step < a.steps:
        sel = rng.choice(len(idx), size=a.batch_size, replace=True, p=w)
        bi = [idx[int(k)] for k in sel]
        items = [corpus.items[i] for i in bi]
        x, m = make_input(corpus, lungs, bi, aug_rng, a.aug, True, a.no_mask)
        for g in opt.param_groups:
            g["lr"] = lr_at(step, a)
        out = net(x, m)
        L = {"cls": cls_loss(out["logits"], labels_for(items, a.head), a.head)}
        if adv:
            p = step / max(1, a.steps)
            lam = a.adv * (2 / (1 + np.exp(-10 * p)) - 1)
            from .reader import grad_reverse
            e = grad_reverse(out["embedding"], float(lam))
            for name, head, names, pick in (("adv_tb", net.src_tb, src_tb, lambda it: it.label == "tb"),
                                            ("adv_not", net.src_not, src_not, lambda it: it.label != "tb")):
                kk = [b for b, it in enumerate(items) if pick(it)]
                if head is None or len(kk) < 2:
                    continue
                tgt = torch.tensor([names.index(items[b].source) for b in kk])
                L[name] = F.cross_entropy(head(e[kk]), tgt)
        loss = sum(L.values())
        opt.zero_grad(set_to_none=True)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(net.parameters(), 5.0)
        opt.step()
        step += 1
        for k, v in L.items():
            acc[k] = acc.get(k, 0.0) + float(v)
            cnt[k] = cnt.get(k, 0) + 1
        if step % a.log_every == 0 or step == a.steps:
            log(f"step {step}", losses={k: round(acc[k] / cnt[k], 4) for k in acc}, lr=round(lr_at(step - 1, a), 6),
                elapsed_s=round(time.time() - t0, 1))
            acc, cnt = {}, {}
        if step % a.ckpt_every == 0 or step == a.steps:
            save(ck_last)
    save(os.path.join(run_dir, "final.pt"), final=True)
    log("done", step=step, train_seconds=round(time.time() - t0, 1))
    ev = evaluate_reader(net, corpus, lungs, no_mask=a.no_mask)
    ev.update(run=a.run, step=step, args=vars(a), train_seconds=round(time.time() - t0, 1))
    with open(os.path.join(run_dir, "eval.json"), "w") as f:
        json.dump(ev, f, indent=1)
    log("final_eval", summary=summary_line(ev))
    logf.close()
    return net, corpus


# --------------------------------------------------------------------------------------------- evaluation
@torch.no_grad()
def predict_reader(net, corpus, lungs, idx, bs=32, no_mask=False):
    net.eval()
    scores, probs, embs = [], [], []
    for k in range(0, len(idx), bs):
        ii = idx[k:k + bs]
        x, m = make_input(corpus, lungs, ii, None, None, train=False, no_mask=no_mask)
        o = net(x, m)
        lp = net.class_log_probs(o["logits"])
        probs.append(lp.exp().numpy())
        scores.append(100 * lp[:, 2].exp().numpy())
        embs.append(o["embedding"].numpy())
    if not idx:
        return np.zeros(0), np.zeros((0, 3)), np.zeros((0, net.emb_dim))
    return np.concatenate(scores), np.concatenate(probs), np.concatenate(embs)


def evaluate_reader(net, corpus, lungs, no_mask=False, probe=True):
    t0 = time.time()
    out = {"splits": {}, "split_rule": D.SPLIT_RULE, "hold_out": list(corpus.hold_out)}
    preds = {sp: (corpus.indices(sp),) + predict_reader(net, corpus, lungs, corpus.indices(sp), no_mask=no_mask)
             for sp in ("val", "test", D.HELD_OUT)}
    vidx, vs = preds["val"][0], preds["val"][1]
    thr = Mx.threshold_for_sensitivity([corpus.items[i].label == "tb" for i in vidx], vs, 0.90)
    out["threshold"] = {"tb_score": round(float(thr), 6),
                        "rule": "highest TB score threshold with >= 90% sensitivity on pooled val"
                                + (" (sources not held out)" if corpus.hold_out else "")}
    for sp in ("val", "test"):
        idx, s, p, _ = preds[sp]
        items = [corpus.items[i] for i in idx]
        blk = {"pooled": cls_block(items, s, p, thr)}
        for src in D.SETS:
            sel = [k for k, it in enumerate(items) if it.source == src]
            if sel:
                blk[src] = cls_block([items[k] for k in sel], s[sel], p[sel], thr)
        sel = [k for k, it in enumerate(items) if it.source != "tbx11k"]
        blk["pooled_without_tbx11k"] = cls_block([items[k] for k in sel], s[sel], p[sel], thr)
        out["splits"][sp] = {"classification": blk}
    idx, s, _, _ = preds[D.HELD_OUT]
    out["loso"] = {}
    for src in corpus.hold_out:
        sel = [k for k, i in enumerate(idx) if corpus.items[i].source == src]
        y = [corpus.items[idx[k]].label == "tb" for k in sel]
        out["loso"][src] = TR.loso_block(y, s[sel], thr)
    if probe:
        ii = preds["val"][0] + preds["test"][0]
        emb = np.concatenate([preds["val"][3], preds["test"][3]])
        out["shortcut_probe"] = TR.shortcut_probe(emb, [corpus.items[i].source for i in ii],
                                                  [corpus.items[i].label == "tb" for i in ii])
        out["shortcut_probe"]["images"] = "val + test of the sources not held out"
    out["eval_seconds"] = round(time.time() - t0, 1)
    return out


def summary_line(ev):
    parts = []
    for sp in ("val", "test"):
        c = ev["splits"][sp]["classification"]
        parts.append(f"{sp}: auc={c['pooled']['auc']} noTBX={c['pooled_without_tbx11k']['auc']}")
    for src, b in ev.get("loso", {}).items():
        parts.append(f"LOSO {src}: auc={b['auc']} {b['auc95']} spec@90={b['specificity_at_90_sensitivity']} "
                     f"acc@thr={b['accuracy_at_threshold']}")
    pr = ev.get("shortcut_probe")
    if pr:
        parts.append("probe not-TB bal={} TB bal={}".format((pr["not_tb"] or {}).get("balanced_accuracy"),
                                                            (pr["tb"] or {}).get("balanced_accuracy")))
    return " | ".join(parts)


def load_reader(path):
    ck = torch.load(path, map_location="cpu")
    net = build_reader(ck["args"])
    state = {k: v for k, v in ck["model"].items() if not k.startswith(("src_tb.", "src_not."))}
    net.load_state_dict(state)
    net.eval()
    return net, ck


if __name__ == "__main__":
    train(parse_args())
