"""Reference implementation of the CXR input preprocessing (the runtime must reproduce it).

Rule (also written into the model pack manifest, ``preprocess`` block):

1. Pixels -> float64 in [0, 1]: 8-bit ``v / 255``, 16-bit ``v / 65535`` (DICOM: divide by
   ``2**BitsStored - 1`` after rescale, invert MONOCHROME1 first).  Single channel.
2. Letterbox to ``S x S`` (S = input size, 256 for cxr-tb-v1):
   ``scale = S / max(W, H)``; ``new_w = floor(W * scale + 0.5)``, ``new_h = floor(H * scale + 0.5)``
   (each at least 1); resample with an antialiased triangle (bilinear) filter, identical to
   Pillow's ``Image.resize(..., BILINEAR)``: separable, horizontal pass first, then vertical;
   for each axis with ``ratio = in / out``, ``fs = max(ratio, 1)``, output index ``i`` has
   ``center = (i + 0.5) * ratio``, taps ``j`` in ``[max(0, floor(center - fs + 0.5)),
   min(in, floor(center + fs + 0.5)))``, weight ``max(0, 1 - |(j - center + 0.5) / fs|)``,
   weights divided by their sum; accumulation ``acc += w_j * x_j`` in increasing ``j``
   (float64, no FMA).  The resized image is placed at ``pad_x = floor((S - new_w) / 2)``,
   ``pad_y = floor((S - new_h) / 2)``; every other pixel is ``0.0`` (black).
3. Per-image normalisation over all ``S*S`` letterboxed pixels (padding included), float64,
   sequential row-major sums: ``mean = sum(x) / n``, ``var = sum((x - mean)^2) / n``,
   ``y = (x - mean) / max(sqrt(var), 1e-6)``; finally cast to float32.  Tensor ``[1, 1, S, S]``.

Box / mask coordinates map back with ``x_orig = (x_lb - pad_x) * W / new_w`` (same for y).
"""
from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

PAD_VALUE = 0.0
STD_EPS = 1e-6


@dataclass(frozen=True)
class Letterbox:
    size: int
    src_w: int
    src_h: int
    new_w: int
    new_h: int
    pad_x: int
    pad_y: int

    @property
    def sx(self) -> float:  # letterbox px per source px along x
        return self.new_w / self.src_w

    @property
    def sy(self) -> float:
        return self.new_h / self.src_h

    def to_lb(self, x, y):
        return x * self.sx + self.pad_x, y * self.sy + self.pad_y

    def to_src(self, x, y):
        return (x - self.pad_x) / self.sx, (y - self.pad_y) / self.sy


