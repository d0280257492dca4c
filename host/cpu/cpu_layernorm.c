/* LayerNorm over the last axis on the CPU; statistics in double. */
#include <math.h>

#include "cpu/cpu_kernels.h"

dmx_status dmx_cpu_layernorm(dmx_device *dev, const dmx_op_call *call)
{
    (void)dev;
    const dmx_p_layernorm *p = call->params;
    const float *x = dmx_cpu_f32(call, 0), *gamma = dmx_cpu_f32(call, 1);
    const float *beta = dmx_cpu_f32(call, 2);
    float *y = dmx_cpu_f32(call, 3), *mean = dmx_cpu_f32(call, 4), *rstd = dmx_cpu_f32(call, 5);
    const int64_t C = p->cols;
#pragma omp parallel for schedule(static) if (DMX_CPU_PARALLEL((int64_t)p->rows * p->cols))
    for (int64_t r = 0; r < p->rows; r++) {
        const float *xr = x + r * C;
        double sum = 0.0, sq = 0.0;
        for (int64_t c = 0; c < C; c++)
            sum += xr[c];
        double mu = C ? sum / (double)C : 0.0;
        for (int64_t c = 0; c < C; c++)
            sq += ((double)xr[c] - mu) * ((double)xr[c] - mu);
        double rs = 1.0 / sqrt((C ? sq / (double)C : 0.0) + (double)p->eps);
        for (int64_t c = 0; c < C; c++)
            y[r * C + c] = (float)(((double)xr[c] - mu) * rs) * gamma[c] + beta[c];
        mean[r] = (float)mu;
        rstd[r] = (float)rs;
    }
    return DMX_OK;
}

dmx_status dmx_cpu_layernorm_bwd(dmx_device *dev, const dmx_op_call *call)
{
    (void)dev;
    const dmx_p_layernorm *p = call->params;
    const float *dy = dmx_cpu_f32(call, 0), *x = dmx_cpu_f32(call, 1);
    const float *gamma = dmx_cpu_f32(call, 2), *mean = dmx_cpu_f32(call, 3);
    const float *rstd = dmx_cpu_f32(call, 4);
    float *dx = dmx_cpu_f32(call, 5), *dgamma = dmx_cpu_f32(call, 6), *dbeta = dmx_cpu_f32(call, 7);
    const int64_t R = p->rows, C = p->cols;
#pragma omp parallel for schedule(static) if (DMX_CPU_PARALLEL((int64_t)p->rows * p->cols))
    for (int64_t r = 0; r < R; r++) {
        const float *xr = x + r * C, *dyr = dy + r * C;
        double mg = 0.0, mgx = 0.0;
        for (int64_t c = 0; c < C; c++) {
            double xhat = ((double)xr[c] - mean[r]) * rstd[r];
            double g = (double)dyr[c] * gamma[c];
            mg += g;
            mgx += g * xhat;
        }
        mg /= (double)C;
        mgx /= (double)C;
        for (int64_t c = 0; c < C; c++) {
            double xhat = ((double)xr[c] - mean[r]) * rstd[r];
            double g = (double)dyr[c] * gamma[c];
            float v = (float)(rstd[r] * (g - mg - xhat * mgx));
            dx[r * C + c] = p->accumulate ? dx[r * C + c] + v : v;
        }
    }
#pragma omp parallel for schedule(static) if (DMX_CPU_PARALLEL((int64_t)p->rows * p->cols))
    for (int64_t c = 0; c < C; c++) {
        double dg = 0.0, db = 0.0;
        for (int64_t r = 0; r < R; r++) {
            double xhat = ((double)x[r * C + c] - mean[r]) * rstd[r];
            dg += (double)dy[r * C + c] * xhat;
            db += dy[r * C + c];
        }
        dgamma[c] += (float)dg;
        dbeta[c] += (float)db;
    }
    return DMX_OK;
}
