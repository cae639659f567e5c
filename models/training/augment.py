"""Batched intensity + geometry augmentation (torch), CenterNet targets."""
from __future__ import annotations

import math

import numpy as np
import torch
import torch.nn.functional as F


def normalise_batch(x: torch.Tensor) -> torch.Tensor:
    """Per-image z-score over all pixels (training-time twin of preprocess.normalise)."""
    n = x.shape[-1] * x.shape[-2]
    m = x.mean(dim=(1, 2, 3), keepdim=True)
    v = ((x - m) ** 2).sum(dim=(1, 2, 3), keepdim=True) / n
    return (x - m) / v.sqrt().clamp_min(1e-6)


def random_affines(B: int, rng: np.random.Generator, strength=1.0, hflip=0.0):
    """Return per-sample 2x2 M, translation T (normalised units, about the centre) and flip flags.

    With hflip > 0 each sample is mirrored left-right with that probability (the mirror is folded into
    M, so boxes follow through the same corner mapping); the caller swaps the lung labels of mirrored
    samples. With hflip == 0 no extra random numbers are drawn, so older runs replay bit for bit."""
    Ms, Ts, flips = [], [], []
    for _ in range(B):
        ang = math.radians(rng.uniform(-8, 8) * strength)
        s = math.exp(rng.uniform(math.log(0.80), math.log(1.15)) * strength)
        asp = math.exp(rng.uniform(-0.15, 0.15) * strength)
        sx, sy = s * asp, s / asp
        c, si = math.cos(ang), math.sin(ang)
        M = np.array([[c * sx, -si * sy], [si * sx, c * sy]])
        T = np.array([rng.uniform(-0.08, 0.08), rng.uniform(-0.08, 0.08)]) * 2 * strength
        flip = bool(hflip > 0 and rng.uniform() < hflip)
        if flip:
            M = M @ np.diag([-1.0, 1.0])
        Ms.append(M)
        Ts.append(T)
        flips.append(flip)
    return np.stack(Ms), np.stack(Ts), np.array(flips, dtype=bool)


_LUNG_SWAP = torch.tensor([0, 2, 1])  # background, right, left -> background, left, right


def swap_lungs(seg: torch.Tensor, flips: np.ndarray) -> torch.Tensor:
    """Mirrored samples: the lung now on the image's left is the one labelled left (2); swap 1 <-> 2 so
    that 'right lung' keeps meaning 'the lung on the image's left', as in every unmirrored PA film."""
    if seg is None or not flips.any():
        return seg
    out = seg.clone()
    sel = torch.from_numpy(flips)
    out[sel] = _LUNG_SWAP[seg[sel]]
    return out


def apply_geometry(img, seg, boxes, M, T):
    """img [B,1,S,S] float, seg [B,S,S] long or None, boxes list of [K,5] np (letterbox px)."""
    B, _, S, _ = img.shape
    Minv = np.linalg.inv(M)
    theta = np.concatenate([Minv, -(Minv @ T[:, :, None])], axis=2)  # [B,2,3]
    th = torch.tensor(theta, dtype=torch.float32)
    grid = F.affine_grid(th, list(img.shape), align_corners=False)
    out = F.grid_sample(img, grid, mode="bilinear", padding_mode="zeros", align_corners=False)
    oseg = None
    if seg is not None:
        oseg = F.grid_sample(seg[:, None].float(), grid, mode="nearest", padding_mode="zeros",
                             align_corners=False)[:, 0].long()
    obox = []
    for b in range(B):
        bx = boxes[b]
        if bx is None or len(bx) == 0:
            obox.append(np.zeros((0, 5), np.float32))
            continue
        x0, y0, x1, y1 = bx[:, 0], bx[:, 1], bx[:, 2], bx[:, 3]
        corners = np.stack([np.stack([x0, y0], 1), np.stack([x1, y0], 1),
                            np.stack([x0, y1], 1), np.stack([x1, y1], 1)], 1)  # [K,4,2]
        u = corners * 2.0 / S - 1.0
        u2 = u @ M[b].T + T[b]
        p = (u2 + 1.0) * S / 2.0
        nx0, ny0 = p[..., 0].min(1), p[..., 1].min(1)
        nx1, ny1 = p[..., 0].max(1), p[..., 1].max(1)
        # shrink the rotated-corner bbox back a little (rotation inflates axis-aligned boxes)
        area0 = (nx1 - nx0) * (ny1 - ny0)
        cx0, cy0 = np.clip(nx0, 0, S), np.clip(ny0, 0, S)
        cx1, cy1 = np.clip(nx1, 0, S), np.clip(ny1, 0, S)
        area1 = np.clip(cx1 - cx0, 0, None) * np.clip(cy1 - cy0, 0, None)
        keep = (area1 > 0.5 * area0) & ((cx1 - cx0) > 2) & ((cy1 - cy0) > 2)
        nb = np.stack([cx0, cy0, cx1, cy1, bx[:, 4]], 1)[keep].astype(np.float32)
        obox.append(nb)
    return out, oseg, obox


