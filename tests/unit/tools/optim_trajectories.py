#!/usr/bin/env python3
"""Prints the PyTorch AdamW and SGD parameter trajectories pasted into test_ops_optim.c.

Run with Debian's python3-torch (`/usr/bin/python3 tests/unit/tools/optim_trajectories.py`).
Parameters start at p0[i] = 0.5 i - 1 and step t (0-based) uses the gradient
g[t][i] = ((7 i + 3 t) % 11 - 5) / 8: every value is exact in float32, so the C test builds the
same inputs from the same formulas. All arithmetic is PyTorch's float32.
"""
import torch

N, STEPS = 5, 5


def grad(t):
    return torch.tensor([((7 * i + 3 * t) % 11 - 5) / 8.0 for i in range(N)], dtype=torch.float32)


def trajectory(make_optimizer):
    p = torch.nn.Parameter(torch.tensor([0.5 * i - 1.0 for i in range(N)], dtype=torch.float32))
    opt = make_optimizer([p])
    rows = []
    for t in range(STEPS):
        p.grad = grad(t)
        opt.step()
        rows.append([float(v) for v in p.detach()])
    return rows


def c_float(v):
    text = f"{v:.9g}"
    return text + (".0f" if "." not in text and "e" not in text else "f")


def emit(name, rows):
    print(f"static const float {name}[{STEPS}][{N}] = {{")
    for row in rows:
        print("    {" + ", ".join(c_float(v) for v in row) + "},")
    print("};")


emit("torch_adamw", trajectory(lambda ps: torch.optim.AdamW(
    ps, lr=0.01, betas=(0.9, 0.999), eps=1e-8, weight_decay=0.1)))
emit("torch_adam", trajectory(lambda ps: torch.optim.AdamW(
    ps, lr=0.05, betas=(0.8, 0.99), eps=1e-6, weight_decay=0.0)))
emit("torch_sgd_plain", trajectory(lambda ps: torch.optim.SGD(ps, lr=0.1)))
emit("torch_sgd_momentum_wd", trajectory(lambda ps: torch.optim.SGD(
    ps, lr=0.1, momentum=0.9, weight_decay=0.01)))
emit("torch_sgd_dampening", trajectory(lambda ps: torch.optim.SGD(
    ps, lr=0.1, momentum=0.9, dampening=0.1)))
emit("torch_sgd_nesterov", trajectory(lambda ps: torch.optim.SGD(
    ps, lr=0.1, momentum=0.9, weight_decay=0.01, nesterov=True)))
