/* Branch-free float exp and erf for the CPU reference, written so loops over them vectorize
 * (libm's erff and expf are scalar calls: they made GELU 40% of a Mixer's training time).
 * Accuracy, checked against double-precision libm over [-30, 30] by tests/unit/test_cpu_math:
 * exp relative error < 1.1e-7, erf absolute error < 1.35e-7 (measured 1.02e-7 and 1.30e-7;
 * with fused multiply-adds, as the fast device builds them, 7.7e-8 and 1.22e-7). */
#ifndef DMX_CPU_MATH_H
#define DMX_CPU_MATH_H

#include <stdint.h>
#include <string.h>

static inline float dmx_bits_to_float(uint32_t u)
{
    float f;
    memcpy(&f, &u, 4);
    return f;
}

/* e^x = 2^k e^r, k = round(x / ln 2), |r| <= ln2 / 2, e^r by a degree-7 Taylor polynomial
 * (truncation below 5e-9; degree 6 left 1.2e-7, the largest part of erf's error).
 * Inputs below -87.3 give 0; above 88 the result saturates at e^88 (no inf: callers never need
 * more range), so 2^k stays a normal float. */
static inline float dmx_expf(float x)
{
    const float in = x;
    x = x < -87.3f ? -87.3f : x > 88.0f ? 88.0f : x;
    /* round to nearest by adding and removing 1.5 * 2^23 (no libm call, so loops vectorize) */
    float k = (x * 1.44269504088896341f + 12582912.0f) - 12582912.0f;
    float r = x - k * 0.693145751953125f;          /* ln 2 split in two for accuracy */
    r = r - k * 1.428606765330187045e-06f;
    float p = 1.0f / 5040.0f;
    p = p * r + 1.0f / 720.0f;
    p = p * r + 1.0f / 120.0f;
    p = p * r + 1.0f / 24.0f;
    p = p * r + 1.0f / 6.0f;
    p = p * r + 0.5f;
    p = p * r + 1.0f;
    p = p * r + 1.0f;
    int32_t e = (int32_t)k + 127;
    float v = p * dmx_bits_to_float((uint32_t)e << 23);
    return in < -87.3f ? 0.0f : v; /* below the normal range the true value rounds to ~0 */
}

/* erf(x): for |x| < 0.5 its Taylor series (7 terms, truncation < 1e-9), else 1 - erfc(|x|)
 * with sign, erfc by the Chebyshev fit t exp(-z^2 + P(t)), t = 1 / (1 + z/2) (Numerical
 * Recipes' erfcc; fractional error < 1.2e-7). Both are computed and one selected, without a
 * branch, so loops vectorize. */
static inline float dmx_erff(float x)
{
    float x2 = x * x, s = 1.0f / 9360.0f;
    s = s * x2 - 1.0f / 1320.0f;
    s = s * x2 + 1.0f / 216.0f;
    s = s * x2 - 1.0f / 42.0f;
    s = s * x2 + 1.0f / 10.0f;
    s = s * x2 - 1.0f / 3.0f;
    s = s * x2 + 1.0f;
    float small = 1.12837916709551257f * x * s; /* 2 / sqrt(pi) */
    float z = x < 0 ? -x : x;
    float t = 1.0f / (1.0f + 0.5f * z);
    float p = 0.17087277f;
    p = p * t - 0.82215223f;
    p = p * t + 1.48851587f;
    p = p * t - 1.13520398f;
    p = p * t + 0.27886807f;
    p = p * t - 0.18628806f;
    p = p * t + 0.09678418f;
    p = p * t + 0.37409196f;
    p = p * t + 1.00002368f;
    p = p * t - 1.26551223f;
    float erfc = t * dmx_expf(-z * z + p);
    float r = 1.0f - erfc;
    return z < 0.5f ? small : x < 0 ? -r : r;
}

/* The standard normal CDF Phi(x) and density phi(x) together, with one exp (GELU and its
 * derivative need both; the fast CPU device uses this). With z = |x| / sqrt 2 and E = e^(-z^2)
 * (= sqrt(2 pi) phi(x)):
 *   z < 0.7: erf(z) by its Taylor series to z^17 (truncation below 2e-10);
 *   otherwise erfc(z) = t E Q(t), t = 1 / (1 + z/2), Q a degree-9 polynomial fitted (least
 *   squares on Chebyshev nodes, double precision, by tools/fit_erfc.py) to erfc(z) e^(z^2) / t
 *   over z in [0.5, 10]: relative error 8.3e-9 before float rounding.
 * Phi's absolute error, checked by tests/unit/test_cpu_math over [-30, 30]: < 1e-7. */
static inline void dmx_normal_cdf_pdf(float x, float *cdf, float *pdf)
{
    const float z = (x < 0 ? -x : x) * 0.70710678118654752440f, z2 = z * z;
    const float E = dmx_expf(-z2);
    float s = 1.0f / 685440.0f;
    s = s * z2 - 1.0f / 75600.0f;
    s = s * z2 + 1.0f / 9360.0f;
    s = s * z2 - 1.0f / 1320.0f;
    s = s * z2 + 1.0f / 216.0f;
    s = s * z2 - 1.0f / 42.0f;
    s = s * z2 + 1.0f / 10.0f;
    s = s * z2 - 1.0f / 3.0f;
    s = s * z2 + 1.0f / 1.0f;
    const float erf_small = 1.12837916709551257f * z * s; /* 2 / sqrt(pi) */
    const float t = 1.0f / (1.0f + 0.5f * z);
    float q = -3.311768171e-02f;
    q = q * t + 7.798027419e-02f;
    q = q * t + 4.367507842e-02f;
    q = q * t - 2.530281007e-01f;
    q = q * t + 1.408263083e-01f;
    q = q * t + 2.288870986e-02f;
    q = q * t + 1.919635692e-01f;
    q = q * t + 2.443826966e-01f;
    q = q * t + 2.823090359e-01f;
    q = q * t + 2.820867733e-01f;
    const float tail = 0.5f * t * E * q; /* erfc(z) / 2 = Phi(-|x|), accurate relative to itself */
    const float half_erf = 0.5f * erf_small;
    *cdf = z < 0.7f ? (x < 0 ? 0.5f - half_erf : 0.5f + half_erf) : (x < 0 ? tail : 1.0f - tail);
    *pdf = 0.39894228040143267794f * E; /* 1 / sqrt(2 pi) */
}

/* GELU with the exact erf, and its derivative, as the reference computes them (the GELU op
 * and the fused butterfly-MLP stage share these). */
static inline float dmx_gelu_ref(float x)
{
    return 0.5f * x * (1.0f + dmx_erff(x * 0.70710678118654752440f));
}

static inline float dmx_gelu_grad_ref(float x)
{
    const float cdf = 0.5f * (1.0f + dmx_erff(x * 0.70710678118654752440f));
    return cdf + x * 0.39894228040143267794f * dmx_expf(-0.5f * x * x);
}

#endif
