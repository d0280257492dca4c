/* AdamW and SGD steps on the CPU (PyTorch semantics, op_params.h). */
#include <math.h>

#include "cpu/cpu_kernels.h"

dmx_status dmx_cpu_adamw(dmx_device *dev, const dmx_op_call *call)
{
    (void)dev;
    const dmx_p_adamw *a = call->params;
    const float *g = dmx_cpu_f32(call, 0);
    float *p = dmx_cpu_f32(call, 1), *m = dmx_cpu_f32(call, 2), *v = dmx_cpu_f32(call, 3);
#pragma omp parallel for schedule(static) if (DMX_CPU_PARALLEL(a->n))
    for (int64_t i = 0; i < a->n; i++) {
        float pi = p[i] - a->lr * a->weight_decay * p[i];
        m[i] = a->beta1 * m[i] + (1.0f - a->beta1) * g[i];
        v[i] = a->beta2 * v[i] + (1.0f - a->beta2) * g[i] * g[i];
        float denom = sqrtf(v[i]) / a->bc2_sqrt + a->eps;
        p[i] = pi - a->step_size * m[i] / denom;
    }
    return DMX_OK;
}

dmx_status dmx_cpu_sgd(dmx_device *dev, const dmx_op_call *call)
{
    (void)dev;
    const dmx_p_sgd *s = call->params;
    const float *g = dmx_cpu_f32(call, 0);
    float *p = dmx_cpu_f32(call, 1), *buf = dmx_cpu_f32(call, 2);
#pragma omp parallel for schedule(static) if (DMX_CPU_PARALLEL(s->n))
    for (int64_t i = 0; i < s->n; i++) {
        float d = g[i] + s->weight_decay * p[i];
        if (s->momentum != 0.0f) {
            buf[i] = s->first_step ? d : s->momentum * buf[i] + (1.0f - s->dampening) * d;
            d = s->nesterov ? d + s->momentum * buf[i] : buf[i];
        }
        p[i] -= s->lr * d;
    }
    return DMX_OK;
}
