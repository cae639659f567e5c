"""Joint multi-task training (classification / CenterNet detection / lung segmentation).

    CXR_THREADS=1 /usr/bin/python3 -m models.training.train --run main --steps 2000
    ... --resume            # continue from runs/<run>/ckpt_last.pt
    ... --sampler proportional | uniform | single:cls | single:det | single:seg
"""
from __future__ import annotations

import argparse
import json
import os
import random
import time

import numpy as np
import torch
import torch.nn.functional as F

from . import data as D
from .augment import (apply_geometry, apply_intensity, burn_in, centernet_targets, normalise_batch,
                      random_affines, swap_lungs)
from .model import CXRNet

HERE = os.path.dirname(os.path.abspath(__file__))


def parse_args(argv=None):
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--run", default="main", help="run name (folder under --runs-dir)")
    ap.add_argument("--runs-dir", default=os.path.join(HERE, "runs"))
    ap.add_argument("--data-root", default=D.default_data_root())
    ap.add_argument("--cache-dir", default="/tmp/cxr_tb_cache")
    ap.add_argument("--size", type=int, default=256)
    ap.add_argument("--steps", type=int, default=2000)
    ap.add_argument("--batch-size", type=int, default=16)
    ap.add_argument("--lr", type=float, default=2e-3)
    ap.add_argument("--weight-decay", type=float, default=1e-4)
    ap.add_argument("--warmup", type=int, default=100)
    ap.add_argument("--sampler", default="inverse")
    ap.add_argument("--seed", type=int, default=1234)
    ap.add_argument("--ckpt-every", type=int, default=200)
    ap.add_argument("--log-every", type=int, default=20)
    ap.add_argument("--eval-every", type=int, default=0, help="0: only at the end")
    ap.add_argument("--threads", type=int, default=int(os.environ.get("CXR_THREADS", "1")))
    ap.add_argument("--resume", action="store_true")
    ap.add_argument("--init", default=None, help="initialise model weights from a checkpoint (fresh optimizer/schedule)")
    ap.add_argument("--aug-strength", type=float, default=1.0)
    ap.add_argument("--burn-in", type=float, default=0.0,
                    help="probability per training sample of burned-in marks outside the thorax (a bright frame, text, "
                         "a label block; augment.burn_in), labels unchanged (default 0: none, no random numbers drawn)")
    ap.add_argument("--hflip", type=float, default=0.0,
                    help="probability of a left-right mirror per training sample (lung labels swapped)")
    ap.add_argument("--mixed-source-mass", type=float, default=None,
                    help="share of classification draws given to the sources holding both TB and not-TB "
                         "(Shenzhen, DA/DB), half TB / half not-TB each (default: the sqrt group rule only)")
    ap.add_argument("--no-cross-task-labels", action="store_true",
                    help="only use the batch task's own labels (default: seg batches also train "
                         "cls with Shenzhen TB/normal labels, cls batches train an all-zero heatmap "
                         "on non-TB images)")
    ap.add_argument("--hold-out-source", action="append", default=[], metavar="NAME",
                    help="leave this source out of every split that training, threshold choice and selection read; "
                         "its images are scored only as its leave-one-source-out test (repeatable)")
    ap.add_argument("--pseudo-lungs", default=None, metavar="CKPT",
                    help="lung labels for the train images without a drawn lung mask: this checkpoint's lung argmax "
                         "(the seg task then draws from every train image)")
    ap.add_argument("--ids", default=None, help="(tests) comma-separated ids to restrict the corpus")
    ap.add_argument("--no-final-eval", action="store_true")
    return ap.parse_args(argv)


def focal_loss(logit, target):
    """CenterNet focal loss on logits; returns (sum, num_pos)."""
    p = torch.sigmoid(logit).clamp(1e-4, 1 - 1e-4)
    pos = target.eq(1).float()
    neg = 1 - pos
    pos_l = torch.log(p) * (1 - p) ** 2 * pos
    neg_l = torch.log(1 - p) * p ** 2 * (1 - target) ** 4 * neg
    return -(pos_l.sum() + neg_l.sum()), pos.sum()


def dice_loss(logits, target, n=3):
    p = torch.softmax(logits, 1)
    oh = F.one_hot(target, n).permute(0, 3, 1, 2).float()
    inter = (p * oh).sum(dim=(0, 2, 3))
    den = p.sum(dim=(0, 2, 3)) + oh.sum(dim=(0, 2, 3))
    return 1 - ((2 * inter + 1) / (den + 1))[1:].mean()


