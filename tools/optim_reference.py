#!/usr/bin/env python3
"""Prints the torch.optim trajectories that tests/unit/test_optim.c checks dimix against.

Three steps on p = [0.5, -0.3, 1.25] with gradients g_t = [0.1 (t+1), -0.2, 0.05 (-1)^t], in
float64. Run with Debian's python3-torch: /usr/bin/python3 tools/optim_reference.py"""
import torch


def run(make):
    p = torch.tensor([0.5, -0.3, 1.25], dtype=torch.float64, requires_grad=True)
    opt = make([p])
    out = []
    for t in range(3):
        p.grad = torch.tensor([0.1 * (t + 1), -0.2, 0.05 * (-1) ** t], dtype=torch.float64)
        opt.step()
        out.append([float("%.9g" % v) for v in p.detach().tolist()])
    return out


CASES = {
    "adamw": lambda ps: torch.optim.AdamW(ps, lr=0.01, weight_decay=0.1),
    "adam": lambda ps: torch.optim.Adam(ps, lr=0.01),
    "sgd_nesterov": lambda ps: torch.optim.SGD(ps, lr=0.1, momentum=0.9, nesterov=True,
                                               weight_decay=5e-4),
    "sgd_damp": lambda ps: torch.optim.SGD(ps, lr=0.1, momentum=0.9, dampening=0.1,
                                           weight_decay=1e-2),
    "sgd_plain": lambda ps: torch.optim.SGD(ps, lr=0.1),
}

if __name__ == "__main__":
    print("torch", torch.__version__)
    for name, make in CASES.items():
        print(name, run(make))