def letterbox_geometry(w: int, h: int, size: int) -> Letterbox:
    scale = size / max(w, h)
    nw = max(1, int(math.floor(w * scale + 0.5)))
    nh = max(1, int(math.floor(h * scale + 0.5)))
    nw, nh = min(nw, size), min(nh, size)
    return Letterbox(size, w, h, nw, nh, (size - nw) // 2, (size - nh) // 2)


def _taps(n_in: int, n_out: int):
    """Pillow-style antialiased bilinear taps: list of (start, weights[float64])."""
    ratio = n_in / n_out
    fs = max(ratio, 1.0)
    out = []
    for i in range(n_out):
        center = (i + 0.5) * ratio
        j0 = max(0, int(math.floor(center - fs + 0.5)))
        j1 = min(n_in, int(math.floor(center + fs + 0.5)))
        ws = []
        for j in range(j0, j1):
            t = abs((j - center + 0.5) / fs)
            ws.append(max(0.0, 1.0 - t))
        tot = 0.0
        for v in ws:
            tot += v
        if tot == 0.0:  # cannot happen for sane sizes; keep nearest
            ws = [1.0]
            j0 = min(n_in - 1, int(center))
            tot = 1.0
        out.append((j0, np.array([v / tot for v in ws], dtype=np.float64)))
    return out


def _resize_axis1(x: np.ndarray, n_out: int) -> np.ndarray:
    """Resample along axis 1 (columns) of a 2-D float64 array."""
    taps = _taps(x.shape[1], n_out)
    out = np.zeros((x.shape[0], n_out), dtype=np.float64)
    for i, (j0, ws) in enumerate(taps):
        acc = np.zeros(x.shape[0], dtype=np.float64)
        for k in range(ws.shape[0]):
            acc = acc + ws[k] * x[:, j0 + k]
        out[:, i] = acc
    return out


def resize_bilinear_aa(img: np.ndarray, new_w: int, new_h: int) -> np.ndarray:
    """float64 2-D array [H, W] -> [new_h, new_w], horizontal pass then vertical pass."""
    x = np.asarray(img, dtype=np.float64)
    if x.shape[1] != new_w:
        x = _resize_axis1(x, new_w)
    if x.shape[0] != new_h:
        x = _resize_axis1(np.ascontiguousarray(x.T), new_h).T
    return np.ascontiguousarray(x)


def to_unit(pixels: np.ndarray) -> np.ndarray:
    """uint8 / uint16 grayscale -> float64 in [0, 1]."""
    if pixels.dtype == np.uint8:
        return pixels.astype(np.float64) / 255.0
    if pixels.dtype == np.uint16:
        return pixels.astype(np.float64) / 65535.0
    x = pixels.astype(np.float64)
    return x


def letterbox(img01: np.ndarray, size: int):
    """float [H, W] in [0,1] -> (float64 [size, size] letterboxed, Letterbox)."""
    h, w = img01.shape
    g = letterbox_geometry(w, h, size)
    r = resize_bilinear_aa(img01, g.new_w, g.new_h)
    out = np.full((size, size), PAD_VALUE, dtype=np.float64)
    out[g.pad_y:g.pad_y + g.new_h, g.pad_x:g.pad_x + g.new_w] = r
    return out, g


def normalise(lb: np.ndarray) -> np.ndarray:
    """Per-image z-score, float64 with sequential sums, returned as float32."""
    flat = np.asarray(lb, dtype=np.float64).ravel()
    n = flat.shape[0]
    mean = np.cumsum(flat)[-1] / n
    d = flat - mean
    var = np.cumsum(d * d)[-1] / n
    std = max(math.sqrt(var), STD_EPS)
    return ((flat - mean) / std).astype(np.float32).reshape(lb.shape)


def preprocess(pixels: np.ndarray, size: int):
    """uint8/uint16 [H, W] -> (float32 [1, 1, size, size], Letterbox)."""
    lb, g = letterbox(to_unit(pixels), size)
    return normalise(lb)[None, None], g


def preprocess_spec(size: int) -> dict:
    return {
        "input_name": "image",
        "input_shape": ["N", 1, size, size],
        "input_dtype": "float32",
        "channels": "grayscale (1 channel); RGB inputs: use luma or the first channel if identical",
        "to_unit_range": "8-bit: v/255; 16-bit: v/65535; DICOM: apply Modality LUT, invert MONOCHROME1, divide by 2^BitsStored-1",
        "letterbox": {
            "size": size,
            "scale": "scale = size / max(W, H); new_w = floor(W*scale + 0.5); new_h = floor(H*scale + 0.5)",
            "resample": "antialiased bilinear (triangle) filter == Pillow Image.resize BILINEAR; separable, horizontal pass then vertical; ratio=in/out, fs=max(ratio,1), center=(i+0.5)*ratio, taps j in [max(0,floor(center-fs+0.5)), min(in,floor(center+fs+0.5))), w=max(0,1-|(j-center+0.5)/fs|), normalised by sum, float64 sequential accumulation",
            "placement": "centered: pad_x = floor((size-new_w)/2), pad_y = floor((size-new_h)/2)",
            "pad_value": PAD_VALUE,
            "inverse": "x_orig = (x_lb - pad_x) * W / new_w; y_orig = (y_lb - pad_y) * H / new_h",
        },
        "normalisation": {
            "kind": "per_image_zscore",
            "over": "all size*size letterboxed pixels including padding",
            "formula": "mean = sum(x)/n; var = sum((x-mean)^2)/n (population); y = (x - mean) / max(sqrt(var), 1e-6)",
            "precision": "float64 with sequential row-major sums, cast to float32 at the end",
            "eps": STD_EPS,
        },
        "reference_implementation": "models/training/preprocess.py",
    }
