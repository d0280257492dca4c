/* Elementwise front door: add, mul, scale, row-broadcast add, sum over rows, activations,
 * dropout. */
#include <string.h>

#include "ops/front.h"

static dmx_status same_numel(dmx_ctx *ctx, const char *op, dmx_tensor *a, dmx_tensor *b)
{
    DMX_TRY(dmx_check_tensor(ctx, a, DMX_F32, op, "a"));
    return dmx_check_numel(ctx, b, DMX_F32, dmx_tensor_numel(a), op, "b");
}

/* ---- add ---- */

static dmx_status add_backward(dmx_ctx *ctx, const dmx_tape_entry *e)
{
    if (!e->t[2]->grad)
        return DMX_OK;
    /* y = a + b: a takes dy's storage (one copy saved per residual connection); b, which
     * may be a itself, adds its own. */
    DMX_TRY(e->t[0] == e->t[1] ? dmx_grad_add(ctx, e->t[0], e->t[2]->grad, 1.0f)
                               : dmx_grad_take(ctx, e->t[0], e->t[2]->grad));
    return dmx_grad_add(ctx, e->t[1], e->t[2]->grad, 1.0f);
}

/* y = x + f: both take dy's storage, so x, f and y share one gradient buffer (see
 * dmx_add_residual for why that is safe there). */
static dmx_status add_residual_backward(dmx_ctx *ctx, const dmx_tape_entry *e)
{
    if (!e->t[2]->grad)
        return DMX_OK;
    DMX_TRY(dmx_grad_take(ctx, e->t[0], e->t[2]->grad));
    return dmx_grad_take(ctx, e->t[1], e->t[2]->grad);
}

static dmx_status add(dmx_ctx *ctx, dmx_tensor *a, dmx_tensor *b, dmx_backward_fn backward,
                      dmx_tensor **y)
{
    DMX_TRY(same_numel(ctx, "add", a, b));
    bool track = dmx_requires_grad(ctx, a) || dmx_requires_grad(ctx, b);
    DMX_TRY(dmx_new_output(ctx, a->ndim, a->shape, "add", track, y));
    dmx_p_add p = {.n = (int32_t)dmx_tensor_numel(a)};
    DMX_TRY(DMX_RUN(ctx, DMX_OP_ADD, &p, dmx_arg_of(a), dmx_arg_of(b), dmx_arg_of(*y)));
    dmx_tensor *saved[3] = {a, b, *y};
    return track ? dmx_tape_record(ctx, "add", backward, saved, 3, NULL, 0) : DMX_OK;
}

dmx_status dmx_add(dmx_ctx *ctx, dmx_tensor *a, dmx_tensor *b, dmx_tensor **y)
{
    return add(ctx, a, b, add_backward, y);
}

dmx_status dmx_add_residual(dmx_ctx *ctx, dmx_tensor *x, dmx_tensor *f, dmx_tensor **y)
{
    return add(ctx, x, f, x == f ? add_backward : add_residual_backward, y);
}

/* ---- mul ---- */

static dmx_status mul_grad(dmx_ctx *ctx, dmx_tensor *target, dmx_tensor *other, dmx_tensor *dy)
{
    dmx_tensor *g = NULL;
    int acc = 0;
    DMX_TRY(dmx_grad_of(ctx, target, &g, &acc));
    if (!g)
        return DMX_OK;
    dmx_p_mul p = {.n = (int32_t)dmx_tensor_numel(dy), .accumulate = acc};
    return DMX_RUN(ctx, DMX_OP_MUL, &p, dmx_arg_of(dy), dmx_arg_of(other), dmx_arg_of(g));
}

static dmx_status mul_backward(dmx_ctx *ctx, const dmx_tape_entry *e)
{
    dmx_tensor *a = e->t[0], *b = e->t[1], *dy = e->t[2]->grad;
    if (!dy)
        return DMX_OK;
    DMX_TRY(mul_grad(ctx, a, b, dy));
    return mul_grad(ctx, b, a, dy);
}

