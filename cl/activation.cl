/* GELU (exact, erf form), ELU and ReLU, forward and backward, one element per work-item.
 *
 * GELU is written with erfc: x Phi(x) = 0.5 x erfc(-x / sqrt 2). The textbook
 * 0.5 x (1 + erf(x / sqrt 2)) cancels catastrophically for negative x (1 + erf is 1 - 0.99999..
 * in float); erfc(+large) is accurate to its last bit, so both tails match the CPU reference's
 * double-precision result, and erfc(+-30/sqrt 2) is exactly 0 or 2 (no NaN at the extremes). */
/* dmx_gelu and dmx_gelu_grad live in common.cl (the fused butterfly-MLP stage uses them too). */
inline float dmx_elu(float x) { return x > 0.0f ? x : expm1(x); }
inline float dmx_elu_grad(float x) { return x > 0.0f ? 1.0f : exp(x); }
inline float dmx_relu(float x) { return x > 0.0f ? x : 0.0f; }
inline float dmx_relu_grad(float x) { return x > 0.0f ? 1.0f : 0.0f; }

/* name(x, y, n): y = f(x).  name_bwd(x, dy, dx, n, accumulate): dx (+)= dy f'(x); with
 * accumulate = 0, dx is not read. */
#define DMX_UNARY(name, fn, grad_fn)                                                        \
    DMX_KERNEL void name(__global const float *x, ulong x_off, __global float *y, ulong y_off, \
                         int n)                                                             \
    {                                                                                       \
        const long i = get_global_id(0);                                                    \
        if (i < n)                                                                          \
            y[y_off + i] = fn(x[x_off + i]);                                                \
    }                                                                                       \
    DMX_KERNEL void name##_bwd(__global const float *x, ulong x_off, __global const float *dy, \
                               ulong dy_off, __global float *dx, ulong dx_off, int n,       \
                               int accumulate)                                              \
    {                                                                                       \
        const long i = get_global_id(0);                                                    \
        if (i >= n)                                                                         \
            return;                                                                         \
        const float g = dy[dy_off + i] * grad_fn(x[x_off + i]);                             \
        dx[dx_off + i] = accumulate ? dx[dx_off + i] + g : g;                               \
    }

DMX_UNARY(gelu, dmx_gelu, dmx_gelu_grad)
DMX_UNARY(elu, dmx_elu, dmx_elu_grad)
DMX_UNARY(relu, dmx_relu, dmx_relu_grad)
