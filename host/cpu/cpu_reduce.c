/* dot and norm2 on the CPU: double partial sums over fixed chunks, added in chunk order, so
 * the result does not depend on the thread count. */
#include <math.h>

#include "cpu/cpu_kernels.h"

#define DMX_REDUCE_CHUNK 4096

static double chunked_sum(const float *x, const float *y, int64_t n)
{
    int64_t chunks = (n + DMX_REDUCE_CHUNK - 1) / DMX_REDUCE_CHUNK;
    double total = 0.0;
#pragma omp parallel for ordered schedule(static) if (DMX_CPU_PARALLEL(n))
    for (int64_t c = 0; c < chunks; c++) {
        double acc = 0.0;
        int64_t end = (c + 1) * DMX_REDUCE_CHUNK < n ? (c + 1) * DMX_REDUCE_CHUNK : n;
        for (int64_t i = c * DMX_REDUCE_CHUNK; i < end; i++)
            acc += (double)x[i] * (double)(y ? y[i] : x[i]);
#pragma omp ordered
        total += acc;
    }
    return total;
}

dmx_status dmx_cpu_dot(dmx_device *dev, const dmx_op_call *call)
{
    (void)dev;
    const dmx_p_reduce *p = call->params;
    dmx_cpu_f32(call, 2)[0] = (float)chunked_sum(dmx_cpu_f32(call, 0), dmx_cpu_f32(call, 1), p->n);
    return DMX_OK;
}

dmx_status dmx_cpu_norm2(dmx_device *dev, const dmx_op_call *call)
{
    (void)dev;
    const dmx_p_reduce *p = call->params;
    dmx_cpu_f32(call, 1)[0] = (float)sqrt(chunked_sum(dmx_cpu_f32(call, 0), NULL, p->n));
    return DMX_OK;
}
