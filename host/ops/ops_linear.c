/* Linear maps: mix_linear (SPEC section 2), dense linear on the last axis, batched matmul. */
#include <string.h>

#include "ops/front.h"

/* ---- mix_linear ---- */

static dmx_status mix_linear_backward(dmx_ctx *ctx, const dmx_tape_entry *e)
{
    dmx_tensor *x = e->t[0], *w = e->t[1], *bias = e->t[2], *y = e->t[3];
    dmx_p_mix_linear p;
    memcpy(&p, e->params.bytes, sizeof p);
    if (!y->grad)
        return DMX_OK;
    dmx_tensor *dx = NULL;
    int acc = 0;
    DMX_TRY(dmx_grad_of(ctx, x, &dx, &acc));
    if (dx) {
        p.accumulate = acc;
        DMX_TRY(DMX_RUN(ctx, DMX_OP_MIX_LINEAR_BWD_X, &p, dmx_arg_of(y->grad), dmx_arg_of(w),
                        dmx_arg_of(dx)));
    }
    dmx_tensor *dw = NULL, *db = NULL;
    DMX_TRY(dmx_grad_of_zeroed(ctx, w, &dw));
    if (bias)
        DMX_TRY(dmx_grad_of_zeroed(ctx, bias, &db));
    if (!dw && !db)
        return DMX_OK;
    if (!dw) /* the op always writes dW; a frozen weight gets a scratch target */
        DMX_TRY(dmx_scratch_like(ctx, w, &dw));
    p.accumulate = 1;
    p.has_bias = db != NULL;
    return DMX_RUN(ctx, DMX_OP_MIX_LINEAR_BWD_W, &p, dmx_arg_of(y->grad), dmx_arg_of(x),
                   dmx_arg_of(dw), dmx_arg_of(db));
}

/* mix_linear with an explicit output shape (whose element count is M*J*Dout*R1*R2). */
static dmx_status mix_linear_shaped(dmx_ctx *ctx, const char *op, dmx_tensor *x, dmx_tensor *w,
                                    dmx_tensor *bias, const int64_t v[5], int out_ndim,
                                    int64_t *out_shape, int out_axis, dmx_tensor **y)
{
    const int64_t M = v[0], J = v[1], Din = v[2], R1 = v[3], R2 = v[4];
    DMX_TRY(dmx_check_tensor(ctx, x, DMX_F32, op, "x"));
    DMX_TRY(dmx_check_tensor(ctx, w, DMX_F32, op, "weight"));
    if (!y)
        return dmx_fail(DMX_ERR_INVALID_ARG, "%s: output pointer is NULL", op);
    for (int k = 0; k < 5; k++)
        if (v[k] <= 0)
            return dmx_fail(DMX_ERR_SHAPE, "%s of %s: view [M=%lld, J=%lld, Din=%lld, R1=%lld, "
                            "R2=%lld] has a non-positive size", op, x->name, (long long)M,
                            (long long)J, (long long)Din, (long long)R1, (long long)R2);
    char s[96];
    if (M * J * Din * R1 * R2 != dmx_tensor_numel(x))
        return dmx_fail(DMX_ERR_SHAPE, "%s: x (%s) of shape %s has %lld elements, the view "
                        "[M=%lld, J=%lld, Din=%lld, R1=%lld, R2=%lld] needs %lld", op, x->name,
                        dmx_shape_str(x, s, sizeof s), (long long)dmx_tensor_numel(x), (long long)M,
                        (long long)J, (long long)Din, (long long)R1, (long long)R2,
                        (long long)(M * J * Din * R1 * R2));
    int64_t per_out = J * R1 * Din;
    if (dmx_tensor_numel(w) % per_out != 0 || dmx_tensor_numel(w) == 0)
        return dmx_fail(DMX_ERR_SHAPE, "%s: weight (%s) of shape %s is not [J=%lld, R1=%lld, "
                        "Dout, Din=%lld]", op, w->name, dmx_shape_str(w, s, sizeof s),
                        (long long)J, (long long)R1, (long long)Din);
    int64_t Dout = dmx_tensor_numel(w) / per_out;
    if (bias)
        DMX_TRY(dmx_check_numel(ctx, bias, DMX_F32, J * R1 * Dout, op, "bias"));
    int64_t shape5[5] = {M, J, Dout, R1, R2};
    if (!out_shape) {
        out_ndim = 5;
        out_shape = shape5;
    } else {
        out_shape[out_axis] = Dout;
    }
    bool track = dmx_requires_grad(ctx, x) || dmx_requires_grad(ctx, w) ||
                 dmx_requires_grad(ctx, bias);
    DMX_TRY(dmx_new_output(ctx, out_ndim, out_shape, op, track, y));
    dmx_p_mix_linear p = {.M = (int32_t)M, .J = (int32_t)J, .Din = (int32_t)Din,
                          .Dout = (int32_t)Dout, .R1 = (int32_t)R1, .R2 = (int32_t)R2,
                          .has_bias = bias != NULL};
    DMX_TRY(DMX_RUN(ctx, DMX_OP_MIX_LINEAR, &p, dmx_arg_of(x), dmx_arg_of(w), dmx_arg_of(bias),
                    dmx_arg_of(*y)));
    if (!track)
        return DMX_OK;
    dmx_tensor *saved[4] = {x, w, bias, *y};
    return dmx_tape_record(ctx, op, mix_linear_backward, saved, 4, &p, sizeof p);
}