def make_batch(corpus, task, idx, rng, aug_strength, stride, train=True, hflip=0.0, burn=0.0):
    S = corpus.size
    x = torch.from_numpy(corpus.images[idx].astype(np.float32))[:, None]
    items = [corpus.items[i] for i in idx]
    seg = None
    if task == "seg":
        seg = torch.from_numpy(np.stack([corpus.seg[it.seg_idx] for it in items]).astype(np.int64))
    boxes = [it.boxes for it in items]
    if train and aug_strength > 0:
        x = apply_intensity(x, rng, aug_strength)
        M, T, flips = random_affines(len(idx), rng, aug_strength, hflip)
        x, seg, boxes = apply_geometry(x, seg, boxes, M, T)
        seg = swap_lungs(seg, flips)
        x = burn_in(x, rng, burn)
    x = normalise_batch(x)
    tg = centernet_targets(boxes, S, stride, len(D.DET_CLASSES))
    return x, items, seg, tg


def compute_losses(out, task, items, seg, tg, cross=True):
    L = {}
    if task == "cls" or (cross and task == "seg"):
        logp = F.log_softmax(out["cls_logits"], 1)
        allowed = torch.zeros_like(logp, dtype=torch.bool)
        for b, it in enumerate(items):
            allowed[b, it.cls_allowed] = True
        L["cls"] = -(torch.logsumexp(logp.masked_fill(~allowed, -1e9), 1)).mean()
    hm_t, wh_t, off_t, m_t = tg
    if task == "det":
        fl, npos = focal_loss(out["hm_logit"], hm_t)
        L["hm"] = fl / npos.clamp_min(1)
        nm = m_t.sum().clamp_min(1)
        wh_pred = out["det_size"] / 4.0  # cells
        L["wh"] = 0.1 * (F.l1_loss(wh_pred * m_t, wh_t * m_t, reduction="sum") / nm)
        L["off"] = (F.l1_loss(out["det_offset"] * m_t, off_t * m_t, reduction="sum") / nm)
    elif task == "cls" and cross:
        negs = [b for b, it in enumerate(items) if it.label != "tb"]
        if negs:
            fl, _ = focal_loss(out["hm_logit"][negs], torch.zeros_like(out["hm_logit"][negs]))
            L["hm_neg"] = fl / (2.0 * len(negs))
    if task == "seg":
        S2 = out["lung_logits"].shape[-1]
        tgt = F.interpolate(seg[:, None].float(), size=(S2, S2), mode="nearest")[:, 0].long()
        L["seg_ce"] = F.cross_entropy(out["lung_logits"], tgt)
        L["seg_dice"] = dice_loss(out["lung_logits"], tgt)
    return L


def lr_at(step, a):
    if step < a.warmup:
        return a.lr * (step + 1) / a.warmup
    t = (step - a.warmup) / max(1, a.steps - a.warmup)
    return a.lr * (0.02 + 0.98 * 0.5 * (1 + np.cos(np.pi * min(1.0, t))))


@torch.no_grad()
def add_pseudo_lungs(corpus, ckpt, bs=32):
    """Give every train image without a drawn lung mask the teacher's lung argmax as its seg label."""
    from .evaluate import load_net
    from .augment import normalise_batch
    teacher, _ = load_net(ckpt)
    need = corpus.indices("train", lambda it: it.seg_idx < 0)
    maps = []
    for k in range(0, len(need), bs):
        ii = need[k:k + bs]
        x = torch.from_numpy(corpus.images[ii].astype(np.float32))[:, None]
        lg = teacher(normalise_batch(x))["lung_logits"]
        up = F.interpolate(lg, size=x.shape[-2:], mode="bilinear", align_corners=False)
        maps.append(up.argmax(1).numpy().astype(np.uint8))
    if not need:
        return []
    base = len(corpus.seg)
    corpus.seg = np.concatenate([corpus.seg, np.concatenate(maps)])
    for j, i in enumerate(need):
        corpus.items[i].seg_idx = base + j
        corpus.items[i].seg_ok = False  # evaluation keeps to the drawn masks
    return need


def seed_all(seed):
    random.seed(seed); np.random.seed(seed); torch.manual_seed(seed)


