/* The fused butterfly-MLP stage on the CPU reference (op_params.h, MIX_MLP): for every row
 * (m, j, r1, r2) of group g = (j, r1), a vector of Din elements goes through
 * Din -> Dh (GELU) -> Dout with the group's weights. Plain loops, one row at a time, in the
 * order the formulas are written; the hidden activation lives in a per-thread scratch row.
 *
 * Forward: rows spread over threads. Backward: groups spread over threads, each group's rows
 * in order (m, then r2 ascending), so every weight-gradient sum has one fixed order, and each
 * row's dx is written by the thread that owns its group. */
#include <stdlib.h>
#include <string.h>

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

/* u = c1 + W1 x for one row (x elements L apart). */
static void hidden_of(const mlp_dims *d, const float *W1, const float *c1, const float *x,
                      float *u)
{
    for (int64_t h = 0; h < d->Dh; h++) {
        float s = c1[h];
        for (int64_t k = 0; k < d->Din; k++)
            s += W1[h * d->Din + k] * x[k * d->L];
        u[h] = s;
    }
}

dmx_status dmx_cpu_mix_mlp(dmx_device *dev, const dmx_op_call *call)
{
    (void)dev;
    const mlp_dims d = dims_of(call->params);
    const float *x = dmx_cpu_f32(call, 0), *W1 = dmx_cpu_f32(call, 1), *c1 = dmx_cpu_f32(call, 2);
    const float *W2 = dmx_cpu_f32(call, 3), *c2 = dmx_cpu_f32(call, 4);
    float *y = dmx_cpu_f32(call, 5);
    const int64_t rows = d.M * d.J * d.L;
    int failed = 0;
#pragma omp parallel if (DMX_CPU_PARALLEL(rows * d.Dh * (d.Din + d.Dout)))
    {
        float *a = malloc((size_t)(d.Dh > 0 ? d.Dh : 1) * sizeof *a);
        if (!a) {
#pragma omp atomic write
            failed = 1;
        }
#pragma omp for schedule(static)
        for (int64_t row = 0; row < rows; row++) {
            if (!a)
                continue;
            const int64_t m = row / (d.J * d.L), j = row / d.L % d.J, q = row % d.L;
            const int64_t r1 = q / d.R2, r2 = q % d.R2, g = j * d.R1 + r1;
            hidden_of(&d, W1 + g * d.Dh * d.Din, c1 + g * d.Dh, x + row_at(&d, d.Din, m, j, r1, r2),
                      a);
            for (int64_t h = 0; h < d.Dh; h++)
                a[h] = dmx_gelu_ref(a[h]);
            float *yr = y + row_at(&d, d.Dout, m, j, r1, r2);
            for (int64_t o = 0; o < d.Dout; o++) {
                float s = c2[g * d.Dout + o];
                for (int64_t h = 0; h < d.Dh; h++)
                    s += W2[(g * d.Dout + o) * d.Dh + h] * a[h];
                yr[o * d.L] = s;
            }
        }
        free(a);
    }
    return failed ? dmx_fail(DMX_ERR_OUT_OF_MEMORY, "mix_mlp: no host memory for a row") : DMX_OK;
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
    int failed = 0;
#pragma omp parallel if (G > 1 && DMX_CPU_PARALLEL(d.M * G * d.R2 * d.Dh * (d.Din + d.Dout)))
    {
        float *u = malloc((size_t)(2 * (d.Dh > 0 ? d.Dh : 1)) * sizeof *u);
        if (!u) {
#pragma omp atomic write
            failed = 1;
        }
#pragma omp for schedule(static)
        for (int64_t g = 0; g < G; g++) {
            if (!u)
                continue;
            float *du = u + d.Dh;
            const int64_t j = g / d.R1, r1 = g % d.R1;
            const float *w1 = W1 + g * d.Dh * d.Din, *w2 = W2 + g * d.Dout * d.Dh;
            float *dw1 = dW1 + g * d.Dh * d.Din, *dw2 = dW2 + g * d.Dout * d.Dh;
            for (int64_t m = 0; m < d.M; m++)
                for (int64_t r2 = 0; r2 < d.R2; r2++) {
                    const float *xr = x + row_at(&d, d.Din, m, j, r1, r2);
                    const float *dyr = dy + row_at(&d, d.Dout, m, j, r1, r2);
                    float *dxr = dx + row_at(&d, d.Din, m, j, r1, r2);
                    hidden_of(&d, w1, c1 + g * d.Dh, xr, u);
                    for (int64_t h = 0; h < d.Dh; h++) {
                        float da = 0.0f;
                        for (int64_t o = 0; o < d.Dout; o++)
                            da += w2[o * d.Dh + h] * dyr[o * d.L];
                        du[h] = da * dmx_gelu_grad_ref(u[h]);
                    }
                    for (int64_t o = 0; o < d.Dout; o++) {
                        const float g_o = dyr[o * d.L];
                        for (int64_t h = 0; h < d.Dh; h++)
                            dw2[o * d.Dh + h] += g_o * dmx_gelu_ref(u[h]);
                        dc2[g * d.Dout + o] += g_o;
                    }
                    for (int64_t h = 0; h < d.Dh; h++) {
                        for (int64_t k = 0; k < d.Din; k++)
                            dw1[h * d.Din + k] += du[h] * xr[k * d.L];
                        dc1[g * d.Dh + h] += du[h];
                    }
                    for (int64_t k = 0; k < d.Din; k++) {
                        float s = 0.0f;
                        for (int64_t h = 0; h < d.Dh; h++)
                            s += w1[h * d.Din + k] * du[h];
                        dxr[k * d.L] = p->accumulate ? dxr[k * d.L] + s : s;
                    }
                }
        }
        free(u);
    }
    return failed ? dmx_fail(DMX_ERR_OUT_OF_MEMORY, "mix_mlp_bwd: no host memory for a row")
                  : DMX_OK;
}
