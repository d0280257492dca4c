/* mix_mlp (one butterfly-MLP stage, fused) on Vulkan, forward and backward (shaders
 * mix_mlp*.comp). lavapipe stops an invocation after about 65535 loop trips, so the host
 * splits each op into dispatches that keep every invocation near MAX_TRIPS: the forward and dx
 * over ranges of hidden units (later ranges add to what the first wrote), the weight
 * gradients over slices of rows m. The slices also give the weight gradients parallelism
 * (one invocation per group and hidden unit is only tens to hundreds): each slice sums its
 * rows into partial sums that reduce_slices then adds in slice order. */
#include "core/error.h"
#include "vulkan/vk_ops.h"

#define MAX_TRIPS 16384

typedef struct mlp_push {
    dmx_p_mix_mlp p;
    uint32_t begin, end, overwrite, slice_rows, slices, part_stride;
} mlp_push;

/* Every argument must fit one binding; the op's shape must fit one invocation's trip budget
 * at the finest split (one hidden unit, or one row m). */
static dmx_status check(const dmx_vk_device *d, const dmx_op_call *call, int n_args,
                        uint64_t finest_trips)
{
    const dmx_p_mix_mlp *p = call->params;
    for (int i = 0; i < n_args; i++)
        if (call->args[i].count > dmx_vk_max_elems(d))
            return dmx_fail(DMX_ERR_UNSUPPORTED, "argument %d (%zu elements) is larger than one "
                            "storage-buffer binding of this device (%zu elements)", i,
                            call->args[i].count, dmx_vk_max_elems(d));
    if (finest_trips > 4 * MAX_TRIPS || (uint64_t)p->M * p->J * p->R1 * p->R2 * p->Dh > UINT32_MAX)
        return dmx_fail(DMX_ERR_UNSUPPORTED, "the view [M %d, J %d, Din %d, Dh %d, Dout %d, R1 %d, "
                        "R2 %d] is too large for one shader invocation's loop budget", p->M, p->J,
                        p->Din, p->Dh, p->Dout, p->R1, p->R2);
    return DMX_OK;
}

static uint32_t piece(uint64_t trips_each)
{
    const uint64_t n = MAX_TRIPS / (trips_each ? trips_each : 1);
    return n ? (uint32_t)n : 1u;
}

static dmx_status run(dmx_vk_device *d, const char *shader, const dmx_vk_binding *b, int n,
                      const mlp_push *push, uint64_t invocations)
{
    const uint32_t spec[1] = {DMX_VK_WG};
    return dmx_vk_dispatch(d, shader, spec, 1, b, n, push, sizeof *push,
                           dmx_vk_ceil_div(invocations, DMX_VK_WG));
}

/* Invocations a weight-gradient dispatch aims for (one per (slice, group, hidden unit)), the
 * most slices one dispatch writes partial sums for, and the scratch they may take (floats). */
#define TARGET_INVOCATIONS 8192u
#define MAX_SLICES 64u
#define MAX_PART_FLOATS (16u << 20)

/* One weight-gradient shader over every row m: rows in slices of at most `max_rows` (the loop
 * budget), as many slices as fill the device (bounded by MAX_SLICES and the scratch), each
 * dispatch's slices written as partial sums and added into the gradients (bindings n_b - 2 and
 * n_b - 1 of b: weights, then bias) in slice order. One slice writes the gradients directly. */
static dmx_status weight_grads(dmx_vk_device *d, const char *shader, dmx_vk_binding *b, int n_b,
                               const dmx_p_mix_mlp *p, uint64_t units, uint32_t max_rows,
                               uint64_t n_w, uint64_t n_c)
{
    if (p->M <= 0 || units == 0)
        return DMX_OK;
    const uint64_t stride = n_w + n_c;
    uint64_t slices = dmx_vk_ceil_div(TARGET_INVOCATIONS, units);
    slices = slices > MAX_SLICES ? MAX_SLICES : slices;
    if (slices * stride > MAX_PART_FLOATS)
        slices = MAX_PART_FLOATS / stride ? MAX_PART_FLOATS / stride : 1;
    uint64_t rows = dmx_vk_ceil_div((uint64_t)p->M, slices);
    rows = rows > max_rows ? max_rows : rows;
    const uint64_t per_dispatch = rows * slices;
    dmx_vk_buffer *scratch = NULL;
    if (slices > 1)
        DMX_TRY(dmx_vk_scratch(d, (size_t)(slices * stride) * 4, &scratch));
    for (uint64_t m0 = 0; m0 < (uint64_t)p->M; m0 += per_dispatch) {
        const uint64_t m1 = m0 + per_dispatch < (uint64_t)p->M ? m0 + per_dispatch : (uint64_t)p->M;
        const uint32_t here = (uint32_t)dmx_vk_ceil_div(m1 - m0, rows);
        mlp_push push = {.p = *p, .begin = (uint32_t)m0, .end = (uint32_t)m1,
                         .slice_rows = (uint32_t)rows, .slices = here,
                         .part_stride = (uint32_t)stride};
        b[n_b] = (dmx_vk_binding){here > 1 ? scratch : NULL, 0, here > 1 ? (size_t)(here * stride) : 0,
                                  DMX_VK_WRITE};
        DMX_TRY(run(d, shader, b, n_b + 1, &push, units * here));
        if (here > 1) {
            DMX_TRY(dmx_vk_add_slices(d, scratch, 0, (size_t)stride, here, b[n_b - 2], (size_t)n_w));
            DMX_TRY(dmx_vk_add_slices(d, scratch, (size_t)n_w, (size_t)stride, here, b[n_b - 1],
                                      (size_t)n_c));
        }
    }
    return DMX_OK;
}

