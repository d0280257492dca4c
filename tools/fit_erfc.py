#!/usr/bin/env python3
"""The polynomial Q of host/cpu/cpu_math.h's dmx_normal_cdf_pdf: erfc(z) = t e^(-z^2) Q(t),
t = 1 / (1 + z/2), fitted by least squares (numpy's Chebyshev fit, double precision) over
z in [0.5, 10]. Prints the fit's relative error and the coefficients, highest degree first,
as the C code evaluates them (Horner)."""
import math

import numpy as np

DEGREE = 9
z = np.linspace(0.5, 10.0, 40000)
t = 1.0 / (1.0 + z / 2.0)
q = np.array([math.erfc(v) * math.exp(v * v) for v in z]) / t
fit = np.polynomial.chebyshev.Chebyshev.fit(t, q, DEGREE).convert(kind=np.polynomial.Polynomial)
print("max relative error %.2e" % np.max(np.abs(fit(t) - q) / q))
for c in fit.coef[::-1]:
    print("%.9ef" % c)