def apply_intensity(x: torch.Tensor, rng: np.random.Generator, strength=1.0):
    """x [B,1,S,S] in [0,1] (padding 0 stays ~0)."""
    B = x.shape[0]
    out = []
    for b in range(B):
        xi = x[b:b + 1].clamp(0, 1)
        g = math.exp(rng.uniform(-0.4, 0.4) * strength)
        xi = xi.pow(g)
        if rng.random() < 0.3 * strength:  # mild blur
            k = torch.tensor([[1., 2., 1.], [2., 4., 2.], [1., 2., 1.]]) / 16
            xi = F.conv2d(F.pad(xi, (1, 1, 1, 1), mode="replicate"), k[None, None])
        elif rng.random() < 0.3 * strength:  # unsharp
            bl = F.avg_pool2d(F.pad(xi, (2, 2, 2, 2), mode="replicate"), 5, 1)
            xi = (xi + rng.uniform(0.3, 1.0) * (xi - bl)).clamp(0, 1)
        a = rng.uniform(0.85, 1.15)
        c = rng.uniform(-0.05, 0.05)
        xi = xi * a + c * (xi > 0).float()
        if rng.random() < 0.5 * strength:
            xi = xi + torch.from_numpy(rng.normal(0, rng.uniform(0.0, 0.02), xi.shape).astype(np.float32))
        out.append(xi)
    return torch.cat(out)


def gaussian_radius(h, w, min_overlap=0.7):
    a1 = 1; b1 = h + w; c1 = w * h * (1 - min_overlap) / (1 + min_overlap)
    r1 = (b1 + math.sqrt(b1 ** 2 - 4 * a1 * c1)) / 2
    a2 = 4; b2 = 2 * (h + w); c2 = (1 - min_overlap) * w * h
    r2 = (b2 + math.sqrt(b2 ** 2 - 4 * a2 * c2)) / 2
    a3 = 4 * min_overlap; b3 = -2 * min_overlap * (h + w); c3 = (min_overlap - 1) * w * h
    r3 = (b3 + math.sqrt(b3 ** 2 - 4 * a3 * c3)) / 2
    return min(r1, r2, r3)


def centernet_targets(boxes_list, S: int, stride: int, n_cls: int):
    R = S // stride
    B = len(boxes_list)
    hm = np.zeros((B, n_cls, R, R), np.float32)
    wh = np.zeros((B, 2, R, R), np.float32)
    off = np.zeros((B, 2, R, R), np.float32)
    msk = np.zeros((B, 1, R, R), np.float32)
    ys, xs = np.ogrid[:R, :R]
    for b, bx in enumerate(boxes_list):
        for x0, y0, x1, y1, c in bx:
            w, h = (x1 - x0) / stride, (y1 - y0) / stride
            if w <= 0 or h <= 0:
                continue
            cx, cy = (x0 + x1) / 2 / stride, (y0 + y1) / 2 / stride
            ix, iy = min(int(cx), R - 1), min(int(cy), R - 1)
            r = max(0, int(gaussian_radius(math.ceil(h), math.ceil(w))))
            sig = (2 * r + 1) / 6
            g = np.exp(-((xs - ix) ** 2 + (ys - iy) ** 2) / (2 * sig * sig))
            g[g < np.finfo(np.float32).eps * g.max()] = 0
            hm[b, int(c)] = np.maximum(hm[b, int(c)], g)
            wh[b, :, iy, ix] = (w, h)
            off[b, :, iy, ix] = (cx - ix, cy - iy)
            msk[b, 0, iy, ix] = 1
    return (torch.from_numpy(hm), torch.from_numpy(wh), torch.from_numpy(off), torch.from_numpy(msk))


