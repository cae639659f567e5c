"""Export a trained checkpoint to ONNX (opset 17, dynamic batch) + parity fixtures.

    /usr/bin/python3 -m models.training.export --ckpt models/training/runs/main/final.pt \
        --out models/packs/cxr-tb-v1/model.onnx \
        --parity-dir /tmp/cxr-tb-v1-parity --parity-commit-dir models/packs/cxr-tb-v1/parity

Parity fixture format (no onnxruntime in Python here; the TypeScript side compares):
``index.json`` + little-endian raw ``.bin`` files. Each sample holds the raw synthetic pixels
(uint8/uint16 [H,W]), the preprocessed input (float32 [1,1,S,S], from preprocess.py) and the
PyTorch outputs (float32) for every ONNX output name.
"""
from __future__ import annotations

import argparse
import hashlib
import json
import os

import numpy as np
import torch

from . import preprocess as pp
from .model import EMBEDDING_NAME, OUTPUT_NAMES, CXRNet, ExportWrapper, output_shapes

PHANTOM_SPECS = [  # (w, h, dtype)
    (300, 240, "uint8"), (512, 512, "uint8"), (256, 256, "uint8"), (240, 320, "uint16"),
    (1000, 800, "uint16"), (512, 430, "uint8"), (128, 128, "uint8"), (700, 700, "uint16"),
]


def phantom(w, h, dtype, seed):
    """Deterministic chest-like synthetic image (no patient data)."""
    rng = np.random.default_rng(seed)
    yy, xx = np.mgrid[0:h, 0:w].astype(np.float64)
    u, v = xx / w, yy / h
    img = 0.55 + 0.25 * v + 0.05 * np.sin(12 * u + seed)
    for cx in (0.32, 0.68):
        cx2 = cx + rng.uniform(-0.03, 0.03)
        e = ((u - cx2) / 0.15) ** 2 + ((v - 0.48) / 0.3) ** 2
        img -= 0.35 * np.clip(1 - e, 0, 1) ** 0.5
    img += 0.2 * np.exp(-((u - 0.5) / 0.04) ** 2)  # spine / mediastinum
    for _ in range(3):  # nodules
        cx, cy, r = rng.uniform(0.25, 0.75), rng.uniform(0.25, 0.6), rng.uniform(0.02, 0.06)
        img += 0.15 * np.exp(-(((u - cx) ** 2 + (v - cy) ** 2) / (r * r)))
    img += rng.normal(0, 0.02, img.shape)
    img = np.clip(img, 0, 1)
    if dtype == "uint8":
        return np.round(img * 255).astype(np.uint8)
    return np.round(img * 65535).astype(np.uint16)


def two_stage(net, reader_ckpt, size):
    """CXRNet + the TB reader as one module (the exported graph)."""
    from .reader import TwoStage
    from .train_reader import load_reader
    reader, rck = load_reader(reader_ckpt)
    if rck["args"]["size"] != size:
        raise SystemExit(f"the reader was trained at {rck['args']['size']} px, the network at {size} px")
    two = TwoStage(net, reader).eval()
    two.det_stride = net.det_stride
    return two


def output_names(with_embedding):
    return OUTPUT_NAMES + ([EMBEDDING_NAME] if with_embedding else [])


def embedding_dim(net, size):
    with torch.no_grad():
        return int(ExportWrapper(net, True).eval()(torch.zeros(1, 1, size, size))[-1].shape[1])


def export_onnx(net, size, path, with_embedding=False):
    net.eval()
    wrap = ExportWrapper(net, with_embedding).eval()
    names = output_names(with_embedding)
    dummy = torch.zeros(2, 1, size, size)
    dyn = {"image": {0: "N"}}
    dyn.update({k: {0: "N"} for k in names})
    os.makedirs(os.path.dirname(os.path.abspath(path)), exist_ok=True)
    torch.onnx.export(wrap, dummy, path, opset_version=17, input_names=["image"],
                      output_names=names, dynamic_axes=dyn, do_constant_folding=True)
    import onnx
    m = onnx.load(path)
    onnx.checker.check_model(m)
    return sha256_file(path)


def sha256_file(path):
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def _write(dirn, name, arr):
    arr = np.ascontiguousarray(arr)
    le = arr.astype(arr.dtype.newbyteorder("<"))
    with open(os.path.join(dirn, name), "wb") as f:
        f.write(le.tobytes())
    return {"file": name, "dtype": str(arr.dtype), "shape": list(arr.shape)}