dmx_status dmx_vk_mix_mlp(dmx_vk_device *d, const dmx_op_call *call)
{
    const dmx_p_mix_mlp *p = call->params;
    const uint64_t per_h = (uint64_t)p->Din + p->Dout;
    DMX_TRY(check(d, call, 6, per_h + p->Dout));
    const uint64_t rows = (uint64_t)p->M * p->J * p->R1 * p->R2;
    const uint32_t step = piece(per_h);
    dmx_vk_binding b[6];
    for (int i = 0; i < 5; i++)
        b[i] = dmx_vk_arg(call, i, DMX_VK_READ);
    b[5] = dmx_vk_arg(call, 5, DMX_VK_READ_WRITE);
    for (uint32_t h0 = 0; h0 == 0 || h0 < (uint32_t)p->Dh; h0 += step) {
        mlp_push push = {.p = *p, .begin = h0};
        push.end = h0 + step < (uint32_t)p->Dh ? h0 + step : (uint32_t)p->Dh;
        DMX_TRY(run(d, "mix_mlp", b, 6, &push, rows));
    }
    return DMX_OK;
}

dmx_status dmx_vk_mix_mlp_bwd(dmx_vk_device *d, const dmx_op_call *call)
{
    const dmx_p_mix_mlp *p = call->params;
    const uint64_t per_h = 2 * (uint64_t)p->Din + p->Dout;
    const uint64_t per_m1 = (uint64_t)p->R2 * (2 * (uint64_t)p->Din + p->Dout);
    const uint64_t per_m2 = (uint64_t)p->R2 * ((uint64_t)p->Din + 2 * (uint64_t)p->Dout);
    uint64_t finest = per_h + p->Din;
    finest = per_m1 > finest ? per_m1 : finest;
    finest = per_m2 > finest ? per_m2 : finest;
    DMX_TRY(check(d, call, 10, finest));
    const uint64_t rows = (uint64_t)p->M * p->J * p->R1 * p->R2;
    const uint64_t units = (uint64_t)p->J * p->R1 * p->Dh;
    dmx_vk_binding b[8];
    for (int i = 0; i < 5; i++)
        b[i] = dmx_vk_arg(call, i, DMX_VK_READ);
    /* dx: dy, x, W1, c1, W2, dx over ranges of h */
    b[5] = dmx_vk_arg(call, 5, DMX_VK_READ_WRITE);
    const uint32_t hstep = piece(per_h);
    for (uint32_t h0 = 0; h0 == 0 || h0 < (uint32_t)p->Dh; h0 += hstep) {
        mlp_push push = {.p = *p, .begin = h0, .overwrite = h0 == 0 && !p->accumulate};
        push.end = h0 + hstep < (uint32_t)p->Dh ? h0 + hstep : (uint32_t)p->Dh;
        DMX_TRY(run(d, "mix_mlp_bwd_x", b, 6, &push, rows));
    }
    /* dW1, dc1 (dy, x, W1, c1, W2, dW1, dc1, part), then dW2, dc2 (dy, x, W1, c1, dW2, dc2,
     * part), over slices of rows */
    const uint64_t G = (uint64_t)p->J * p->R1;
    b[5] = dmx_vk_arg(call, 6, DMX_VK_READ_WRITE);
    b[6] = dmx_vk_arg(call, 7, DMX_VK_READ_WRITE);
    DMX_TRY(weight_grads(d, "mix_mlp_bwd_w1", b, 7, p, units, piece(per_m1),
                         G * p->Dh * p->Din, G * p->Dh));
    b[4] = dmx_vk_arg(call, 8, DMX_VK_READ_WRITE);
    b[5] = dmx_vk_arg(call, 9, DMX_VK_READ_WRITE);
    DMX_TRY(weight_grads(d, "mix_mlp_bwd_w2", b, 6, p, units, piece(per_m2),
                         G * p->Dout * p->Dh, G * p->Dout));
    return DMX_OK;
}
