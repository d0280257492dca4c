#!/usr/bin/python3
"""PyTorch reference fixtures for the nn modules (tests/data/*.safetensors).

Each module is written here straight from shared/SPEC.md (sections 1, 2, 4, 5) and
notes/papers.md, not from dimix's C code: the butterfly stage permutation of papers.md
section 0, Ailon's 2x2 twiddle formula (papers.md 4.2), Monarch as HazyResearch's
blockdiag_butterfly_multiply (papers.md 5), the post-norm CIFAR transformer block (1.4) and
iMixer's iMLP with soft spectral normalisation (2.1).

Weights and inputs are drawn in float32 from a seeded torch generator; the forward pass and
the gradients of L = sum(output * r) are computed in float64 from those float32 values (so the
reference is the exact result for the stored data) and stored as float32.

Each file holds the module's parameters under their SPEC section 6 names, plus `input`,
`output`, `r`, `grad.input` and `grad.<parameter name>` (and `mask`, or the updated spectral
norm buffers `updated.<name>`, where the module has them). Files are written with a small
safetensors writer below: tensors sorted by name, header padded with spaces to 8 bytes, so the
output is byte-for-byte reproducible for a seed (with Debian's python3-torch 1.13).

    tools/make_fixtures.py            # rewrite tests/data/*.safetensors
    tools/make_fixtures.py --check    # regenerate in memory, compare with the committed files
"""
import argparse
import json
import math
import os
import struct
import sys

import torch
import torch.nn.functional as F

DEFAULT_SEED = 20240601
F64 = torch.float64


# ---------------------------------------------------------------- safetensors writer

def safetensors_bytes(tensors, metadata):
    """The safetensors encoding of {name: float32 tensor} with string metadata."""
    header = {"__metadata__": dict(sorted(metadata.items()))}
    chunks, offset = [], 0
    for name in sorted(tensors):
        t = tensors[name].detach().to(torch.float32).contiguous()
        data = t.numpy().astype("<f4").tobytes()
        header[name] = {"dtype": "F32", "shape": list(t.shape),
                        "data_offsets": [offset, offset + len(data)]}
        chunks.append(data)
        offset += len(data)
    text = json.dumps(header, separators=(",", ":")).encode("utf-8")
    text += b" " * (-len(text) % 8)
    return struct.pack("<Q", len(text)) + text + b"".join(chunks)


# ---------------------------------------------------------------- SPEC section 1

def stage_count(n, b):
    """Smallest K with b^K >= n, in integers."""
    k, p = 0, 1
    while p < n:
        p, k = p * b, k + 1
    return k


