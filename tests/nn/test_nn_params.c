/* The parameter store: placement, lookup, initialisers, gradients, host copies, and the
 * parameter names every module declares (SPEC section 6). */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "test_util.h"

static dmx_params *new_store(dmx_device *dev)
{
    dmx_params *ps = NULL;
    DMX_ASSERT_OK(dmx_params_create(dev, &ps));
    return ps;
}

static void test_placement_lookup_and_counts(void **state)
{
    (void)state;
    dmx_device *dev = dmx_test_cpu();
    dmx_params *ps = new_store(dev);
    const int64_t w_shape[2] = {3, 5}, b_shape[1] = {3}, u_shape[1] = {7}, id_shape[3] = {2, 2, 2};
    dmx_tensor *w, *b, *u, *id;
    DMX_ASSERT_OK(dmx_params_declare(ps, "a.weight", 2, w_shape, (dmx_init){DMX_INIT_UNIFORM, 0.5f},
                                     true, &w));
    DMX_ASSERT_OK(dmx_params_declare(ps, "buf.u", 1, u_shape, (dmx_init){DMX_INIT_UNIT_NORMAL, 0},
                                     false, &u));
    DMX_ASSERT_OK(dmx_params_declare(ps, "a.bias", 1, b_shape, (dmx_init){DMX_INIT_ZEROS, 0}, true,
                                     &b));
    DMX_ASSERT_OK(dmx_params_declare(ps, "b.weight", 3, id_shape,
                                     (dmx_init){DMX_INIT_IDENTITY, 0}, true, &id));
    assert_null(w->buf); /* no storage before allocation */
    DMX_ASSERT_FAILS(dmx_params_declare(ps, "a.bias", 1, b_shape, (dmx_init){0}, true, NULL),
                     DMX_ERR_INVALID_ARG, "a.bias declared twice");
    DMX_ASSERT_OK(dmx_params_allocate(ps, 42));
    DMX_ASSERT_FAILS(dmx_params_declare(ps, "late", 1, b_shape, (dmx_init){0}, true, NULL),
                     DMX_ERR_INVALID_ARG, "late declared after");
    DMX_ASSERT_FAILS(dmx_params_allocate(ps, 42), DMX_ERR_INVALID_ARG, "twice");

    assert_int_equal(dmx_params_count(ps), 4);
    assert_ptr_equal(dmx_params_at(ps, 1), u);
    assert_string_equal(dmx_params_at(ps, 3)->name, "b.weight");
    assert_ptr_equal(dmx_params_find(ps, "a.bias"), b);
    assert_null(dmx_params_find(ps, "a.gamma"));
    dmx_tensor *t = NULL;
    DMX_ASSERT_FAILS(dmx_params_get(ps, "a.gamma", &t), DMX_ERR_NOT_FOUND, "a.gamma");
    assert_int_equal(dmx_params_trainable_count(ps), 15 + 3 + 8);

    /* Trainable matrices (rank >= 2) first, then the other trainable tensors, then buffers,
     * 64-element aligned, gradients at the same offsets. */
    assert_int_equal(w->offset, 0);
    assert_int_equal(id->offset, 64);
    assert_int_equal(b->offset, 128);
    assert_int_equal(u->offset, 192);
    assert_ptr_equal(w->buf, u->buf);
    assert_true(w->flags & DMX_TENSOR_REQUIRES_GRAD);
    assert_true(w->flags & DMX_TENSOR_PARAM);
    assert_false(u->flags & DMX_TENSOR_REQUIRES_GRAD);
    assert_null(u->grad);
    assert_non_null(w->grad);
    assert_int_equal(w->grad->offset, w->offset);
    assert_int_equal(id->grad->offset, id->offset);
    assert_ptr_equal(w->grad->buf, b->grad->buf);

    dmx_tensor flat_v, flat_g;
    DMX_ASSERT_OK(dmx_params_flat(ps, &flat_v, &flat_g));
    assert_int_equal(flat_v.shape[0], 192);
    assert_int_equal(flat_g.shape[0], 192);
    dmx_params_destroy(ps);
    dmx_device_close(dev);
}