dmx_status dmx_mul(dmx_ctx *ctx, dmx_tensor *a, dmx_tensor *b, dmx_tensor **y)
{
    DMX_TRY(same_numel(ctx, "mul", a, b));
    bool track = dmx_requires_grad(ctx, a) || dmx_requires_grad(ctx, b);
    DMX_TRY(dmx_new_output(ctx, a->ndim, a->shape, "mul", track, y));
    dmx_p_mul p = {.n = (int32_t)dmx_tensor_numel(a)};
    DMX_TRY(DMX_RUN(ctx, DMX_OP_MUL, &p, dmx_arg_of(a), dmx_arg_of(b), dmx_arg_of(*y)));
    dmx_tensor *saved[3] = {a, b, *y};
    return track ? dmx_tape_record(ctx, "mul", mul_backward, saved, 3, NULL, 0) : DMX_OK;
}

/* ---- scale ---- */

static dmx_status scale_backward(dmx_ctx *ctx, const dmx_tape_entry *e)
{
    float alpha;
    memcpy(&alpha, e->params.bytes, sizeof alpha);
    return e->t[1]->grad ? dmx_grad_add(ctx, e->t[0], e->t[1]->grad, alpha) : DMX_OK;
}

dmx_status dmx_scale(dmx_ctx *ctx, dmx_tensor *x, float alpha, dmx_tensor **y)
{
    DMX_TRY(dmx_check_tensor(ctx, x, DMX_F32, "scale", "x"));
    bool track = dmx_requires_grad(ctx, x);
    DMX_TRY(dmx_new_output(ctx, x->ndim, x->shape, "scale", track, y));
    dmx_p_scale p = {.n = (int32_t)dmx_tensor_numel(x), .alpha = alpha};
    DMX_TRY(DMX_RUN(ctx, DMX_OP_SCALE, &p, dmx_arg_of(x), dmx_arg_of(*y)));
    dmx_tensor *saved[2] = {x, *y};
    return track ? dmx_tape_record(ctx, "scale", scale_backward, saved, 2, &alpha, sizeof alpha)
                 : DMX_OK;
}

/* ---- clip_scale: y = x * (g > threshold ? numerator / g : 1), g = norm[0] on the device ---- */

static dmx_status clip_scale_backward(dmx_ctx *ctx, const dmx_tape_entry *e)
{
    dmx_tensor *x = e->t[0], *norm = e->t[1], *y = e->t[2];
    dmx_p_clip_scale p;
    memcpy(&p, e->params.bytes, sizeof p);
    if (!y->grad)
        return DMX_OK;
    if (dmx_requires_grad(ctx, x)) { /* dx = dy scaled like x was */
        dmx_tensor *dx = NULL;
        DMX_TRY(dmx_scratch_like(ctx, x, &dx));
        dmx_p_scale copy = {.n = p.n, .alpha = 1.0f};
        DMX_TRY(DMX_RUN(ctx, DMX_OP_SCALE, &copy, dmx_arg_of(y->grad), dmx_arg_of(dx)));
        DMX_TRY(DMX_RUN(ctx, DMX_OP_CLIP_SCALE, &p, dmx_arg_of(norm), dmx_arg_of(dx)));
        DMX_TRY(dmx_grad_take(ctx, x, dx));
    }
    dmx_tensor *dnorm = NULL, *dot = NULL;
    int acc = 0;
    DMX_TRY(dmx_grad_of(ctx, norm, &dnorm, &acc));
    if (!dnorm)
        return DMX_OK;
    DMX_TRY(dmx_scratch_like(ctx, norm, &dot));
    dmx_p_reduce r = {.n = p.n};
    DMX_TRY(DMX_RUN(ctx, DMX_OP_DOT, &r, dmx_arg_of(y->grad), dmx_arg_of(x), dmx_arg_of(dot)));
    p.accumulate = acc;
    return DMX_RUN(ctx, DMX_OP_CLIP_SCALE_BWD, &p, dmx_arg_of(norm), dmx_arg_of(dot),
                   dmx_arg_of(dnorm));
}