dmx_status dmx_mix_linear(dmx_ctx *ctx, dmx_tensor *x, dmx_tensor *w, dmx_tensor *bias, int64_t M,
                          int64_t J, int64_t Din, int64_t R1, int64_t R2, dmx_tensor **y)
{
    const int64_t v[5] = {M, J, Din, R1, R2};
    return mix_linear_shaped(ctx, "mix_linear", x, w, bias, v, 0, NULL, 0, y);
}

dmx_status dmx_linear(dmx_ctx *ctx, dmx_tensor *x, dmx_tensor *w, dmx_tensor *bias, dmx_tensor **y)
{
    DMX_TRY(dmx_check_tensor(ctx, x, DMX_F32, "linear", "x"));
    DMX_TRY(dmx_check_tensor(ctx, w, DMX_F32, "linear", "weight"));
    char s[96], t[96];
    if (x->ndim < 1 || w->ndim != 2 || w->shape[1] != x->shape[x->ndim - 1])
        return dmx_fail(DMX_ERR_SHAPE, "linear: x (%s) %s and weight (%s) %s: need x [..., K] and "
                        "weight [N, K]", x->name, dmx_shape_str(x, s, sizeof s), w->name,
                        dmx_shape_str(w, t, sizeof t));
    int64_t K = x->shape[x->ndim - 1];
    const int64_t v[5] = {K ? dmx_tensor_numel(x) / K : 0, 1, K, 1, 1};
    int64_t shape[DMX_MAX_DIMS];
    memcpy(shape, x->shape, sizeof shape);
    return mix_linear_shaped(ctx, "linear", x, w, bias, v, x->ndim, shape, x->ndim - 1, y);
}

/* ---- matmul ---- */

typedef struct matmul_params {
    int32_t ta, tb, M, N, K, batch, shared_b;
    float alpha;
} matmul_params;

/* One GEMM on tensor storage: C = alpha op(X) op(Y) + beta C, X as [M', K'] after op. */
static dmx_status gemm_run(dmx_ctx *ctx, const dmx_tensor *X, size_t xoff, int tx,
                           const dmx_tensor *Y, size_t yoff, int ty, const dmx_tensor *C,
                           size_t coff, int32_t M, int32_t N, int32_t K, int32_t batch,
                           int32_t sx, int32_t sy, int32_t sc, float alpha, float beta)
{
    dmx_p_gemm p = {.trans_a = tx, .trans_b = ty, .M = M, .N = N, .K = K,
                    .lda = tx ? M : K, .ldb = ty ? K : N, .ldc = N, .batch = batch,
                    .stride_a = sx, .stride_b = sy, .stride_c = sc, .alpha = alpha, .beta = beta};
    dmx_arg a = {X->buf, X->offset + xoff, (size_t)(batch - 1) * (size_t)sx + (size_t)M * K};
    dmx_arg b = {Y->buf, Y->offset + yoff, (size_t)(batch - 1) * (size_t)sy + (size_t)K * N};
    dmx_arg c = {C->buf, C->offset + coff, (size_t)(batch - 1) * (size_t)sc + (size_t)M * N};
    return DMX_RUN(ctx, DMX_OP_GEMM, &p, a, b, c);
}

