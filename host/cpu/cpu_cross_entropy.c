/* Cross-entropy with label smoothing on the CPU; log-sum-exp in double. */
#include <math.h>

#include "cpu/cpu_kernels.h"

/* log sum_k exp(z_k) of one row, stable. */
static double row_logsumexp(const float *z, int64_t K)
{
    float zmax = -INFINITY;
    for (int64_t k = 0; k < K; k++)
        zmax = z[k] > zmax ? z[k] : zmax;
    double sum = 0.0;
    for (int64_t k = 0; k < K; k++)
        sum += exp((double)z[k] - zmax);
    return zmax + log(sum);
}

dmx_status dmx_cpu_cross_entropy(dmx_device *dev, const dmx_op_call *call)
{
    (void)dev;
    const dmx_p_cross_entropy *p = call->params;
    const float *z = dmx_cpu_f32(call, 0);
    const int32_t *labels = dmx_cpu_i32(call, 1);
    float *loss = dmx_cpu_f32(call, 2);
    const int64_t K = p->cols;
#pragma omp parallel for schedule(static) if (DMX_CPU_PARALLEL(p->rows * K))
    for (int64_t r = 0; r < p->rows; r++) {
        const float *zr = z + r * K;
        int32_t label = labels[r];
        if (label < 0 || label >= K) {
            loss[r] = NAN;
            continue;
        }
        double lse = row_logsumexp(zr, K), acc = 0.0;
        double off = (double)p->smoothing / (double)K, on = 1.0 - p->smoothing + off;
        for (int64_t k = 0; k < K; k++) {
            /* A target of weight 0 adds nothing (0 log 0 = 0), even where log p = -inf. */
            double w = k == label ? on : off;
            if (w != 0.0)
                acc += w * ((double)zr[k] - lse);
        }
        loss[r] = (float)-acc;
    }
    return DMX_OK;
}

dmx_status dmx_cpu_cross_entropy_bwd(dmx_device *dev, const dmx_op_call *call)
{
    (void)dev;
    const dmx_p_cross_entropy *p = call->params;
    const float *z = dmx_cpu_f32(call, 0), *dloss = dmx_cpu_f32(call, 2);
    const int32_t *labels = dmx_cpu_i32(call, 1);
    float *dz = dmx_cpu_f32(call, 3);
    const int64_t K = p->cols;
    const double g = (double)dloss[0] * p->scale;
#pragma omp parallel for schedule(static) if (DMX_CPU_PARALLEL(p->rows * K))
    for (int64_t r = 0; r < p->rows; r++) {
        const float *zr = z + r * K;
        int32_t label = labels[r];
        double lse = row_logsumexp(zr, K);
        double off = (double)p->smoothing / (double)K, on = 1.0 - p->smoothing + off;
        for (int64_t k = 0; k < K; k++) {
            float v = label < 0 || label >= K
                          ? NAN
                          : (float)(g * (exp((double)zr[k] - lse) - (k == label ? on : off)));
            dz[r * K + k] = p->accumulate ? dz[r * K + k] + v : v;
        }
    }
    return DMX_OK;
}
