"""Benchmark helper (not a test): the model's FLOPs from the ONNX graph, and this CPU's measured peak.

FLOPs come from the ONNX graph itself (onnx shape inference with the batch fixed to 1), counting a
multiply-accumulate as 2 FLOPs:

* ``Conv``:          2 * Cout * Hout * Wout * (Cin / groups) * kH * kW   (+ Cout*Hout*Wout for a bias)
* ``ConvTranspose``: 2 * Cin * Hin * Win * (Cout / groups) * kH * kW
* ``Gemm``:          2 * M * N * K                                       (+ M*N for C)
* ``MatMul``:        2 * prod(batch) * M * N * K

Those make ``model_gflops``. Every other op (Relu, Add, Sigmoid, Resize, Reduce*, Concat, ...) is
*not* in ``model_gflops``: it is counted separately, roughly one FLOP per output element
(``elementwise_gflops``), since it is memory-bound and not comparable with the GEMM peak.

The peak is measured, not taken from a datasheet: a float32 GEMM microbenchmark at the given thread
count, best-of and median over a few runs, for two kernels:

* ``torch.mm`` (PyTorch's BLAS: in Debian's build that is the generic reference BLAS, slow), and
* oneDNN's float32 inner product (``torch._C._nn.mkldnn_linear``), the library PyTorch's and
  ONNX Runtime's CPU convolutions use — the realistic peak of this CPU.

``peak_gflops_measured`` is the best of these (its source is in ``peak_source``).

    /usr/bin/python3 models/training/flops.py [--model models/packs/cxr-tb-v1/model.onnx] [--threads 2]
        [--n 1024] [--runs 5] [--no-peak]

Prints one JSON line: ``{"model_gflops", "by_op": {...}, "peak_gflops_measured", "threads", ...}``.
"""
from __future__ import annotations

import argparse
import json
import os
import statistics
import time
from collections import defaultdict

import numpy as np
import onnx
from onnx import numpy_helper, shape_inference

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.abspath(os.path.join(HERE, "..", ".."))
MATMUL_OPS = {"Conv", "ConvTranspose", "Gemm", "MatMul"}


def _shapes(model):
    """name -> list[int] for every value with a fully known shape (after inference, batch = 1)."""
    out = {}
    for vi in list(model.graph.value_info) + list(model.graph.input) + list(model.graph.output):
        dims = vi.type.tensor_type.shape.dim
        if dims and all(d.HasField("dim_value") for d in dims):
            out[vi.name] = [d.dim_value for d in dims]
    for init in model.graph.initializer:
        out[init.name] = list(init.dims)
    return out


def _attr(node, name, default=None):
    for a in node.attribute:
        if a.name == name:
            return onnx.helper.get_attribute_value(a)
    return default


