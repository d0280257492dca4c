/* Fused multi-head attention on Vulkan (shaders/attention*.comp): one invocation per query
 * row forward, keys and values through shared-memory tiles; backward, the row sums do . o,
 * then dq per query row and dk, dv per key row, ordered by the recorder's barriers on stats. */
#include "core/error.h"
#include "ops/attention_tiling.h"
#include "vulkan/vk_ops.h"

/* Floats per shared-memory tile (TILE in shaders/attention.glsl); two tiles per shader. */
#define ATTN_TILE 2048

/* The shaders' push block: the op's parameters, then the tiling. */
typedef struct attention_push {
    dmx_p_attention p;
    int32_t group_rows, pairs, tile;
} attention_push;

/* A tiled pass: one workgroup per group_rows rows. */
static dmx_status run_tiled(dmx_vk_device *d, const char *shader, const dmx_vk_binding *b,
                            int n, const dmx_p_attention *p)
{
    const dmx_attention_tiling t = dmx_attention_tiling_of(p, DMX_VK_WG, ATTN_TILE);
    const attention_push push = {*p, t.group_rows, t.pairs, t.tile};
    const uint32_t spec[2] = {DMX_VK_WG, (uint32_t)p->head_dim}; /* HEAD_DIM: one pipeline each */
    return dmx_vk_dispatch(d, shader, spec, 2, b, n, &push, sizeof push, t.groups);
}

#define R DMX_VK_READ
#define W DMX_VK_WRITE
#define RW DMX_VK_READ_WRITE

/* The busiest invocation (dk, dv) walks seq keys with three head_dim loops each; lavapipe's
 * limiter stops an invocation after ~65535 loop trips. */
#define DMX_VK_ATTENTION_TRIPS 40000

static dmx_status check_shape(const dmx_vk_device *d, const dmx_p_attention *p)
{
    const uint64_t trips = (uint64_t)p->seq * (3u * (uint64_t)p->head_dim + 2u);
    if (d->loop_limit && trips > DMX_VK_ATTENTION_TRIPS)
        return dmx_fail(DMX_ERR_UNSUPPORTED,
                        "attention over %d keys of width %d exceeds this driver's loop limit "
                        "(lavapipe stops loops after ~65535 trips): compose it from matmul and "
                        "softmax instead", p->seq, p->head_dim);
    return DMX_OK;
}

static uint64_t rows_of(const dmx_p_attention *p)
{
    return (uint64_t)p->batch * (uint64_t)p->heads * (uint64_t)p->seq;
}

dmx_status dmx_vk_attention(dmx_vk_device *d, const dmx_op_call *call)
{
    const dmx_p_attention *p = call->params;
    DMX_TRY(check_shape(d, p));
    dmx_vk_binding b[6];
    for (int i = 0; i < 4; i++)
        b[i] = dmx_vk_arg(call, i, R);
    b[4] = dmx_vk_arg(call, 4, W);
    b[5] = dmx_vk_arg(call, 5, W);
    return run_tiled(d, "attention", b, 6, p);
}

dmx_status dmx_vk_attention_bwd(dmx_vk_device *d, const dmx_op_call *call)
{
    const dmx_p_attention *p = call->params;
    DMX_TRY(check_shape(d, p));
    const uint64_t rows = rows_of(p);
    const dmx_vk_binding delta[3] = {dmx_vk_arg(call, 4, R), dmx_vk_arg(call, 5, R),
                                     dmx_vk_arg(call, 6, RW)};
    const attention_push push = {.p = *p};
    DMX_TRY(dmx_vk_run_elements(d, "attention_delta", delta, 3, &push, sizeof push, rows));
    /* q, k, v, mask, do, stats, then the outputs */
    dmx_vk_binding b[8];
    for (int i = 0; i < 4; i++)
        b[i] = dmx_vk_arg(call, i, R);
    b[4] = dmx_vk_arg(call, 5, R);
    b[5] = dmx_vk_arg(call, 6, R);
    b[6] = dmx_vk_arg(call, 7, p->accumulate_q ? RW : W);
    DMX_TRY(run_tiled(d, "attention_bwd_q", b, 7, p));
    b[6] = dmx_vk_arg(call, 8, p->accumulate_k ? RW : W);
    b[7] = dmx_vk_arg(call, 9, p->accumulate_v ? RW : W);
    return run_tiled(d, "attention_bwd_kv", b, 8, p);
}
