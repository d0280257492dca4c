/* Fused multi-head attention front door (ATTENTION, ATTENTION_BWD in op_params.h). */
#include <string.h>

#include "ops/front.h"

static dmx_status attention_backward(dmx_ctx *ctx, const dmx_tape_entry *e)
{
    dmx_tensor *q = e->t[0], *k = e->t[1], *v = e->t[2], *mask = e->t[3], *y = e->t[4];
    dmx_tensor *stats = e->t[5];
    dmx_p_attention p;
    memcpy(&p, e->params.bytes, sizeof p);
    if (!y->grad)
        return DMX_OK;
    dmx_tensor *dq = NULL, *dk = NULL, *dv = NULL;
    int acc_q = 0, acc_k = 0, acc_v = 0;
    DMX_TRY(dmx_grad_of(ctx, q, &dq, &acc_q));
    DMX_TRY(dmx_grad_of(ctx, k, &dk, &acc_k));
    DMX_TRY(dmx_grad_of(ctx, v, &dv, &acc_v));
    if (!dq && !dk && !dv)
        return DMX_OK;
    /* The op writes all three; targets nobody needs are scratch. */
    if (!dq)
        DMX_TRY(dmx_scratch_like(ctx, q, &dq));
    if (!dk)
        DMX_TRY(dmx_scratch_like(ctx, k, &dk));
    if (!dv)
        DMX_TRY(dmx_scratch_like(ctx, v, &dv));
    p.accumulate_q = acc_q, p.accumulate_k = acc_k, p.accumulate_v = acc_v;
    return DMX_RUN(ctx, DMX_OP_ATTENTION_BWD, &p, dmx_arg_of(q), dmx_arg_of(k), dmx_arg_of(v),
                   dmx_arg_of(mask), dmx_arg_of(y), dmx_arg_of(y->grad), dmx_arg_of(stats),
                   dmx_arg_of(dq), dmx_arg_of(dk), dmx_arg_of(dv));
}

dmx_status dmx_attention_fused(dmx_ctx *ctx, dmx_tensor *q, dmx_tensor *k, dmx_tensor *v,
                               dmx_tensor *mask, int64_t heads, float scale, dmx_tensor **y)
{
    const char *op = "attention_fused";
    DMX_TRY(dmx_check_tensor(ctx, q, DMX_F32, op, "q"));
    char s[96];
    if (q->ndim != 3 || heads < 1 || q->shape[2] % heads != 0)
        return dmx_fail(DMX_ERR_SHAPE, "attention_fused: q (%s) of shape %s must be [B, S, "
                        "heads * d] with %lld heads", q->name, dmx_shape_str(q, s, sizeof s),
                        (long long)heads);
    const int64_t B = q->shape[0], S = q->shape[1], D = q->shape[2], dh = D / heads;
    if (dh > DMX_ATTENTION_MAX_HEAD_DIM)
        return dmx_fail(DMX_ERR_UNSUPPORTED, "attention_fused: head width %lld exceeds %d "
                        "(compose the attention from matmul and softmax instead)",
                        (long long)dh, DMX_ATTENTION_MAX_HEAD_DIM);
    DMX_TRY(dmx_check_numel(ctx, k, DMX_F32, B * S * D, op, "k"));
    DMX_TRY(dmx_check_numel(ctx, v, DMX_F32, B * S * D, op, "v"));
    if (mask)
        DMX_TRY(dmx_check_numel(ctx, mask, DMX_F32, B * S, op, "mask"));
    const bool track = dmx_requires_grad(ctx, q) || dmx_requires_grad(ctx, k) ||
                       dmx_requires_grad(ctx, v);
    const int64_t stats_shape[4] = {B, heads, S, 2};
    dmx_tensor *stats = NULL;
    DMX_TRY(dmx_new_output(ctx, 3, q->shape, op, track, y));
    DMX_TRY(dmx_tensor_new(ctx, DMX_F32, 4, stats_shape, "attention.stats", &stats));
    dmx_p_attention p = {.batch = (int32_t)B, .seq = (int32_t)S, .heads = (int32_t)heads,
                         .head_dim = (int32_t)dh, .scale = scale, .has_mask = mask != NULL};
    DMX_TRY(DMX_RUN(ctx, DMX_OP_ATTENTION, &p, dmx_arg_of(q), dmx_arg_of(k), dmx_arg_of(v),
                    dmx_arg_of(mask), dmx_arg_of(*y), dmx_arg_of(stats)));
    dmx_tensor *saved[6] = {q, k, v, mask, *y, stats};
    return track ? dmx_tape_record(ctx, op, attention_backward, saved, 6, &p, sizeof p) : DMX_OK;
}