def train(a):
    torch.set_num_threads(a.threads)
    seed_all(a.seed)
    run_dir = os.path.join(a.runs_dir, a.run)
    os.makedirs(run_dir, exist_ok=True)
    logf = open(os.path.join(run_dir, "train_log.jsonl"), "a")

    def log(msg, **kw):
        rec = {"t": round(time.time(), 1), "msg": msg, **kw}
        logf.write(json.dumps(rec) + "\n"); logf.flush()
        print(msg, json.dumps(kw) if kw else "", flush=True)

    t0 = time.time()
    ids = a.ids.split(",") if a.ids else None
    corpus = D.Corpus(a.data_root, a.size, a.cache_dir, ids=ids, hold_out=a.hold_out_source)
    log("corpus", n=len(corpus.items), secs=round(time.time() - t0, 1), held_out=list(corpus.hold_out))
    pseudo = []
    if a.pseudo_lungs:
        pseudo = add_pseudo_lungs(corpus, a.pseudo_lungs)
        log("pseudo_lungs", teacher=a.pseudo_lungs, images=len(pseudo))
    model_kwargs = {}
    net = CXRNet(**model_kwargs)
    opt = torch.optim.AdamW(net.parameters(), lr=a.lr, weight_decay=a.weight_decay)
    task_idx = None
    if pseudo:
        task_idx = D.task_indices(corpus, "train")
        task_idx["seg"] = sorted(set(task_idx["seg"]) | set(pseudo))
    sampler = D.TaskSampler(corpus, a.sampler, a.batch_size, a.seed, task_idx=task_idx,
                            mixed_source_mass=getattr(a, "mixed_source_mass", None))
    aug_rng = np.random.default_rng(a.seed + 1)
    train_rows = [r for r in corpus.rows if r["_split"] == "train"]
    meta = {"sizes": sampler.sizes, "probs": sampler.probs,
            "train_fingerprint": D.fingerprint(train_rows), "n_train_rows": len(train_rows)}
    if a.init:
        net.load_state_dict(torch.load(a.init, map_location="cpu")["model"])
        meta["init"] = a.init
    step = 0
    ck_last = os.path.join(run_dir, "ckpt_last.pt")
    if a.resume and os.path.exists(ck_last):
        ck = torch.load(ck_last, map_location="cpu")
        net.load_state_dict(ck["model"]); opt.load_state_dict(ck["opt"])
        sampler.set_state(ck["sampler_rng"]); aug_rng.bit_generator.state = ck["aug_rng"]
        torch.set_rng_state(ck["torch_rng"])
        step = ck["step"]
        log("resumed", step=step)
    else:
        log("start", args=vars(a), **meta)

    def save(path, final=False):
        ck = {"model": net.state_dict(), "step": step, "args": vars(a), "model_kwargs": model_kwargs,
              "meta": meta}
        if not final:
            ck.update(opt=opt.state_dict(), sampler_rng=sampler.state(),
                      aug_rng=aug_rng.bit_generator.state, torch_rng=torch.get_rng_state())
        tmp = path + ".tmp"
        torch.save(ck, tmp); os.replace(tmp, path)

    cross = not a.no_cross_task_labels
    acc, cnt, tcount = {}, {}, {t: 0 for t in D.TASKS}
    t_start = time.time()
    net.train()
    while step < a.steps:
        task, idx = sampler.draw()
        tcount[task] += 1
        x, items, seg, tg = make_batch(corpus, task, idx, aug_rng, a.aug_strength, net.det_stride,
                                        hflip=a.hflip, burn=a.burn_in)
        for g in opt.param_groups:
            g["lr"] = lr_at(step, a)
        out = net(x)
        L = compute_losses(out, task, items, seg, tg, cross)
        loss = sum(L.values())
        opt.zero_grad(set_to_none=True)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(net.parameters(), 5.0)
        opt.step()
        step += 1
        for k, v in L.items():
            acc[k] = acc.get(k, 0.0) + float(v); cnt[k] = cnt.get(k, 0) + 1
        if step % a.log_every == 0 or step == a.steps:
            el = time.time() - t_start
            log(f"step {step}", losses={k: round(acc[k] / cnt[k], 4) for k in acc},
                tasks=dict(tcount), lr=round(lr_at(step - 1, a), 6), elapsed_s=round(el, 1))
            acc, cnt = {}, {}
        if step % a.ckpt_every == 0 or step == a.steps:
            save(ck_last)
        if a.eval_every and step % a.eval_every == 0 and step < a.steps:
            from .evaluate import evaluate, summary_line
            ev = evaluate(net, corpus, splits=("val",))
            log("eval", step=step, summary=summary_line(ev))
            net.train()
    final = os.path.join(run_dir, "final.pt")
    save(final, final=True)
    log("done", step=step, train_seconds=round(time.time() - t_start, 1))
    if not a.no_final_eval:
        from .evaluate import evaluate, summary_line
        ev = evaluate(net, corpus)
        ev.update(step=step, run=a.run, sampler=a.sampler, task_probs=sampler.probs, sizes=sampler.sizes)
        with open(os.path.join(run_dir, "eval.json"), "w") as f:
            json.dump(ev, f, indent=1)
        log("final_eval", summary=summary_line(ev))
    logf.close()
    return net, corpus


if __name__ == "__main__":
    train(parse_args())