static void test_initialisers(void **state)
{
    (void)state;
    dmx_device *dev = dmx_test_cpu();
    dmx_params *ps = new_store(dev);
    const int64_t big[1] = {4096}, mat[2] = {16, 48}, blocks[3] = {64, 2, 2}, vec[1] = {33};
    const int64_t rect[3] = {2, 2, 3};
    DMX_ASSERT_OK(dmx_params_declare(ps, "u", 1, big, (dmx_init){DMX_INIT_UNIFORM, 0.25f}, true,
                                     NULL));
    DMX_ASSERT_OK(dmx_params_declare(ps, "n", 1, big, (dmx_init){DMX_INIT_NORMAL, 2.0f}, true,
                                     NULL));
    DMX_ASSERT_OK(dmx_params_declare(ps, "x", 2, mat, (dmx_init){DMX_INIT_XAVIER_UNIFORM, 0}, true,
                                     NULL));
    DMX_ASSERT_OK(dmx_params_declare(ps, "o", 3, blocks, (dmx_init){DMX_INIT_ORTHO_2X2, 0}, true,
                                     NULL));
    DMX_ASSERT_OK(dmx_params_declare(ps, "v", 1, vec, (dmx_init){DMX_INIT_UNIT_NORMAL, 0}, false,
                                     NULL));
    DMX_ASSERT_OK(dmx_params_declare(ps, "i", 3, rect, (dmx_init){DMX_INIT_IDENTITY, 0}, true,
                                     NULL));
    DMX_ASSERT_OK(dmx_params_declare(ps, "one", 1, vec, (dmx_init){DMX_INIT_ONES, 0}, true, NULL));
    DMX_ASSERT_FAILS(dmx_params_declare(ps, "bad", 1, vec, (dmx_init){DMX_INIT_ORTHO_2X2, 0}, true,
                                        NULL), DMX_ERR_INVALID_ARG, "bad");
    DMX_ASSERT_OK(dmx_params_allocate(ps, 7));

    float *u = malloc(4096 * 4), *n = malloc(4096 * 4), x[16 * 48], o[256], v[33], id[12], one[33];
    DMX_ASSERT_OK(dmx_params_read(ps, "u", u, 4096));
    DMX_ASSERT_OK(dmx_params_read(ps, "n", n, 4096));
    DMX_ASSERT_OK(dmx_params_read(ps, "x", x, 16 * 48));
    DMX_ASSERT_OK(dmx_params_read(ps, "o", o, 256));
    DMX_ASSERT_OK(dmx_params_read(ps, "v", v, 33));
    DMX_ASSERT_OK(dmx_params_read(ps, "i", id, 12));
    DMX_ASSERT_OK(dmx_params_read(ps, "one", one, 33));
    double lo = 1, hi = -1, mean = 0, var = 0, norm = 0;
    for (int i = 0; i < 4096; i++) {
        lo = fmin(lo, u[i]), hi = fmax(hi, u[i]);
        mean += n[i] / 4096.0;
    }
    for (int i = 0; i < 4096; i++)
        var += (n[i] - mean) * (n[i] - mean) / 4096.0;
    assert_true(lo >= -0.25 && hi <= 0.25 && lo < -0.24 && hi > 0.24);
    if (fabs(mean) > 0.1 || fabs(sqrt(var) - 2.0) > 0.1)
        fail_msg("normal(0, 2): mean %g, std %g", mean, sqrt(var));
    double bound = sqrt(6.0 / 64.0);
    for (int i = 0; i < 16 * 48; i++)
        if (fabs(x[i]) > bound)
            fail_msg("xavier x[%d] = %g beyond %g", i, x[i], bound);
    int reflections = 0;
    for (int k = 0; k < 64; k++) {
        const float *m = o + 4 * k;
        double det = m[0] * m[3] - m[1] * m[2];
        double r0 = m[0] * m[0] + m[1] * m[1], dot = m[0] * m[2] + m[1] * m[3];
        if (fabs(fabs(det) - 1) > 1e-6 || fabs(r0 - 1) > 1e-6 || fabs(dot) > 1e-6)
            fail_msg("ortho block %d = [%g %g; %g %g] is not orthogonal", k, m[0], m[1], m[2],
                     m[3]);
        reflections += det < 0;
    }
    assert_true(reflections > 8 && reflections < 56); /* both signs drawn */
    for (int i = 0; i < 33; i++) {
        norm += (double)v[i] * v[i];
        assert_true(one[i] == 1.0f);
    }
    assert_true(fabs(norm - 1.0) < 1e-6);
    const float want_id[12] = {1, 0, 0, 0, 1, 0, 1, 0, 0, 0, 1, 0};
    DMX_ASSERT_CLOSE("identity [2, 2, 3]", id, want_id, 12, 0, 0);
    free(u), free(n);
    dmx_params_destroy(ps);
    dmx_device_close(dev);
}

