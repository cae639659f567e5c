"""The TB reader: a classifier that sees only the lungs.

The multi-task network (CXRNet) finds the lung fields; the reader takes the same input image, keeps what lies inside
the (slightly dilated) predicted lung fields, standardises it with the mean and spread of the pixels there, sets
everything else to 0, and classifies it with its own encoder whose last feature map is pooled (mean, then max) with
each cell weighted by its lung share. A frame, burned-in text or a label block outside the thorax therefore cannot
reach the TB score except through the lung outline, and a global change of brightness or contrast is undone by the
in-lung standardisation.

Heads:
  tri   3-way softmax over healthy / sick_not_tb / tb (the earlier design; partial label for DA/DB not-TB)
  hier  two logits: `abnormal` (TB or other disease vs healthy, where known) and `tb` (TB vs everything else);
        TB score = sigmoid(tb). Its three-class view: p(tb) = s(t), p(sick) = (1 - s(t)) s(a),
        p(healthy) = (1 - s(t)) (1 - s(a)), so 100 * softmax(cls_logits)[2] is the TB score either way.
"""
from __future__ import annotations

import torch
import torch.nn as nn
import torch.nn.functional as F

from .model import Block, conv_bn, lung_pool, lung_weights

HEADS = ("tri", "hier")


def lung_probability(lung_logits, size: int):
    """1 - p(background) of CXRNet's lung logits (stride 2), upsampled bilinearly to the input size."""
    p = 1.0 - torch.softmax(lung_logits, 1)[:, :1]
    return F.interpolate(p, size=(size, size), mode="bilinear", align_corners=False)


def masked_standardise(x, lung, dilate: int, eps=1e-6):
    """Dilate the lung probability by a max filter (dilate px wide), standardise x with the mean and variance of the
    pixels under it (weighted by it) and zero what lies outside. Returns (input for the encoder, mask)."""
    m = F.max_pool2d(lung, dilate, 1, dilate // 2) if dilate > 1 else lung
    sw = m.sum(dim=(2, 3), keepdim=True).clamp_min(1.0)
    mean = (x * m).sum(dim=(2, 3), keepdim=True) / sw
    var = (((x - mean) ** 2) * m).sum(dim=(2, 3), keepdim=True) / sw
    return (x - mean) / torch.sqrt(var + eps) * m, m


def mix_style(x, generator: torch.Generator, alpha=0.1, eps=1e-6):
    """MixStyle (Zhou et al., ICLR 2021): each sample's per-channel feature mean and spread are blended with those
    of another sample of the batch (weight ~ Beta(alpha, alpha)), so that the "style" of a scanner or hospital stops
    being a reliable cue while the content is kept. Training only."""
    B = x.shape[0]
    mu = x.mean(dim=(2, 3), keepdim=True)
    sig = (x.var(dim=(2, 3), keepdim=True) + eps).sqrt()
    mu, sig = mu.detach(), sig.detach()
    lam = torch.distributions.Beta(alpha, alpha).sample((B, 1, 1, 1))
    perm = torch.randperm(B, generator=generator)
    return (x - mu) / sig * (lam * sig + (1 - lam) * sig[perm]) + lam * mu + (1 - lam) * mu[perm]


class TBReader(nn.Module):
    def __init__(self, width=(24, 32, 64, 96, 128), blocks=(1, 2, 2, 1), head="tri", dilate=9,
                 n_source_tb=0, n_source_not=0, mixstyle=0.0, instance_norm=False):
        super().__init__()
        if head not in HEADS:
            raise ValueError(f"head {head!r}: one of {HEADS}")
        w0, w1, w2, w3, w4 = width
        self.head_kind = head
        self.dilate = dilate
        self.mixstyle = mixstyle
        self._mix_gen = torch.Generator().manual_seed(0)
        if instance_norm:
            # instance normalisation in the stem: each image's own low-level contrast is divided out (IBN-Net's idea)
            self.stem = nn.Sequential(nn.Conv2d(1, w0, 3, 2, 1, bias=False), nn.InstanceNorm2d(w0, affine=True),
                                      nn.ReLU(inplace=True), nn.Conv2d(w0, w0, 3, 1, 1, bias=False),
                                      nn.InstanceNorm2d(w0, affine=True), nn.ReLU(inplace=True))
        else:
            self.stem = nn.Sequential(conv_bn(1, w0, 3, 2), conv_bn(w0, w0, 3, 1))

        def stage(cin, cout, n):
            return nn.Sequential(Block(cin, cout, 2), *[Block(cout, cout, 1) for _ in range(n - 1)])
        self.stages = nn.Sequential(stage(w0, w1, blocks[0]), stage(w1, w2, blocks[1]), stage(w2, w3, blocks[2]),
                                    stage(w3, w4, blocks[3]))
        self.drop = nn.Dropout(0.2)
        self.head = nn.Linear(2 * w4, 3 if head == "tri" else 2)
        # source classifiers for the class-conditional adversary (training only; not exported)
        self.src_tb = nn.Linear(2 * w4, n_source_tb) if n_source_tb > 1 else None
        self.src_not = nn.Linear(2 * w4, n_source_not) if n_source_not > 1 else None

    @property
    def emb_dim(self):
        return self.head.in_features

    def forward(self, x, lung):
        xs, m = masked_standardise(x, lung, self.dilate)
        f = self.stem(xs)
        for k, st in enumerate(self.stages):
            if self.training and self.mixstyle > 0 and k < 2 and float(torch.rand(1, generator=self._mix_gen)) < self.mixstyle:
                f = mix_style(f, self._mix_gen)
            f = st(f)
        emb = lung_pool(f, F.avg_pool2d(m, int(m.shape[-1]) // int(f.shape[-1])))
        return {"embedding": emb, "logits": self.head(self.drop(emb)), "input": xs}

    def class_log_probs(self, logits):
        """[N,3] log-probabilities over healthy / sick_not_tb / tb (the pack's cls_logits)."""
        if self.head_kind == "tri":
            return torch.log_softmax(logits, 1)
        a, t = logits[:, 0], logits[:, 1]
        lt, lnt = F.logsigmoid(t), F.logsigmoid(-t)
        return torch.stack([lnt + F.logsigmoid(-a), lnt + F.logsigmoid(a), lt], 1)

    def tb_logit(self, logits):
        if self.head_kind == "hier":
            return logits[:, 1]
        lp = torch.log_softmax(logits, 1)
        return lp[:, 2] - torch.logsumexp(lp[:, :2], 1)


class TwoStage(nn.Module):
    """CXRNet (lungs, boxes, evidence) followed by the TB reader on the same input: the exported graph. Its
    cls_logits are the reader's three-class log-probabilities and its embedding is the reader's."""

    def __init__(self, net, reader):
        super().__init__()
        self.net = net
        self.reader = reader

    def forward(self, image):
        o = self.net(image)
        lung = lung_probability(o["lung_logits"], image.shape[-1])
        r = self.reader(image, lung)
        o = dict(o)
        o["cls_logits"] = self.reader.class_log_probs(r["logits"])
        o["embedding"] = r["embedding"]
        return o


class GradReverse(torch.autograd.Function):
    @staticmethod
    def forward(ctx, x, lam):
        ctx.lam = lam
        return x.view_as(x)

    @staticmethod
    def backward(ctx, g):
        return -ctx.lam * g, None


def grad_reverse(x, lam: float):
    return GradReverse.apply(x, lam)


__all__ = ["TBReader", "TwoStage", "lung_probability", "masked_standardise", "grad_reverse", "lung_weights"]