@torch.no_grad()
def write_parity(net, size, dirn, which=None, model_sha=None, with_embedding=False):
    os.makedirs(dirn, exist_ok=True)
    net.eval()
    specs = list(enumerate(PHANTOM_SPECS))
    if which is not None:
        specs = [specs[i] for i in which]
    samples = []
    raws, inputs, geoms = [], [], []
    for i, (w, h, dt) in specs:
        raw = phantom(w, h, dt, seed=100 + i)
        x, g = pp.preprocess(raw, size)
        raws.append(raw); inputs.append(x); geoms.append(g)
    batch = torch.from_numpy(np.concatenate(inputs))
    outs = ExportWrapper(net, with_embedding)(batch)
    for k, ((i, (w, h, dt)), raw, x, g) in enumerate(zip(specs, raws, inputs, geoms)):
        s = {"id": f"phantom{i}", "raw": _write(dirn, f"phantom{i}_raw.bin", raw),
             "letterbox": {"new_w": g.new_w, "new_h": g.new_h, "pad_x": g.pad_x, "pad_y": g.pad_y},
             "input": _write(dirn, f"phantom{i}_input.bin", x), "outputs": {}}
        for name, o in zip(output_names(with_embedding), outs):
            s["outputs"][name] = _write(dirn, f"phantom{i}_{name}.bin", o[k:k + 1].numpy().astype(np.float32))
        samples.append(s)
    idx = {"format": "little-endian raw arrays; shapes row-major",
           "generator": "models/training/export.py phantom(w,h,dtype,seed=100+i)",
           "input_size": size, "model_sha256": model_sha,
           "note": "outputs computed by PyTorch on the batch of all samples in this file (eval mode); "
                   "input = preprocess.py(raw) so it also checks the runtime preprocessing",
           "tolerance": {"input_abs": 1e-5, "outputs_abs": 1e-3, "outputs_rel": 1e-3},
           "samples": samples}
    with open(os.path.join(dirn, "index.json"), "w") as f:
        json.dump(idx, f, indent=1)
    return idx


def main(argv=None):
    ap = argparse.ArgumentParser()
    ap.add_argument("--ckpt", required=True)
    ap.add_argument("--out", required=True)
    ap.add_argument("--parity-dir", default="/tmp/cxr-tb-v1-parity")
    ap.add_argument("--parity-commit-dir", default=None, help="compact 2-sample fixture (< 2 MB)")
    ap.add_argument("--embedding", action="store_true",
                    help="add the 'embedding' output: the last encoder feature map pooled (mean, max) inside the "
                         "model's own predicted lung fields")
    ap.add_argument("--reader", default=None, metavar="CKPT",
                    help="a TB reader checkpoint (train_reader.py): the graph becomes CXRNet followed by the reader on "
                         "the lung fields; cls_logits and embedding come from the reader (implies --embedding)")
    a = ap.parse_args(argv)
    torch.set_num_threads(int(os.environ.get("CXR_THREADS", "1")))
    ck = torch.load(a.ckpt, map_location="cpu")
    net = CXRNet(**ck.get("model_kwargs", {}))
    net.load_state_dict(ck["model"])
    net.eval()
    size = ck["args"]["size"]
    if a.reader:
        net = two_stage(net, a.reader, size)
        a.embedding = True
    sha = export_onnx(net, size, a.out, a.embedding)
    mb = os.path.getsize(a.out) / 1e6
    print(f"exported {a.out} ({mb:.2f} MB) sha256={sha}")
    assert mb <= 40, "model.onnx exceeds 40 MB"
    write_parity(net, size, a.parity_dir, model_sha=sha, with_embedding=a.embedding)
    print("parity fixture (8 samples):", a.parity_dir)
    if a.parity_commit_dir:
        write_parity(net, size, a.parity_commit_dir, which=[0, 3], model_sha=sha, with_embedding=a.embedding)
        tot = sum(os.path.getsize(os.path.join(a.parity_commit_dir, f)) for f in os.listdir(a.parity_commit_dir))
        print(f"compact parity fixture: {a.parity_commit_dir} ({tot / 1e6:.2f} MB)")
    with open(os.path.splitext(a.out)[0] + ".export.json", "w") as f:
        json.dump({"sha256": sha, "bytes": os.path.getsize(a.out), "opset": 17, "size": size,
                   "outputs": output_shapes(size, embedding_dim=embedding_dim(net, size) if a.embedding else None),
                   "checkpoint": a.ckpt, "step": ck.get("step"),
                   **({"reader": a.reader} if a.reader else {})}, f, indent=1)


if __name__ == "__main__":
    main()
