/* Elementwise ops and sum_rows on the CPU. */
#include <string.h>

#include "cpu/cpu_kernels.h"

dmx_status dmx_cpu_fill(dmx_device *dev, const dmx_op_call *call)
{
    (void)dev;
    const dmx_p_fill *p = call->params;
    uint32_t *y = (uint32_t *)dmx_cpu_i32(call, 0);
#pragma omp parallel for schedule(static) if (DMX_CPU_PARALLEL(p->n))
    for (int64_t i = 0; i < p->n; i++)
        y[i] = p->bits;
    return DMX_OK;
}

dmx_status dmx_cpu_add(dmx_device *dev, const dmx_op_call *call)
{
    (void)dev;
    const dmx_p_add *p = call->params;
    const float *a = dmx_cpu_f32(call, 0), *b = dmx_cpu_f32(call, 1);
    float *y = dmx_cpu_f32(call, 2);
#pragma omp parallel for schedule(static) if (DMX_CPU_PARALLEL(p->n))
    for (int64_t i = 0; i < p->n; i++)
        y[i] = a[i] + b[i];
    return DMX_OK;
}

dmx_status dmx_cpu_mul(dmx_device *dev, const dmx_op_call *call)
{
    (void)dev;
    const dmx_p_mul *p = call->params;
    const float *a = dmx_cpu_f32(call, 0), *b = dmx_cpu_f32(call, 1);
    float *y = dmx_cpu_f32(call, 2);
#pragma omp parallel for schedule(static) if (DMX_CPU_PARALLEL(p->n))
    for (int64_t i = 0; i < p->n; i++)
        y[i] = p->accumulate ? y[i] + a[i] * b[i] : a[i] * b[i];
    return DMX_OK;
}

dmx_status dmx_cpu_scale(dmx_device *dev, const dmx_op_call *call)
{
    (void)dev;
    const dmx_p_scale *p = call->params;
    const float *x = dmx_cpu_f32(call, 0);
    float *y = dmx_cpu_f32(call, 1);
#pragma omp parallel for schedule(static) if (DMX_CPU_PARALLEL(p->n))
    for (int64_t i = 0; i < p->n; i++)
        y[i] = p->alpha * x[i];
    return DMX_OK;
}

dmx_status dmx_cpu_clip_scale(dmx_device *dev, const dmx_op_call *call)
{
    (void)dev;
    const dmx_p_clip_scale *p = call->params;
    const float g = dmx_cpu_f32(call, 0)[0];
    float *x = dmx_cpu_f32(call, 1);
    if (!(g > p->threshold))
        return DMX_OK;
    const float f = p->numerator / g;
#pragma omp parallel for schedule(static) if (DMX_CPU_PARALLEL(p->n))
    for (int64_t i = 0; i < p->n; i++)
        x[i] = f * x[i];
    return DMX_OK;
}

dmx_status dmx_cpu_clip_scale_bwd(dmx_device *dev, const dmx_op_call *call)
{
    (void)dev;
    const dmx_p_clip_scale *p = call->params;
    const float g = dmx_cpu_f32(call, 0)[0], dot = dmx_cpu_f32(call, 1)[0];
    float *dnorm = dmx_cpu_f32(call, 2);
    const float d = g > p->threshold ? (-(p->numerator / g) / g) * dot : 0.0f;
    dnorm[0] = p->accumulate ? dnorm[0] + d : d;
    return DMX_OK;
}

dmx_status dmx_cpu_axpy(dmx_device *dev, const dmx_op_call *call)
{
    (void)dev;
    const dmx_p_axpy *p = call->params;
    const float *x = dmx_cpu_f32(call, 0);
    float *y = dmx_cpu_f32(call, 1);
#pragma omp parallel for schedule(static) if (DMX_CPU_PARALLEL(p->n))
    for (int64_t i = 0; i < p->n; i++)
        y[i] += p->alpha * x[i];
    return DMX_OK;
}

dmx_status dmx_cpu_add_row(dmx_device *dev, const dmx_op_call *call)
{
    (void)dev;
    const dmx_p_add_row *p = call->params;
    const float *x = dmx_cpu_f32(call, 0), *b = dmx_cpu_f32(call, 1);
    float *y = dmx_cpu_f32(call, 2);
#pragma omp parallel for schedule(static) if (DMX_CPU_PARALLEL((int64_t)p->rows * p->cols))
    for (int64_t r = 0; r < p->rows; r++)
        for (int64_t c = 0; c < p->cols; c++)
            y[r * p->cols + c] = x[r * p->cols + c] + b[c];
    return DMX_OK;
}

dmx_status dmx_cpu_sum_rows(dmx_device *dev, const dmx_op_call *call)
{
    (void)dev;
    const dmx_p_sum_rows *p = call->params;
    const float *x = dmx_cpu_f32(call, 0);
    float *y = dmx_cpu_f32(call, 1);
#pragma omp parallel for schedule(static) if (DMX_CPU_PARALLEL((int64_t)p->rows * p->cols))
    for (int64_t c = 0; c < p->cols; c++) {
        double acc = 0.0;
        for (int64_t r = 0; r < p->rows; r++)
            acc += x[r * p->cols + c];
        float v = (float)(p->scale * acc);
        y[c] = p->accumulate ? y[c] + v : v;
    }
    return DMX_OK;
}
