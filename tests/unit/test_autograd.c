/* The autograd tape and the per-step arena: parameter gradients accumulate across backward
 * calls, a tensor used twice gets both contributions, fresh activation gradients are written
 * (never added to whatever the reused arena memory held), the arena stops growing after the
 * first step, dmx_backward's errors, and inference mode recording nothing. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "autograd/autograd.h"
#include "core/error.h"
#include "test_util.h"

/* A small network touching every differentiable op: embedding -> linear -> gelu -> layernorm
 * -> dropout -> masked self-attention (matmul, softmax, matmul) + residual -> permute ->
 * mean over tokens (sum_rows) -> reshape -> elu + relu * scale -> mul -> linear -> add_row ->
 * cross-entropy. */
enum { B = 2, S = 5, D = 4, H = 6, K = 3, V = 7, N_PARAMS = 8 };

typedef struct model {
    dmx_tensor *p[N_PARAMS]; /* table, w1, b1, gamma, beta, w2, b2, gate */
} model;

static const char *const param_names[N_PARAMS] = {"table", "w1",  "b1", "gamma",
                                                  "beta",  "w2",  "b2", "gate"};

static model model_create(dmx_device *dev)
{
    const int64_t shapes[N_PARAMS][2] = {{V, D}, {H, D}, {H, 1}, {H, 1},
                                         {H, 1}, {K, H}, {K, 1}, {H, 1}};
    model m;
    dmx_test_rng rng = {157};
    for (int i = 0; i < N_PARAMS; i++)
        DMX_ASSERT_OK(dmx_test_leaf_random(dev, param_names[i], shapes[i][1] == 1 ? 1 : 2,
                                           shapes[i], &rng, -1.0f, 1.0f, &m.p[i]));
    return m;
}

static void model_free(model *m)
{
    for (int i = 0; i < N_PARAMS; i++)
        dmx_test_leaf_free(m->p[i]);
}

static void model_zero_grads(model *m)
{
    for (int i = 0; i < N_PARAMS; i++)
        DMX_ASSERT_OK(dmx_buffer_fill(m->p[i]->grad->buf, 0, dmx_tensor_bytes(m->p[i]), 0));
}

/* Host copy of every parameter gradient, concatenated. */
static float *model_grads(const model *m, size_t *n_out)
{
    size_t n = 0;
    for (int i = 0; i < N_PARAMS; i++)
        n += (size_t)dmx_tensor_numel(m->p[i]);
    float *all = malloc(n * sizeof *all), *at = all;
    for (int i = 0; i < N_PARAMS; i++) {
        DMX_ASSERT_OK(dmx_tensor_to_host(m->p[i]->grad, at, dmx_tensor_bytes(m->p[i])));
        at += dmx_tensor_numel(m->p[i]);
    }
    *n_out = n;
    return all;
}