/* Values depend on seed and name only: another store declaring in another order agrees. */
static void test_values_depend_on_seed_and_name_only(void **state)
{
    (void)state;
    dmx_device *dev = dmx_test_cpu();
    const char *names[3] = {"p.a", "p.b", "q.c"};
    const int64_t shape[1] = {100};
    float got[3][3][100];
    const uint64_t seeds[3] = {1, 1, 2};
    for (int run = 0; run < 3; run++) {
        dmx_params *ps = new_store(dev);
        for (int k = 0; k < 3; k++) {
            int which = run == 1 ? 2 - k : k; /* run 1 declares in reverse */
            DMX_ASSERT_OK(dmx_params_declare(ps, names[which], 1, shape,
                                             (dmx_init){DMX_INIT_UNIFORM, 1}, true, NULL));
        }
        DMX_ASSERT_OK(dmx_params_allocate(ps, seeds[run]));
        for (int k = 0; k < 3; k++)
            DMX_ASSERT_OK(dmx_params_read(ps, names[k], got[run][k], 100));
        dmx_params_destroy(ps);
    }
    for (int k = 0; k < 3; k++) {
        DMX_ASSERT_CLOSE(names[k], got[1][k], got[0][k], 100, 0, 0);
        assert_true(memcmp(got[2][k], got[0][k], sizeof got[0][k]) != 0);
    }
    assert_true(memcmp(got[0][0], got[0][1], sizeof got[0][0]) != 0);
    dmx_device_close(dev);
}

static void test_gradients_zero_and_host_copies(void **state)
{
    (void)state;
    dmx_device *dev = dmx_test_cpu();
    dmx_params *ps = new_store(dev);
    dmx_tensor *w = NULL;
    const int64_t shape[2] = {2, 3};
    DMX_ASSERT_OK(dmx_params_declare(ps, "w", 2, shape, (dmx_init){DMX_INIT_ZEROS, 0}, true, &w));
    dmx_ctx *ctx = NULL;
    DMX_ASSERT_OK(dmx_ctx_create(dev, &ctx));
    dmx_tensor *y = NULL;
    DMX_ASSERT_FAILS(dmx_scale(ctx, w, 2.0f, &y), DMX_ERR_INVALID_ARG, "no storage");
    DMX_ASSERT_FAILS(dmx_params_zero_grad(ps), DMX_ERR_INVALID_ARG, "allocate first");
    DMX_ASSERT_OK(dmx_params_allocate(ps, 3));
    const float vals[6] = {1, 2, 3, 4, 5, 6};
    DMX_ASSERT_OK(dmx_params_write(ps, "w", vals, 6));
    DMX_ASSERT_FAILS(dmx_params_write(ps, "w", vals, 5), DMX_ERR_SHAPE, "w has shape [2, 3]");
    DMX_ASSERT_FAILS(dmx_params_read(ps, "nope", NULL, 1), DMX_ERR_NOT_FOUND, "nope");
    /* Gradients accumulate across two backward passes, then one fill zeroes them. */
    for (int pass = 0; pass < 2; pass++) {
        dmx_tensor *s = NULL;
        DMX_ASSERT_OK(dmx_ctx_reset(ctx));
        DMX_ASSERT_OK(dmx_scale(ctx, w, 3.0f, &y));
        DMX_ASSERT_OK(dmx_sum_rows(ctx, y, 6, 1.0f, &s));
        DMX_ASSERT_OK(dmx_backward(ctx, s));
    }
    float g[6], want6[6] = {6, 6, 6, 6, 6, 6}, zero[6] = {0}, back[6];
    DMX_ASSERT_OK(dmx_tensor_to_host(w->grad, g, sizeof g));
    DMX_ASSERT_CLOSE("accumulated gradient", g, want6, 6, 0, 0);
    DMX_ASSERT_OK(dmx_params_zero_grad(ps));
    DMX_ASSERT_OK(dmx_tensor_to_host(w->grad, g, sizeof g));
    DMX_ASSERT_CLOSE("zeroed gradient", g, zero, 6, 0, 0);
    DMX_ASSERT_OK(dmx_params_read(ps, "w", back, 6));
    DMX_ASSERT_CLOSE("values", back, vals, 6, 0, 0);
    dmx_ctx_destroy(ctx);
    dmx_params_destroy(ps);
    dmx_device_close(dev);
}

