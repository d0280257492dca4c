#!/usr/bin/env python3
"""PyTorch (eager) twin of `dimix bench`: the same cases, the same JSON records.

Every case of `dimix bench` is built here as plain PyTorch modules that mirror dimix's models
and operators (docs/nn.md, host/models/*.c, host/nn/*.c): the same shapes, the
same parameter counts, random weights. Butterfly stages are written the natural PyTorch way
(as the papers' code does with grouped convolutions): the input, viewed as [M, J, Din, R1, R2]
(SPEC 2), is permuted to its groups [G, rows, Din], one batched GEMM (baddbmm) per layer applies
each group's own weights, and the result is permuted back. Case names are the join keys with
dimix's records (apps/dimix/bench.h), so the two JSON files can be compared case by case.

Suites (--suite, default ops):
  ops     butterfly stage 0 / stage 1 as per-group linears, dense linear, butterfly MLP layer,
          dense MLP (rows R = 4096, N in 256, 1024, 4096, e in 1, 2, fwd and fwdbwd), square
          GEMM, a pre-norm transformer block on the whole sequence (attn) and the same block in
          butterfly attention stage 1 (battn), S in 256, 1024, 2048.
  models  the image presets e1-butterfly-mlp, e1-dense, e1-butterfly-linear, e2-vit,
          e2-vit-butterfly, e2-vit-p2, e2-vit-p2-butterfly, e3-patchonly, imixer-small, fmnist-bmlp, fmnist-dense:
          one Adam training step at batch 64, inference at batch 1 and 256.
  lra     the LRA classifier (presets lra-listops and lra-listops-dense) at S 1024 and 2048,
          batch 8: one AdamW step (dropout on) and inference.
  all     all three.
--quick shrinks every suite to a smoke run (R 256, S 256, batch 8 / 2, ...).

Timing: `--warmup` untimed iterations, then up to `--repeat` timed ones, stopping early once
the timed ones used `--budget` seconds (at least one). time.perf_counter around each iteration;
on CUDA torch.cuda.synchronize() before every clock read. Records keep the median and minimum.

Memory: on CUDA, torch.cuda.max_memory_allocated() over the case (after a
reset_peak_memory_stats) is `total`; `activations_peak` is that peak minus the parameters, the
gradients and the optimizer state (Adam's m and v). PyTorch keeps no allocator statistics for
the CPU, so CPU records have activations_peak and total null.

Run it with a Python that has torch (Debian's python3-torch lives under /usr/bin/python3):

    /usr/bin/python3 tools/bench_torch.py --suite all --quick --repeat 1 --json /tmp/t.json
    /usr/bin/python3 tools/bench_torch.py --suite models --threads 1 --json torch_models.json
    /usr/bin/python3 tools/bench_torch.py --filter ops/stage1 --device cuda

Exit status: 0 when every case ran or failed cleanly (failures are records with status
"failed"), 2 on bad options.
"""
import argparse
import json
import math
import os
import platform
import statistics
import sys
import time

try:
    import torch
    import torch.nn as nn
    import torch.nn.functional as F
except ImportError as _exc:
    sys.exit(f"bench_torch.py: this Python ({sys.executable}) cannot import torch ({_exc}); "
             "run it with one that can, e.g. /usr/bin/python3 on Debian")

SCHEMA = "dimix-bench/1"


# ------------------------------------------------------------------ butterfly index map (SPEC 1)

def stage_count(n, b):
    """Smallest K with b^K >= n, in integer arithmetic."""
    k, p = 0, 1
    while p < n:
        p, k = p * b, k + 1
    return k