static dmx_status forward(dmx_ctx *ctx, const model *m, dmx_tensor **loss)
{
    static const int32_t ids[B * S] = {1, 3, 3, 0, 6, 2, 5, 1, 4, 4};
    static const int32_t labels[B] = {2, 0};
    static float mask[B * S]; /* key padding: the last key of batch 1 is removed */
    mask[B * S - 1] = -1e30f;
    const int64_t ishape[2] = {B, S}, lshape = B, mshape[2] = {B, S}, pooled_shape[2] = {B, H};
    const int perm[3] = {1, 0, 2};
    dmx_tensor *const *p = m->p;
    dmx_tensor *tids, *tlabels, *tmask, *x, *h, *hn, *hd, *scores, *attn, *ctxv, *res, *tokens;
    dmx_tensor *mean, *pooled, *e, *r, *rs, *gated, *mixed, *z, *logits;
    DMX_TRY(dmx_tensor_from_host(ctx, DMX_I32, 2, ishape, ids, "ids", &tids));
    DMX_TRY(dmx_tensor_from_host(ctx, DMX_I32, 1, &lshape, labels, "labels", &tlabels));
    DMX_TRY(dmx_tensor_from_host(ctx, DMX_F32, 2, mshape, mask, "mask", &tmask));
    DMX_TRY(dmx_embedding(ctx, tids, p[0], &x));                      /* [B, S, D] */
    DMX_TRY(dmx_linear(ctx, x, p[1], p[2], &h));                      /* [B, S, H] */
    DMX_TRY(dmx_gelu(ctx, h, &h));
    DMX_TRY(dmx_layernorm(ctx, h, p[3], p[4], 1e-5f, &hn));
    DMX_TRY(dmx_dropout(ctx, hn, 0.2f, &hd));
    DMX_TRY(dmx_matmul(ctx, hd, hd, 0, 1, 0.4f, &scores));            /* [B, S, S] */
    DMX_TRY(dmx_softmax(ctx, scores, tmask, 1.0f, S, &attn));         /* mask row per batch */
    DMX_TRY(dmx_matmul(ctx, attn, hd, 0, 0, 1.0f, &ctxv));            /* [B, S, H] */
    DMX_TRY(dmx_add(ctx, ctxv, hd, &res));                            /* hd used three times */
    DMX_TRY(dmx_permute(ctx, res, perm, &tokens));                    /* [S, B, H] */
    DMX_TRY(dmx_sum_rows(ctx, tokens, S, 1.0f / S, &mean));           /* [B * H] */
    DMX_TRY(dmx_reshape(ctx, mean, 2, pooled_shape, &pooled));        /* [B, H] */
    DMX_TRY(dmx_elu(ctx, pooled, &e));
    DMX_TRY(dmx_relu(ctx, pooled, &r));
    DMX_TRY(dmx_scale(ctx, r, 0.5f, &rs));
    DMX_TRY(dmx_add_row(ctx, e, p[7], &gated));                       /* + gate [H] */
    DMX_TRY(dmx_mul(ctx, gated, rs, &mixed));
    DMX_TRY(dmx_linear(ctx, mixed, p[5], NULL, &z));                  /* [B, K] */
    DMX_TRY(dmx_add_row(ctx, z, p[6], &logits));
    return dmx_cross_entropy(ctx, logits, tlabels, 0.1f, loss);
}

/* One step: reset, forward, backward. */
static void step(dmx_ctx *ctx, const model *m)
{
    dmx_tensor *loss = NULL;
    DMX_ASSERT_OK(dmx_ctx_reset(ctx));
    DMX_ASSERT_OK(forward(ctx, m, &loss));
    DMX_ASSERT_OK(dmx_backward(ctx, loss));
}

typedef struct fixture {
    dmx_device *dev;
    dmx_ctx *ctx;
    model m;
} fixture;

static int setup(void **state)
{
    fixture *f = calloc(1, sizeof *f);
    f->dev = dmx_test_cpu();
    if (dmx_ctx_create(f->dev, &f->ctx) != DMX_OK)
        return -1;
    dmx_ctx_set_seed(f->ctx, 2024);
    f->m = model_create(f->dev);
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    fixture *f = *state;
    model_free(&f->m);
    dmx_ctx_destroy(f->ctx);
    dmx_device_close(f->dev);
    free(f);
    return 0;
}

/* The gradients of one clean step. */
static float *reference_grads(fixture *f, size_t *n)
{
    model_zero_grads(&f->m);
    step(f->ctx, &f->m);
    float *g = model_grads(&f->m, n);
    for (size_t i = 0; i < *n; i++)
        if (!isfinite(g[i]))
            fail_msg("reference gradient %zu is %g", i, (double)g[i]);
    return g;
}

static void test_parameter_gradients_accumulate_across_steps(void **state)
{
    fixture *f = *state;
    size_t n = 0;
    float *g1 = reference_grads(f, &n);
    /* No zeroing between steps: the second step adds its (identical) gradients. */
    step(f->ctx, &f->m);
    float *g2 = model_grads(&f->m, &n), *want = malloc(n * sizeof *want);
    for (size_t i = 0; i < n; i++)
        want[i] = 2.0f * g1[i];
    DMX_ASSERT_CLOSE("parameter gradients after two steps", g2, want, n, 1e-7, 1e-6);
    free(g1), free(g2), free(want);
}

static void test_backward_twice_on_one_tape_adds_once_per_call(void **state)
{
    fixture *f = *state;
    size_t n = 0;
    float *g1 = reference_grads(f, &n);
    model_zero_grads(&f->m);
    dmx_tensor *loss = NULL;
    DMX_ASSERT_OK(dmx_ctx_reset(f->ctx));
    DMX_ASSERT_OK(forward(f->ctx, &f->m, &loss));
    DMX_ASSERT_OK(dmx_backward(f->ctx, loss));
    DMX_ASSERT_OK(dmx_backward(f->ctx, loss));
    float *g2 = model_grads(&f->m, &n), *want = malloc(n * sizeof *want);
    for (size_t i = 0; i < n; i++)
        want[i] = 2.0f * g1[i];
    DMX_ASSERT_CLOSE("parameter gradients after two backward calls on one tape", g2, want, n,
                     1e-7, 1e-6);
    free(g1), free(g2), free(want);
}

