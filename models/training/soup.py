"""Weight averaging ("model soup" / SWA over one run's tail): average the weights of several checkpoints of the same
network, then re-estimate the BatchNorm statistics on training images (no augmentation), since averaged weights
do not match any checkpoint's running statistics. Only train-split images are read; choosing whether to ship the
average is done on val, as for every other choice.

    /usr/bin/python3 -m models.training.soup --ckpt A.pt --ckpt B.pt ... --out runs/<run>/final.pt
"""
from __future__ import annotations

import argparse
import os

import numpy as np
import torch

from . import data as D
from .model import CXRNet
from .train import make_batch


def average_state(states):
    out = {}
    for k, v in states[0].items():
        if v.dtype.is_floating_point:
            out[k] = sum(s[k].double() for s in states).div(len(states)).to(v.dtype)
        else:
            out[k] = max((s[k] for s in states), key=lambda t: int(t.max()) if t.numel() else 0).clone()
    return out


@torch.no_grad()
def recompute_bn(net, corpus, batches, batch_size, seed, sampler_name="uniform"):
    """Cumulative BatchNorm statistics over `batches` training batches drawn like training draws them."""
    bns = [m for m in net.modules() if isinstance(m, torch.nn.modules.batchnorm._BatchNorm)]
    for m in bns:
        m.reset_running_stats()
        m.momentum = None  # cumulative average
    sampler = D.TaskSampler(corpus, sampler_name, batch_size, seed)
    rng = np.random.default_rng(seed)
    net.train()
    for _ in range(batches):
        task, idx = sampler.draw()
        x, _, _, _ = make_batch(corpus, task, idx, rng, 0.0, net.det_stride, train=False)
        net(x)
    for m in bns:
        m.momentum = 0.1
    net.eval()


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--ckpt", action="append", required=True, help="a checkpoint (repeat)")
    ap.add_argument("--out", required=True)
    ap.add_argument("--data-root", default=D.default_data_root())
    ap.add_argument("--cache-dir", default="/tmp/cxr_tb_cache")
    ap.add_argument("--bn-batches", type=int, default=60)
    ap.add_argument("--batch-size", type=int, default=16)
    ap.add_argument("--seed", type=int, default=99)
    ap.add_argument("--threads", type=int, default=int(os.environ.get("CXR_THREADS", "1")))
    a = ap.parse_args(argv)
    torch.set_num_threads(a.threads)
    cks = [torch.load(p, map_location="cpu") for p in a.ckpt]
    kw = cks[-1].get("model_kwargs", {})
    for p, ck in zip(a.ckpt, cks):
        if ck.get("model_kwargs", {}) != kw or ck["args"]["size"] != cks[-1]["args"]["size"]:
            raise SystemExit(f"{p}: not the same network as {a.ckpt[-1]}")
    net = CXRNet(**kw)
    net.load_state_dict(average_state([ck["model"] for ck in cks]))
    ids = cks[-1]["args"].get("ids")  # a corpus restricted in training (tests) stays restricted
    corpus = D.Corpus(a.data_root, cks[-1]["args"]["size"], a.cache_dir, ids=ids.split(",") if ids else None)
    if a.bn_batches > 0:
        recompute_bn(net, corpus, a.bn_batches, a.batch_size, a.seed)
    args = dict(cks[-1]["args"])
    args["soup_of"] = [{"ckpt": p, "step": ck.get("step")} for p, ck in zip(a.ckpt, cks)]
    args["soup_bn_batches"] = a.bn_batches
    out = {"model": net.state_dict(), "step": cks[-1].get("step"), "args": args, "model_kwargs": kw,
           "meta": cks[-1].get("meta", {})}
    os.makedirs(os.path.dirname(os.path.abspath(a.out)), exist_ok=True)
    tmp = a.out + ".tmp"
    torch.save(out, tmp)
    os.replace(tmp, a.out)
    print(f"averaged {len(cks)} checkpoints (steps {[ck.get('step') for ck in cks]}) -> {a.out}")


if __name__ == "__main__":
    main()
