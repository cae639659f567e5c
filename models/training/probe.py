"""Shortcut probe of a model: how well does a linear classifier on its embedding tell the sources apart, among the
not-TB images and among the TB images separately? (Cross-validated, 5 folds stratified by source, against chance.)
Lower is better: an embedding that does not know the hospital cannot use it to call TB.

    /usr/bin/python3 -m models.training.probe --ckpt models/training/runs/ft_cls2/final.pt \
        [--reader models/training/runs/<reader>/final.pt] --out models/training/runs/<run>/probe.json

Images: the val and test splits of every source (never trained on). For a CXRNet alone two embeddings are probed:
the whole-image pooled vector its TB head reads, and the lung-pooled vector its pack exports as `embedding`; for a
two-stage model, the reader's embedding (which is what its TB head reads and what it exports).
"""
from __future__ import annotations

import argparse
import json
import os

import numpy as np
import torch

from . import data as D
from . import transfer as TR
from .augment import normalise_batch
from .evaluate import load_net
from .model import lung_pool, lung_weights


@torch.no_grad()
def embeddings(model, corpus, idx, two_stage, bs=32):
    out = {"whole_image": [], "lung": []}
    for k in range(0, len(idx), bs):
        x = torch.from_numpy(corpus.images[idx[k:k + bs]].astype(np.float32))[:, None]
        o = model(normalise_batch(x))
        if two_stage:
            out["lung"].append(o["embedding"].numpy())
        else:
            f = o["feat32"]
            out["whole_image"].append(torch.cat([f.mean(dim=(2, 3)), f.amax(dim=(2, 3))], 1).numpy())
            out["lung"].append(lung_pool(f, lung_weights(o["lung_logits"], f.shape[-1])).numpy())
    return {k: np.concatenate(v) for k, v in out.items() if v}


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--ckpt", required=True)
    ap.add_argument("--reader", default=None)
    ap.add_argument("--data-root", default=D.default_data_root())
    ap.add_argument("--cache-dir", default="/tmp/cxr_tb_cache")
    ap.add_argument("--out", required=True)
    ap.add_argument("--threads", type=int, default=int(os.environ.get("CXR_THREADS", "1")))
    a = ap.parse_args(argv)
    torch.set_num_threads(a.threads)
    net, ck = load_net(a.ckpt)
    model = net
    if a.reader:
        from .export import two_stage
        model = two_stage(net, a.reader, ck["args"]["size"])
    corpus = D.Corpus(a.data_root, ck["args"]["size"], a.cache_dir)
    idx = corpus.indices("val") + corpus.indices("test")
    emb = embeddings(model.eval(), corpus, idx, bool(a.reader))
    src = [corpus.items[i].source for i in idx]
    tb = [corpus.items[i].label == "tb" for i in idx]
    res = {"model": {"ckpt": a.ckpt, "reader": a.reader}, "images": "val + test of every source",
           "probes": {k: TR.shortcut_probe(v, src, tb) for k, v in emb.items()}}
    with open(a.out, "w") as f:
        json.dump(res, f, indent=1)
    print(json.dumps(res["probes"], indent=1))


if __name__ == "__main__":
    main()
