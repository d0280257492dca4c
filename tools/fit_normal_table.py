#!/usr/bin/env python3
"""The tables of host/cpu/fast_gelu_avx512.c: Phi(-a) = erfc(a / sqrt 2) / 2 and
phi(a) = e^(-a^2 / 2) / sqrt(2 pi) for a = |x| in [0, 6), cut into 32 intervals of width 3/16,
each a degree-4 polynomial in u = 32 a / 6 - (i + 1/2) (so |u| <= 1/2), fitted by least
squares on Chebyshev nodes in double precision. Prints each fit's worst absolute error and the
C tables, coefficient k of interval i at [k][i], highest degree first (Horner order)."""
import math

import numpy as np

INTERVALS, DEGREE, END = 32, 4, 6.0


def fit(f):
    rows, worst = [], 0.0
    for i in range(INTERVALS):
        s = np.linspace(i, i + 1, 4000)
        a, u = s * END / INTERVALS, s - (i + 0.5)
        want = np.array([f(v) for v in a])
        p = np.polynomial.chebyshev.Chebyshev.fit(u, want, DEGREE).convert(
            kind=np.polynomial.Polynomial)
        worst = max(worst, float(np.max(np.abs(p(u) - want))))
        rows.append(p.coef[::-1])
    return np.array(rows).T, worst


def emit(name, table):
    print("static const float %s[%d][%d] = {" % (name, DEGREE + 1, INTERVALS))
    for k in range(DEGREE + 1):
        vals = ["%.9ef" % v for v in table[k]]
        print("    {%s," % ", ".join(vals[:INTERVALS // 2]))
        print("     %s}," % ", ".join(vals[INTERVALS // 2:]))
    print("};")


tail, e_tail = fit(lambda a: 0.5 * math.erfc(a / math.sqrt(2.0)))
pdf, e_pdf = fit(lambda a: math.exp(-a * a / 2.0) / math.sqrt(2.0 * math.pi))
print("/* worst absolute error before float rounding: tail %.2e, pdf %.2e */" % (e_tail, e_pdf))
emit("tail_coef", tail)
emit("pdf_coef", pdf)
