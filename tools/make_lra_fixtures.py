#!/usr/bin/python3
"""PyTorch reference fixtures for the LRA model (tests/data/lra_*.safetensors).

The model is built here as a PyTorch module straight from shared/SPEC.md section 5 ("lra") and
notes/papers.md 1.4 and 1.10 (the Nystromformer LRA code the Dimension Mixer paper used), not
from dimix's C code:

    x = Dropout(embed(ids) + pos_embed)
    L pre-LN blocks  x = x + Dropout(MHA(LN1(x)));  x = x + Dropout(fc2(Dropout(GELU(fc1(LN2(x))))))
        dense attention, or butterfly attention: layer l runs its whole block on the stage
        (l mod K) groups of radix a along the sequence (papers.md section 0 permutation)
    pooled = masked mean of LN(x) over the real tokens (mask 1, padding 0)
    logits = head.fc2(ReLU(head.fc1(pooled)))

Token id 0 is padding; padded keys are removed from every softmax (SPEC section 3: probability
0, a fully removed row gives zeros).

For each attention kind (dense, butterfly) two files are written:
  lra_<kind>_weights.safetensors  the parameters under their SPEC section 6 names, with
      __metadata__ format = dimix-checkpoint-1 and model = the configuration text exactly as
      dmx_model_config_format prints it, so `dimix lra eval --ckpt` and
      dmx_checkpoint_load_model take it as a checkpoint;
  lra_<kind>_batch.safetensors    ids [B, S] I32, mask [B, S], labels [B] I32, logits
      [B, classes] (eval mode: no dropout), loss (mean cross-entropy of logits and labels) and
      grad.<name> (the loss's gradient for every parameter).
Weights are float32 draws from a seeded generator (spread wider than the training init so that
every tensor visibly matters); the forward and backward passes run in float64 from those values
and are stored as float32. The batch has sequences of different lengths, so butterfly groups
that are wholly padding occur. Byte-for-byte reproducible (Debian's python3-torch 1.13).

    /usr/bin/python3 tools/make_lra_fixtures.py            # rewrite tests/data/lra_*.safetensors
    /usr/bin/python3 tools/make_lra_fixtures.py --check    # compare with the committed files
"""
import argparse
import math
import os
import struct
import sys

import torch
import torch.nn as nn
import torch.nn.functional as F

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from make_fixtures import masked_softmax, safetensors_bytes, stage_count, stage_stride  # noqa: E402

DEFAULT_SEED = 20240917
F64 = torch.float64

# A small model of the E4 shape: S 64 with radix 8 gives K = 2 (strides 1, 8); three layers so
# that layer 2 wraps around to stage 0.
CONFIG = {"classes": 10, "vocab": 18, "seq_len": 64, "dim": 16, "depth": 3, "eps": 1e-5,
          "heads": 2, "mlp_hidden": 32, "attn_radix": 8, "dropout": 0.1, "head_hidden": 24}
LENGTHS = (64, 41, 9, 1)  # real tokens per example of the batch


def float_text(value):
    """C's printf("%.9g") of the float32 nearest to value (dmx_model_config_format)."""
    f32 = struct.unpack("<f", struct.pack("<f", value))[0]
    return "%.9g" % f32


def config_text(cfg, attention):
    """The text dmx_model_config_format prints: family first, then the lra knobs in the order
    of host/models/model_config.c's table."""
    order = ("classes", "vocab", "seq_len", "dim", "depth", "eps", "attention", "heads",
             "mlp_hidden", "attn_radix", "dropout", "head_hidden")
    values = dict(cfg, attention=attention)
    parts = ["family=lra"]
    for key in order:
        v = values[key]
        parts.append(f"{key}={float_text(v) if isinstance(v, float) else v}")
    return " ".join(parts)


# ---------------------------------------------------------------- the model (SPEC 5 "lra")

