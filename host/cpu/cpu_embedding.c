/* Embedding lookup and its scatter-add backward on the CPU. */
#include "cpu/cpu_kernels.h"

dmx_status dmx_cpu_embedding(dmx_device *dev, const dmx_op_call *call)
{
    (void)dev;
    const dmx_p_embedding *p = call->params;
    const int32_t *ids = dmx_cpu_i32(call, 0);
    const float *E = dmx_cpu_f32(call, 1);
    float *y = dmx_cpu_f32(call, 2);
    const int64_t D = p->dim;
#pragma omp parallel for schedule(static) if (DMX_CPU_PARALLEL(p->n * D))
    for (int64_t i = 0; i < p->n; i++) {
        int32_t id = ids[i];
        for (int64_t d = 0; d < D; d++)
            y[i * D + d] = id >= 0 && id < p->vocab ? E[id * D + d] : 0.0f;
    }
    return DMX_OK;
}

dmx_status dmx_cpu_embedding_bwd(dmx_device *dev, const dmx_op_call *call)
{
    (void)dev;
    const dmx_p_embedding *p = call->params;
    const int32_t *ids = dmx_cpu_i32(call, 0);
    const float *dy = dmx_cpu_f32(call, 1);
    float *dE = dmx_cpu_f32(call, 2);
    const int64_t D = p->dim;
    /* Parallel over columns, ids in order: each dE element sums in index order. */
#pragma omp parallel for schedule(static) if (DMX_CPU_PARALLEL(p->n * D))
    for (int64_t d = 0; d < D; d++)
        for (int64_t i = 0; i < p->n; i++) {
            int32_t id = ids[i];
            if (id >= 0 && id < p->vocab)
                dE[id * D + d] += dy[i * D + d];
        }
    return DMX_OK;
}
