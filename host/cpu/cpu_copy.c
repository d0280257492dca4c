/* copy_strided on the CPU: every permutation (transpose, butterfly gather, patch unfold). */
#include "cpu/cpu_kernels.h"

dmx_status dmx_cpu_copy_strided(dmx_device *dev, const dmx_op_call *call)
{
    (void)dev;
    const dmx_p_copy_strided *p = call->params;
    const uint32_t *src = (const uint32_t *)dmx_cpu_i32(call, 0);
    uint32_t *dst = (uint32_t *)dmx_cpu_i32(call, 1);
    int64_t shape[DMX_MAX_DIMS_STRIDED], ss[DMX_MAX_DIMS_STRIDED], ds[DMX_MAX_DIMS_STRIDED];
    /* Pad to 6 dimensions on the outside so one loop nest covers every rank. */
    int pad = DMX_MAX_DIMS_STRIDED - p->ndim;
    for (int k = 0; k < DMX_MAX_DIMS_STRIDED; k++) {
        int in = k - pad;
        shape[k] = in >= 0 ? p->shape[in] : 1;
        ss[k] = in >= 0 ? p->src_stride[in] : 0;
        ds[k] = in >= 0 ? p->dst_stride[in] : 0;
    }
    const int64_t outer = shape[0] * shape[1] * shape[2];
    const int64_t total = outer * shape[3] * shape[4] * shape[5];
#pragma omp parallel for schedule(static) if (DMX_CPU_PARALLEL(total))
    for (int64_t o = 0; o < outer; o++) {
        int64_t i0 = o / (shape[1] * shape[2]), i1 = (o / shape[2]) % shape[1], i2 = o % shape[2];
        int64_t sb = i0 * ss[0] + i1 * ss[1] + i2 * ss[2];
        int64_t db = i0 * ds[0] + i1 * ds[1] + i2 * ds[2];
        for (int64_t i3 = 0; i3 < shape[3]; i3++)
            for (int64_t i4 = 0; i4 < shape[4]; i4++)
                for (int64_t i5 = 0; i5 < shape[5]; i5++) {
                    int64_t s = sb + i3 * ss[3] + i4 * ss[4] + i5 * ss[5];
                    int64_t d = db + i3 * ds[3] + i4 * ds[4] + i5 * ds[5];
                    if (p->accumulate) {
                        float *df = (float *)&dst[d];
                        *df += *(const float *)&src[s];
                    } else {
                        dst[d] = src[s];
                    }
                }
    }
    return DMX_OK;
}