typedef struct expected_param {
    const char *name;
    int ndim;
    int64_t shape[3];
    bool trainable;
} expected_param;

static void expect_params(dmx_params *ps, const expected_param *want, int n)
{
    assert_int_equal(dmx_params_count(ps), n);
    for (int i = 0; i < n; i++) {
        dmx_tensor *t = dmx_params_find(ps, want[i].name);
        if (!t)
            fail_msg("parameter %s was not declared", want[i].name);
        char got[96];
        dmx_shape_str(t, got, sizeof got);
        if (t->ndim != want[i].ndim)
            fail_msg("%s: shape %s, rank %d expected", want[i].name, got, want[i].ndim);
        for (int k = 0; k < want[i].ndim; k++)
            if (t->shape[k] != want[i].shape[k])
                fail_msg("%s: shape %s, dimension %d should be %lld", want[i].name, got, k,
                         (long long)want[i].shape[k]);
        assert_int_equal(!!(t->flags & DMX_TENSOR_REQUIRES_GRAD), want[i].trainable);
    }
}

/* The names of SPEC section 6, as the modules declare them. */
static void test_module_parameter_names(void **state)
{
    (void)state;
    dmx_device *dev = dmx_test_cpu();
    dmx_params *ps = new_store(dev);
    dmx_nn_mixer_block mb;
    dmx_mix_config tok = {DMX_MIX_BUTTERFLY_MLP, 4, 2}, ch = {DMX_MIX_DENSE, 0, 2};
    DMX_ASSERT_OK(dmx_mixer_block_init(ps, "blocks.0", 16, 6, &tok, &ch, 1e-5f, &mb));
    const expected_param mixer[] = {
        {"blocks.0.norm1.weight", 1, {6}, true}, {"blocks.0.norm1.bias", 1, {6}, true},
        {"blocks.0.token_mix.stages.0.w1", 3, {4, 8, 4}, true},
        {"blocks.0.token_mix.stages.0.b1", 2, {4, 8}, true},
        {"blocks.0.token_mix.stages.0.w2", 3, {4, 4, 8}, true},
        {"blocks.0.token_mix.stages.0.b2", 2, {4, 4}, true},
        {"blocks.0.token_mix.stages.1.w1", 3, {4, 8, 4}, true},
        {"blocks.0.token_mix.stages.1.b1", 2, {4, 8}, true},
        {"blocks.0.token_mix.stages.1.w2", 3, {4, 4, 8}, true},
        {"blocks.0.token_mix.stages.1.b2", 2, {4, 4}, true},
        {"blocks.0.norm2.weight", 1, {6}, true}, {"blocks.0.norm2.bias", 1, {6}, true},
        {"blocks.0.channel_mix.fc1.weight", 2, {12, 6}, true},
        {"blocks.0.channel_mix.fc1.bias", 1, {12}, true},
        {"blocks.0.channel_mix.fc2.weight", 2, {6, 12}, true},
        {"blocks.0.channel_mix.fc2.bias", 1, {6}, true},
    };
    expect_params(ps, mixer, 16);
    dmx_params_destroy(ps);

    ps = new_store(dev);
    dmx_nn_butterfly_attention ba;
    dmx_block_config cfg = {.dim = 8, .heads = 2, .hidden = 16, .eps = 1e-5f};
    DMX_ASSERT_OK(dmx_butterfly_attention_init(ps, "blocks.1", &cfg, 4, 1, &ba));
    dmx_nn_imlp im;
    dmx_imlp_config ic = {.tokens = 9, .width = 4, .inner = 8, .n_iter = 2, .n_power = 1};
    DMX_ASSERT_OK(dmx_imlp_init(ps, "blocks.0.token_mix", &ic, &im));
    dmx_nn_butterfly_linear bl;
    DMX_ASSERT_OK(dmx_butterfly_linear_init(ps, "bfly", 8, 2, 0, DMX_BUTTERFLY_ORTHO, true, &bl));
    const expected_param rest[] = {
        {"blocks.1.attn.q.weight", 2, {8, 8}, true}, {"blocks.1.attn.q.bias", 1, {8}, true},
        {"blocks.1.attn.k.weight", 2, {8, 8}, true}, {"blocks.1.attn.k.bias", 1, {8}, true},
        {"blocks.1.attn.v.weight", 2, {8, 8}, true}, {"blocks.1.attn.v.bias", 1, {8}, true},
        {"blocks.1.attn.o.weight", 2, {8, 8}, true}, {"blocks.1.attn.o.bias", 1, {8}, true},
        {"blocks.1.norm1.weight", 1, {8}, true},     {"blocks.1.norm1.bias", 1, {8}, true},
        {"blocks.1.mlp.fc1.weight", 2, {16, 8}, true}, {"blocks.1.mlp.fc1.bias", 1, {16}, true},
        {"blocks.1.mlp.fc2.weight", 2, {8, 16}, true}, {"blocks.1.mlp.fc2.bias", 1, {8}, true},
        {"blocks.1.norm2.weight", 1, {8}, true},     {"blocks.1.norm2.bias", 1, {8}, true},
        {"blocks.0.token_mix.fc1.weight", 2, {4, 9}, true},
        {"blocks.0.token_mix.fc1.bias", 1, {4}, true},
        {"blocks.0.token_mix.fc2.weight", 2, {9, 4}, true},
        {"blocks.0.token_mix.fc2.bias", 1, {9}, true},
        {"blocks.0.token_mix.fa.weight", 2, {8, 4}, true},
        {"blocks.0.token_mix.fa.bias", 1, {8}, true},
        {"blocks.0.token_mix.fb.weight", 2, {4, 8}, true},
        {"blocks.0.token_mix.fb.bias", 1, {4}, true},
        {"blocks.0.token_mix.fa.u", 1, {8}, false}, {"blocks.0.token_mix.fa.v", 1, {4}, false},
        {"blocks.0.token_mix.fb.u", 1, {4}, false}, {"blocks.0.token_mix.fb.v", 1, {8}, false},
        {"bfly.stages.0.weight", 3, {4, 2, 2}, true}, {"bfly.stages.1.weight", 3, {4, 2, 2}, true},
        {"bfly.stages.2.weight", 3, {4, 2, 2}, true}, {"bfly.bias", 1, {8}, true},
    };
    expect_params(ps, rest, 32);
    DMX_ASSERT_FAILS(dmx_butterfly_linear_init(ps, "bad", 12, 8, 0, DMX_BUTTERFLY_UNIFORM, false,
                                               &bl),
                     DMX_ERR_SHAPE, "N = 12 is not a multiple of b * s = 8");
    DMX_ASSERT_FAILS(dmx_butterfly_linear_init(ps, "bad", 16, 4, 0, DMX_BUTTERFLY_ORTHO, false,
                                               &bl), DMX_ERR_INVALID_ARG, "radix 2");
    DMX_ASSERT_FAILS(dmx_monarch_init(ps, "bad", 12, DMX_BUTTERFLY_UNIFORM, false, &bl),
                     DMX_ERR_SHAPE, "N = 12 is not b^2");
    DMX_ASSERT_FAILS(dmx_attention_init(ps, "bad", 10, 4, &ba.block.attn), DMX_ERR_INVALID_ARG,
                     "10 does not split into 4 heads");
    dmx_params_destroy(ps);
    dmx_device_close(dev);
}