def stage_stride(n, b, i):
    p = b ** i
    s = p if p * b <= n else -(-n // b)
    assert n % (b * s) == 0, (n, b, i, s)
    return s


def to_groups(x, n, b, s):
    """[..., n] -> [..., n/b, b]: papers.md section 0 permute, group g = j*s + r."""
    lead = x.shape[:-1]
    return x.reshape(*lead, n // (b * s), b, s).transpose(-1, -2).reshape(*lead, n // b, b)


def from_groups(y, n, b, s):
    lead = y.shape[:-2]
    return y.reshape(*lead, n // (b * s), s, -1).transpose(-1, -2).reshape(*lead, n)


def block_linear(xg, w, c=None):
    """Per-group linear: xg [..., G, din], w [G, dout, din], c [G, dout]."""
    y = torch.einsum("...gd,god->...go", xg, w)
    return y if c is None else y + c


# ---------------------------------------------------------------- SPEC section 4 mixers

def butterfly_linear(x, weights, b, bias=None):
    n = x.shape[-1]
    k = stage_count(n, b)
    for i, w in enumerate(weights):
        s = stage_stride(n, b, i % k)
        x = from_groups(block_linear(to_groups(x, n, b, s), w), n, b, s)
    return x if bias is None else x + bias


def butterfly_2x2_ailon(x, twiddles):
    """papers.md 4.2: y[j 2s + a s + r] = sum_c T_i[j s + r][a][c] x[j 2s + c s + r]."""
    n = x.shape[-1]
    for i, t in enumerate(twiddles):
        s = 2 ** i
        y = torch.zeros_like(x)
        for j in range(n // (2 * s)):
            for r in range(s):
                for a in range(2):
                    for c in range(2):
                        src = x[..., j * 2 * s + c * s + r]
                        y[..., j * 2 * s + a * s + r] += t[j * s + r, a, c] * src
        x = y
    return x


def monarch_dao(x, w1, w2):
    """papers.md 5, blockdiag_butterfly_multiply: x [B, n], w1 [k, q, p], w2 [l, s, r]."""
    batch = x.shape[0]
    k, q, p = w1.shape
    l, s, r = w2.shape
    out1 = torch.einsum("bkp,kqp->bkq", x.reshape(batch, k, p), w1)
    out1 = out1.reshape(batch, r, l).transpose(1, 2)          # 'b (r l) -> b l r'
    out2 = torch.einsum("blr,lsr->bls", out1, w2)
    return out2.transpose(1, 2).reshape(batch, s * l)         # 'b (l s) -> b (s l)'


def butterfly_mlp(x, stages, b):
    n = x.shape[-1]
    for i, (w1, b1, w2, b2) in enumerate(stages):
        s = stage_stride(n, b, i)
        h = F.gelu(block_linear(to_groups(x, n, b, s), w1, b1))
        x = from_groups(block_linear(h, w2, b2), n, b, s)
    return x


def masked_softmax(z, keep):
    """SPEC section 3: removed entries get 0, a fully removed row is all zeros."""
    z = z.masked_fill(~keep, float("-inf"))
    m = z.amax(-1, keepdim=True).detach()
    m = torch.where(torch.isfinite(m), m, torch.zeros_like(m))
    e = torch.exp(z - m)
    total = e.sum(-1, keepdim=True)
    return e / torch.where(total > 0, total, torch.ones_like(total))


def attention(x, p, prefix, heads, mask):
    batch, seq, dim = x.shape
    dh = dim // heads

    def proj(name, t):
        return F.linear(t, p[f"{prefix}.{name}.weight"], p[f"{prefix}.{name}.bias"])

    def split(t):
        return t.reshape(batch, seq, heads, dh).transpose(1, 2)

    q, k, v = split(proj("q", x)), split(proj("k", x)), split(proj("v", x))
    scores = q @ k.transpose(-1, -2) / math.sqrt(dh)
    keep = (mask > -1e20)[:, None, None, :]
    o = masked_softmax(scores, keep) @ v
    return proj("o", o.transpose(1, 2).reshape(batch, seq, dim))


def layernorm(x, p, prefix, eps):
    return F.layer_norm(x, x.shape[-1:], p[f"{prefix}.weight"], p[f"{prefix}.bias"], eps)


def postnorm_block(x, p, prefix, heads, mask):
    """papers.md 1.4 Sparse_TransformerBlock: x1 = LN1(A + x); out = LN2(x1 + MLP(x1))."""
    x1 = layernorm(attention(x, p, f"{prefix}.attn", heads, mask) + x, p, f"{prefix}.norm1", 1e-5)
    h = F.gelu(F.linear(x1, p[f"{prefix}.mlp.fc1.weight"], p[f"{prefix}.mlp.fc1.bias"]))
    f = x1 + F.linear(h, p[f"{prefix}.mlp.fc2.weight"], p[f"{prefix}.mlp.fc2.bias"])
    return layernorm(f, p, f"{prefix}.norm2", 1e-5)


def butterfly_attention(x, p, prefix, heads, radix, stage, mask):
    """Stage permute along the sequence (D carried), block on [B S/a, a, D], un-permute."""
    batch, seq, dim = x.shape
    a, s = radix, stage_stride(seq, radix, stage)
    j = seq // (a * s)
    xg = x.reshape(batch, j, a, s, dim).transpose(2, 3).reshape(batch * seq // a, a, dim)
    mg = mask.reshape(batch, j, a, s).transpose(2, 3).reshape(batch * seq // a, a)
    y = postnorm_block(xg, p, prefix, heads, mg)
    return y.reshape(batch, j, s, a, dim).transpose(2, 3).reshape(batch, seq, dim)


def spectral_norm(w, u, v, n_power, coeff=0.9):
    """invertible-resnet spectral_norm_fc in training mode: returns w', u, v."""
    with torch.no_grad():
        for _ in range(n_power):
            v = F.normalize(w.t() @ u, dim=0, eps=1e-12)
            u = F.normalize(w @ v, dim=0, eps=1e-12)
    sigma = torch.dot(u, w @ v)
    factor = torch.max(torch.ones((), dtype=w.dtype), sigma / coeff)
    return w / factor, u, v, float(sigma)


def imlp(x, p, prefix, n_iter, n_power, updated):
    """papers.md 2.1 iMlp on x [rows, S]."""
    def lin(name, t, w=None):
        weight = p[f"{prefix}.{name}.weight"] if w is None else w
        return F.linear(t, weight, p[f"{prefix}.{name}.bias"])

    y = lin("fc1", x)
    sigmas = {}
    for name in ("fa", "fb"):
        w, u, v, sigmas[name] = spectral_norm(p[f"{prefix}.{name}.weight"], p[f"{prefix}.{name}.u"],
                                              p[f"{prefix}.{name}.v"], n_power)
        updated[f"{name}.w"] = w
        updated[f"updated.{prefix}.{name}.u"] = u
        updated[f"updated.{prefix}.{name}.v"] = v
    z = y
    for _ in range(n_iter):
        z = lin("fb", F.gelu(lin("fa", F.gelu(z), updated["fa.w"])), updated["fb.w"]) + y
    return lin("fc2", F.gelu(z)), sigmas


# ---------------------------------------------------------------- fixtures

class Draw:
    """float32 draws from one seeded generator per fixture."""

    def __init__(self, seed):
        self.gen = torch.Generator().manual_seed(seed)

    def uniform(self, shape, bound):
        return (torch.rand(shape, generator=self.gen, dtype=torch.float32) * 2 - 1) * bound

    def unit(self, n):
        z = torch.randn(n, generator=self.gen, dtype=torch.float32)
        return (z / z.norm()).to(torch.float32)

    def ortho_2x2(self, groups):
        theta = torch.rand(groups, generator=self.gen, dtype=torch.float32) * (2 * math.pi)
        det = torch.where(torch.rand(groups, generator=self.gen) < 0.5, -1.0, 1.0)
        c, s = torch.cos(theta), torch.sin(theta)
        return torch.stack([torch.stack([det * c, s], -1), torch.stack([-det * s, c], -1)], -2)


def linear_params(d, p, prefix, n_in, n_out):
    bound = 1 / math.sqrt(n_in)   # PyTorch nn.Linear default
    p[f"{prefix}.weight"] = d.uniform((n_out, n_in), bound)
    p[f"{prefix}.bias"] = d.uniform((n_out,), bound)


def butterfly_mlp_params(d, p, prefix, n, b, e):
    g = n // b
    for i in range(stage_count(n, b)):
        p[f"{prefix}.stages.{i}.w1"] = d.uniform((g, e * b, b), 1 / math.sqrt(b))
        p[f"{prefix}.stages.{i}.b1"] = d.uniform((g, e * b), 1 / math.sqrt(b))
        p[f"{prefix}.stages.{i}.w2"] = d.uniform((g, b, e * b), 1 / math.sqrt(e * b))
        p[f"{prefix}.stages.{i}.b2"] = d.uniform((g, b), 1 / math.sqrt(e * b))


def mlp_stages(p, prefix, n, b):
    return [tuple(p[f"{prefix}.stages.{i}.{k}"] for k in ("w1", "b1", "w2", "b2"))
            for i in range(stage_count(n, b))]


def finish(params, trainable, x, forward, d, extra=None):
    """Runs forward in float64, returns the tensors of one fixture file."""
    p64 = {k: v.to(F64).requires_grad_(k in trainable) for k, v in params.items()}
    x64 = x.to(F64).requires_grad_(True)
    out = forward(x64, p64)
    r = d.uniform(tuple(out.shape), 1.0)
    (out * r.to(F64)).sum().backward()
    files = dict(params)
    files.update({"input": x, "output": out.detach(), "r": r, "grad.input": x64.grad})
    for k in trainable:
        files[f"grad.{k}"] = p64[k].grad
    files.update(extra or {})
    return files


def fixture_butterfly_linear_b2(seed):
    """Ailon et al.: radix 2, log2 N stages, orthogonal 2x2 init, no bias."""
    d, p, n = Draw(seed), {}, 16
    for i in range(stage_count(n, 2)):
        p[f"bfly.stages.{i}.weight"] = d.ortho_2x2(n // 2)
    x = d.uniform((3, n), 1.0)
    twiddles = [p[f"bfly.stages.{i}.weight"].to(F64) for i in range(4)]
    ours = butterfly_linear(x.to(F64), twiddles, 2)
    assert torch.allclose(ours, butterfly_2x2_ailon(x.to(F64), twiddles), atol=1e-12)
    fwd = lambda x, p: butterfly_linear(x, [p[f"bfly.stages.{i}.weight"] for i in range(4)], 2)
    desc = "butterfly_linear N=16 b=2 (4 stages) ortho, no bias, axis -1"
    return finish(p, set(p), x, fwd, d), desc


def fixture_butterfly_linear_b4(seed):
    """Radix 4, N = 64 (3 stages), output bias, on the token axis of [B, S, C]."""
    d, p, n, b = Draw(seed), {}, 64, 4
    for i in range(stage_count(n, b)):
        p[f"bfly.stages.{i}.weight"] = d.uniform((n // b, b, b), 1 / math.sqrt(b))
    p["bfly.bias"] = d.uniform((n,), 1 / math.sqrt(n))
    x = d.uniform((2, n, 3), 1.0)

    def fwd(x, p):
        w = [p[f"bfly.stages.{i}.weight"] for i in range(3)]
        return butterfly_linear(x.transpose(1, 2), w, b, p["bfly.bias"]).transpose(1, 2)
    desc = "butterfly_linear N=64 b=4 (3 stages) uniform, bias, axis 1 of [2, 64, 3]"
    return finish(p, set(p), x, fwd, d), desc


def fixture_monarch(seed):
    """Dao et al.'s blockdiag_butterfly_multiply, N = 16 = 4^2, output bias."""
    d, p, n, b = Draw(seed), {}, 16, 4
    p["monarch.stages.0.weight"] = d.uniform((b, b, b), 1 / math.sqrt(b))
    p["monarch.stages.1.weight"] = d.uniform((b, b, b), 1 / math.sqrt(b))
    p["monarch.bias"] = d.uniform((n,), 1 / math.sqrt(n))
    x = d.uniform((5, n), 1.0)
    w = [p["monarch.stages.0.weight"].to(F64), p["monarch.stages.1.weight"].to(F64)]
    assert torch.allclose(monarch_dao(x.to(F64), *w), butterfly_linear(x.to(F64), w, b), atol=1e-12)
    def fwd(x, p):
        w1, w2 = p["monarch.stages.0.weight"], p["monarch.stages.1.weight"]
        return monarch_dao(x, w1, w2) + p["monarch.bias"]
    return finish(p, set(p), x, fwd, d), "monarch N=16 (b=4), bias, axis -1"


def fixture_butterfly_mlp(seed):
    """N = 32, b = 8 (strides 1, 4: the non-power case), e = 2, on the last axis."""
    d, p = Draw(seed), {}
    butterfly_mlp_params(d, p, "bmlp", 32, 8, 2)
    x = d.uniform((3, 32), 1.0)
    fwd = lambda x, p: butterfly_mlp(x, mlp_stages(p, "bmlp", 32, 8), 8)
    return finish(p, set(p), x, fwd, d), "butterfly_mlp N=32 b=8 e=2, axis -1"


def fixture_mixer_block(seed):
    """SPEC 5 pre-LN Mixer block on [2, 16, 9]: butterfly MLP token (b 4) and channel (b 3)."""
    d, p = Draw(seed), {}
    pre = "blocks.0"
    for norm in ("norm1", "norm2"):
        p[f"{pre}.{norm}.weight"] = 1 + d.uniform((9,), 0.5)
        p[f"{pre}.{norm}.bias"] = d.uniform((9,), 0.5)
    butterfly_mlp_params(d, p, f"{pre}.token_mix", 16, 4, 2)
    butterfly_mlp_params(d, p, f"{pre}.channel_mix", 9, 3, 2)
    x = d.uniform((2, 16, 9), 1.0)

    def fwd(x, p):
        t = layernorm(x, p, f"{pre}.norm1", 1e-5).transpose(1, 2)
        x = x + butterfly_mlp(t, mlp_stages(p, f"{pre}.token_mix", 16, 4), 4).transpose(1, 2)
        c = layernorm(x, p, f"{pre}.norm2", 1e-5)
        return x + butterfly_mlp(c, mlp_stages(p, f"{pre}.channel_mix", 9, 3), 3)
    desc = "mixer block S=16 C=9, token butterfly_mlp b=4 e=2, channel b=3 e=2, eps 1e-5"
    return finish(p, set(p), x, fwd, d), desc


def fixture_butterfly_attention(seed):
    """Two post-norm blocks with butterfly attention, radix 4 on S = 16: stage 0, then 1.
    The last 4 tokens of batch 1 are padding, so one stage-0 group is fully masked."""
    d, p = Draw(seed), {}
    dim, heads, hidden, seq = 8, 2, 16, 16
    for layer in range(2):
        pre = f"blocks.{layer}"
        for name in ("q", "k", "v", "o"):
            linear_params(d, p, f"{pre}.attn.{name}", dim, dim)
        linear_params(d, p, f"{pre}.mlp.fc1", dim, hidden)
        linear_params(d, p, f"{pre}.mlp.fc2", hidden, dim)
        for norm in ("norm1", "norm2"):
            p[f"{pre}.{norm}.weight"] = 1 + d.uniform((dim,), 0.5)
            p[f"{pre}.{norm}.bias"] = d.uniform((dim,), 0.5)
    mask = torch.zeros(2, seq)
    mask[1, 12:] = float("-inf")
    x = d.uniform((2, seq, dim), 1.0)

    def fwd(x, p):
        for layer in range(2):
            x = butterfly_attention(x, p, f"blocks.{layer}", heads, 4, layer, mask.to(F64))
        return x
    desc = ("2 post-norm blocks (D=8, 2 heads, MLP 16, eps 1e-5), butterfly attention a=4 on "
            "S=16, stages 0 and 1, key mask")
    return finish(p, set(p), x, fwd, d, {"mask": mask}), desc


def fixture_imlp(seed):
    """iMLP as the token mixer of [2, 8, 3]: T = 4, H = 8 (h_ratio 2), n_iter 2, n_power 3,
    training mode. fa starts above the 0.9 bound (normalised), fb inside it (used as is)."""
    d, p, pre = Draw(seed), {}, "blocks.0.token_mix"
    tokens, width, inner = 8, 4, 8
    linear_params(d, p, f"{pre}.fc1", tokens, width)
    linear_params(d, p, f"{pre}.fc2", width, tokens)
    linear_params(d, p, f"{pre}.fa", width, inner)
    linear_params(d, p, f"{pre}.fb", inner, width)
    p[f"{pre}.fa.weight"] = p[f"{pre}.fa.weight"] * 3
    p[f"{pre}.fb.weight"] = p[f"{pre}.fb.weight"] * 0.3
    for name, (nu, nv) in (("fa", (inner, width)), ("fb", (width, inner))):
        p[f"{pre}.{name}.u"] = d.unit(nu)
        p[f"{pre}.{name}.v"] = d.unit(nv)
    buffers = {k for k in p if k.endswith(".u") or k.endswith(".v")}
    x = d.uniform((2, tokens, 3), 1.0)
    updated, sigmas = {}, {}

    def fwd(x, p):
        out, s = imlp(x.transpose(1, 2), p, pre, 2, 3, updated)
        sigmas.update(s)
        return out.transpose(1, 2)
    files = finish(p, set(p) - buffers, x, fwd, d)
    assert sigmas["fa"] > 0.9 and sigmas["fb"] < 0.9, sigmas
    files.update({k: v.detach() for k, v in updated.items() if k.startswith("updated.")})
    return files, "imlp N=8 T=4 H=8 n_iter=2 n_power=3 coeff=0.9 training, axis 1 of [2, 8, 3]"


FIXTURES = {
    "nn_butterfly_linear_b2": fixture_butterfly_linear_b2,
    "nn_butterfly_linear_b4": fixture_butterfly_linear_b4,
    "nn_monarch": fixture_monarch,
    "nn_butterfly_mlp": fixture_butterfly_mlp,
    "nn_mixer_block": fixture_mixer_block,
    "nn_butterfly_attention": fixture_butterfly_attention,
    "nn_imlp": fixture_imlp,
}


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--seed", type=int, default=DEFAULT_SEED)
    ap.add_argument("--out", default=os.path.join(os.path.dirname(os.path.abspath(__file__)),
                                                  "..", "tests", "data"))
    ap.add_argument("--check", action="store_true", help="compare with the files on disk")
    args = ap.parse_args()
    torch.set_num_threads(1)
    os.makedirs(args.out, exist_ok=True)
    failures = 0
    for k, (name, make) in enumerate(FIXTURES.items()):
        tensors, desc = make(args.seed + k)
        meta = {"generator": "tools/make_fixtures.py", "seed": str(args.seed + k),
                "module": desc, "loss": "sum(output * r)", "torch": torch.__version__}
        blob = safetensors_bytes(tensors, meta)
        path = os.path.join(args.out, name + ".safetensors")
        if args.check:
            same = os.path.exists(path) and open(path, "rb").read() == blob
            print(f"{'same' if same else 'DIFFERS'}: {path}")
            failures += not same
        else:
            with open(path, "wb") as f:
                f.write(blob)
            print(f"wrote {path} ({len(blob)} bytes, {len(tensors)} tensors)")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
