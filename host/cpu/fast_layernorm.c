/* LayerNorm over the last axis for the fast CPU device: single precision, each row in one or
 * two passes while it sits in L1, vectorised reductions (omp simd), FMAs (this file is built
 * with -ffp-contract=fast). The reference (cpu_layernorm.c) keeps double statistics and a
 * column-order pass for dgamma/dbeta; here the parameter gradients are summed per block of
 * ROWS rows beside dx and the blocks added in order afterwards, so the result does not depend
 * on the thread count. */
#include <math.h>
#include <stdlib.h>

#include "core/error.h"
#include "cpu/cpu_scratch.h"
#include "cpu/cpu_kernels.h"
#include "cpu/fast_kernels.h"

#define ROWS 32

#if defined(__GNUC__) && defined(__x86_64__) && !defined(__clang__)
#define SIMD_CLONES __attribute__((target_clones("default", "avx2", "arch=x86-64-v4")))
#else
#define SIMD_CLONES
#endif

SIMD_CLONES static void norm_row(const float *restrict x, const float *restrict gamma,
                                 const float *restrict beta, float *restrict y, int64_t C,
                                 float eps, float *mean, float *rstd)
{
    float sum = 0.0f, sq = 0.0f;
#pragma omp simd reduction(+ : sum)
    for (int64_t c = 0; c < C; c++)
        sum += x[c];
    const float mu = C ? sum / (float)C : 0.0f;
#pragma omp simd reduction(+ : sq)
    for (int64_t c = 0; c < C; c++)
        sq += (x[c] - mu) * (x[c] - mu);
    const float rs = 1.0f / sqrtf((C ? sq / (float)C : 0.0f) + eps);
    for (int64_t c = 0; c < C; c++)
        y[c] = (x[c] - mu) * rs * gamma[c] + beta[c];
    *mean = mu;
    *rstd = rs;
}

dmx_status dmx_fast_layernorm(dmx_device *dev, const dmx_op_call *call)
{
    (void)dev;
    const dmx_p_layernorm *p = call->params;
    const float *x = dmx_cpu_f32(call, 0), *gamma = dmx_cpu_f32(call, 1);
    const float *beta = dmx_cpu_f32(call, 2);
    float *y = dmx_cpu_f32(call, 3), *mean = dmx_cpu_f32(call, 4), *rstd = dmx_cpu_f32(call, 5);
    const int64_t C = p->cols;
#pragma omp parallel for schedule(static) if (DMX_CPU_PARALLEL((int64_t)p->rows * p->cols))
    for (int64_t r = 0; r < p->rows; r++)
        norm_row(x + r * C, gamma, beta, y + r * C, C, p->eps, &mean[r], &rstd[r]);
    return DMX_OK;
}

/* Rows [r0, r0 + n): dx (+)= rstd (g - mean(g) - xhat mean(g xhat)), g = dy gamma, and the
 * block's sums of dy xhat and dy into pg, pb (overwritten). */
SIMD_CLONES static void grad_rows(const float *restrict dy, const float *restrict x,
                                  const float *restrict gamma, const float *restrict mean,
                                  const float *restrict rstd, float *restrict dx, int64_t n,
                                  int64_t C, int accumulate, float *restrict pg,
                                  float *restrict pb)
{
    for (int64_t c = 0; c < C; c++)
        pg[c] = pb[c] = 0.0f;
    for (int64_t r = 0; r < n; r++) {
        const float *xr = x + r * C, *dyr = dy + r * C;
        float *dxr = dx + r * C;
        const float mu = mean[r], rs = rstd[r];
        float mg = 0.0f, mgx = 0.0f;
#pragma omp simd reduction(+ : mg, mgx)
        for (int64_t c = 0; c < C; c++) {
            const float xhat = (xr[c] - mu) * rs, g = dyr[c] * gamma[c];
            mg += g;
            mgx += g * xhat;
            pg[c] += dyr[c] * xhat;
            pb[c] += dyr[c];
        }
        mg /= (float)C;
        mgx /= (float)C;
        if (accumulate)
            for (int64_t c = 0; c < C; c++)
                dxr[c] += rs * (dyr[c] * gamma[c] - mg - (xr[c] - mu) * rs * mgx);
        else
            for (int64_t c = 0; c < C; c++)
                dxr[c] = rs * (dyr[c] * gamma[c] - mg - (xr[c] - mu) * rs * mgx);
    }
}

dmx_status dmx_fast_layernorm_bwd(dmx_device *dev, const dmx_op_call *call)
{
    (void)dev;
    const dmx_p_layernorm *p = call->params;
    const float *dy = dmx_cpu_f32(call, 0), *x = dmx_cpu_f32(call, 1);
    const float *gamma = dmx_cpu_f32(call, 2), *mean = dmx_cpu_f32(call, 3);
    const float *rstd = dmx_cpu_f32(call, 4);
    float *dx = dmx_cpu_f32(call, 5), *dgamma = dmx_cpu_f32(call, 6), *dbeta = dmx_cpu_f32(call, 7);
    const int64_t R = p->rows, C = p->cols, blocks = (R + ROWS - 1) / ROWS;
    const size_t need = (size_t)(blocks * 2 * C);
    /* per-block partial sums: this thread's scratch, grown once (no allocation per step) */
    float *part = dmx_cpu_scratch(DMX_SCRATCH_LAYERNORM, need);
    if (!part)
        return dmx_fail(DMX_ERR_OUT_OF_MEMORY, "layernorm_bwd: %zu floats of host memory", need);
#pragma omp parallel for schedule(static) if (DMX_CPU_PARALLEL(R * C))
    for (int64_t b = 0; b < blocks; b++) {
        const int64_t r0 = b * ROWS, n = R - r0 < ROWS ? R - r0 : ROWS;
        grad_rows(dy + r0 * C, x + r0 * C, gamma, mean + r0, rstd + r0, dx + r0 * C, n, C,
                  p->accumulate, part + b * 2 * C, part + b * 2 * C + C);
    }
#pragma omp parallel for schedule(static) if (DMX_CPU_PARALLEL(blocks * C))
    for (int64_t c = 0; c < C; c++) {
        float g = 0.0f, s = 0.0f;
        for (int64_t b = 0; b < blocks; b++) {
            g += part[b * 2 * C + c];
            s += part[b * 2 * C + C + c];
        }
        dgamma[c] += g;
        dbeta[c] += s;
    }
    return DMX_OK;
}
