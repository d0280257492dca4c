/* copy_strided: every permutation (transposes, butterfly gathers, patch unfold and fold, head
 * split and merge) as one invocation per element of the view. Views whose span passes
 * maxStorageBufferRange run in pieces along their outermost dimension. */
#include <string.h>

#include "core/error.h"
#include "vulkan/vk_ops.h"

#define DIMS DMX_MAX_DIMS_STRIDED

/* Highest element (+1) a view reaches from its start (strides are non-negative past the
 * dispatcher's checks, or the view is empty). */
static uint64_t view_span(const int32_t *shape, const int32_t *stride)
{
    uint64_t hi = 0;
    for (int k = 0; k < DIMS; k++) {
        if (shape[k] == 0)
            return 0;
        hi += (uint64_t)(shape[k] - 1) * (uint64_t)(stride[k] > 0 ? stride[k] : 0);
    }
    return hi + 1;
}

static uint64_t view_size(const int32_t *shape)
{
    uint64_t n = 1;
    for (int k = 0; k < DIMS; k++)
        n *= (uint64_t)shape[k];
    return n;
}

dmx_status dmx_vk_copy_strided(dmx_vk_device *d, const dmx_op_call *call)
{
    const dmx_p_copy_strided *p = call->params;
    /* Pad to six dimensions on the outside, as the CPU reference does. */
    dmx_p_copy_strided v = {.ndim = DIMS, .accumulate = p->accumulate};
    int pad = DIMS - p->ndim;
    for (int k = 0; k < DIMS; k++) {
        int in = k - pad;
        v.shape[k] = in >= 0 ? p->shape[in] : 1;
        v.src_stride[k] = in >= 0 ? p->src_stride[in] : 0;
        v.dst_stride[k] = in >= 0 ? p->dst_stride[in] : 0;
    }
    uint64_t total = view_size(v.shape);
    if (total == 0)
        return DMX_OK;
    if (total > UINT32_MAX)
        return dmx_fail(DMX_ERR_UNSUPPORTED, "copy_strided over %llu elements (at most 2^32)",
                        (unsigned long long)total);
    /* Pieces along the outermost dimension larger than 1, each small enough to bind. */
    int outer = 0;
    while (outer < DIMS - 1 && v.shape[outer] == 1)
        outer++;
    const int32_t size = v.shape[outer];
    const uint64_t limit = dmx_vk_max_elems(d);
    int32_t piece = size;
    while (piece > 1) {
        v.shape[outer] = piece;
        if (view_span(v.shape, v.src_stride) <= limit && view_span(v.shape, v.dst_stride) <= limit)
            break;
        piece = (piece + 1) / 2;
    }
    const int dst_access = p->accumulate ? DMX_VK_READ_WRITE : DMX_VK_WRITE;
    for (int32_t i0 = 0; i0 < size; i0 += piece) {
        v.shape[outer] = size - i0 < piece ? size - i0 : piece;
        dmx_vk_binding b[2] = {
            dmx_vk_part(dmx_vk_arg(call, 0, DMX_VK_READ),
                        (uint64_t)i0 * (uint64_t)v.src_stride[outer],
                        view_span(v.shape, v.src_stride)),
            dmx_vk_part(dmx_vk_arg(call, 1, dst_access),
                        (uint64_t)i0 * (uint64_t)v.dst_stride[outer],
                        view_span(v.shape, v.dst_stride)),
        };
        DMX_TRY(dmx_vk_run_elements(d, "copy_strided", b, 2, &v, sizeof v, view_size(v.shape)));
    }
    return DMX_OK;
}