dmx_status dmx_clip_scale(dmx_ctx *ctx, dmx_tensor *x, dmx_tensor *norm, float threshold,
                          float numerator, dmx_tensor **y)
{
    const char *op = "clip_scale";
    DMX_TRY(dmx_check_tensor(ctx, x, DMX_F32, op, "x"));
    DMX_TRY(dmx_check_numel(ctx, norm, DMX_F32, 1, op, "norm"));
    const bool track = dmx_requires_grad(ctx, x) || dmx_requires_grad(ctx, norm);
    DMX_TRY(dmx_new_output(ctx, x->ndim, x->shape, op, track, y));
    const int32_t n = (int32_t)dmx_tensor_numel(x);
    dmx_p_scale copy = {.n = n, .alpha = 1.0f};
    DMX_TRY(DMX_RUN(ctx, DMX_OP_SCALE, &copy, dmx_arg_of(x), dmx_arg_of(*y)));
    dmx_p_clip_scale p = {.n = n, .threshold = threshold, .numerator = numerator};
    DMX_TRY(DMX_RUN(ctx, DMX_OP_CLIP_SCALE, &p, dmx_arg_of(norm), dmx_arg_of(*y)));
    dmx_tensor *saved[3] = {x, norm, *y};
    return track ? dmx_tape_record(ctx, op, clip_scale_backward, saved, 3, &p, sizeof p) : DMX_OK;
}

/* ---- add_row and sum_rows ---- */

/* dst [rows, cols] (+)= scale * src [cols] broadcast over rows. */
static dmx_status broadcast_rows_into(dmx_ctx *ctx, dmx_tensor *target, const dmx_tensor *src,
                                      int64_t rows, float scale)
{
    dmx_tensor *g = NULL;
    int acc = 0;
    DMX_TRY(dmx_grad_of(ctx, target, &g, &acc));
    if (!g)
        return DMX_OK;
    int32_t cols = (int32_t)dmx_tensor_numel(src);
    if (!acc) {
        dmx_p_fill f = {.n = (int32_t)dmx_tensor_numel(g), .bits = 0};
        DMX_TRY(DMX_RUN(ctx, DMX_OP_FILL, &f, dmx_arg_of(g)));
    }
    const dmx_tensor *row = src;
    dmx_tensor *scaled = NULL;
    if (scale != 1.0f) {
        DMX_TRY(dmx_scratch_like(ctx, src, &scaled));
        dmx_p_scale s = {.n = cols, .alpha = scale};
        DMX_TRY(DMX_RUN(ctx, DMX_OP_SCALE, &s, dmx_arg_of(src), dmx_arg_of(scaled)));
        row = scaled;
    }
    dmx_p_add_row p = {.rows = (int32_t)rows, .cols = cols};
    return DMX_RUN(ctx, DMX_OP_ADD_ROW, &p, dmx_arg_of(g), dmx_arg_of(row), dmx_arg_of(g));
}

static dmx_status sum_rows_into(dmx_ctx *ctx, dmx_tensor *target, const dmx_tensor *src,
                                int64_t rows, float scale)
{
    dmx_tensor *g = NULL;
    int acc = 0;
    DMX_TRY(dmx_grad_of(ctx, target, &g, &acc));
    if (!g)
        return DMX_OK;
    dmx_p_sum_rows p = {.rows = (int32_t)rows, .cols = (int32_t)dmx_tensor_numel(target),
                        .scale = scale, .accumulate = acc};
    return DMX_RUN(ctx, DMX_OP_SUM_ROWS, &p, dmx_arg_of(src), dmx_arg_of(g));
}

static dmx_status add_row_backward(dmx_ctx *ctx, const dmx_tape_entry *e)
{
    dmx_tensor *x = e->t[0], *b = e->t[1], *dy = e->t[2]->grad;
    if (!dy)
        return DMX_OK;
    DMX_TRY(x == b ? dmx_grad_add(ctx, x, dy, 1.0f) : dmx_grad_take(ctx, x, dy));
    return sum_rows_into(ctx, b, dy, dmx_tensor_numel(x) / dmx_tensor_numel(b), 1.0f);
}