class Attention(nn.Module):
    """Multi-head softmax attention with q, k, v, o projections and a key-padding mask."""

    def __init__(self, dim, heads):
        super().__init__()
        self.heads = heads
        self.q, self.k, self.v, self.o = (nn.Linear(dim, dim) for _ in range(4))

    def forward(self, x, keep):
        batch, seq, dim = x.shape
        dh = dim // self.heads

        def split(t):
            return t.reshape(batch, seq, self.heads, dh).transpose(1, 2)

        scores = split(self.q(x)) @ split(self.k(x)).transpose(-1, -2) / math.sqrt(dh)
        o = masked_softmax(scores, keep[:, None, None, :]) @ split(self.v(x))
        return self.o(o.transpose(1, 2).reshape(batch, seq, dim))


class Mlp(nn.Module):
    def __init__(self, dim, hidden, dropout):
        super().__init__()
        self.fc1, self.fc2 = nn.Linear(dim, hidden), nn.Linear(hidden, dim)
        self.drop = nn.Dropout(dropout)

    def forward(self, x):
        return self.drop(self.fc2(self.drop(F.gelu(self.fc1(x)))))


class Block(nn.Module):
    """Nystromformer's pre-LN Transformer layer."""

    def __init__(self, dim, heads, hidden, eps, dropout):
        super().__init__()
        self.norm1, self.norm2 = nn.LayerNorm(dim, eps=eps), nn.LayerNorm(dim, eps=eps)
        self.attn = Attention(dim, heads)
        self.mlp = Mlp(dim, hidden, dropout)
        self.drop = nn.Dropout(dropout)

    def forward(self, x, keep):
        x = x + self.drop(self.attn(self.norm1(x), keep))
        return x + self.mlp(self.norm2(x))


def grouped(block, x, keep, radix, stage):
    """Butterfly attention (SPEC 4): the stage's groups of `radix` tokens become the batch."""
    batch, seq, dim = x.shape
    s = stage_stride(seq, radix, stage)
    j = seq // (radix * s)
    xg = x.reshape(batch, j, radix, s, dim).transpose(2, 3).reshape(-1, radix, dim)
    kg = keep.reshape(batch, j, radix, s).transpose(2, 3).reshape(-1, radix)
    y = block(xg, kg)
    return y.reshape(batch, j, s, radix, dim).transpose(2, 3).reshape(batch, seq, dim)


class Head(nn.Module):
    def __init__(self, dim, hidden, classes):
        super().__init__()
        self.fc1, self.fc2 = nn.Linear(dim, hidden), nn.Linear(hidden, classes)

    def forward(self, x):
        return self.fc2(F.relu(self.fc1(x)))


class LraModel(nn.Module):
    def __init__(self, cfg, butterfly):
        super().__init__()
        dim, seq = cfg["dim"], cfg["seq_len"]
        self.radix = cfg["attn_radix"] if butterfly else None
        self.stages = stage_count(seq, self.radix) if butterfly else 1
        self.embed = nn.Embedding(cfg["vocab"], dim)
        self.pos_embed = nn.Parameter(torch.zeros(seq, dim))
        self.drop = nn.Dropout(cfg["dropout"])
        self.blocks = nn.ModuleList(
            Block(dim, cfg["heads"], cfg["mlp_hidden"], cfg["eps"], cfg["dropout"])
            for _ in range(cfg["depth"]))
        self.norm = nn.LayerNorm(dim, eps=cfg["eps"])
        self.head = Head(dim, cfg["head_hidden"], cfg["classes"])

    def forward(self, ids, mask):
        keep = mask > 0
        x = self.drop(self.embed(ids) + self.pos_embed)
        for layer, block in enumerate(self.blocks):
            if self.radix is None:
                x = block(x, keep)
            else:
                x = grouped(block, x, keep, self.radix, layer % self.stages)
        x = self.norm(x)
        pooled = (x * mask[:, :, None]).sum(1) / mask.sum(1, keepdim=True)
        return self.head(pooled)