/* The store's tensors drive an optimizer: an identity-initialised butterfly learns another
 * butterfly's map (exactly representable), the Butterfly-Linear matrix fit of papers.md 1.7. */
static void test_store_trains_with_an_optimizer(void **state)
{
    (void)state;
    dmx_device *dev = dmx_test_cpu();
    dmx_params *ps = new_store(dev), *target_ps = new_store(dev);
    dmx_nn_butterfly_linear m, target;
    DMX_ASSERT_OK(dmx_butterfly_linear_init(ps, "fit", 16, 4, 0, DMX_BUTTERFLY_IDENTITY, false,
                                            &m));
    DMX_ASSERT_OK(dmx_butterfly_linear_init(target_ps, "fit", 16, 4, 0, DMX_BUTTERFLY_UNIFORM,
                                            false, &target));
    DMX_ASSERT_OK(dmx_params_allocate(ps, 1));
    DMX_ASSERT_OK(dmx_params_allocate(target_ps, 2));
    dmx_tensor *trainable[8];
    int n = dmx_params_trainable(ps, trainable, 8);
    assert_int_equal(n, 2);
    assert_int_equal(dmx_params_trainable(ps, NULL, 0), 2);
    dmx_optimizer *opt = NULL;
    dmx_optim_config cfg = {.kind = DMX_OPTIM_ADAM};
    DMX_ASSERT_OK(dmx_optim_create(dev, &cfg, trainable, n, &opt));
    dmx_ctx *ctx = NULL;
    DMX_ASSERT_OK(dmx_ctx_create(dev, &ctx));
    dmx_test_rng rng = {4};
    float x[32 * 16], first = 0, last = 0;
    dmx_test_fill(&rng, x, 32 * 16, -1, 1);
    const int64_t shape[2] = {32, 16};
    for (int step = 0; step < 60; step++) {
        dmx_tensor *tx, *y, *t, *neg, *diff, *sq, *loss;
        DMX_ASSERT_OK(dmx_ctx_reset(ctx));
        DMX_ASSERT_OK(dmx_params_zero_grad(ps));
        DMX_ASSERT_OK(dmx_tensor_from_host(ctx, DMX_F32, 2, shape, x, "x", &tx));
        dmx_ctx_set_grad(ctx, false);
        DMX_ASSERT_OK(dmx_butterfly_linear_forward(ctx, &target, tx, -1, &t));
        dmx_ctx_set_grad(ctx, true);
        DMX_ASSERT_OK(dmx_butterfly_linear_forward(ctx, &m, tx, -1, &y));
        DMX_ASSERT_OK(dmx_scale(ctx, t, -1.0f, &neg));
        DMX_ASSERT_OK(dmx_add(ctx, y, neg, &diff));
        DMX_ASSERT_OK(dmx_mul(ctx, diff, diff, &sq));
        DMX_ASSERT_OK(dmx_sum_rows(ctx, sq, 32 * 16, 1.0f / (32 * 16), &loss));
        DMX_ASSERT_OK(dmx_backward(ctx, loss));
        DMX_ASSERT_OK(dmx_tensor_to_host(loss, &last, sizeof last));
        if (step == 0)
            first = last;
        DMX_ASSERT_OK(dmx_optim_step(opt, 0.05f));
    }
    if (!(last < first / 10))
        fail_msg("mean squared error %g after 60 Adam steps, %g at the start", last, first);
    dmx_optim_destroy(opt);
    dmx_ctx_destroy(ctx);
    dmx_params_destroy(ps);
    dmx_params_destroy(target_ps);
    dmx_device_close(dev);
}