dmx_status dmx_add_row(dmx_ctx *ctx, dmx_tensor *x, dmx_tensor *b, dmx_tensor **y)
{
    DMX_TRY(dmx_check_tensor(ctx, x, DMX_F32, "add_row", "x"));
    DMX_TRY(dmx_check_tensor(ctx, b, DMX_F32, "add_row", "b"));
    int64_t cols = dmx_tensor_numel(b);
    if (cols == 0 || dmx_tensor_numel(x) % cols != 0) {
        char s[96], t[96];
        return dmx_fail(DMX_ERR_SHAPE, "add_row: %s %s is not rows of %s %s", x->name,
                        dmx_shape_str(x, s, sizeof s), b->name, dmx_shape_str(b, t, sizeof t));
    }
    bool track = dmx_requires_grad(ctx, x) || dmx_requires_grad(ctx, b);
    DMX_TRY(dmx_new_output(ctx, x->ndim, x->shape, "add_row", track, y));
    dmx_p_add_row p = {.rows = (int32_t)(dmx_tensor_numel(x) / cols), .cols = (int32_t)cols};
    DMX_TRY(DMX_RUN(ctx, DMX_OP_ADD_ROW, &p, dmx_arg_of(x), dmx_arg_of(b), dmx_arg_of(*y)));
    dmx_tensor *saved[3] = {x, b, *y};
    return track ? dmx_tape_record(ctx, "add_row", add_row_backward, saved, 3, NULL, 0) : DMX_OK;
}

typedef struct sum_rows_params {
    int64_t rows;
    float scale;
} sum_rows_params;

static dmx_status sum_rows_backward(dmx_ctx *ctx, const dmx_tape_entry *e)
{
    const sum_rows_params *q = (const sum_rows_params *)e->params.bytes;
    dmx_tensor *dy = e->t[1]->grad;
    return dy ? broadcast_rows_into(ctx, e->t[0], dy, q->rows, q->scale) : DMX_OK;
}

dmx_status dmx_sum_rows(dmx_ctx *ctx, dmx_tensor *x, int64_t rows, float scale, dmx_tensor **y)
{
    DMX_TRY(dmx_check_tensor(ctx, x, DMX_F32, "sum_rows", "x"));
    if (rows <= 0 || dmx_tensor_numel(x) % rows != 0) {
        char s[96];
        return dmx_fail(DMX_ERR_SHAPE, "sum_rows: %s %s does not split into %lld rows", x->name,
                        dmx_shape_str(x, s, sizeof s), (long long)rows);
    }
    int64_t cols = dmx_tensor_numel(x) / rows;
    bool track = dmx_requires_grad(ctx, x);
    DMX_TRY(dmx_new_output(ctx, 1, &cols, "sum_rows", track, y));
    dmx_p_sum_rows p = {.rows = (int32_t)rows, .cols = (int32_t)cols, .scale = scale};
    DMX_TRY(DMX_RUN(ctx, DMX_OP_SUM_ROWS, &p, dmx_arg_of(x), dmx_arg_of(*y)));
    sum_rows_params q = {rows, scale};
    dmx_tensor *saved[2] = {x, *y};
    return track ? dmx_tape_record(ctx, "sum_rows", sum_rows_backward, saved, 2, &q, sizeof q)
                 : DMX_OK;
}

/* ---- activations ---- */

static dmx_status activation_backward(dmx_ctx *ctx, const dmx_tape_entry *e)
{
    dmx_op bwd;
    memcpy(&bwd, e->params.bytes, sizeof bwd);
    dmx_tensor *x = e->t[0], *dy = e->t[1]->grad, *dx = NULL;
    int acc = 0;
    if (!dy)
        return DMX_OK;
    DMX_TRY(dmx_grad_of(ctx, x, &dx, &acc));
    if (!dx)
        return DMX_OK;
    dmx_p_unary p = {.n = (int32_t)dmx_tensor_numel(x), .accumulate = acc};
    return DMX_RUN(ctx, bwd, &p, dmx_arg_of(x), dmx_arg_of(dy), dmx_arg_of(dx));
}

