/* GELU and ELU for the fast CPU device, forward and backward.
 *
 * GELU(x) = x Phi(x), GELU'(x) = Phi(x) + x phi(x). With AVX-512, Phi and phi come from
 * fast_gelu_avx512.c's tables; otherwise from cpu_math.h's dmx_normal_cdf_pdf (one exp for
 * Phi and phi together; the reference computes erf and a second exp), built for the baseline, AVX2 and AVX-512 (target_clones) with multiply-adds
 * fused (this file is compiled with -ffp-contract=fast: the polynomials become chains of FMAs,
 * which the reference's strict ISO C build does not allow). Each element is independent: any
 * thread count gives the same bits. */
#include "cpu/cpu_kernels.h"
#include "cpu/cpu_math.h"
#include "cpu/fast_kernels.h"
#include "cpu/fast_simd.h"

#if defined(__GNUC__) && defined(__x86_64__) && !defined(__clang__)
#define SIMD_CLONES __attribute__((target_clones("default", "avx2", "arch=x86-64-v4")))
#else
#define SIMD_CLONES
#endif

SIMD_CLONES static void gelu_span(const float *restrict x, float *restrict y, int64_t n)
{
    for (int64_t i = 0; i < n; i++) {
        float cdf, pdf;
        dmx_normal_cdf_pdf(x[i], &cdf, &pdf);
        y[i] = x[i] * cdf;
    }
}

/* Two loops for accumulate or not: a select on `accumulate` inside one loop compiles to a
 * masked load of dx that stalls the loop even when the mask is off. */
SIMD_CLONES static void gelu_bwd_span(const float *restrict x, const float *restrict dy,
                                      float *restrict dx, int64_t n, int accumulate)
{
    if (accumulate)
        for (int64_t i = 0; i < n; i++) {
            float cdf, pdf;
            dmx_normal_cdf_pdf(x[i], &cdf, &pdf);
            dx[i] += dy[i] * (cdf + x[i] * pdf);
        }
    else
        for (int64_t i = 0; i < n; i++) {
            float cdf, pdf;
            dmx_normal_cdf_pdf(x[i], &cdf, &pdf);
            dx[i] = dy[i] * (cdf + x[i] * pdf);
        }
}

/* The butterfly-MLP backward's one pass over its hidden slice: a = GELU(u), and d (holding
 * dL/da) becomes dL/du = d GELU'(u); one dmx_normal_cdf_pdf for both. */
SIMD_CLONES static void gelu_pair_span(const float *restrict u, float *restrict a,
                                       float *restrict d, int64_t n)
{
    for (int64_t i = 0; i < n; i++) {
        float cdf, pdf;
        dmx_normal_cdf_pdf(u[i], &cdf, &pdf);
        a[i] = u[i] * cdf;
        d[i] *= cdf + u[i] * pdf;
    }
}

static bool avx512(void) { return dmx_fast_simd_level() == DMX_SIMD_AVX512; }

static void gelu_best(const float *restrict x, float *restrict y, int64_t n)
{
    if (!avx512() || !dmx_fast_gelu_avx512(x, y, n))
        gelu_span(x, y, n);
}

static void gelu_bwd_best(const float *restrict x, const float *restrict dy,
                          float *restrict dx, int64_t n, int accumulate)
{
    if (!avx512() || !dmx_fast_gelu_bwd_avx512(x, dy, dx, n, accumulate))
        gelu_bwd_span(x, dy, dx, n, accumulate);
}

static void gelu_pair_best(const float *u, float *a, float *d, int64_t n)
{
    if (!avx512() || !dmx_fast_gelu_pair_avx512(u, a, d, n))
        gelu_pair_span(u, a, d, n);
}

void dmx_fast_gelu_pair(const float *u, float *a, float *d, int64_t n)
{
    enum { CHUNK = 16384 };
    const int64_t chunks = (n + CHUNK - 1) / CHUNK;
#pragma omp parallel for schedule(static) if (chunks > 1)
    for (int64_t c = 0; c < chunks; c++) {
        const int64_t lo = c * CHUNK;
        gelu_pair_best(u + lo, a + lo, d + lo, n - lo < CHUNK ? n - lo : CHUNK);
    }
}

/* e^x - 1 without cancellation near 0 and without a libm call (so loops vectorize): the
 * Taylor series to x^8 for |x| < 0.5 (truncation below 6e-9 relative), else exp - 1. */
static inline float expm1_small(float x)
{
    float p = 1.0f / 40320.0f;
    p = p * x + 1.0f / 5040.0f;
    p = p * x + 1.0f / 720.0f;
    p = p * x + 1.0f / 120.0f;
    p = p * x + 1.0f / 24.0f;
    p = p * x + 1.0f / 6.0f;
    p = p * x + 0.5f;
    p = p * x + 1.0f;
    const float near0 = p * x;
    return x > -0.5f && x < 0.5f ? near0 : dmx_expf(x) - 1.0f;
}

SIMD_CLONES static void elu_span(const float *restrict x, float *restrict y, int64_t n)
{
    for (int64_t i = 0; i < n; i++)
        y[i] = x[i] > 0.0f ? x[i] : expm1_small(x[i]);
}

SIMD_CLONES static void elu_bwd_span(const float *restrict x, const float *restrict dy,
                                     float *restrict dx, int64_t n, int accumulate)
{
    if (accumulate)
        for (int64_t i = 0; i < n; i++)
            dx[i] += dy[i] * (x[i] > 0.0f ? 1.0f : dmx_expf(x[i]));
    else
        for (int64_t i = 0; i < n; i++)
            dx[i] = dy[i] * (x[i] > 0.0f ? 1.0f : dmx_expf(x[i]));
}

dmx_status dmx_fast_gelu(dmx_device *dev, const dmx_op_call *call)
{
    (void)dev;
    return dmx_cpu_unary_forward(call, gelu_best);
}

dmx_status dmx_fast_gelu_bwd(dmx_device *dev, const dmx_op_call *call)
{
    (void)dev;
    return dmx_cpu_unary_backward(call, gelu_bwd_best);
}

dmx_status dmx_fast_elu(dmx_device *dev, const dmx_op_call *call)
{
    (void)dev;
    return dmx_cpu_unary_forward(call, elu_span);
}

dmx_status dmx_fast_elu_bwd(dmx_device *dev, const dmx_op_call *call)
{
    (void)dev;
    return dmx_cpu_unary_backward(call, elu_bwd_span);
}
