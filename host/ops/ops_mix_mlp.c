/* mix_mlp: one butterfly-MLP stage, mix_linear -> GELU -> mix_linear on one view, as one op.
 * Only x and y are stored; the backward recomputes the hidden activation from x, so a stage
 * costs the memory of its input instead of three tensors of e times its size. */
#include <string.h>

#include "ops/front.h"

static dmx_status mix_mlp_backward(dmx_ctx *ctx, const dmx_tape_entry *e)
{
    dmx_tensor *x = e->t[0], *w1 = e->t[1], *b1 = e->t[2], *w2 = e->t[3], *b2 = e->t[4];
    dmx_tensor *y = e->t[5];
    dmx_p_mix_mlp p;
    memcpy(&p, e->params.bytes, sizeof p);
    if (!y->grad)
        return DMX_OK;
    dmx_tensor *dx = NULL, *g[4] = {NULL, NULL, NULL, NULL};
    int acc = 0;
    DMX_TRY(dmx_grad_of(ctx, x, &dx, &acc));
    dmx_tensor *params[4] = {w1, b1, w2, b2};
    bool any = dx != NULL;
    for (int i = 0; i < 4; i++) {
        DMX_TRY(dmx_grad_of_zeroed(ctx, params[i], &g[i]));
        any = any || g[i];
    }
    if (!any)
        return DMX_OK;
    /* The op writes every gradient; those nobody needs get scratch targets. */
    if (!dx) {
        DMX_TRY(dmx_scratch_like(ctx, x, &dx));
        acc = 0;
    }
    for (int i = 0; i < 4; i++)
        if (!g[i])
            DMX_TRY(dmx_scratch_like(ctx, params[i], &g[i]));
    p.accumulate = acc;
    return DMX_RUN(ctx, DMX_OP_MIX_MLP_BWD, &p, dmx_arg_of(y->grad), dmx_arg_of(x),
                   dmx_arg_of(w1), dmx_arg_of(b1), dmx_arg_of(w2), dmx_arg_of(dx),
                   dmx_arg_of(g[0]), dmx_arg_of(g[1]), dmx_arg_of(g[2]), dmx_arg_of(g[3]));
}

dmx_status dmx_mix_mlp(dmx_ctx *ctx, dmx_tensor *x, dmx_tensor *w1, dmx_tensor *b1,
                       dmx_tensor *w2, dmx_tensor *b2, int64_t M, int64_t J, int64_t Din,
                       int64_t R1, int64_t R2, dmx_tensor **y)
{
    const char *op = "mix_mlp";
    DMX_TRY(dmx_check_tensor(ctx, x, DMX_F32, op, "x"));
    DMX_TRY(dmx_check_tensor(ctx, w1, DMX_F32, op, "w1"));
    DMX_TRY(dmx_check_tensor(ctx, b1, DMX_F32, op, "b1"));
    DMX_TRY(dmx_check_tensor(ctx, w2, DMX_F32, op, "w2"));
    DMX_TRY(dmx_check_tensor(ctx, b2, DMX_F32, op, "b2"));
    if (!y)
        return dmx_fail(DMX_ERR_INVALID_ARG, "%s: output pointer is NULL", op);
    const int64_t v[5] = {M, J, Din, R1, R2};
    for (int k = 0; k < 5; k++)
        if (v[k] <= 0 || v[k] > INT32_MAX)
            return dmx_fail(DMX_ERR_SHAPE, "%s of %s: view [M=%lld, J=%lld, Din=%lld, R1=%lld, "
                            "R2=%lld] has a size out of [1, 2^31)", op, x->name, (long long)M,
                            (long long)J, (long long)Din, (long long)R1, (long long)R2);
    char s[96];
    if (M * J * Din * R1 * R2 != dmx_tensor_numel(x))
        return dmx_fail(DMX_ERR_SHAPE, "%s: x (%s) of shape %s has %lld elements, the view "
                        "[M=%lld, J=%lld, Din=%lld, R1=%lld, R2=%lld] needs %lld", op, x->name,
                        dmx_shape_str(x, s, sizeof s), (long long)dmx_tensor_numel(x), (long long)M,
                        (long long)J, (long long)Din, (long long)R1, (long long)R2,
                        (long long)(M * J * Din * R1 * R2));
    const int64_t G = J * R1;
    if (dmx_tensor_numel(w1) % (G * Din) != 0)
        return dmx_fail(DMX_ERR_SHAPE, "%s: w1 (%s) of shape %s is not [J=%lld, R1=%lld, Dh, "
                        "Din=%lld]", op, w1->name, dmx_shape_str(w1, s, sizeof s), (long long)J,
                        (long long)R1, (long long)Din);
    const int64_t Dh = dmx_tensor_numel(w1) / (G * Din);
    DMX_TRY(dmx_check_numel(ctx, b1, DMX_F32, G * Dh, op, "b1"));
    if (dmx_tensor_numel(w2) % (G * Dh) != 0)
        return dmx_fail(DMX_ERR_SHAPE, "%s: w2 (%s) of shape %s is not [J=%lld, R1=%lld, Dout, "
                        "Dh=%lld]", op, w2->name, dmx_shape_str(w2, s, sizeof s), (long long)J,
                        (long long)R1, (long long)Dh);
    const int64_t Dout = dmx_tensor_numel(w2) / (G * Dh);
    DMX_TRY(dmx_check_numel(ctx, b2, DMX_F32, G * Dout, op, "b2"));
    const int64_t shape[5] = {M, J, Dout, R1, R2};
    bool track = dmx_requires_grad(ctx, x) || dmx_requires_grad(ctx, w1) ||
                 dmx_requires_grad(ctx, b1) || dmx_requires_grad(ctx, w2) ||
                 dmx_requires_grad(ctx, b2);
    DMX_TRY(dmx_new_output(ctx, 5, shape, op, track, y));
    dmx_p_mix_mlp p = {.M = (int32_t)M, .J = (int32_t)J, .Din = (int32_t)Din, .Dh = (int32_t)Dh,
                       .Dout = (int32_t)Dout, .R1 = (int32_t)R1, .R2 = (int32_t)R2};
    DMX_TRY(DMX_RUN(ctx, DMX_OP_MIX_MLP, &p, dmx_arg_of(x), dmx_arg_of(w1), dmx_arg_of(b1),
                    dmx_arg_of(w2), dmx_arg_of(b2), dmx_arg_of(*y)));
    if (!track)
        return DMX_OK;
    dmx_tensor *saved[6] = {x, w1, b1, w2, b2, *y};
    return dmx_tape_record(ctx, op, mix_mlp_backward, saved, 6, &p, sizeof p);
}