def count_flops(path, batch=1):
    model = onnx.load(path)
    init_names = {i.name for i in model.graph.initializer}
    for inp in model.graph.input:  # fix the dynamic batch so shape inference yields numbers
        if inp.name in init_names:
            continue
        d0 = inp.type.tensor_type.shape.dim[0]
        d0.ClearField("dim_param")
        d0.dim_value = batch
    for out in model.graph.output:  # drop the symbolic output dims; inference fills them in
        out.type.tensor_type.ClearField("shape")
    model = shape_inference.infer_shapes(model, strict_mode=True)
    shp = _shapes(model)
    flops = defaultdict(float)
    nodes = defaultdict(int)
    other = defaultdict(float)
    unknown = []
    for n in model.graph.node:
        op = n.op_type
        nodes[op] += 1
        if op == "Conv":
            x, w, y = shp.get(n.input[0]), shp.get(n.input[1]), shp.get(n.output[0])
            if not (x and w and y):
                unknown.append(n.name or op); continue
            g = _attr(n, "group", 1)
            cout, cin_g, kh, kw = w
            hw_out = int(np.prod(y[2:]))
            flops[op] += 2.0 * y[0] * cout * hw_out * cin_g * kh * kw
            if len(n.input) > 2 and n.input[2]:
                flops["Conv_bias"] += float(np.prod(y))
        elif op == "ConvTranspose":
            x, w = shp.get(n.input[0]), shp.get(n.input[1])
            if not (x and w):
                unknown.append(n.name or op); continue
            g = _attr(n, "group", 1)
            cin, cout_g, kh, kw = w
            flops[op] += 2.0 * x[0] * int(np.prod(x[1:])) * cout_g * kh * kw
        elif op == "Gemm":
            a, b, y = shp.get(n.input[0]), shp.get(n.input[1]), shp.get(n.output[0])
            if not (a and b and y):
                unknown.append(n.name or op); continue
            k = a[0] if _attr(n, "transA", 0) else a[1]
            flops[op] += 2.0 * y[0] * y[1] * k
            if len(n.input) > 2 and n.input[2]:
                flops["Gemm_bias"] += float(y[0] * y[1])
        elif op == "MatMul":
            a, y = shp.get(n.input[0]), shp.get(n.output[0])
            if not (a and y):
                unknown.append(n.name or op); continue
            flops[op] += 2.0 * float(np.prod(y)) * a[-1]
        else:
            y = shp.get(n.output[0]) if n.output else None
            if y is None:
                if op not in ("Constant", "Shape"):
                    unknown.append(n.name or op)
                continue
            if op in ("Constant", "Shape", "Reshape", "Flatten", "Concat", "Unsqueeze", "Squeeze",
                      "Gather", "Slice", "Identity", "Cast"):
                continue  # data movement, no arithmetic
            if op.startswith("Reduce"):  # one op per input element
                x = shp.get(n.input[0])
                other[op] += float(np.prod(x)) if x else float(np.prod(y))
            else:
                other[op] += float(np.prod(y))
    core = sum(v for k, v in flops.items() if k in MATMUL_OPS)
    return {
        "model_gflops": round(core / 1e9, 4),
        "model_gmacs": round(core / 2e9, 4),
        "by_op": {k: round(v / 1e9, 6) for k, v in sorted(flops.items())},
        "elementwise_gflops": round(sum(other.values()) / 1e9, 4),
        "elementwise_by_op": {k: round(v / 1e9, 5) for k, v in sorted(other.items())},
        "nodes": dict(sorted(nodes.items())),
        "batch": batch,
        "unknown_shape_nodes": unknown,
        "note": "model_gflops = Conv/ConvTranspose/Gemm/MatMul only (MAC = 2 FLOPs, biases listed "
                "separately in by_op as *_bias); elementwise/reduce/resize ops are not in "
                "model_gflops, ~1 FLOP per output element in elementwise_gflops",
    }


def _bench(fn, flop, runs):
    fn()  # warm-up
    ts = []
    for _ in range(runs):
        t = time.perf_counter()
        fn()
        ts.append(time.perf_counter() - t)
    return {"best_gflops": round(flop / min(ts) / 1e9, 2), "median_gflops": round(flop / statistics.median(ts) / 1e9, 2)}


def measure_peak(threads, n, runs):
    import torch
    torch.set_num_threads(threads)
    g = torch.Generator().manual_seed(0)
    res = {}
    a = torch.randn(n, n, generator=g)
    b = torch.randn(n, n, generator=g)
    res[f"torch.mm_{n}"] = _bench(lambda: torch.mm(a, b), 2.0 * n ** 3, runs)
    if torch.backends.mkldnn.is_available():
        n2 = max(n, 2048)
        a2 = torch.randn(n2, n2, generator=g).to_mkldnn()
        b2 = torch.randn(n2, n2, generator=g)
        try:
            res[f"onednn_linear_{n2}"] = _bench(lambda: torch._C._nn.mkldnn_linear(a2, b2), 2.0 * n2 ** 3, runs)
        except Exception as e:  # pragma: no cover
            res["onednn_linear_error"] = str(e)
    best = max((v for v in res.values() if isinstance(v, dict)), key=lambda v: v["best_gflops"])
    src = next(k for k, v in res.items() if v is best)
    return {"peak_gflops_measured": best["best_gflops"], "peak_gflops_median": best["median_gflops"],
            "peak_source": src, "peak_by_kernel": res, "torch_version": torch.__version__,
            "threads": torch.get_num_threads()}


def cpu_name():
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return None


def main(argv=None):
    ap = argparse.ArgumentParser()
    ap.add_argument("--model", default=os.path.join(REPO, "models", "packs", "cxr-tb-v1", "model.onnx"))
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--n", type=int, default=1024, help="GEMM size for torch.mm (oneDNN uses max(n, 2048))")
    ap.add_argument("--runs", type=int, default=5)
    ap.add_argument("--no-peak", action="store_true")
    a = ap.parse_args(argv)
    out = count_flops(a.model)
    out["threads"] = a.threads
    out["cpu"] = cpu_name()
    out["cpu_count"] = os.cpu_count()
    if a.no_peak:
        out["peak_gflops_measured"] = None
    else:
        out.update(measure_peak(a.threads, a.n, a.runs))
    print(json.dumps(out))


if __name__ == "__main__":
    main()
