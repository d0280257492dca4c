/* The fused butterfly-MLP stage on the CPU reference (op_params.h, MIX_MLP): for every row
 * (m, j, r1, r2) of group g = (j, r1), a vector of Din elements goes through
 * Din -> Dh (GELU) -> Dout with the group's weights. Plain loops, one row at a time, one
 * hidden unit h at a time (ascending): each u_h is made and consumed at once, so no scratch
 * is needed and every sum runs in the order its formula is written.
 *
 * Forward: rows spread over threads. Backward: groups spread over threads, each group's rows
 * in order (m, then r2 ascending), so every weight-gradient sum has one fixed order, and each
 * row's dx is written by the thread that owns its group. */
#include "core/error.h"
#include "cpu/cpu_kernels.h"
#include "cpu/cpu_math.h"

typedef struct mlp_dims {
    int64_t M, J, Din, Dh, Dout, R1, R2, L;
} mlp_dims;

static mlp_dims dims_of(const dmx_p_mix_mlp *p)
{
    return (mlp_dims){p->M, p->J, p->Din, p->Dh, p->Dout, p->R1, p->R2, (int64_t)p->R1 * p->R2};
}

/* Offset of element 0 of row (m, j, r1, r2) in a tensor with K elements per row; element k is
 * L further on each step. */
static int64_t row_at(const mlp_dims *d, int64_t K, int64_t m, int64_t j, int64_t r1, int64_t r2)
{
    return (m * d->J + j) * K * d->L + r1 * d->R2 + r2;
}

/* u_h = c1_h + sum_k W1[h, k] x_k for one row (x elements L apart). */
static float hidden_unit(const mlp_dims *d, const float *w1_h, float c1_h, const float *x)
{
    float s = c1_h;
    for (int64_t k = 0; k < d->Din; k++)
        s += w1_h[k] * x[k * d->L];
    return s;
}

dmx_status dmx_cpu_mix_mlp(dmx_device *dev, const dmx_op_call *call)
{
    (void)dev;
    const mlp_dims d = dims_of(call->params);
    const float *x = dmx_cpu_f32(call, 0), *W1 = dmx_cpu_f32(call, 1), *c1 = dmx_cpu_f32(call, 2);
    const float *W2 = dmx_cpu_f32(call, 3), *c2 = dmx_cpu_f32(call, 4);
    float *y = dmx_cpu_f32(call, 5);
    const int64_t rows = d.M * d.J * d.L;
#pragma omp parallel for schedule(static) if (DMX_CPU_PARALLEL(rows * d.Dh * (d.Din + d.Dout)))
    for (int64_t row = 0; row < rows; row++) {
        const int64_t m = row / (d.J * d.L), j = row / d.L % d.J, q = row % d.L;
        const int64_t r1 = q / d.R2, r2 = q % d.R2, g = j * d.R1 + r1;
        const float *xr = x + row_at(&d, d.Din, m, j, r1, r2);
        const float *w1 = W1 + g * d.Dh * d.Din, *w2 = W2 + g * d.Dout * d.Dh;
        float *yr = y + row_at(&d, d.Dout, m, j, r1, r2);
        for (int64_t o = 0; o < d.Dout; o++)
            yr[o * d.L] = c2[g * d.Dout + o];
        for (int64_t h = 0; h < d.Dh; h++) {
            const float a = dmx_gelu_ref(hidden_unit(&d, w1 + h * d.Din, c1[g * d.Dh + h], xr));
            for (int64_t o = 0; o < d.Dout; o++)
                yr[o * d.L] += w2[o * d.Dh + h] * a;
        }
    }
    return DMX_OK;
}

dmx_status dmx_cpu_mix_mlp_bwd(dmx_device *dev, const dmx_op_call *call)
{
    (void)dev;
    const dmx_p_mix_mlp *p = call->params;
    const mlp_dims d = dims_of(p);
    const float *dy = dmx_cpu_f32(call, 0), *x = dmx_cpu_f32(call, 1), *W1 = dmx_cpu_f32(call, 2);
    const float *c1 = dmx_cpu_f32(call, 3), *W2 = dmx_cpu_f32(call, 4);
    float *dx = dmx_cpu_f32(call, 5), *dW1 = dmx_cpu_f32(call, 6), *dc1 = dmx_cpu_f32(call, 7);
    float *dW2 = dmx_cpu_f32(call, 8), *dc2 = dmx_cpu_f32(call, 9);
    const int64_t G = d.J * d.R1;
#pragma omp parallel for schedule(static) \
    if (G > 1 && DMX_CPU_PARALLEL(d.M * G * d.R2 * d.Dh * (d.Din + d.Dout)))
    for (int64_t g = 0; g < G; g++) {
        const int64_t j = g / d.R1, r1 = g % d.R1;
        const float *w1 = W1 + g * d.Dh * d.Din, *w2 = W2 + g * d.Dout * d.Dh;
        float *dw1 = dW1 + g * d.Dh * d.Din, *dw2 = dW2 + g * d.Dout * d.Dh;
        for (int64_t m = 0; m < d.M; m++)
            for (int64_t r2 = 0; r2 < d.R2; r2++) {
                const float *xr = x + row_at(&d, d.Din, m, j, r1, r2);
                const float *dyr = dy + row_at(&d, d.Dout, m, j, r1, r2);
                float *dxr = dx + row_at(&d, d.Din, m, j, r1, r2);
                if (!p->accumulate)
                    for (int64_t k = 0; k < d.Din; k++)
                        dxr[k * d.L] = 0.0f;
                for (int64_t h = 0; h < d.Dh; h++) {
                    const float u = hidden_unit(&d, w1 + h * d.Din, c1[g * d.Dh + h], xr);
                    const float a = dmx_gelu_ref(u);
                    float da = 0.0f;
                    for (int64_t o = 0; o < d.Dout; o++)
                        da += w2[o * d.Dh + h] * dyr[o * d.L];
                    const float du = da * dmx_gelu_grad_ref(u);
                    for (int64_t o = 0; o < d.Dout; o++)
                        dw2[o * d.Dh + h] += dyr[o * d.L] * a;
                    dc1[g * d.Dh + h] += du;
                    for (int64_t k = 0; k < d.Din; k++) {
                        dw1[h * d.Din + k] += du * xr[k * d.L];
                        dxr[k * d.L] += w1[h * d.Din + k] * du;
                    }
                }
                for (int64_t o = 0; o < d.Dout; o++)
                    dc2[g * d.Dout + o] += dyr[o * d.L];
            }
    }
    return DMX_OK;
}