static dmx_status activation(dmx_ctx *ctx, dmx_op fwd, dmx_op bwd, dmx_tensor *x, dmx_tensor **y)
{
    const char *op = dmx_op_name(fwd);
    DMX_TRY(dmx_check_tensor(ctx, x, DMX_F32, op, "x"));
    bool track = dmx_requires_grad(ctx, x);
    DMX_TRY(dmx_new_output(ctx, x->ndim, x->shape, op, track, y));
    dmx_p_unary p = {.n = (int32_t)dmx_tensor_numel(x)};
    DMX_TRY(DMX_RUN(ctx, fwd, &p, dmx_arg_of(x), dmx_arg_of(*y)));
    dmx_tensor *saved[2] = {x, *y};
    return track ? dmx_tape_record(ctx, op, activation_backward, saved, 2, &bwd, sizeof bwd)
                 : DMX_OK;
}

dmx_status dmx_gelu(dmx_ctx *ctx, dmx_tensor *x, dmx_tensor **y)
{
    return activation(ctx, DMX_OP_GELU, DMX_OP_GELU_BWD, x, y);
}

dmx_status dmx_elu(dmx_ctx *ctx, dmx_tensor *x, dmx_tensor **y)
{
    return activation(ctx, DMX_OP_ELU, DMX_OP_ELU_BWD, x, y);
}

dmx_status dmx_relu(dmx_ctx *ctx, dmx_tensor *x, dmx_tensor **y)
{
    return activation(ctx, DMX_OP_RELU, DMX_OP_RELU_BWD, x, y);
}

/* ---- dropout ---- */

static dmx_status dropout_backward(dmx_ctx *ctx, const dmx_tape_entry *e)
{
    dmx_p_dropout p;
    memcpy(&p, e->params.bytes, sizeof p);
    dmx_tensor *dy = e->t[1]->grad, *dx = NULL;
    int acc = 0;
    if (!dy)
        return DMX_OK;
    DMX_TRY(dmx_grad_of(ctx, e->t[0], &dx, &acc));
    if (!dx)
        return DMX_OK;
    p.accumulate = acc;
    return DMX_RUN(ctx, DMX_OP_DROPOUT, &p, dmx_arg_of(dy), dmx_arg_of(dx));
}

dmx_status dmx_dropout(dmx_ctx *ctx, dmx_tensor *x, float p, dmx_tensor **y)
{
    DMX_TRY(dmx_check_tensor(ctx, x, DMX_F32, "dropout", "x"));
    if (!y)
        return dmx_fail(DMX_ERR_INVALID_ARG, "dropout of %s: output pointer is NULL", x->name);
    if (!(p >= 0.0f && p < 1.0f))
        return dmx_fail(DMX_ERR_INVALID_ARG, "dropout: probability %g outside [0, 1)", (double)p);
    if (!dmx_ctx_training(ctx) || p == 0.0f) {
        *y = x; /* identity: the same tensor, gradients flow straight through */
        return DMX_OK;
    }
    bool track = dmx_requires_grad(ctx, x);
    DMX_TRY(dmx_new_output(ctx, x->ndim, x->shape, "dropout", track, y));
    uint64_t seed = 0;
    uint32_t offset = dmx_ctx_take_rng(ctx, (uint32_t)dmx_tensor_numel(x), &seed);
    dmx_p_dropout q = {.n = (int32_t)dmx_tensor_numel(x), .p = p, .seed_lo = (uint32_t)seed,
                       .seed_hi = (uint32_t)(seed >> 32), .offset = offset};
    DMX_TRY(DMX_RUN(ctx, DMX_OP_DROPOUT, &q, dmx_arg_of(x), dmx_arg_of(*y)));
    dmx_tensor *saved[2] = {x, *y};
    return track ? dmx_tape_record(ctx, "dropout", dropout_backward, saved, 2, &q, sizeof q)
                 : DMX_OK;
}