# ---------------------------------------------------------------- fixtures

def random_weights(model, gen):
    """float32 values for every parameter: linears U(+-1/sqrt(fan_in)) (PyTorch's default),
    embeddings N(0, 1) (LRA's token init), pos_embed N(0, 0.5), LayerNorm 1 + U(+-0.5) and
    U(+-0.5), so that norms, positions and biases all move the logits."""
    weights = {}
    for name, p in sorted(model.named_parameters()):
        shape = tuple(p.shape)
        if name == "embed.weight":
            w = torch.randn(shape, generator=gen)
        elif name == "pos_embed":
            w = torch.randn(shape, generator=gen) * 0.5
        elif "norm" in name:
            w = (torch.rand(shape, generator=gen) - 0.5) + (1.0 if name.endswith("weight") else 0)
        else:
            fan_in = model.get_parameter(name.rsplit(".", 1)[0] + ".weight").shape[1]
            w = (torch.rand(shape, generator=gen) * 2 - 1) / math.sqrt(fan_in)
        weights[name] = w.to(torch.float32)
    return weights


def batch(cfg, gen):
    """ids (1..vocab-1 on real tokens, 0 on padding), mask and labels of len(LENGTHS) examples."""
    rows, seq = len(LENGTHS), cfg["seq_len"]
    ids = torch.randint(1, cfg["vocab"], (rows, seq), generator=gen, dtype=torch.int64)
    mask = torch.zeros(rows, seq)
    for r, n in enumerate(LENGTHS):
        mask[r, :n] = 1
    ids = (ids * mask.to(torch.int64)).to(torch.int32)
    labels = torch.randint(0, cfg["classes"], (rows,), generator=gen).to(torch.int32)
    return ids, mask, labels


def fixture(kind, seed):
    gen = torch.Generator().manual_seed(seed)
    model = LraModel(CONFIG, kind == "butterfly")
    weights = random_weights(model, gen)
    ids, mask, labels = batch(CONFIG, gen)
    model = model.to(F64).eval()
    model.load_state_dict({k: v.to(F64) for k, v in weights.items()})
    logits = model(ids.to(torch.int64), mask.to(F64))
    with torch.no_grad():  # padding must not matter: other ids there give the same logits
        pad_ids = torch.randint(1, CONFIG["vocab"], ids.shape, generator=gen) * (1 - mask.long())
        assert torch.allclose(model(ids.long() + pad_ids, mask.to(F64)), logits, atol=1e-12)
    loss = F.cross_entropy(logits, labels.to(torch.int64))
    loss.backward()
    text = config_text(CONFIG, kind)
    weight_file = safetensors_bytes(weights, {"format": "dimix-checkpoint-1", "model": text})
    tensors = {"ids": ids, "mask": mask, "labels": labels, "logits": logits.detach(),
               "loss": loss.detach().reshape(1)}
    for name, p in model.named_parameters():
        tensors[f"grad.{name}"] = p.grad
    meta = {"generator": "tools/make_lra_fixtures.py", "torch_seed": str(seed), "model": text,
            "torch": torch.__version__, "lengths": " ".join(map(str, LENGTHS)),
            "loss": "mean cross-entropy of logits and labels, eval mode (no dropout)"}
    return {f"lra_{kind}_weights": weight_file,
            f"lra_{kind}_batch": safetensors_bytes(tensors, meta)}


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
    for k, kind in enumerate(("dense", "butterfly")):
        for name, blob in fixture(kind, args.seed + k).items():
            path = os.path.join(args.out, name + ".safetensors")
            if args.check:
                same = os.path.exists(path) and open(path, "rb").read() == blob
                print(f"{'same' if same else 'DIFFERS'}: {path}")
                failures += not same
            else:
                with open(path, "wb") as f:
                    f.write(blob)
                print(f"wrote {path} ({len(blob)} bytes)")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