/* Two losses recorded on one tape, backpropagated one after the other: the second call must
 * not replay the first loss's activation gradients. L1 = sum gelu(2x), L2 = sum elu(2x). */
static void test_backward_from_two_losses_on_one_tape(void **state)
{
    fixture *f = *state;
    const float xv[4] = {-1.0f, -0.3f, 0.4f, 1.2f};
    const int64_t n = 4;
    dmx_tensor *x = NULL, *h, *a, *b, *l1, *l2;
    DMX_ASSERT_OK(dmx_test_leaf(f->dev, "x", 1, &n, xv, &x));
    DMX_ASSERT_OK(dmx_ctx_reset(f->ctx));
    DMX_ASSERT_OK(dmx_scale(f->ctx, x, 2.0f, &h));
    DMX_ASSERT_OK(dmx_gelu(f->ctx, h, &a));
    DMX_ASSERT_OK(dmx_elu(f->ctx, h, &b));
    DMX_ASSERT_OK(dmx_sum_rows(f->ctx, a, n, 1.0f, &l1));
    DMX_ASSERT_OK(dmx_sum_rows(f->ctx, b, n, 1.0f, &l2));
    DMX_ASSERT_OK(dmx_backward(f->ctx, l1));
    DMX_ASSERT_OK(dmx_backward(f->ctx, l2));
    float got[4], want[4];
    DMX_ASSERT_OK(dmx_tensor_to_host(x->grad, got, sizeof got));
    for (int i = 0; i < 4; i++) {
        double hv = 2.0 * xv[i];
        double gelu_grad = 0.5 * (1.0 + erf(hv / sqrt(2.0))) + hv * exp(-0.5 * hv * hv) /
                                                                  sqrt(2.0 * M_PI);
        double elu_grad = hv > 0 ? 1.0 : exp(hv);
        want[i] = (float)(2.0 * (gelu_grad + elu_grad));
    }
    DMX_ASSERT_CLOSE("d(L1)/dx + d(L2)/dx from two backward calls", got, want, 4, 1e-6, 1e-6);
    dmx_test_leaf_free(x);
}

static void test_fresh_gradients_ignore_reused_memory(void **state)
{
    fixture *f = *state;
    size_t n = 0;
    float *g1 = reference_grads(f, &n);
    /* Step 2 reuses step 1's arena as it was left; step 3 runs on an arena full of NaN. */
    for (int k = 0; k < 2; k++) {
        model_zero_grads(&f->m);
        if (k == 1)
            DMX_ASSERT_OK(dmx_test_poison_arena(f->ctx, dmx_ctx_peak_bytes(f->ctx)));
        step(f->ctx, &f->m);
        float *g = model_grads(&f->m, &n);
        DMX_ASSERT_CLOSE(k ? "gradients over a NaN-filled arena" : "gradients of a second step", g,
                         g1, n, 0, 0);
        free(g);
    }
    free(g1);
}

static void test_tensor_used_twice_gets_both_contributions(void **state)
{
    fixture *f = *state;
    /* h = 2 x (an activation), y = h * h + h, L = sum y: dL/dx = 2 (2 h + 1) = 8 x + 2. The
     * parameter x is also used twice: z = x * x adds 2 x, so the total is 10 x + 2. */
    const float xv[5] = {-1.5f, -0.25f, 0.0f, 0.75f, 2.0f};
    const int64_t n = 5;
    dmx_tensor *x = NULL, *h, *hh, *y, *z, *t, *loss;
    DMX_ASSERT_OK(dmx_test_leaf(f->dev, "x", 1, &n, xv, &x));
    DMX_ASSERT_OK(dmx_test_poison_arena(f->ctx, 1 << 16));
    DMX_ASSERT_OK(dmx_scale(f->ctx, x, 2.0f, &h));
    DMX_ASSERT_OK(dmx_mul(f->ctx, h, h, &hh));
    DMX_ASSERT_OK(dmx_add(f->ctx, hh, h, &y));
    DMX_ASSERT_OK(dmx_mul(f->ctx, x, x, &z));
    DMX_ASSERT_OK(dmx_add(f->ctx, y, z, &t));
    DMX_ASSERT_OK(dmx_sum_rows(f->ctx, t, n, 1.0f, &loss));
    DMX_ASSERT_OK(dmx_backward(f->ctx, loss));
    float got[5], want[5];
    DMX_ASSERT_OK(dmx_tensor_to_host(x->grad, got, sizeof got));
    for (int i = 0; i < 5; i++)
        want[i] = 10.0f * xv[i] + 2.0f;
    DMX_ASSERT_CLOSE("gradient of x used twice, directly and through h", got, want, 5, 0, 0);
    dmx_test_leaf_free(x);
}