/* An optimizer over a store's trainable tensors updates each run of neighbours with the same
 * decay in one op (matrices, then vectors: 2 ops per step), and gives bitwise the values of
 * one op per tensor (a list with a tensor left out is not flat, so it takes that path). */
static void run_adamw(dmx_device *dev, dmx_tensor **list, int n, dmx_tensor **all, int n_all,
                      uint64_t *ops_per_step)
{
    dmx_optimizer *opt = NULL;
    dmx_optim_config cfg = {.kind = DMX_OPTIM_ADAMW, .weight_decay = 0.1f,
                            .decay_matrices_only = true};
    DMX_ASSERT_OK(dmx_optim_create(dev, &cfg, list, n, &opt));
    dmx_test_rng rng = {9};
    float g[64];
    dmx_device_counters c0, c1;
    for (int step = 0; step < 3; step++) {
        for (int i = 0; i < n_all; i++) { /* the same gradients for every list */
            const int64_t k = dmx_tensor_numel(all[i]);
            dmx_test_fill(&rng, g, (size_t)k, -1, 1);
            DMX_ASSERT_OK(dmx_tensor_write(all[i]->grad, g, (size_t)k * 4));
        }
        dmx_device_counters_get(dev, &c0);
        DMX_ASSERT_OK(dmx_optim_step(opt, 0.01f));
        dmx_device_counters_get(dev, &c1);
        *ops_per_step = c1.ops - c0.ops;
    }
    dmx_optim_destroy(opt);
}

