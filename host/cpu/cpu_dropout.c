/* Dropout on the CPU with the Philox mask shared by every backend. */
#include "core/philox.h"
#include "cpu/cpu_kernels.h"

dmx_status dmx_cpu_dropout(dmx_device *dev, const dmx_op_call *call)
{
    (void)dev;
    const dmx_p_dropout *p = call->params;
    const float *x = dmx_cpu_f32(call, 0);
    float *y = dmx_cpu_f32(call, 1);
    const float keep_scale = p->p < 1.0f ? 1.0f / (1.0f - p->p) : 0.0f;
#pragma omp parallel for schedule(static) if (DMX_CPU_PARALLEL(p->n))
    for (int64_t i = 0; i < p->n; i++) {
        float u = dmx_philox_uniform(p->seed_lo, p->seed_hi, p->offset + (uint32_t)i);
        float v = u >= p->p ? x[i] * keep_scale : 0.0f;
        y[i] = p->accumulate ? y[i] + v : v;
    }
    return DMX_OK;
}