# ------------------------------------------------------------------ acquisition randomisation (the TB reader)
def _gauss_kernel(sigma: float):
    r = max(1, int(math.ceil(3 * sigma)))
    t = torch.arange(-r, r + 1, dtype=torch.float32)
    k = torch.exp(-t * t / (2 * sigma * sigma))
    return k / k.sum(), r


def gaussian_blur(x: torch.Tensor, sigma: float) -> torch.Tensor:
    """Separable Gaussian blur of [B,1,H,W] with replicated borders."""
    k, r = _gauss_kernel(sigma)
    x = F.conv2d(F.pad(x, (r, r, 0, 0), mode="replicate"), k.view(1, 1, 1, -1))
    return F.conv2d(F.pad(x, (0, 0, r, r), mode="replicate"), k.view(1, 1, -1, 1))


def _tone_curve(xi, rng, s):
    """A monotone grey-level curve of the kind X-ray units apply: gamma, an S-shaped (sigmoid) curve blended with the
    identity, and a window (clip then rescale)."""
    xi = xi.pow(math.exp(rng.uniform(-0.5, 0.5) * s))
    if rng.random() < 0.5 * s:
        k, c = rng.uniform(3, 10), rng.uniform(0.35, 0.65)
        lo, hi = 1 / (1 + math.exp(k * c)), 1 / (1 + math.exp(-k * (1 - c)))
        sc = (torch.sigmoid(k * (xi - c)) - lo) / (hi - lo)
        a = rng.uniform(0.2, 1.0)
        xi = a * sc + (1 - a) * xi
    if rng.random() < 0.3 * s:
        lo, hi = rng.uniform(0, 0.15), rng.uniform(0.85, 1.0)
        xi = ((xi - lo) / (hi - lo)).clamp(0, 1)
    return xi


def _jpeg(xi, quality: int):
    import io
    from PIL import Image
    a = (xi[0, 0].clamp(0, 1).numpy() * 255 + 0.5).astype(np.uint8)
    buf = io.BytesIO()
    Image.fromarray(a).save(buf, format="JPEG", quality=int(quality))
    buf.seek(0)
    b = np.asarray(Image.open(buf), dtype=np.float32) / 255.0
    return torch.from_numpy(b)[None, None]