static void test_optimizer_updates_runs_of_a_store_in_one_op(void **state)
{
    (void)state;
    dmx_device *dev = dmx_test_cpu();
    dmx_params *stores[2];
    dmx_tensor *t[2][4];
    const int64_t w_shape[2] = {3, 5}, b_shape[1] = {3}, v_shape[2] = {4, 4}, c_shape[1] = {7};
    for (int k = 0; k < 2; k++) {
        stores[k] = new_store(dev);
        DMX_ASSERT_OK(dmx_params_declare(stores[k], "a.weight", 2, w_shape,
                                         (dmx_init){DMX_INIT_UNIFORM, 0.5f}, true, &t[k][0]));
        DMX_ASSERT_OK(dmx_params_declare(stores[k], "a.bias", 1, b_shape,
                                         (dmx_init){DMX_INIT_UNIFORM, 0.5f}, true, &t[k][1]));
        DMX_ASSERT_OK(dmx_params_declare(stores[k], "b.weight", 2, v_shape,
                                         (dmx_init){DMX_INIT_UNIFORM, 0.5f}, true, &t[k][2]));
        DMX_ASSERT_OK(dmx_params_declare(stores[k], "b.bias", 1, c_shape,
                                         (dmx_init){DMX_INIT_UNIFORM, 0.5f}, true, &t[k][3]));
        DMX_ASSERT_OK(dmx_params_allocate(stores[k], 5));
    }
    uint64_t grouped = 0, single = 0;
    run_adamw(dev, t[0], 4, t[0], 4, &grouped);
    /* b.weight left out: a gap of more than padding between a.weight and the vectors */
    dmx_tensor *three[3] = {t[1][0], t[1][1], t[1][3]};
    run_adamw(dev, three, 3, t[1], 4, &single);
    assert_int_equal(grouped, 2);
    assert_int_equal(single, 3);
    for (int i = 0; i < 4; i += 1 + (i == 1)) { /* 0, 1, 3 */
        float a[64], b[64];
        const size_t bytes = dmx_tensor_bytes(t[0][i]);
        DMX_ASSERT_OK(dmx_tensor_to_host(t[0][i], a, bytes));
        DMX_ASSERT_OK(dmx_tensor_to_host(t[1][i], b, bytes));
        assert_memory_equal(a, b, bytes);
    }
    /* The padding between tensors stayed zero. */
    dmx_tensor fv, fg;
    DMX_ASSERT_OK(dmx_params_flat(stores[0], &fv, &fg));
    float *flat = malloc(dmx_tensor_bytes(&fv));
    DMX_ASSERT_OK(dmx_tensor_to_host(&fv, flat, dmx_tensor_bytes(&fv)));
    for (int i = 0; i < 4; i++)
        for (size_t e = t[0][i]->offset + (size_t)dmx_tensor_numel(t[0][i]);
             e < (size_t)fv.shape[0] && e % 64; e++)
            assert_true(flat[e] == 0.0f);
    free(flat);
    dmx_params_destroy(stores[0]);
    dmx_params_destroy(stores[1]);
    dmx_device_close(dev);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_placement_lookup_and_counts),
        cmocka_unit_test(test_initialisers),
        cmocka_unit_test(test_values_depend_on_seed_and_name_only),
        cmocka_unit_test(test_gradients_zero_and_host_copies),
        cmocka_unit_test(test_module_parameter_names),
        cmocka_unit_test(test_store_trains_with_an_optimizer),
        cmocka_unit_test(test_optimizer_updates_runs_of_a_store_in_one_op),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
