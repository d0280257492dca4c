/* LayerNorm and softmax front door. */
#include <string.h>

#include "ops/front.h"

/* ---- layernorm ---- */

static dmx_status layernorm_backward(dmx_ctx *ctx, const dmx_tape_entry *e)
{
    dmx_tensor *x = e->t[0], *gamma = e->t[1], *beta = e->t[2], *y = e->t[3];
    dmx_tensor *mean = e->t[4], *rstd = e->t[5];
    dmx_p_layernorm p;
    memcpy(&p, e->params.bytes, sizeof p);
    if (!y->grad)
        return DMX_OK;
    dmx_tensor *dx = NULL, *dgamma = NULL, *dbeta = NULL;
    int acc = 0;
    DMX_TRY(dmx_grad_of(ctx, x, &dx, &acc));
    DMX_TRY(dmx_grad_of_zeroed(ctx, gamma, &dgamma));
    DMX_TRY(dmx_grad_of_zeroed(ctx, beta, &dbeta));
    if (!dx && !dgamma && !dbeta)
        return DMX_OK;
    /* The op writes all three; targets nobody needs are scratch. */
    if (!dx)
        DMX_TRY(dmx_scratch_like(ctx, x, &dx));
    if (!dgamma)
        DMX_TRY(dmx_scratch_like(ctx, gamma, &dgamma));
    if (!dbeta)
        DMX_TRY(dmx_scratch_like(ctx, beta, &dbeta));
    p.accumulate = acc;
    return DMX_RUN(ctx, DMX_OP_LAYERNORM_BWD, &p, dmx_arg_of(y->grad), dmx_arg_of(x),
                   dmx_arg_of(gamma), dmx_arg_of(mean), dmx_arg_of(rstd), dmx_arg_of(dx),
                   dmx_arg_of(dgamma), dmx_arg_of(dbeta));
}

dmx_status dmx_layernorm(dmx_ctx *ctx, dmx_tensor *x, dmx_tensor *gamma, dmx_tensor *beta,
                         float eps, dmx_tensor **y)
{
    const char *op = "layernorm";
    DMX_TRY(dmx_check_tensor(ctx, x, DMX_F32, op, "x"));
    if (x->ndim < 1 || x->shape[x->ndim - 1] == 0)
        return dmx_fail(DMX_ERR_SHAPE, "layernorm: %s needs a non-empty last axis", x->name);
    int64_t cols = x->shape[x->ndim - 1], rows = dmx_tensor_numel(x) / cols;
    DMX_TRY(dmx_check_numel(ctx, gamma, DMX_F32, cols, op, "gamma"));
    DMX_TRY(dmx_check_numel(ctx, beta, DMX_F32, cols, op, "beta"));
    if (!(eps > 0.0f))
        return dmx_fail(DMX_ERR_INVALID_ARG, "layernorm: eps %g must be positive", (double)eps);
    bool track = dmx_requires_grad(ctx, x) || dmx_requires_grad(ctx, gamma) ||
                 dmx_requires_grad(ctx, beta);
    dmx_tensor *mean = NULL, *rstd = NULL;
    DMX_TRY(dmx_new_output(ctx, x->ndim, x->shape, op, track, y));
    DMX_TRY(dmx_tensor_new(ctx, DMX_F32, 1, &rows, "layernorm.mean", &mean));
    DMX_TRY(dmx_tensor_new(ctx, DMX_F32, 1, &rows, "layernorm.rstd", &rstd));
    dmx_p_layernorm p = {.rows = (int32_t)rows, .cols = (int32_t)cols, .eps = eps};
    DMX_TRY(DMX_RUN(ctx, DMX_OP_LAYERNORM, &p, dmx_arg_of(x), dmx_arg_of(gamma), dmx_arg_of(beta),
                    dmx_arg_of(*y), dmx_arg_of(mean), dmx_arg_of(rstd)));
    dmx_tensor *saved[6] = {x, gamma, beta, *y, mean, rstd};
    return track ? dmx_tape_record(ctx, op, layernorm_backward, saved, 6, &p, sizeof p) : DMX_OK;
}

/* ---- softmax ---- */

static dmx_status softmax_backward(dmx_ctx *ctx, const dmx_tape_entry *e)
{
    dmx_tensor *x = e->t[0], *y = e->t[1];
    dmx_p_softmax p;
    memcpy(&p, e->params.bytes, sizeof p);
    dmx_tensor *dx = NULL;
    int acc = 0;
    if (!y->grad)
        return DMX_OK;
    DMX_TRY(dmx_grad_of(ctx, x, &dx, &acc));
    if (!dx)
        return DMX_OK;
    p.accumulate = acc;
    return DMX_RUN(ctx, DMX_OP_SOFTMAX_BWD, &p, dmx_arg_of(y), dmx_arg_of(y->grad), dmx_arg_of(dx));
}

dmx_status dmx_softmax(dmx_ctx *ctx, dmx_tensor *x, dmx_tensor *mask, float scale,
                       int64_t mask_group, dmx_tensor **y)
{
    const char *op = "softmax";
    DMX_TRY(dmx_check_tensor(ctx, x, DMX_F32, op, "x"));
    if (x->ndim < 1 || x->shape[x->ndim - 1] == 0)
        return dmx_fail(DMX_ERR_SHAPE, "softmax: %s needs a non-empty last axis", x->name);
    int64_t cols = x->shape[x->ndim - 1], rows = dmx_tensor_numel(x) / cols;
    if (mask) {
        if (mask_group <= 0 || rows % mask_group != 0)
            return dmx_fail(DMX_ERR_SHAPE, "softmax: %lld rows of %s do not split into mask "
                            "groups of %lld", (long long)rows, x->name, (long long)mask_group);
        DMX_TRY(dmx_check_numel(ctx, mask, DMX_F32, rows / mask_group * cols, op, "mask"));
    }
    bool track = dmx_requires_grad(ctx, x);
    DMX_TRY(dmx_new_output(ctx, x->ndim, x->shape, op, track, y));
    dmx_p_softmax p = {.rows = (int32_t)rows, .cols = (int32_t)cols, .scale = scale,
                       .has_mask = mask != NULL, .mask_group = mask ? (int32_t)mask_group : 1};
    DMX_TRY(DMX_RUN(ctx, DMX_OP_SOFTMAX, &p, dmx_arg_of(x), dmx_arg_of(mask), dmx_arg_of(*y)));
    dmx_tensor *saved[2] = {x, *y};
    return track ? dmx_tape_record(ctx, op, softmax_backward, saved, 2, &p, sizeof p) : DMX_OK;
}