def stage_stride(n, b, i):
    """s_i = b^i if b^(i+1) <= n, else ceil(n / b); n must split into groups of b * s."""
    p = b ** i
    s = p if p * b <= n else -(-n // b)
    if n % (b * s):
        raise ValueError(f"butterfly: N = {n} is not a multiple of b * s = {b * s} "
                         f"(b = {b}, stage {i})")
    return s


def vit_radix(s):
    """2^ceil(log2 sqrt S) in integers."""
    a = 1
    while a * a < s:
        a *= 2
    return a


def isqrt_exact(n, what):
    r = math.isqrt(n)
    if r * r != n:
        raise ValueError(f"{what}: {n} is not a square")
    return r


# ------------------------------------------------------------------ mix_linear (SPEC 2)

def to_group_major(x, M, J, D, R1, R2):
    """x holding [M, J, D, R1, R2] -> [J*R1, M*R2, D]: every group's rows in one batch entry
    (the papers' permute; group g = j*R1 + r1)."""
    return x.reshape(M, J, D, R1, R2).permute(1, 3, 0, 4, 2).reshape(J * R1, M * R2, D)


def from_group_major(y, M, J, R1, R2):
    """[J*R1, M*R2, D] -> a view ordered [M, J, D, R1, R2] (the un-permute)."""
    D = y.shape[-1]
    return y.reshape(J, R1, M, R2, D).permute(2, 0, 4, 1, 3)


def group_linear(xg, w, c):
    """Batched per-group linear on [G, rows, Din] with w [G, Dout, Din], c [G, Dout]."""
    wt = w.transpose(1, 2)
    return torch.bmm(xg, wt) if c is None else torch.baddbmm(c[:, None, :], xg, wt)


def mix_linear(x, w, c, M, J, Din, R1, R2):
    """SPEC 2: y[m, j, o, r1, r2] = sum_d w[j*R1 + r1, o, d] x[m, j, d, r1, r2] + c[j*R1 + r1, o].

    x is any tensor holding M*J*Din*R1*R2 elements in that order, w [J*R1, Dout, Din], c
    [J*R1, Dout] or None. Gathers the groups, one batched GEMM, returns the un-permuted view
    [M, J, Dout, R1, R2]."""
    return from_group_major(group_linear(to_group_major(x, M, J, Din, R1, R2), w, c),
                            M, J, R1, R2)


def uniform_param(shape, bound):
    return nn.Parameter(torch.empty(shape).uniform_(-bound, bound))


class GroupLinear(nn.Module):
    """One butterfly stage as a per-group linear with bias (the ops/stage cases)."""

    def __init__(self, groups, din, dout):
        super().__init__()
        self.weight = uniform_param((groups, dout, din), 1 / math.sqrt(din))
        self.bias = uniform_param((groups, dout), 1 / math.sqrt(din))


class ButterflyMLP(nn.Module):
    """SPEC 4 butterfly MLP: K stages, each N/b private MLPs b -> e b -> b (GELU)."""

    def __init__(self, n, radix, expansion):
        super().__init__()
        self.n, self.b, self.e = n, radix, expansion
        self.K = stage_count(n, radix)
        for i in range(self.K):
            stage_stride(n, radix, i)  # validates
        g, b, eb = n // radix, radix, expansion * radix
        self.stages = nn.ModuleList()
        for _ in range(self.K):
            st = nn.Module()
            st.w1 = uniform_param((g, eb, b), 1 / math.sqrt(b))
            st.b1 = uniform_param((g, eb), 1 / math.sqrt(b))
            st.w2 = uniform_param((g, b, eb), 1 / math.sqrt(eb))
            st.b2 = uniform_param((g, b), 1 / math.sqrt(eb))
            self.stages.append(st)

    def forward(self, x, outer, inner):
        """x holds [outer, N, inner]; returns the same layout."""
        b = self.b
        for i, st in enumerate(self.stages):
            s = stage_stride(self.n, b, i)
            j = self.n // (b * s)
            xg = to_group_major(x, outer, j, b, s, inner)
            h = F.gelu(group_linear(xg, st.w1, st.b1))
            x = from_group_major(group_linear(h, st.w2, st.b2), outer, j, s, inner)
        return x.reshape(outer, self.n, inner)


class ButterflyLinearMLP(nn.Module):
    """Dimension Mixer's Butterfly-Linear MLP (host/nn/butterfly_linear_mlp.c): both dense
    layers of an MLP become 2-factor block-sparse linears (N = b^2, hidden e N), ELU between."""

    def __init__(self, n, expansion):
        super().__init__()
        b = isqrt_exact(n, "butterfly_linear_mlp N")
        eb = expansion * b
        self.n, self.b, self.eb = n, b, eb
        self.w0 = uniform_param((b, eb, b), 1 / math.sqrt(b))    # fc1.stages.0
        self.w1 = uniform_param((eb, b, b), 1 / math.sqrt(b))    # fc1.stages.1
        self.c1 = uniform_param((eb, b), 1 / math.sqrt(b))
        self.w2 = uniform_param((eb, b, b), 1 / math.sqrt(b))    # fc2.stages.0
        self.w3 = uniform_param((b, b, eb), 1 / math.sqrt(eb))   # fc2.stages.1
        self.c3 = uniform_param((b, b), 1 / math.sqrt(eb))

    def forward(self, x, outer, inner):
        b, eb, M = self.b, self.eb, outer
        h = mix_linear(x, self.w0, None, M, b, b, 1, inner)       # [M, b(g), eb(j)]
        hg = F.elu(group_linear(to_group_major(h, M, 1, b, eb, inner), self.w1, self.c1))
        h = from_group_major(hg, M, 1, eb, inner)                 # [M, b(o), eb(j)]
        h = mix_linear(h, self.w2, None, M, 1, b, eb, inner)      # [M, b(o2), eb(j)]
        y = mix_linear(h, self.w3, self.c3, M, b, eb, 1, inner)   # [M, b(o2), b(o3)]
        return y.reshape(outer, self.n, inner)


class Mlp(nn.Module):
    """Linear -> GELU -> Linear, dropout on the hidden and the output (p = 0: none)."""

    def __init__(self, din, hidden, dout, dropout=0.0):
        super().__init__()
        self.fc1, self.fc2 = nn.Linear(din, hidden), nn.Linear(hidden, dout)
        self.drop = nn.Dropout(dropout) if dropout > 0 else nn.Identity()

    def forward(self, x):
        return self.drop(self.fc2(self.drop(F.gelu(self.fc1(x)))))


# ------------------------------------------------------------------ attention, blocks

class Attention(nn.Module):
    """Multi-head softmax attention, q/k/v/o Linear(D, D) with bias; optional additive key
    mask [B, S]."""

    def __init__(self, dim, heads):
        super().__init__()
        if dim % heads:
            raise ValueError(f"attention: width {dim} does not split into {heads} heads")
        self.heads, self.scale = heads, 1.0 / math.sqrt(dim // heads)
        self.q, self.k, self.v, self.o = (nn.Linear(dim, dim) for _ in range(4))

    def forward(self, x, mask=None):
        B, S, D = x.shape
        h = self.heads

        def split(t):
            return t.view(B, S, h, D // h).transpose(1, 2)

        q, k, v = split(self.q(x)), split(self.k(x)), split(self.v(x))
        scores = torch.matmul(q, k.transpose(-1, -2)) * self.scale
        if mask is not None:
            scores = scores + mask[:, None, None, :]
        o = torch.matmul(torch.softmax(scores, dim=-1), v)
        return self.o(o.transpose(1, 2).reshape(B, S, D))


class Block(nn.Module):
    """dimix's transformer block (host/nn/transformer_block.c): post-norm
    x = LN1(x + A(x)); x = LN2(x + MLP(x)), or pre-norm with dropout
    x += drop(A(LN1 x)); x += drop(fc2(drop(GELU(fc1(LN2 x)))))."""

    def __init__(self, dim, heads, hidden, eps, pre_norm, dropout=0.0):
        super().__init__()
        self.pre_norm = pre_norm
        self.attn = Attention(dim, heads)
        self.norm1 = nn.LayerNorm(dim, eps=eps)
        self.mlp = Mlp(dim, hidden, dim, dropout)
        self.norm2 = nn.LayerNorm(dim, eps=eps)
        self.drop = nn.Dropout(dropout) if dropout > 0 else nn.Identity()

    def forward(self, x, mask=None):
        if self.pre_norm:
            x = x + self.drop(self.attn(self.norm1(x), mask))
            return x + self.mlp(self.norm2(x))
        x = self.norm1(x + self.attn(x, mask))
        return self.norm2(x + self.mlp(x))


def to_groups(x, a, s):
    """[B, S, D] -> [B * S/a, a, D]: group j*s + r holds tokens j*a*s + d*s + r."""
    B, S, D = x.shape
    return x.reshape(B, S // (a * s), a, s, D).transpose(2, 3).reshape(-1, a, D)


def from_groups(y, B, S, a, s):
    D = y.shape[-1]
    return y.reshape(B, S // (a * s), s, a, D).transpose(2, 3).reshape(B, S, D)


class ButterflyAttention(nn.Module):
    """SPEC 4 butterfly attention: a whole block on the stage's groups of `radix` tokens."""

    def __init__(self, block, radix, stage):
        super().__init__()
        self.block, self.radix, self.stage = block, radix, stage

    def forward(self, x, mask=None):
        B, S, _ = x.shape
        a = self.radix
        s = stage_stride(S, a, self.stage)
        mg = None
        if mask is not None:
            mg = mask.reshape(B, S // (a * s), a, s).transpose(2, 3).reshape(-1, a)
        return from_groups(self.block(to_groups(x, a, s), mg), B, S, a, s)


# ------------------------------------------------------------------ image models (SPEC 5)

PRESETS = {
    "e1-dense": dict(family="mixer", token_mix="dense", channel_mix="dense"),
    "e1-butterfly-linear": dict(family="mixer", token_mix="butterfly_linear",
                                channel_mix="butterfly_linear"),
    "e1-butterfly-mlp": dict(family="mixer", token_mix="butterfly_mlp",
                             channel_mix="butterfly_mlp"),
    "e2-vit": dict(family="vit", patch=4, dim=128, attention="dense"),
    "e2-vit-butterfly": dict(family="vit", patch=4, dim=128, attention="butterfly"),
    "e2-vit-p2": dict(family="vit", patch=2, dim=64, attention="dense"),
    "e2-vit-p2-butterfly": dict(family="vit", patch=2, dim=64, attention="butterfly"),
    "e3-patchonly": dict(family="patchonly"),
    "imixer-small": dict(family="imixer"),
    "fmnist-bmlp": dict(family="mixer", token_mix="butterfly_mlp", channel_mix="butterfly_mlp",
                        kw=dict(channels=1, image=28, dim=64, depth=4, expansion=2,
                                token_radix=7, channel_radix=8)),
    "fmnist-dense": dict(family="mixer", token_mix="dense", channel_mix="dense",
                         kw=dict(channels=1, image=28, dim=64, depth=4, expansion=2)),
}
MODEL_ORDER = ("e1-butterfly-mlp", "e1-dense", "e1-butterfly-linear", "e2-vit",
               "e2-vit-butterfly", "e2-vit-p2", "e2-vit-p2-butterfly", "e3-patchonly",
               "imixer-small", "fmnist-bmlp", "fmnist-dense")
MODEL_VS = {"e1-butterfly-mlp": "e1-dense", "e1-butterfly-linear": "e1-dense",
            "e2-vit-butterfly": "e2-vit", "e2-vit-p2-butterfly": "e2-vit-p2",
            "fmnist-bmlp": "fmnist-dense"}


def patchify(img, p):
    """[B, C, H, W] -> [B, (H/p)(W/p), C p p], patches row-major, vectors (c, ky, kx)."""
    B, C, H, W = img.shape
    t = img.reshape(B, C, H // p, p, W // p, p).permute(0, 2, 4, 1, 3, 5)
    return t.reshape(B, (H // p) * (W // p), C * p * p)


def unpatchify(t, C, H, W, p):
    B = t.shape[0]
    x = t.reshape(B, H // p, W // p, C, p, p).permute(0, 3, 1, 4, 2, 5)
    return x.reshape(B, C, H, W)


class Mixer(nn.Module):
    """One token or channel mixer: dense MLP, butterfly MLP or butterfly-linear MLP."""

    def __init__(self, kind, n, radix, expansion):
        super().__init__()
        self.kind = kind
        if kind == "dense":
            self.mlp = Mlp(n, expansion * n, n)
        elif kind == "butterfly_mlp":
            self.mlp = ButterflyMLP(n, radix, expansion)
        elif kind == "butterfly_linear":
            self.mlp = ButterflyLinearMLP(n, expansion)
        else:
            raise ValueError(f"unknown mixing {kind}")

    def forward(self, x, axis):
        B, S, C = x.shape
        if self.kind == "dense":
            if axis == 1:  # TokenMix(x^T)^T
                return self.mlp(x.transpose(1, 2)).transpose(1, 2)
            return self.mlp(x)
        outer, inner = (B, C) if axis == 1 else (B * S, 1)
        return self.mlp(x, outer, inner).reshape(B, S, C)


class MixerBlock(nn.Module):
    def __init__(self, tokens, dim, token_kind, channel_kind, token_radix, channel_radix,
                 expansion, eps):
        super().__init__()
        self.norm1 = nn.LayerNorm(dim, eps=eps)
        self.token_mix = Mixer(token_kind, tokens, token_radix, expansion)
        self.norm2 = nn.LayerNorm(dim, eps=eps)
        self.channel_mix = Mixer(channel_kind, dim, channel_radix, expansion)

    def forward(self, x):
        x = x + self.token_mix(self.norm1(x), 1)
        return x + self.channel_mix(self.norm2(x), 2)


class MixerModel(nn.Module):
    """E1 MLP-Mixer: channels 3, image 32, patch 4, dim 121, depth 7, expansion 1,
    token radix 8, channel radix 11."""

    def __init__(self, token_mix, channel_mix, channels=3, image=32, classes=10, patch=4,
                 dim=121, depth=7, expansion=1, token_radix=8, channel_radix=11, eps=1e-5):
        super().__init__()
        self.patch = patch
        S = (image // patch) ** 2
        self.patch_embed = nn.Linear(patch * patch * channels, dim)
        self.blocks = nn.ModuleList(
            MixerBlock(S, dim, token_mix, channel_mix, token_radix, channel_radix, expansion,
                       eps) for _ in range(depth))
        self.head = nn.Linear(S * dim, classes)

    def forward(self, img):
        x = self.patch_embed(patchify(img, self.patch))
        for blk in self.blocks:
            x = blk(x)
        return self.head(x.flatten(1))


class VitModel(nn.Module):
    """E2 ViT: no position embedding, post-norm blocks (heads 8, MLP 2D), flatten head;
    butterfly: layer l is stage l mod K of radix 2^ceil(log2 sqrt S)."""

    def __init__(self, patch, dim, attention, channels=3, image=32, classes=10, depth=4,
                 heads=8, eps=1e-5):
        super().__init__()
        self.patch = patch
        S = (image // patch) ** 2
        self.patch_embed = nn.Linear(patch * patch * channels, dim)
        blocks = [Block(dim, heads, 2 * dim, eps, pre_norm=False) for _ in range(depth)]
        if attention == "butterfly":
            a = vit_radix(S)
            K = stage_count(S, a)
            blocks = [ButterflyAttention(b, a, l % K) for l, b in enumerate(blocks)]
        self.blocks = nn.ModuleList(blocks)
        self.head = nn.Linear(S * dim, classes)

    def forward(self, img):
        x = self.patch_embed(patchify(img, self.patch))
        for blk in self.blocks:
            x = blk(x)
        return self.head(x.flatten(1))


class PatchBlock(nn.Module):
    def __init__(self, channels, k, eps):
        super().__init__()
        d = channels * k * k
        self.k = k
        self.norm = nn.LayerNorm(d, eps=eps)
        self.mlp = Mlp(d, 2 * d, d)

    def forward(self, x):
        B, C, H, W = x.shape
        t = self.mlp(self.norm(patchify(x, self.k)))
        return x + unpatchify(t, C, H, W, self.k)


class PatchOnlyModel(nn.Module):
    """E3 Patch-Only Mixer on 35 x 35 images: 7 layers of (5 x 5, 7 x 7) patch blocks."""

    def __init__(self, channels=3, image=35, classes=10, k1=5, k2=7, depth=7, eps=1e-5):
        super().__init__()
        self.blocks = nn.ModuleList(
            PatchBlock(channels, k2 if b % 2 else k1, eps) for b in range(2 * depth))
        self.head = nn.Linear(channels * image * image, classes)

    def forward(self, img):
        x = img
        for blk in self.blocks:
            x = blk(x)
        return self.head(x.flatten(1))


class SNLinear(nn.Linear):
    """A Linear whose weight is used as w / max(1, sigma / coeff) (soft spectral norm), sigma
    from n_power power iterations on persistent u, v (training only, no gradient through u, v)."""

    def __init__(self, din, dout):
        super().__init__(din, dout)
        self.register_buffer("u", F.normalize(torch.randn(dout), dim=0))
        self.register_buffer("v", F.normalize(torch.randn(din), dim=0))

    def normalized(self, n_power, coeff):
        w = self.weight
        if self.training and n_power > 0:
            with torch.no_grad():
                u, v = self.u, self.v
                for _ in range(n_power):
                    v = F.normalize(torch.mv(w.t(), u), dim=0, eps=1e-12)
                    u = F.normalize(torch.mv(w, v), dim=0, eps=1e-12)
                self.u.copy_(u)
                self.v.copy_(v)
        sigma = torch.dot(self.u, torch.mv(w, self.v))
        return w / torch.clamp(sigma / coeff, min=1.0)


class IMLP(nn.Module):
    """iMixer's token mixer (SPEC 4) on the transposed tokens: S -> T, n_iter fixed-point
    steps z = fb'(GELU(fa'(GELU z))) + y, T -> S."""

    def __init__(self, tokens, width, inner, n_iter, n_power, coeff=0.9):
        super().__init__()
        self.n_iter, self.n_power, self.coeff = n_iter, n_power, coeff
        self.fc1, self.fc2 = nn.Linear(tokens, width), nn.Linear(width, tokens)
        self.fa, self.fb = SNLinear(width, inner), SNLinear(inner, width)

    def forward(self, x):  # x [B, S, D], mixes along S
        y = self.fc1(x.transpose(1, 2))
        wa = self.fa.normalized(self.n_power, self.coeff)
        wb = self.fb.normalized(self.n_power, self.coeff)
        z = y
        for _ in range(self.n_iter):
            z = F.linear(F.gelu(F.linear(F.gelu(z), wa, self.fa.bias)), wb, self.fb.bias) + y
        return self.fc2(F.gelu(z)).transpose(1, 2)


class IMixerModel(nn.Module):
    """imixer-small: patch 4, dim 128, depth 4, T = 0.5 D, H = 2 T, n_iter 2, n_power 8,
    MLP 4D, LayerNorm eps 1e-6, mean over tokens, head."""

    def __init__(self, channels=3, image=32, classes=10, patch=4, dim=128, depth=4,
                 token_ratio=0.5, h_ratio=2.0, n_iter=2, n_power=8, mlp_ratio=4, eps=1e-6):
        super().__init__()
        self.patch = patch
        S = (image // patch) ** 2
        T = int(math.floor(token_ratio * dim + 0.5))
        H = int(math.floor(h_ratio * T + 0.5))
        self.patch_embed = nn.Linear(patch * patch * channels, dim)
        self.blocks = nn.ModuleList()
        for _ in range(depth):
            blk = nn.Module()
            blk.norm1 = nn.LayerNorm(dim, eps=eps)
            blk.token_mix = IMLP(S, T, H, n_iter, n_power)
            blk.norm2 = nn.LayerNorm(dim, eps=eps)
            blk.channel_mix = Mlp(dim, mlp_ratio * dim, dim)
            self.blocks.append(blk)
        self.norm = nn.LayerNorm(dim, eps=eps)
        self.head = nn.Linear(dim, classes)

    def forward(self, img):
        x = self.patch_embed(patchify(img, self.patch))
        for blk in self.blocks:
            x = x + blk.token_mix(blk.norm1(x))
            x = x + blk.channel_mix(blk.norm2(x))
        return self.head(self.norm(x).mean(dim=1))


def build_preset(name):
    p = PRESETS[name]
    fam = p["family"]
    if fam == "mixer":
        kw = p.get("kw", {})
        return (MixerModel(p["token_mix"], p["channel_mix"], **kw),
                (kw.get("channels", 3), kw.get("image", 32)))
    if fam == "vit":
        return VitModel(p["patch"], p["dim"], p["attention"]), (3, 32)
    if fam == "patchonly":
        return PatchOnlyModel(), (3, 35)
    return IMixerModel(), (3, 32)


# ------------------------------------------------------------------ the LRA model (SPEC 5)

class LraModel(nn.Module):
    """Token + learned position embedding -> L pre-LN blocks (dense or butterfly attention,
    layer l = stage l mod K) -> LN -> masked mean -> fc1, ReLU, fc2. Dropout on the embedding,
    the attention output and the MLP (hidden and output)."""

    def __init__(self, butterfly, seq_len, radix=64, vocab=18, classes=10, dim=64, depth=2,
                 heads=2, mlp_hidden=128, head_hidden=128, dropout=0.1, eps=1e-5):
        super().__init__()
        self.embed = nn.Embedding(vocab, dim)
        self.pos_embed = nn.Parameter(torch.randn(seq_len, dim) * 0.02)
        nn.init.normal_(self.embed.weight, std=0.02)
        self.drop = nn.Dropout(dropout)
        blocks = [Block(dim, heads, mlp_hidden, eps, True, dropout) for _ in range(depth)]
        if butterfly:
            K = stage_count(seq_len, radix)
            for i in range(K):
                stage_stride(seq_len, radix, i)
            blocks = [ButterflyAttention(b, radix, l % K) for l, b in enumerate(blocks)]
        self.blocks = nn.ModuleList(blocks)
        self.norm = nn.LayerNorm(dim, eps=eps)
        self.head = nn.Module()
        self.head.fc1 = nn.Linear(dim, head_hidden)
        self.head.fc2 = nn.Linear(head_hidden, classes)

    def forward(self, ids, mask):
        additive = (mask - 1.0) * 1e30  # 0 keeps a key, -1e30 removes it
        x = self.drop(self.embed(ids) + self.pos_embed)
        for blk in self.blocks:
            x = blk(x, additive)
        x = self.norm(x)
        pooled = (x * mask[:, :, None]).sum(1) / mask.sum(1, keepdim=True)
        return self.head.fc2(F.relu(self.head.fc1(pooled)))


# ------------------------------------------------------------------ cases

def trainable_count(module):
    return sum(p.numel() for p in module.parameters() if p.requires_grad)


def tensor_bytes(ts):
    return sum(t.numel() * t.element_size() for t in ts)


class State:
    """What a built case holds: the iteration and the tensors its memory is made of."""

    def __init__(self, step, module=None, optimizer=None, params=None):
        self.step = step
        self.module = module
        self.optimizer = optimizer
        self.params = params

    def parameter_bytes(self):
        if self.module is None:
            return 0
        return tensor_bytes(list(self.module.parameters()) + list(self.module.buffers()))

    def gradient_bytes(self):
        if self.module is None:
            return 0
        return tensor_bytes([p.grad for p in self.module.parameters() if p.grad is not None])

    def optimizer_bytes(self):
        if self.optimizer is None:
            return 0
        return tensor_bytes([v for st in self.optimizer.state.values() for v in st.values()
                             if torch.is_tensor(v) and v.numel() > 1])


class Case:
    def __init__(self, name, suite, unit, work, build, batch=None, vs=None):
        self.name, self.suite, self.unit, self.work = name, suite, unit, work
        self.build, self.batch, self.vs = build, batch, vs


def op_state(module, make_input, forward, train):
    """fwd: forward under no_grad; fwdbwd: forward with grads on the parameters and the input,
    then y.sum().backward() (gradients set to None first)."""
    x = make_input()
    module.requires_grad_(train)
    if train:
        x.requires_grad_(True)
        params = list(module.parameters())

        def step():
            for p in params:
                p.grad = None
            x.grad = None
            forward(x).sum().backward()
    else:
        def step():
            with torch.no_grad():
                forward(x)
    return State(step, module, params=trainable_count(module) if train else
                 sum(p.numel() for p in module.parameters()))


def ops_cases(quick):
    R = 256 if quick else 4096
    cases = []
    for N in ((256, 1024) if quick else (256, 1024, 4096)):
        b = isqrt_exact(N, "ops N")
        for e in (1, 2):
            for pas in ("fwd", "fwdbwd"):
                train = pas == "fwdbwd"
                mult = 3 if train else 1
                tag = f"N{N}/e{e}/{pas}"

                def stage0(dev, N=N, b=b, e=e, train=train):
                    m = GroupLinear(N // b, b, e * b).to(dev)
                    return op_state(m, lambda: torch.randn(R, N, device=dev),
                                    lambda x: mix_linear(x, m.weight, m.bias, R, N // b, b, 1, 1)
                                    .reshape(R, e * N), train)

                def stage1(dev, N=N, b=b, e=e, train=train):
                    m = GroupLinear(b, b, e * b).to(dev)
                    return op_state(m, lambda: torch.randn(R, N, device=dev),
                                    lambda x: mix_linear(x, m.weight, m.bias, R, 1, b, b, 1)
                                    .reshape(R, e * N), train)

                def dense(dev, N=N, e=e, train=train):
                    m = nn.Linear(N, e * N).to(dev)
                    return op_state(m, lambda: torch.randn(R, N, device=dev), m, train)

                def bmlp(dev, N=N, b=b, e=e, train=train):
                    m = ButterflyMLP(N, b, e).to(dev)
                    return op_state(m, lambda: torch.randn(R, N, device=dev),
                                    lambda x: m(x, R, 1), train)

                def mlp(dev, N=N, e=e, train=train):
                    m = Mlp(N, e * N, N).to(dev)
                    return op_state(m, lambda: torch.randn(R, N, device=dev), m, train)

                stage_gf = mult * 2 * R * N * e * b / 1e9
                dense_gf = mult * 2 * R * N * e * N / 1e9
                cases += [
                    Case(f"ops/stage0/{tag}", "ops", "GFLOP/s", stage_gf, stage0,
                         vs=f"ops/dense/{tag}"),
                    Case(f"ops/stage1/{tag}", "ops", "GFLOP/s", stage_gf, stage1,
                         vs=f"ops/dense/{tag}"),
                    Case(f"ops/dense/{tag}", "ops", "GFLOP/s", dense_gf, dense),
                    Case(f"ops/bmlp/{tag}", "ops", "GFLOP/s", 4 * stage_gf, bmlp,
                         vs=f"ops/mlp/{tag}"),
                    Case(f"ops/mlp/{tag}", "ops", "GFLOP/s", 2 * dense_gf, mlp),
                ]
    for n in ((512, 1024) if quick else (512, 1024, 2048, 4096)):
        def gemm(dev, n=n):
            a = torch.randn(n, n, device=dev)
            bm = torch.randn(n, n, device=dev)

            def step():
                with torch.no_grad():
                    torch.matmul(a, bm)
            return State(step)
        cases.append(Case(f"ops/gemm/{n}", "ops", "GFLOP/s", 2 * n ** 3 / 1e9, gemm))
    # Skinny products at K = 1024, as dimix's ops/gemm_skinny: x [m, K] times b [K, n]
    # (b^T [n, K] when tb).
    for m, n, tb in ((1, 1024, 1), (4, 1024, 1), (1, 1024, 0), (1024, 1, 0)):
        def skinny(dev, m=m, n=n, tb=tb):
            a = torch.randn(m, 1024, device=dev)
            bm = torch.randn(n, 1024, device=dev) if tb else torch.randn(1024, n, device=dev)

            def step():
                with torch.no_grad():
                    torch.matmul(a, bm.t() if tb else bm)
            return State(step)
        name = f"ops/gemm_skinny/M{m}/N{n}/{'NT' if tb else 'NN'}/K1024"
        cases.append(Case(name, "ops", "GFLOP/s", 2 * m * n * 1024 / 1e9, skinny))
    B, D = 4, 64
    for S in ((256,) if quick else (256, 1024, 2048)):
        a = vit_radix(S)
        for pas in ("fwd", "fwdbwd"):
            train = pas == "fwdbwd"

            def attn(dev, S=S, train=train):
                m = Block(D, 2, 128, 1e-5, pre_norm=True).to(dev)
                return op_state(m, lambda: torch.randn(B, S, D, device=dev), m, train)

            def battn(dev, S=S, a=a, train=train):
                m = ButterflyAttention(Block(D, 2, 128, 1e-5, pre_norm=True), a, 1).to(dev)
                return op_state(m, lambda: torch.randn(B, S, D, device=dev), m, train)

            cases.append(Case(f"ops/attn/S{S}/{pas}", "ops", "seq/s", B, attn, batch=B))
            cases.append(Case(f"ops/battn/S{S}/{pas}", "ops", "seq/s", B, battn, batch=B,
                              vs=f"ops/attn/S{S}/{pas}"))
    return cases


def train_state(model, optimizer, inputs, labels):
    def step():
        optimizer.zero_grad(set_to_none=True)
        loss = F.cross_entropy(model(*inputs), labels)
        loss.backward()
        optimizer.step()
        loss.item()
    return State(step, model, optimizer, trainable_count(model))


def infer_state(model, inputs):
    model.eval()

    def step():
        with torch.no_grad():
            model(*inputs).cpu()
    return State(step, model, params=trainable_count(model))


def model_cases(quick):
    train_batch = 8 if quick else 64
    infer_batches = (1, 8) if quick else (1, 256)
    cases = []
    for name in MODEL_ORDER:
        vs = MODEL_VS.get(name)

        def train(dev, name=name, batch=train_batch):
            model, (C, I) = build_preset(name)
            model = model.to(dev).train()
            x = torch.randn(batch, C, I, I, device=dev)
            y = torch.randint(0, 10, (batch,), device=dev)
            return train_state(model, torch.optim.Adam(model.parameters(), lr=1e-3), (x,), y)

        cases.append(Case(f"models/{name}/train", "models", "img/s", train_batch, train,
                          batch=train_batch, vs=vs and f"models/{vs}/train"))
        for bsz in infer_batches:
            def infer(dev, name=name, batch=bsz):
                model, (C, I) = build_preset(name)
                return infer_state(model.to(dev), (torch.randn(batch, C, I, I, device=dev),))

            kind = f"infer-b{bsz}"
            cases.append(Case(f"models/{name}/{kind}", "models", "img/s", bsz, infer, batch=bsz,
                              vs=vs and f"models/{vs}/{kind}"))
    return cases


def lra_cases(quick):
    batch = 2 if quick else 8
    seqs = ((256, 16),) if quick else ((1024, 64), (2048, 64))
    cases = []
    for S, radix in seqs:
        for kind in ("butterfly", "dense"):
            vs = kind == "butterfly"

            def make(dev, S=S, radix=radix, kind=kind):
                model = LraModel(kind == "butterfly", S, radix).to(dev)
                ids = torch.randint(1, 18, (batch, S), device=dev)
                mask = torch.ones(batch, S, device=dev)
                return model, ids, mask

            def train(dev, make=make):
                model, ids, mask = make(dev)
                model.train()
                y = torch.randint(0, 10, (batch,), device=dev)
                opt = torch.optim.AdamW(model.parameters(), lr=1e-4, weight_decay=0.0)
                return train_state(model, opt, (ids, mask), y)

            def infer(dev, make=make):
                model, ids, mask = make(dev)
                return infer_state(model, (ids, mask))

            for what, build in (("train", train), ("infer", infer)):
                cases.append(Case(f"lra/{kind}/S{S}/{what}", "lra", "seq/s", batch, build,
                                  batch=batch, vs=f"lra/dense/S{S}/{what}" if vs else None))
    return cases


# ------------------------------------------------------------------ running

def cpu_model():
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def device_info(dev):
    if dev.type == "cuda":
        return {"device": f"cuda:{dev.index or 0}", "device_type": "gpu",
                "description": torch.cuda.get_device_name(dev),
                "driver": f"torch {torch.__version__}, CUDA {torch.version.cuda}"}
    return {"device": "cpu", "device_type": "cpu", "description": cpu_model(),
            "driver": f"torch {torch.__version__}"}


def sync(dev):
    if dev.type == "cuda":
        torch.cuda.synchronize(dev)


def run_case(case, dev, args):
    rec = {"case": case.name, "suite": case.suite, "backend": "pytorch"}
    rec.update(device_info(dev))
    rec.update({"threads": torch.get_num_threads(), "batch": case.batch, "unit": case.unit,
                "work": case.work, "repeats": 0, "median_ms": None, "min_ms": None,
                "rate": None, "params": None,
                "memory": {"parameters": 0, "gradients": 0, "activations_peak": None,
                           "total": None},
                "vs": case.vs, "status": "ok", "error": None})
    state = None
    stage = "setup"
    try:
        torch.manual_seed(0)
        if dev.type == "cuda":
            torch.cuda.empty_cache()
            torch.cuda.reset_peak_memory_stats(dev)
        state = case.build(dev)
        sync(dev)
        stage = "warm-up"
        for _ in range(args.warmup):
            state.step()
            sync(dev)
        stage = "timed run"
        times, spent = [], 0.0
        while len(times) < args.repeat and (not times or spent < args.budget):
            sync(dev)
            t0 = time.perf_counter()
            state.step()
            sync(dev)
            dt = time.perf_counter() - t0
            times.append(dt * 1e3)
            spent += dt
        med = statistics.median(times)
        rec.update({"repeats": len(times), "median_ms": med, "min_ms": min(times),
                    "rate": case.work / (med / 1e3) if med > 0 else None,
                    "params": state.params})
        pb, gb, ob = state.parameter_bytes(), state.gradient_bytes(), state.optimizer_bytes()
        mem = {"parameters": pb, "gradients": gb, "activations_peak": None, "total": None}
        if dev.type == "cuda":
            peak = torch.cuda.max_memory_allocated(dev)
            mem["total"] = peak
            mem["activations_peak"] = max(0, peak - pb - gb - ob)
        rec["memory"] = mem
    except Exception as exc:  # a failing case is a record, never an abort
        msg = str(exc).strip().splitlines()
        rec.update({"status": "failed",
                    "error": f"{stage}: {type(exc).__name__}: {msg[0] if msg else ''}"[:500]})
    finally:
        state = None
        if dev.type == "cuda":
            torch.cuda.empty_cache()
    return rec


def fmt_rate(r):
    return "-" if r is None else (f"{r:.1f}" if r >= 100 else f"{r:.3g}")


def print_record(rec):
    if rec["status"] != "ok":
        print(f"{rec['case']:<40} {rec['device']:<7} FAILED  {rec['error']}", flush=True)
        return
    print(f"{rec['case']:<40} {rec['device']:<7} median {rec['median_ms']:10.3f} ms  "
          f"min {rec['min_ms']:10.3f} ms  {fmt_rate(rec['rate']):>9} {rec['unit']}", flush=True)


def print_table(records):
    by_key = {(r["case"], r["device"]): r for r in records}
    head = (f"{'case':<40} {'device':<7} {'median ms':>11} {'min ms':>11} {'rate':>10} "
            f"{'unit':<8} {'params':>9} {'x vs':>6}")
    print("\n" + head + "\n" + "-" * len(head))
    for r in records:
        if r["status"] != "ok":
            print(f"{r['case']:<40} {r['device']:<7} failed: {r['error']}")
            continue
        ratio = ""
        other = by_key.get((r["vs"], r["device"])) if r["vs"] else None
        if other and other["status"] == "ok" and other["rate"] and r["rate"]:
            ratio = f"{r['rate'] / other['rate']:.2f}"
        params = "" if r["params"] is None else str(r["params"])
        print(f"{r['case']:<40} {r['device']:<7} {r['median_ms']:11.3f} {r['min_ms']:11.3f} "
              f"{fmt_rate(r['rate']):>10} {r['unit']:<8} {params:>9} {ratio:>6}")


def parse_args(argv):
    ap = argparse.ArgumentParser(
        description="PyTorch (eager) twin of `dimix bench`: the same cases and JSON records "
                    "(schema dimix-bench/1), for case-by-case comparison.",
        epilog="Memory: on CUDA, total = torch.cuda.max_memory_allocated over the case and "
               "activations_peak = total - parameters - gradients - optimizer state; on the CPU "
               "PyTorch has no allocator statistics, so activations_peak and total are null. "
               "Exit status: 0 every case ran or failed cleanly, 2 bad options.")
    ap.add_argument("--suite", choices=("ops", "models", "lra", "all"), default="ops",
                    help="which cases (default ops)")
    ap.add_argument("--device", action="append", choices=("cpu", "cuda"),
                    help="repeatable; default cpu, plus cuda when available")
    ap.add_argument("--threads", type=int, help="torch.set_num_threads (default: torch's)")
    ap.add_argument("--repeat", type=int, default=5, help="timed repeats at most (default 5)")
    ap.add_argument("--warmup", type=int, default=1, help="untimed repeats first (default 1)")
    ap.add_argument("--budget", type=float, default=10.0,
                    help="stop repeating a case once its timed repeats used this many seconds "
                         "(default 10; always at least 1 repeat)")
    ap.add_argument("--json", metavar="FILE", help="write the records here")
    ap.add_argument("--quick", action="store_true", help="small shapes: a smoke run")
    ap.add_argument("--filter", metavar="SUBSTR", help="only cases whose name contains SUBSTR")
    args = ap.parse_args(argv)
    if args.repeat < 1 or args.warmup < 0 or not args.budget >= 0:
        ap.error("--repeat must be >= 1, --warmup >= 0 and --budget >= 0")
    if args.threads is not None and args.threads < 1:
        ap.error("--threads must be >= 1")
    if args.device is None:
        args.device = ["cpu"] + (["cuda"] if torch.cuda.is_available() else [])
    elif "cuda" in args.device and not torch.cuda.is_available():
        ap.error("--device cuda: torch.cuda.is_available() is false")
    return args


def main(argv=None):
    args = parse_args(sys.argv[1:] if argv is None else argv)
    if args.threads is not None:
        torch.set_num_threads(args.threads)
    cases = []
    if args.suite in ("ops", "all"):
        cases += ops_cases(args.quick)
    if args.suite in ("models", "all"):
        cases += model_cases(args.quick)
    if args.suite in ("lra", "all"):
        cases += lra_cases(args.quick)
    if args.filter:
        cases = [c for c in cases if args.filter in c.name]
    devices = []
    for d in args.device:
        dev = torch.device("cuda", 0) if d == "cuda" else torch.device("cpu")
        if dev not in devices:
            devices.append(dev)
    print(f"bench_torch: torch {torch.__version__}, {torch.get_num_threads()} threads, "
          f"{len(cases)} cases on {', '.join(device_info(d)['device'] for d in devices)}"
          f"{' (quick)' if args.quick else ''}", flush=True)
    records = []
    for dev in devices:
        for case in cases:
            rec = run_case(case, dev, args)
            print_record(rec)
            records.append(rec)
    print_table(records)
    if args.json:
        doc = {"schema": SCHEMA, "tool": "pytorch", "version": torch.__version__,
               "build_type": "eager",
               "machine": {"cpu": cpu_model(), "cores": os.cpu_count(),
                           "os": platform.platform()},
               "threads": torch.get_num_threads(), "quick": bool(args.quick),
               "records": records}
        with open(args.json, "w") as f:
            json.dump(doc, f, indent=1)
            f.write("\n")
        print(f"wrote {len(records)} records to {args.json}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