/* Frozen parameters (no REQUIRES_GRAD) get no gradient, and the others get the same gradients
 * as when everything trains: the backward kernels that always write every gradient (layernorm,
 * mix_linear's weight kernel) must send the frozen ones to scratch, not into parameters. */
static void test_frozen_parameters_leave_the_others_unchanged(void **state)
{
    fixture *f = *state;
    size_t n = 0;
    float *all = reference_grads(f, &n);
    const int frozen[3] = {1, 3, 6}; /* w1, gamma, b2 */
    for (int k = 0; k < 3; k++)
        f->m.p[frozen[k]]->flags &= ~(uint32_t)DMX_TENSOR_REQUIRES_GRAD;
    model_zero_grads(&f->m);
    DMX_ASSERT_OK(dmx_test_poison_arena(f->ctx, dmx_ctx_peak_bytes(f->ctx)));
    step(f->ctx, &f->m);
    float *got = model_grads(&f->m, &n);
    size_t at = 0;
    for (int i = 0; i < N_PARAMS; i++) {
        const size_t len = (size_t)dmx_tensor_numel(f->m.p[i]);
        const int is_frozen = i == frozen[0] || i == frozen[1] || i == frozen[2];
        for (size_t j = at; j < at + len; j++)
            all[j] = is_frozen ? 0.0f : all[j];
        DMX_ASSERT_CLOSE(param_names[i], got + at, all + at, len, 0, 0);
        at += len;
    }
    free(all), free(got);
}

static void test_arena_stops_growing_after_the_first_step(void **state)
{
    fixture *f = *state;
    step(f->ctx, &f->m);
    const size_t peak = dmx_ctx_peak_bytes(f->ctx), allocs = dmx_ctx_arena_allocations(f->ctx);
    assert_true(peak > 0);
    assert_true(allocs >= 1);
    for (int k = 0; k < 3; k++) {
        step(f->ctx, &f->m);
        if (dmx_ctx_peak_bytes(f->ctx) != peak || dmx_ctx_arena_allocations(f->ctx) != allocs)
            fail_msg("step %d: peak %zu bytes (first step %zu), %zu arena allocations (first %zu)",
                     k + 2, dmx_ctx_peak_bytes(f->ctx), peak, dmx_ctx_arena_allocations(f->ctx),
                     allocs);
    }
}

/* A step bigger than the first arena chunk, with many small tensors: the arena grows in
 * several chunks (device memory) and blocks (host tensor structs) during step 1, merges them
 * at the reset, and steps 2 and 3 allocate nothing. */
static void big_step(dmx_ctx *ctx)
{
    DMX_ASSERT_OK(dmx_ctx_reset(ctx));
    const int64_t big = 3 << 20, small = 3; /* 12 MiB each */
    dmx_tensor *t = NULL;
    for (int i = 0; i < 3; i++)
        DMX_ASSERT_OK(dmx_tensor_new(ctx, DMX_F32, 1, &big, "big", &t));
    for (int i = 0; i < 4000; i++)
        DMX_ASSERT_OK(dmx_tensor_new(ctx, DMX_F32, 1, &small, "small", &t));
}

static void test_arena_merges_chunks_and_blocks(void **state)
{
    fixture *f = *state;
    big_step(f->ctx);
    const size_t first = dmx_ctx_arena_allocations(f->ctx), peak = dmx_ctx_peak_bytes(f->ctx);
    assert_true(first >= 3); /* it did grow in several pieces */
    big_step(f->ctx); /* the reset before it merges: one more allocation, then none */
    const size_t merged = dmx_ctx_arena_allocations(f->ctx);
    for (int k = 0; k < 2; k++) {
        big_step(f->ctx);
        if (dmx_ctx_arena_allocations(f->ctx) != merged || dmx_ctx_peak_bytes(f->ctx) != peak)
            fail_msg("big step %d: %zu arena allocations (after the merge %zu), peak %zu (%zu)",
                     k + 3, dmx_ctx_arena_allocations(f->ctx), merged,
                     dmx_ctx_peak_bytes(f->ctx), peak);
    }
}