/* C = alpha op(A) op(B):  d op(A) = alpha dC op(B)^T,  d op(B) = alpha op(A)^T dC. */
static dmx_status matmul_backward(dmx_ctx *ctx, const dmx_tape_entry *e)
{
    dmx_tensor *A = e->t[0], *B = e->t[1], *C = e->t[2];
    const matmul_params *q = (const matmul_params *)e->params.bytes;
    if (!C->grad)
        return DMX_OK;
    const dmx_tensor *dC = C->grad;
    const int32_t M = q->M, N = q->N, K = q->K, nb = q->batch;
    const int32_t sa = M * K, sb = q->shared_b ? 0 : K * N, sc = M * N;
    dmx_tensor *dA = NULL, *dB = NULL;
    int acc = 0;
    DMX_TRY(dmx_grad_of(ctx, A, &dA, &acc));
    if (dA) {
        if (!q->ta) /* dA [M, K] = dC op(B)^T */
            DMX_TRY(gemm_run(ctx, dC, 0, 0, B, 0, !q->tb, dA, 0, M, K, N, nb, sc, sb, sa,
                             q->alpha, (float)acc));
        else /* dA [K, M] = op(B) dC^T */
            DMX_TRY(gemm_run(ctx, B, 0, q->tb, dC, 0, 1, dA, 0, K, M, N, nb, sb, sc, sa, q->alpha,
                             (float)acc));
    }
    DMX_TRY(dmx_grad_of(ctx, B, &dB, &acc));
    if (!dB)
        return DMX_OK;
    if (!q->shared_b) {
        if (!q->tb) /* dB [K, N] = op(A)^T dC */
            return gemm_run(ctx, A, 0, !q->ta, dC, 0, 0, dB, 0, K, N, M, nb, sa, sc, sb, q->alpha,
                            (float)acc);
        /* dB [N, K] = dC^T op(A) */
        return gemm_run(ctx, dC, 0, 1, A, 0, q->ta, dB, 0, N, K, M, nb, sc, sa, sb, q->alpha,
                        (float)acc);
    }
    if (!q->ta) { /* batches fold into the rows of A and dC: one GEMM sums over them */
        if (!q->tb)
            return gemm_run(ctx, A, 0, 1, dC, 0, 0, dB, 0, K, N, M * nb, 1, 0, 0, 0, q->alpha,
                            (float)acc);
        return gemm_run(ctx, dC, 0, 1, A, 0, 0, dB, 0, N, K, M * nb, 1, 0, 0, 0, q->alpha, (float)acc);
    }
    for (int32_t i = 0; i < nb; i++) { /* A transposed per batch: sum batch by batch */
        float beta = i == 0 ? (float)acc : 1.0f;
        if (!q->tb)
            DMX_TRY(gemm_run(ctx, A, (size_t)i * sa, 0, dC, (size_t)i * sc, 0, dB, 0, K, N, M, 1,
                             0, 0, 0, q->alpha, beta));
        else
            DMX_TRY(gemm_run(ctx, dC, (size_t)i * sc, 1, A, (size_t)i * sa, 1, dB, 0, N, K, M, 1,
                             0, 0, 0, q->alpha, beta));
    }
    return DMX_OK;
}

dmx_status dmx_matmul(dmx_ctx *ctx, dmx_tensor *a, dmx_tensor *b, int trans_a, int trans_b,
                      float alpha, dmx_tensor **y)
{
    const char *op = "matmul";
    DMX_TRY(dmx_check_tensor(ctx, a, DMX_F32, op, "a"));
    DMX_TRY(dmx_check_tensor(ctx, b, DMX_F32, op, "b"));
    char s[96], t[96];
    if (a->ndim < 2 || b->ndim < 2 || !y)
        return dmx_fail(DMX_ERR_SHAPE, "matmul: a (%s) %s and b (%s) %s must have rank >= 2",
                        a->name, dmx_shape_str(a, s, sizeof s), b->name,
                        dmx_shape_str(b, t, sizeof t));
    int64_t M = a->shape[a->ndim - (trans_a ? 1 : 2)], K = a->shape[a->ndim - (trans_a ? 2 : 1)];
    int64_t Kb = b->shape[b->ndim - (trans_b ? 1 : 2)], N = b->shape[b->ndim - (trans_b ? 2 : 1)];
    int64_t batch = 1;
    for (int k = 0; k < a->ndim - 2; k++)
        batch *= a->shape[k];
    bool shared = b->ndim == 2 && a->ndim > 2;
    bool same_batch = b->ndim == a->ndim;
    for (int k = 0; same_batch && k < a->ndim - 2; k++)
        same_batch = a->shape[k] == b->shape[k];
    if (K != Kb || (!shared && !same_batch))
        return dmx_fail(DMX_ERR_SHAPE, "matmul: a (%s) %s%s and b (%s) %s%s do not fit", a->name,
                        dmx_shape_str(a, s, sizeof s), trans_a ? "^T" : "", b->name,
                        dmx_shape_str(b, t, sizeof t), trans_b ? "^T" : "");
    int64_t shape[DMX_MAX_DIMS];
    memcpy(shape, a->shape, sizeof shape);
    shape[a->ndim - 2] = M;
    shape[a->ndim - 1] = N;
    bool track = dmx_requires_grad(ctx, a) || dmx_requires_grad(ctx, b);
    DMX_TRY(dmx_new_output(ctx, a->ndim, shape, op, track, y));
    if (M * N == 0)
        return DMX_OK;
    matmul_params q = {.ta = trans_a, .tb = trans_b, .M = (int32_t)M, .N = (int32_t)N,
                       .K = (int32_t)K, .batch = (int32_t)batch, .shared_b = shared,
                       .alpha = alpha};
    DMX_TRY(gemm_run(ctx, a, 0, trans_a, b, 0, trans_b, *y, 0, q.M, q.N, q.K, q.batch, q.M * q.K,
                     shared ? 0 : q.K * q.N, q.M * q.N, alpha, 0.0f));
    if (!track)
        return DMX_OK;
    dmx_tensor *saved[3] = {a, b, *y};
    return dmx_tape_record(ctx, op, matmul_backward, saved, 3, &q, sizeof q);
}
