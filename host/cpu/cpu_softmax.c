/* Row softmax with scale and additive mask on the CPU (op_params.h: DMX_MASK_REMOVED). */
#include <math.h>
#include <stdbool.h>

#include "cpu/cpu_kernels.h"

dmx_status dmx_cpu_softmax(dmx_device *dev, const dmx_op_call *call)
{
    (void)dev;
    const dmx_p_softmax *p = call->params;
    const float *x = dmx_cpu_f32(call, 0), *mask = dmx_cpu_f32(call, 1);
    float *y = dmx_cpu_f32(call, 2);
    const int64_t C = p->cols;
    const bool masked = p->has_mask && mask;
    const int64_t group = p->mask_group > 0 ? p->mask_group : 1;
#pragma omp parallel for schedule(static) if (DMX_CPU_PARALLEL(p->rows * C))
    for (int64_t r = 0; r < p->rows; r++) {
        const float *xr = x + r * C;
        const float *mr = masked ? mask + (r / group) * C : NULL;
        float *yr = y + r * C;
        float zmax = -INFINITY;
        for (int64_t c = 0; c < C; c++) {
            if (mr && mr[c] <= DMX_MASK_REMOVED)
                continue;
            float z = p->scale * xr[c] + (mr ? mr[c] : 0.0f);
            zmax = z > zmax ? z : zmax;
        }
        if (zmax == -INFINITY) { /* every entry removed (or no columns) */
            for (int64_t c = 0; c < C; c++)
                yr[c] = 0.0f;
            continue;
        }
        double sum = 0.0;
        for (int64_t c = 0; c < C; c++) {
            if (mr && mr[c] <= DMX_MASK_REMOVED) {
                yr[c] = 0.0f;
                continue;
            }
            float e = expf(p->scale * xr[c] + (mr ? mr[c] : 0.0f) - zmax);
            yr[c] = e;
            sum += e;
        }
        float inv = (float)(1.0 / sum);
        for (int64_t c = 0; c < C; c++)
            yr[c] *= inv;
    }
    return DMX_OK;
}

dmx_status dmx_cpu_softmax_bwd(dmx_device *dev, const dmx_op_call *call)
{
    (void)dev;
    const dmx_p_softmax *p = call->params;
    const float *y = dmx_cpu_f32(call, 0), *dy = dmx_cpu_f32(call, 1);
    float *dx = dmx_cpu_f32(call, 2);
    const int64_t C = p->cols;
#pragma omp parallel for schedule(static) if (DMX_CPU_PARALLEL(p->rows * C))
    for (int64_t r = 0; r < p->rows; r++) {
        const float *yr = y + r * C, *dyr = dy + r * C;
        double dot = 0.0;
        for (int64_t c = 0; c < C; c++)
            dot += (double)dyr[c] * yr[c];
        for (int64_t c = 0; c < C; c++) {
            float v = p->scale * yr[c] * (float)((double)dyr[c] - dot);
            dx[r * C + c] = p->accumulate ? dx[r * C + c] + v : v;
        }
    }
    return DMX_OK;
}