static void test_backward_errors(void **state)
{
    fixture *f = *state;
    const int64_t two = 2;
    const float v[2] = {1, 2};
    dmx_tensor *x = NULL, *y = NULL, *c = NULL, *loss = NULL;
    DMX_ASSERT_OK(dmx_test_leaf(f->dev, "x", 1, &two, v, &x));
    DMX_ASSERT_OK(dmx_ctx_reset(f->ctx));
    DMX_ASSERT_OK(dmx_gelu(f->ctx, x, &y));
    DMX_ASSERT_FAILS(dmx_backward(f->ctx, y), DMX_ERR_SHAPE,
                     "must have one element, has shape [2]");
    DMX_ASSERT_FAILS(dmx_backward(f->ctx, NULL), DMX_ERR_INVALID_ARG, "NULL");
    DMX_ASSERT_FAILS(dmx_backward(NULL, y), DMX_ERR_INVALID_ARG, "NULL");
    /* A scalar that depends on nothing trainable. */
    DMX_ASSERT_OK(dmx_tensor_from_host(f->ctx, DMX_F32, 1, &two, v, "const", &c));
    DMX_ASSERT_OK(dmx_sum_rows(f->ctx, c, 2, 1.0f, &loss));
    DMX_ASSERT_FAILS(dmx_backward(f->ctx, loss), DMX_ERR_INVALID_ARG, "needs a gradient");
    /* The same loss computed with recording off. */
    dmx_ctx_set_grad(f->ctx, false);
    DMX_ASSERT_OK(dmx_sum_rows(f->ctx, x, 2, 1.0f, &loss));
    dmx_ctx_set_grad(f->ctx, true);
    DMX_ASSERT_FAILS(dmx_backward(f->ctx, loss), DMX_ERR_INVALID_ARG, "recording off");
    float g[2];
    DMX_ASSERT_OK(dmx_tensor_to_host(x->grad, g, sizeof g));
    assert_true(g[0] == 0.0f && g[1] == 0.0f); /* failed calls wrote nothing */
    dmx_test_leaf_free(x);
}

static void test_inference_mode_records_nothing(void **state)
{
    fixture *f = *state;
    model_zero_grads(&f->m);
    dmx_tensor *loss = NULL;
    DMX_ASSERT_OK(dmx_ctx_reset(f->ctx));
    dmx_ctx_set_grad(f->ctx, false);
    assert_false(dmx_ctx_grad_enabled(f->ctx));
    DMX_ASSERT_OK(forward(f->ctx, &f->m, &loss));
    assert_int_equal(dmx_ctx_tape_length(f->ctx), 0);
    assert_false(loss->flags & DMX_TENSOR_REQUIRES_GRAD);
    DMX_ASSERT_FAILS(dmx_backward(f->ctx, loss), DMX_ERR_INVALID_ARG, "recording off");
    size_t n = 0;
    float *g = model_grads(&f->m, &n);
    for (size_t i = 0; i < n; i++)
        if (g[i] != 0.0f)
            fail_msg("inference mode changed gradient element %zu to %g", i, (double)g[i]);
    free(g);
    /* Recording back on: the same forward records a tape again. */
    dmx_ctx_set_grad(f->ctx, true);
    DMX_ASSERT_OK(dmx_ctx_reset(f->ctx));
    DMX_ASSERT_OK(forward(f->ctx, &f->m, &loss));
    assert_true(dmx_ctx_tape_length(f->ctx) > 10);
    assert_true(loss->flags & DMX_TENSOR_REQUIRES_GRAD);
    DMX_ASSERT_OK(dmx_ctx_reset(f->ctx));
    assert_int_equal(dmx_ctx_tape_length(f->ctx), 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_parameter_gradients_accumulate_across_steps, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_backward_twice_on_one_tape_adds_once_per_call, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_backward_from_two_losses_on_one_tape, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_fresh_gradients_ignore_reused_memory, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_tensor_used_twice_gets_both_contributions, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_frozen_parameters_leave_the_others_unchanged, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_arena_stops_growing_after_the_first_step, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_arena_merges_chunks_and_blocks, setup, teardown),
        cmocka_unit_test_setup_teardown(test_backward_errors, setup, teardown),
        cmocka_unit_test_setup_teardown(test_inference_mode_records_nothing, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
