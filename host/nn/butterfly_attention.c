/* Butterfly attention (SPEC section 4, papers.md 1.4): the stage-i groups of radix a along the
 * sequence become a batch of short sequences [B * S/a, a, D] (one strided gather), one
 * transformer block with shared weights runs on them, and a second gather puts every token
 * back in place. Gradients flow back through both gathers as scatters. */
#include <stdio.h>

#include "core/error.h"
#include "nn/nn_internal.h"

dmx_status dmx_butterfly_attention_init(dmx_params *ps, const char *prefix,
                                        const dmx_block_config *cfg, int64_t radix, int stage,
                                        dmx_nn_butterfly_attention *m)
{
    if (!m || radix < 2 || stage < 0)
        return dmx_fail(DMX_ERR_INVALID_ARG, "butterfly attention %s: radix %lld, stage %d (or "
                        "NULL module)", prefix ? prefix : "", (long long)radix, stage);
    *m = (dmx_nn_butterfly_attention){.radix = radix, .stage = stage};
    return dmx_transformer_block_init(ps, prefix, cfg, &m->block);
}

/* x [B, S, D] (D = 1 for the mask) -> [B * J * s, a, D]: group g = j*s + r of batch b holds
 * tokens j*a*s + d*s + r, d = 0..a-1. */
static dmx_status gather_groups(dmx_ctx *ctx, dmx_tensor *x, int64_t B, int64_t S, int64_t D,
                                int64_t a, int64_t s, dmx_tensor **out)
{
    const int64_t J = S / (a * s);
    const int64_t shape[5] = {B, J, s, a, D};
    const int64_t stride[5] = {S * D, a * s * D, D, s * D, 1};
    const int64_t grouped[3] = {B * J * s, a, D};
    dmx_tensor *g = NULL;
    DMX_TRY(dmx_gather_view(ctx, x, 5, shape, stride, 0, &g));
    return dmx_reshape(ctx, g, D == 1 ? 2 : 3, grouped, out);
}

/* The inverse: [B * J * s, a, D] -> [B, S, D]. */
static dmx_status scatter_groups(dmx_ctx *ctx, dmx_tensor *y, int64_t B, int64_t S, int64_t D,
                                 int64_t a, int64_t s, dmx_tensor **out)
{
    const int64_t J = S / (a * s);
    const int64_t shape[5] = {B, J, a, s, D};
    const int64_t stride[5] = {J * s * a * D, s * a * D, D, a * D, 1};
    const int64_t seq[3] = {B, S, D};
    dmx_tensor *g = NULL;
    DMX_TRY(dmx_gather_view(ctx, y, 5, shape, stride, 0, &g));
    return dmx_reshape(ctx, g, 3, seq, out);
}

dmx_status dmx_butterfly_attention_forward(dmx_ctx *ctx, const dmx_nn_butterfly_attention *m,
                                           dmx_tensor *x, dmx_tensor *mask, dmx_tensor **y)
{
    if (!m || !x)
        return dmx_fail(DMX_ERR_INVALID_ARG, "butterfly attention: NULL module or x");
    char s_[96];
    if (x->ndim != 3)
        return dmx_fail(DMX_ERR_SHAPE, "butterfly attention %s: x (%s) of shape %s must be "
                        "[B, S, D]", m->block.attn.q.name, x->name,
                        dmx_shape_str(x, s_, sizeof s_));
    const int64_t B = x->shape[0], S = x->shape[1], D = x->shape[2], a = m->radix;
    int64_t s = 0;
    dmx_status st = dmx_butterfly_stride(S, a, m->stage, &s);
    if (st != DMX_OK)
        return dmx_fail_context(st, "butterfly attention %s on x of shape %s: ",
                                m->block.attn.q.name, dmx_shape_str(x, s_, sizeof s_));
    if (mask && dmx_tensor_numel(mask) != B * S)
        return dmx_fail(DMX_ERR_SHAPE, "butterfly attention %s: key mask (%s) has %lld elements,"
                        " x of shape %s needs [B, S] = %lld", m->block.attn.q.name, mask->name,
                        (long long)dmx_tensor_numel(mask), dmx_shape_str(x, s_, sizeof s_),
                        (long long)(B * S));
    dmx_tensor *xg = NULL, *mg = NULL, *yg = NULL;
    DMX_TRY(gather_groups(ctx, x, B, S, D, a, s, &xg));
    if (mask)
        DMX_TRY(gather_groups(ctx, mask, B, S, 1, a, s, &mg));
    DMX_TRY(dmx_transformer_block_forward(ctx, &m->block, xg, mg, &yg));
    return scatter_groups(ctx, yg, B, S, D, a, s, y);
}
