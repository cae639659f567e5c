"""Small multi-task CXR network: shared ResNet-like encoder + FPN-lite decoder + 4 heads."""
from __future__ import annotations

import math

import torch
import torch.nn as nn
import torch.nn.functional as F

OUTPUT_NAMES = ["cls_logits", "det_heatmap", "det_size", "det_offset", "lung_logits", "evidence"]
# the lung-pooled feature vector the TB head reads; a station fits its own site head on it
EMBEDDING_NAME = "embedding"


def conv_bn(cin, cout, k=3, s=1):
    return nn.Sequential(nn.Conv2d(cin, cout, k, s, k // 2, bias=False), nn.BatchNorm2d(cout),
                         nn.ReLU(inplace=True))


class Block(nn.Module):
    def __init__(self, cin, cout, stride):
        super().__init__()
        self.c1 = nn.Conv2d(cin, cout, 3, stride, 1, bias=False)
        self.b1 = nn.BatchNorm2d(cout)
        self.c2 = nn.Conv2d(cout, cout, 3, 1, 1, bias=False)
        self.b2 = nn.BatchNorm2d(cout)
        self.short = None
        if stride != 1 or cin != cout:
            self.short = nn.Sequential(nn.Conv2d(cin, cout, 1, stride, bias=False), nn.BatchNorm2d(cout))

    def forward(self, x):
        y = F.relu(self.b1(self.c1(x)), inplace=True)
        y = self.b2(self.c2(y))
        s = x if self.short is None else self.short(x)
        return F.relu(y + s, inplace=True)


class CXRNet(nn.Module):
    """Input [N,1,S,S] normalised. Strides: det 4, lung 2, cls from stride 32."""

    def __init__(self, width=(24, 32, 64, 96, 128), dec=48, n_cls=3, n_det=2, n_lung=3,
                 blocks=(1, 2, 2, 1), det_stride=4):
        super().__init__()
        w0, w1, w2, w3, w4 = width
        self.det_stride = det_stride
        self.stem = nn.Sequential(conv_bn(1, w0, 3, 2), conv_bn(w0, w0, 3, 1))       # /2
        def stage(cin, cout, n):
            return nn.Sequential(Block(cin, cout, 2), *[Block(cout, cout, 1) for _ in range(n - 1)])
        self.s4 = stage(w0, w1, blocks[0])    # /4
        self.s8 = stage(w1, w2, blocks[1])    # /8
        self.s16 = stage(w2, w3, blocks[2])   # /16
        self.s32 = stage(w3, w4, blocks[3])   # /32
        self.lat32 = nn.Conv2d(w4, dec, 1)
        self.lat16 = nn.Conv2d(w3, dec, 1)
        self.lat8 = nn.Conv2d(w2, dec, 1)
        self.lat4 = nn.Conv2d(w1, dec, 1)
        self.lat2 = nn.Conv2d(w0, dec // 2, 1)
        self.smooth4 = conv_bn(dec, dec)
        self.cls_head = nn.Sequential(nn.Dropout(0.2), nn.Linear(2 * w4, n_cls))
        def head(cout, bias=0.0):
            h = nn.Sequential(conv_bn(dec, dec // 2), nn.Conv2d(dec // 2, cout, 1))
            nn.init.constant_(h[-1].bias, bias)
            return h
        self.hm = head(n_det, -2.19)
        self.wh = head(2)
        self.off = head(2)
        self.lung4 = conv_bn(dec, dec // 2)
        self.lung2 = nn.Sequential(conv_bn(dec // 2, dec // 2), nn.Conv2d(dec // 2, n_lung, 1))

    def forward(self, x):
        f2 = self.stem(x)
        f4 = self.s4(f2)
        f8 = self.s8(f4)
        f16 = self.s16(f8)
        f32 = self.s32(f16)
        pooled = torch.cat([f32.mean(dim=(2, 3)), f32.amax(dim=(2, 3))], dim=1)
        cls_logits = self.cls_head(pooled)
        p = self.lat32(f32)
        p = F.interpolate(p, scale_factor=2.0, mode="nearest") + self.lat16(f16)
        p = F.interpolate(p, scale_factor=2.0, mode="nearest") + self.lat8(f8)
        p = F.interpolate(p, scale_factor=2.0, mode="nearest") + self.lat4(f4)
        p4 = self.smooth4(p)
        hm_logit = self.hm(p4)
        det_heatmap = torch.sigmoid(hm_logit)
        det_size = F.relu(self.wh(p4)) * float(self.det_stride)  # box w,h in input pixels
        det_offset = self.off(p4)                                   # centre offset in cells
        l = self.lung4(p4)
        l = F.interpolate(l, scale_factor=2.0, mode="bilinear", align_corners=False) + self.lat2(f2)
        lung_logits = self.lung2(l)                                 # stride 2
        evidence = det_heatmap.amax(dim=1, keepdim=True)
        return {"cls_logits": cls_logits, "det_heatmap": det_heatmap, "hm_logit": hm_logit, "feat32": f32,
                "det_size": det_size, "det_offset": det_offset, "lung_logits": lung_logits,
                "evidence": evidence}


def lung_weights(lung_logits, cells: int):
    """Share of each cell of a cells x cells grid that the predicted lung fields cover, [N,1,cells,cells]."""
    p = 1.0 - torch.softmax(lung_logits, 1)[:, :1]
    k = int(lung_logits.shape[-1]) // int(cells)  # static sizes: a constant kernel in the ONNX graph
    return F.avg_pool2d(p, kernel_size=k, stride=k)


def lung_pool(feat, w):
    """Mean and max of a feature map weighted by the lung share of each cell: [N, 2C]. Outside the lungs a cell
    weighs 0, so nothing there reaches the vector."""
    fw = feat * w
    mean = fw.sum(dim=(2, 3)) / w.sum(dim=(2, 3)).clamp_min(1e-3)
    return torch.cat([mean, fw.amax(dim=(2, 3))], dim=1)


class ExportWrapper(nn.Module):
    """The ONNX graph's outputs in OUTPUT_NAMES order; with_embedding adds the lung-pooled embedding of the last
    encoder feature map (the model's own lung fields as weights)."""

    def __init__(self, net, with_embedding=False):
        super().__init__()
        self.net = net
        self.with_embedding = with_embedding

    def forward(self, image):
        o = self.net(image)
        outs = tuple(o[k] for k in OUTPUT_NAMES)
        if not self.with_embedding:
            return outs
        if "embedding" in o:
            emb = o["embedding"]
        else:
            f = o["feat32"]
            emb = lung_pool(f, lung_weights(o["lung_logits"], f.shape[-1]))
        return outs + (emb,)


def output_shapes(size: int, det_stride=4, lung_stride=2, embedding_dim=None):
    h, l = size // det_stride, size // lung_stride
    out = {"cls_logits": ["N", 3], "det_heatmap": ["N", 2, h, h], "det_size": ["N", 2, h, h],
           "det_offset": ["N", 2, h, h], "lung_logits": ["N", 3, l, l], "evidence": ["N", 1, h, h]}
    if embedding_dim:
        out[EMBEDDING_NAME] = ["N", int(embedding_dim)]
    return out


def count_params(m):
    return sum(p.numel() for p in m.parameters())
