/* Cross-entropy and embedding front door. */
#include <string.h>

#include "ops/front.h"

/* ---- cross_entropy ---- */

static dmx_status cross_entropy_backward(dmx_ctx *ctx, const dmx_tape_entry *e)
{
    dmx_tensor *logits = e->t[0], *labels = e->t[1], *loss = e->t[2];
    dmx_p_cross_entropy p;
    memcpy(&p, e->params.bytes, sizeof p);
    dmx_tensor *dz = NULL;
    int acc = 0;
    if (!loss->grad)
        return DMX_OK;
    DMX_TRY(dmx_grad_of(ctx, logits, &dz, &acc));
    if (!dz)
        return DMX_OK;
    p.accumulate = acc;
    return DMX_RUN(ctx, DMX_OP_CROSS_ENTROPY_BWD, &p, dmx_arg_of(logits), dmx_arg_of(labels),
                   dmx_arg_of(loss->grad), dmx_arg_of(dz));
}

dmx_status dmx_cross_entropy(dmx_ctx *ctx, dmx_tensor *logits, dmx_tensor *labels, float smoothing,
                             dmx_tensor **loss)
{
    const char *op = "cross_entropy";
    DMX_TRY(dmx_check_tensor(ctx, logits, DMX_F32, op, "logits"));
    char s[96];
    if (logits->ndim != 2 || logits->shape[0] == 0 || logits->shape[1] == 0)
        return dmx_fail(DMX_ERR_SHAPE, "cross_entropy: logits (%s) %s must be [B, K], non-empty",
                        logits->name, dmx_shape_str(logits, s, sizeof s));
    int64_t B = logits->shape[0], K = logits->shape[1], one = 1;
    DMX_TRY(dmx_check_numel(ctx, labels, DMX_I32, B, op, "labels"));
    if (!(smoothing >= 0.0f && smoothing <= 1.0f))
        return dmx_fail(DMX_ERR_INVALID_ARG, "cross_entropy: smoothing %g outside [0, 1]",
                        (double)smoothing);
    bool track = dmx_requires_grad(ctx, logits);
    dmx_tensor *rows = NULL;
    DMX_TRY(dmx_tensor_new(ctx, DMX_F32, 1, &B, "cross_entropy.rows", &rows));
    DMX_TRY(dmx_new_output(ctx, 1, &one, op, track, loss));
    dmx_p_cross_entropy p = {.rows = (int32_t)B, .cols = (int32_t)K, .smoothing = smoothing,
                             .scale = 1.0f / (float)B};
    DMX_TRY(DMX_RUN(ctx, DMX_OP_CROSS_ENTROPY, &p, dmx_arg_of(logits), dmx_arg_of(labels),
                    dmx_arg_of(rows)));
    dmx_p_sum_rows mean = {.rows = (int32_t)B, .cols = 1, .scale = 1.0f / (float)B};
    DMX_TRY(DMX_RUN(ctx, DMX_OP_SUM_ROWS, &mean, dmx_arg_of(rows), dmx_arg_of(*loss)));
    dmx_tensor *saved[3] = {logits, labels, *loss};
    return track ? dmx_tape_record(ctx, op, cross_entropy_backward, saved, 3, &p, sizeof p)
                 : DMX_OK;
}

/* ---- embedding ---- */

static dmx_status embedding_backward(dmx_ctx *ctx, const dmx_tape_entry *e)
{
    dmx_tensor *ids = e->t[0], *table = e->t[1], *y = e->t[2];
    dmx_p_embedding p;
    memcpy(&p, e->params.bytes, sizeof p);
    dmx_tensor *dE = NULL;
    if (!y->grad)
        return DMX_OK;
    DMX_TRY(dmx_grad_of_zeroed(ctx, table, &dE));
    if (!dE)
        return DMX_OK;
    return DMX_RUN(ctx, DMX_OP_EMBEDDING_BWD, &p, dmx_arg_of(ids), dmx_arg_of(y->grad),
                   dmx_arg_of(dE));
}

dmx_status dmx_embedding(dmx_ctx *ctx, dmx_tensor *ids, dmx_tensor *table, dmx_tensor **y)
{
    const char *op = "embedding";
    DMX_TRY(dmx_check_tensor(ctx, ids, DMX_I32, op, "ids"));
    DMX_TRY(dmx_check_tensor(ctx, table, DMX_F32, op, "table"));
    char s[96];
    if (table->ndim != 2 || ids->ndim >= DMX_MAX_DIMS)
        return dmx_fail(DMX_ERR_SHAPE, "embedding: table (%s) %s must be [V, D] and ids of rank "
                        "< %d", table->name, dmx_shape_str(table, s, sizeof s), DMX_MAX_DIMS);
    int64_t shape[DMX_MAX_DIMS];
    memcpy(shape, ids->shape, sizeof shape);
    shape[ids->ndim] = table->shape[1];
    bool track = dmx_requires_grad(ctx, table);
    DMX_TRY(dmx_new_output(ctx, ids->ndim + 1, shape, op, track, y));
    dmx_p_embedding p = {.n = (int32_t)dmx_tensor_numel(ids), .dim = (int32_t)table->shape[1],
                         .vocab = (int32_t)table->shape[0]};
    DMX_TRY(DMX_RUN(ctx, DMX_OP_EMBEDDING, &p, dmx_arg_of(ids), dmx_arg_of(table), dmx_arg_of(*y)));
    dmx_tensor *saved[3] = {ids, table, *y};
    return track ? dmx_tape_record(ctx, op, embedding_backward, saved, 3, &p, sizeof p) : DMX_OK;
}
