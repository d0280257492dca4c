/* GELU (exact erf), ELU and ReLU on the CPU, forward and backward. */
#include <math.h>

#include "cpu/cpu_kernels.h"

#define DMX_SQRT1_2 0.70710678118654752440
#define DMX_INV_SQRT_2PI 0.39894228040143267794

/* Computed in double so the reference is accurate to float rounding. */
static float gelu(float x) { return (float)(0.5 * x * (1.0 + erf(x * DMX_SQRT1_2))); }

static float gelu_grad(float x)
{
    double cdf = 0.5 * (1.0 + erf(x * DMX_SQRT1_2));
    double pdf = DMX_INV_SQRT_2PI * exp(-0.5 * (double)x * x);
    return (float)(cdf + x * pdf);
}

static float elu(float x) { return x > 0.0f ? x : expm1f(x); }
static float elu_grad(float x) { return x > 0.0f ? 1.0f : expf(x); }
static float relu(float x) { return x > 0.0f ? x : 0.0f; }
static float relu_grad(float x) { return x > 0.0f ? 1.0f : 0.0f; }

#define DMX_CPU_UNARY(name, fn, grad_fn)                                                    \
    dmx_status dmx_cpu_##name(dmx_device *dev, const dmx_op_call *call)                     \
    {                                                                                       \
        (void)dev;                                                                          \
        const dmx_p_unary *p = call->params;                                                \
        const float *x = dmx_cpu_f32(call, 0);                                              \
        float *y = dmx_cpu_f32(call, 1);                                                    \
        _Pragma("omp parallel for schedule(static) if (DMX_CPU_PARALLEL(p->n))")            \
        for (int64_t i = 0; i < p->n; i++)                                                  \
            y[i] = fn(x[i]);                                                                \
        return DMX_OK;                                                                      \
    }                                                                                       \
    dmx_status dmx_cpu_##name##_bwd(dmx_device *dev, const dmx_op_call *call)               \
    {                                                                                       \
        (void)dev;                                                                          \
        const dmx_p_unary *p = call->params;                                                \
        const float *x = dmx_cpu_f32(call, 0), *dy = dmx_cpu_f32(call, 1);                  \
        float *dx = dmx_cpu_f32(call, 2);                                                   \
        _Pragma("omp parallel for schedule(static) if (DMX_CPU_PARALLEL(p->n))")            \
        for (int64_t i = 0; i < p->n; i++) {                                                \
            float g = dy[i] * grad_fn(x[i]);                                                \
            dx[i] = p->accumulate ? dx[i] + g : g;                                          \
        }                                                                                   \
        return DMX_OK;                                                                      \
    }

DMX_CPU_UNARY(gelu, gelu, gelu_grad)
DMX_CPU_UNARY(elu, elu, elu_grad)
DMX_CPU_UNARY(relu, relu, relu_grad)
