"""Benchmark (not a test): the pack's network forward pass in PyTorch on this CPU.

Loads the checkpoint the ONNX pack was exported from (``<pack>/model.export.json`` ->
``checkpoint``), rebuilds ``CXRNet`` with the checkpoint's ``model_kwargs``, checks it against the
pack's parity fixture (PyTorch outputs stored at export time), then times the forward pass on a
``[1, 1, S, S]`` input (S = the pack's input size) in eval mode under ``torch.no_grad()`` with
``--threads`` intra-op threads (OpenMP). Optionally also times a ``torch.jit.trace``d (and frozen) copy.

    /usr/bin/python3 models/training/bench_torch.py [--pack models/packs/cxr-tb-v1] [--threads 2]
        [--runs 30] [--warmup 3] [--budget-s 20] [--no-jit]

Prints one JSON line:
``{"torch_version", "threads", "median_ms", "p95_ms", "runs", ...}`` (extra keys: ``min_ms``,
``input_shape``, ``checkpoint``, ``parity_max_abs``, ``jit``: {median_ms, p95_ms, runs} or null).
"""
from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.abspath(os.path.join(HERE, "..", ".."))

import numpy as np  # noqa: E402
import torch  # noqa: E402

try:  # run as a module (python -m models.training.bench_torch) or as a plain script
    from .model import OUTPUT_NAMES, CXRNet, ExportWrapper
except ImportError:  # pragma: no cover
    sys.path.insert(0, HERE)
    from model import OUTPUT_NAMES, CXRNet, ExportWrapper  # type: ignore


def percentile(xs, p):
    s = sorted(xs)
    if not s:
        return float("nan")
    idx = p / 100 * (len(s) - 1)
    lo, hi = int(idx), min(int(idx) + 1, len(s) - 1)
    return s[lo] + (s[hi] - s[lo]) * (idx - lo)


def resolve(p):
    return p if os.path.isabs(p) else os.path.join(REPO, p)


def load_net(pack):
    with open(os.path.join(pack, "model.export.json")) as f:
        exp = json.load(f)
    ckpt = resolve(exp["checkpoint"])
    ck = torch.load(ckpt, map_location="cpu")
    net = CXRNet(**ck.get("model_kwargs", {}))
    net.load_state_dict(ck["model"])
    net.eval()
    size = int(ck["args"]["size"])
    if size != int(exp["size"]):
        raise SystemExit(f"checkpoint size {size} != pack size {exp['size']}")
    if exp.get("reader"):
        # a two-stage pack: the network followed by the TB reader, as export.py built the graph
        from .export import two_stage
        net = two_stage(net, resolve(exp["reader"]), size)
    return net, size, exp["checkpoint"]


@torch.no_grad()
def parity_max_abs(net, pack):
    """Max |torch - stored| over the parity fixture's first sample: the same weights as the pack?"""
    idx_path = os.path.join(pack, "parity", "index.json")
    if not os.path.exists(idx_path):
        return None
    with open(idx_path) as f:
        idx = json.load(f)
    s = idx["samples"][0]

    def read(d):
        return np.fromfile(os.path.join(pack, "parity", d["file"]), dtype=np.dtype(d["dtype"]).newbyteorder("<")).reshape(d["shape"])

    x = torch.from_numpy(read(s["input"]).astype(np.float32))
    outs = ExportWrapper(net)(x)
    return max(float(np.abs(o.numpy() - read(s["outputs"][n])).max()) for n, o in zip(OUTPUT_NAMES, outs))


@torch.no_grad()
def time_fwd(fn, x, runs, warmup, budget_s=None, min_runs=5):
    """Warm-up, then up to ``runs`` timed calls (ms); stops early once ``budget_s`` seconds of timed
    runs are spent and at least ``min_runs`` are in (a loaded machine can make one call take seconds)."""
    for _ in range(warmup):
        fn(x)
    ts = []
    t_start = time.perf_counter()
    for _ in range(runs):
        t = time.perf_counter()
        fn(x)
        ts.append((time.perf_counter() - t) * 1000)
        if budget_s is not None and len(ts) >= min_runs and time.perf_counter() - t_start > budget_s:
            break
    return ts


def main(argv=None):
    ap = argparse.ArgumentParser()
    ap.add_argument("--pack", default=os.path.join(REPO, "models", "packs", "cxr-tb-v1"))
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--runs", type=int, default=30)
    ap.add_argument("--warmup", type=int, default=3)
    ap.add_argument("--budget-s", type=float, default=20.0,
                    help="stop timing (eager, and again jit) after this many seconds, once >= 5 runs are in")
    ap.add_argument("--no-jit", action="store_true", help="skip the torch.jit.trace timing")
    a = ap.parse_args(argv)
    torch.set_num_threads(a.threads)
    torch.set_num_interop_threads(1)

    net, size, ckpt = load_net(resolve(a.pack))
    par = parity_max_abs(net, resolve(a.pack))
    x = torch.from_numpy(np.random.default_rng(0).standard_normal((1, 1, size, size)).astype(np.float32))
    wrap = ExportWrapper(net).eval()
    ts = time_fwd(wrap, x, a.runs, a.warmup, a.budget_s)
    out = {"torch_version": torch.__version__, "threads": torch.get_num_threads(),
           "median_ms": round(statistics.median(ts), 3), "p95_ms": round(percentile(ts, 95), 3),
           "runs": len(ts), "min_ms": round(min(ts), 3), "input_shape": list(x.shape),
           "checkpoint": ckpt, "parity_max_abs": par, "jit": None}
    if not a.no_jit:
        with torch.no_grad():
            traced = torch.jit.freeze(torch.jit.trace(wrap, x, check_trace=False).eval())
        tj = time_fwd(traced, x, a.runs, a.warmup, a.budget_s)
        out["jit"] = {"median_ms": round(statistics.median(tj), 3), "p95_ms": round(percentile(tj, 95), 3),
                      "runs": len(tj), "mode": "torch.jit.trace + freeze"}
    print(json.dumps(out))


if __name__ == "__main__":
    main()