def acquisition_randomise(x: torch.Tensor, rng: np.random.Generator, strength=1.0) -> torch.Tensor:
    """x [B,1,S,S] in [0,1]. Per image, each with its own probability: a tone curve; edge enhancement (unsharp
    masking at one of several scales, as vendors' processing does); loss of resolution (down- then up-sampling);
    JPEG re-compression; quantum-like noise (grows with the signal) plus electronic noise; and a collimation edge
    (a band along one border set to black or white)."""
    B, _, S, _ = x.shape
    s = strength
    out = []
    for b in range(B):
        xi = x[b:b + 1].clamp(0, 1)
        xi = _tone_curve(xi, rng, s)
        if rng.random() < 0.5 * s:
            sig = float(rng.choice([1.0, 2.0, 4.0, 8.0]))
            xi = (xi + rng.uniform(0.2, 1.5) * (xi - gaussian_blur(xi, sig))).clamp(0, 1)
        elif rng.random() < 0.3 * s:
            xi = gaussian_blur(xi, rng.uniform(0.5, 1.5))
        if rng.random() < 0.3 * s:
            f = rng.uniform(1.3, 3.0)
            n = max(16, int(round(S / f)))
            xi = F.interpolate(F.interpolate(xi, size=(n, n), mode="area"), size=(S, S), mode="bilinear",
                               align_corners=False)
        if rng.random() < 0.5 * s:
            q = rng.uniform(0.0, 0.03)
            e = rng.uniform(0.0, 0.015)
            noise = rng.normal(0, 1, xi.shape).astype(np.float32)
            xi = xi + torch.from_numpy(noise) * (q * xi.clamp_min(0).sqrt() + e)
        if rng.random() < 0.25 * s:
            xi = _jpeg(xi, rng.integers(25, 85))
        if rng.random() < 0.2 * s:
            side, w, v = rng.integers(4), int(rng.integers(4, S // 8)), float(rng.choice([0.0, 1.0]))
            xi = xi.clone()
            if side == 0:
                xi[..., :w, :] = v
            elif side == 1:
                xi[..., -w:, :] = v
            elif side == 2:
                xi[..., :, :w] = v
            else:
                xi[..., :, -w:] = v
        out.append(xi.clamp(0, 1))
    return torch.cat(out)


def warp_pair(img, mask, M, T):
    """The same random affine (random_affines' M, T) applied to an image and a soft mask, both [B,1,S,S]."""
    Minv = np.linalg.inv(M)
    theta = np.concatenate([Minv, -(Minv @ T[:, :, None])], axis=2)
    grid = F.affine_grid(torch.tensor(theta, dtype=torch.float32), list(img.shape), align_corners=False)
    return (F.grid_sample(img, grid, mode="bilinear", padding_mode="zeros", align_corners=False),
            F.grid_sample(mask, grid, mode="bilinear", padding_mode="zeros", align_corners=False))


def burn_in(x: torch.Tensor, rng: np.random.Generator, p: float) -> torch.Tensor:
    """Marks that X-ray units and careless workflows put on a film outside the thorax, drawn on letterboxed images
    in [0, 1] (after geometry, before normalisation), each sample with probability p: a bright frame along the
    edges of the image content (1-8 px), burned-in text (rows of bright glyph-like cells) along the top or bottom
    edge, and a bright label block with a dark letter in a corner. Labels, boxes and lung masks are unchanged: the
    network is to learn that none of it matters. With p = 0 no random number is drawn."""
    if p <= 0:
        return x
    x = x.clone()
    B, _, S, _ = x.shape
    for b in range(B):
        if rng.random() >= p:
            continue
        img = x[b, 0]
        on = img > 1e-3
        rows = torch.nonzero(on.any(1)).flatten()
        cols = torch.nonzero(on.any(0)).flatten()
        if len(rows) < S // 4 or len(cols) < S // 4:
            continue
        y0, y1, x0, x1 = int(rows[0]), int(rows[-1]) + 1, int(cols[0]), int(cols[-1]) + 1
        H, W = y1 - y0, x1 - x0
        kinds = rng.random(3) < np.array([0.6, 0.5, 0.5])
        if not kinds.any():
            kinds[rng.integers(3)] = True
        v = float(rng.uniform(0.85, 1.0))
        if kinds[0]:  # frame
            t = int(rng.integers(1, 9))
            img[y0:y0 + t, x0:x1] = v
            img[y1 - t:y1, x0:x1] = v
            img[y0:y1, x0:x0 + t] = v
            img[y0:y1, x1 - t:x1] = v
        if kinds[1]:  # text: a row of glyph-like cells, top or bottom, left or right
            ch = int(rng.integers(4, 10))
            n = int(rng.integers(6, 18))
            cw = max(2, int(ch * 0.6))
            ty = y0 + int(0.02 * H) if rng.random() < 0.5 else y1 - int(0.02 * H) - ch
            tx = x0 + int(0.02 * W) if rng.random() < 0.5 else x1 - int(0.02 * W) - n * (cw + 1)
            cells = torch.from_numpy(rng.random((ch, n * (cw + 1))) < 0.45)
            ys, xs = max(ty, 0), max(tx, 0)
            patch = img[ys:ys + ch, xs:xs + n * (cw + 1)]
            m = cells[:patch.shape[0], :patch.shape[1]]
            patch[m] = v
        if kinds[2]:  # label block with a dark letter-like bar pattern
            bw, bh = int(rng.uniform(0.08, 0.16) * W), int(rng.uniform(0.04, 0.08) * H)
            cx = x0 + int(0.02 * W) if rng.random() < 0.5 else x1 - int(0.02 * W) - bw
            cy = y0 + int(0.02 * H) if rng.random() < 0.5 else y1 - int(0.02 * H) - bh
            cx, cy = max(cx, 0), max(cy, 0)
            img[cy:cy + bh, cx:cx + bw] = v
            lx, lw = cx + bw // 3, max(1, bw // 8)
            img[cy + bh // 5:cy + bh - bh // 5, lx:lx + lw] = 0.0
            img[cy + bh // 5:cy + bh // 5 + max(1, bh // 8), lx:lx + bw // 4] = 0.0
    return x
