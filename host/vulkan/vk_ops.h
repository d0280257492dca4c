/* Helpers shared by the op files (vk_ops_*.c). */
#ifndef DMX_VK_OPS_H
#define DMX_VK_OPS_H

#include "vulkan/vk_internal.h"

#define DMX_VK_WG 256 /* the workgroup size of every shader (specialization constant 0) */

/* Argument i of the call as a binding with the given access. */
static inline dmx_vk_binding dmx_vk_arg(const dmx_op_call *call, int i, int access)
{
    const dmx_arg *a = &call->args[i];
    return (dmx_vk_binding){dmx_vk_buffer_of(a->buf), a->offset, a->count, access};
}

/* The part of a binding covering elements [begin, begin + count) of the argument. */
static inline dmx_vk_binding dmx_vk_part(dmx_vk_binding b, size_t begin, size_t count)
{
    b.offset += begin;
    b.count = count;
    return b;
}

static inline uint64_t dmx_vk_ceil_div(uint64_t a, uint64_t b) { return (a + b - 1) / b; }

/* The most elements one binding may span wherever it starts (maxStorageBufferRange). */
static inline size_t dmx_vk_max_elems(const dmx_vk_device *d)
{
    return (size_t)((d->max_range - d->offset_align) / 4);
}

/* Dispatches `shader` with one invocation per element for `n` elements (workgroups of 256). */
dmx_status dmx_vk_run_elements(dmx_vk_device *d, const char *shader, const dmx_vk_binding *b,
                               int n_bindings, const void *params, size_t params_bytes,
                               uint64_t n);

/* An elementwise op over n elements in which every argument has n elements: run in pieces that
 * each fit maxStorageBufferRange. `params` (edited in place) holds n as an int32 at word
 * `n_word`; when base_word >= 0, the uint32 at that word advances with each piece's start
 * (dropout's counter offset). */
dmx_status dmx_vk_run_flat(dmx_vk_device *d, const char *shader, const dmx_op_call *call,
                           const int *access, int n_args, void *params, size_t params_bytes,
                           int n_word, int base_word);

/* LAYERNORM_BWD's second half: dgamma and dbeta (vk_ops_reduce.c). */
dmx_status dmx_vk_layernorm_bwd_params(dmx_vk_device *d, const dmx_op_call *call);

/* Adds part[s * stride + i] over s < slices, in slice order, into out[i] (+=), for i < n
 * (reduce_slices.comp; vk_ops_linear.c). */
dmx_status dmx_vk_add_slices(dmx_vk_device *d, dmx_vk_buffer *scratch, size_t part_at,
                             size_t stride, uint32_t slices, dmx_vk_binding out, size_t n);

/* One function per device operator (host/ops/ops.def), called with the device lock held. */
#define DMX_OP(id, name, n_in, n_out, opt, ptype) \
    dmx_status dmx_vk_##name(dmx_vk_device *d, const dmx_op_call *call);
#include "ops/ops.def"
#undef DMX_OP

#endif
