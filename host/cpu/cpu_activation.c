/* GELU (exact erf), ELU and ReLU on the CPU, forward and backward.
 *
 * Each op is a span function over contiguous elements, built for the baseline, AVX2 and
 * AVX-512 (target_clones: the loader picks the best the processor has), run on chunks spread
 * over OpenMP threads. Butterfly MLPs spend as much time here as in their small matmuls. */
#include <math.h>

#include "cpu/cpu_kernels.h"
#include "cpu/cpu_math.h"

#define CHUNK 4096

#if defined(__GNUC__) && defined(__x86_64__) && !defined(__clang__)
#define SIMD_CLONES __attribute__((target_clones("default", "avx2", "arch=x86-64-v4")))
#else
#define SIMD_CLONES
#endif

/* dmx_erff and dmx_expf (cpu_math.h) vectorize; accuracy within 1.5e-7 of libm. */
static inline float gelu(float x) { return dmx_gelu_ref(x); }
static inline float gelu_grad(float x) { return dmx_gelu_grad_ref(x); }

/* expm1 keeps small negative inputs accurate (exp(x) - 1 would cancel). */
static inline float elu(float x) { return x > 0.0f ? x : expm1f(x); }
static inline float elu_grad(float x) { return x > 0.0f ? 1.0f : dmx_expf(x); }
static inline float relu(float x) { return x > 0.0f ? x : 0.0f; }
static inline float relu_grad(float x) { return x > 0.0f ? 1.0f : 0.0f; }


#define SPANS(name, fn, grad_fn)                                                            \
    SIMD_CLONES static void name##_span(const float *restrict x, float *restrict y,         \
                                        int64_t n)                                          \
    {                                                                                       \
        for (int64_t i = 0; i < n; i++)                                                     \
            y[i] = fn(x[i]);                                                                \
    }                                                                                       \
    SIMD_CLONES static void name##_bwd_span(const float *restrict x,                        \
                                            const float *restrict dy, float *restrict dx,   \
                                            int64_t n, int accumulate)                      \
    {                                                                                       \
        if (accumulate) /* two loops: neither holds a conditional load */                   \
            for (int64_t i = 0; i < n; i++)                                                 \
                dx[i] += dy[i] * grad_fn(x[i]);                                             \
        else                                                                                \
            for (int64_t i = 0; i < n; i++)                                                 \
                dx[i] = dy[i] * grad_fn(x[i]);                                              \
    }

SPANS(gelu, gelu, gelu_grad)
SPANS(elu, elu, elu_grad)
SPANS(relu, relu, relu_grad)

dmx_status dmx_cpu_unary_forward(const dmx_op_call *call, dmx_cpu_fwd_span span)
{
    const dmx_p_unary *p = call->params;
    const float *x = dmx_cpu_f32(call, 0);
    float *y = dmx_cpu_f32(call, 1);
    const int64_t chunks = (p->n + CHUNK - 1) / CHUNK;
#pragma omp parallel for schedule(static) if (chunks > 1)
    for (int64_t c = 0; c < chunks; c++) {
        int64_t lo = c * CHUNK, n = p->n - lo < CHUNK ? p->n - lo : CHUNK;
        span(x + lo, y + lo, n);
    }
    return DMX_OK;
}

dmx_status dmx_cpu_unary_backward(const dmx_op_call *call, dmx_cpu_bwd_span span)
{
    const dmx_p_unary *p = call->params;
    const float *x = dmx_cpu_f32(call, 0), *dy = dmx_cpu_f32(call, 1);
    float *dx = dmx_cpu_f32(call, 2);
    const int64_t chunks = (p->n + CHUNK - 1) / CHUNK;
#pragma omp parallel for schedule(static) if (chunks > 1)
    for (int64_t c = 0; c < chunks; c++) {
        int64_t lo = c * CHUNK, n = p->n - lo < CHUNK ? p->n - lo : CHUNK;
        span(x + lo, dy + lo, dx + lo, n, p->accumulate);
    }
    return DMX_OK;
}

#define OPS(name)                                                                           \
    dmx_status dmx_cpu_##name(dmx_device *dev, const dmx_op_call *call)                     \
    {                                                                                       \
        (void)dev;                                                                          \
        return dmx_cpu_unary_forward(call, name##_span);                                              \
    }                                                                                       \
    dmx_status dmx_cpu_##name##_bwd(dmx_device *dev, const dmx_op_call *call)               \
    {                                                                                       \
        (void)dev;                                                                          \
        return dmx_cpu_unary_backward(call, name##_bwd_span);                                         \
    }

OPS(gelu)
OPS(elu)
OPS(relu)
