/* Backward of the linear maps against central finite differences: mix_linear over every view
 * of SPEC section 2 (with and without bias, and with inputs that are activations rather than
 * parameters), linear on the last axis of a rank-3 input, and matmul over rank-4 batches and
 * rank 2 (test_gradcheck_core.c covers the four transposes with shared B at rank 3), and the
 * fused butterfly-MLP stage mix_mlp (also against its unfused definition). */
#include <stdlib.h>

#include "core/error.h"
#include "gradcheck.h"

typedef struct mix_case {
    const char *what;
    int M, J, Din, Dout, R1, R2;
    int bias;
    int via_activation; /* x, W, bias pass through scale(1): fresh activation gradients */
} mix_case;

static dmx_status mix_fn(dmx_ctx *ctx, dmx_tensor *const *in, dmx_tensor **out, void *user)
{
    const mix_case *c = user;
    dmx_tensor *x = in[0], *w = in[1], *bias = c->bias ? in[2] : NULL;
    if (c->via_activation) {
        DMX_TRY(dmx_scale(ctx, in[0], 1.0f, &x));
        DMX_TRY(dmx_scale(ctx, in[1], 1.0f, &w));
        if (bias)
            DMX_TRY(dmx_scale(ctx, in[2], 1.0f, &bias));
    }
    return dmx_mix_linear(ctx, x, w, bias, c->M, c->J, c->Din, c->R1, c->R2, out);
}

static void test_mix_linear_gradients_every_view(void **state)
{
    (void)state;
    /* SPEC section 2's table, with odd sizes. */
    const mix_case cases[] = {
        {"dense [rows, K]", 5, 1, 3, 4, 1, 1, 1, 0},
        {"token mixing [B, S, C]", 2, 1, 5, 3, 1, 3, 1, 0},
        {"butterfly stage, last axis (N 9, b 3, s 3)", 2, 1, 3, 3, 3, 1, 0, 0},
        {"butterfly stage, token axis (S 9, b 3, s 1, C 3)", 2, 3, 3, 3, 1, 3, 1, 0},
        {"block-diagonal (Monarch factor, N 15, b 5)", 2, 3, 5, 5, 1, 1, 0, 0},
        {"Dout != Din, every axis > 1", 2, 2, 3, 5, 2, 3, 1, 0},
        {"every axis > 1, all inputs activations", 2, 2, 3, 5, 2, 3, 1, 1},
        {"dense, all inputs activations", 4, 1, 3, 2, 1, 1, 1, 1},
    };
    dmx_device *dev = dmx_test_cpu();
    dmx_test_rng rng = {127};
    for (size_t k = 0; k < sizeof cases / sizeof cases[0]; k++) {
        const mix_case *c = &cases[k];
        const int64_t nx = (int64_t)c->M * c->J * c->Din * c->R1 * c->R2;
        const int64_t nw = (int64_t)c->J * c->R1 * c->Dout * c->Din;
        const int64_t nb = (int64_t)c->J * c->R1 * c->Dout;
        dmx_tensor *in[3];
        DMX_ASSERT_OK(dmx_test_leaf_random(dev, "x", 1, &nx, &rng, -1, 1, &in[0]));
        DMX_ASSERT_OK(dmx_test_leaf_random(dev, "w", 1, &nw, &rng, -1, 1, &in[1]));
        DMX_ASSERT_OK(dmx_test_leaf_random(dev, "bias", 1, &nb, &rng, -1, 1, &in[2]));
        DMX_ASSERT_GRADCHECK(dev, c->what, mix_fn, (void *)c, in, c->bias ? 3 : 2, NULL);
        for (int i = 0; i < 3; i++)
            dmx_test_leaf_free(in[i]);
    }
    dmx_device_close(dev);
}

typedef struct mlp_case {
    const char *what;
    int M, J, Din, Dh, Dout, R1, R2;
    int via_activation; /* x passes through scale(1): its gradient accumulates into a fresh one */
} mlp_case;

static const mlp_case mlp_cases[] = {
    {"butterfly stage, last axis (N 9, b 3, e 2, s 3)", 2, 1, 3, 6, 3, 3, 1, 0},
    {"token stage (b 3, s 1, C 3)", 2, 3, 3, 3, 3, 1, 3, 0},
    {"every axis > 1, Dout != Din", 2, 2, 3, 4, 5, 2, 3, 0},
    {"every axis > 1, x an activation", 2, 2, 3, 4, 5, 2, 3, 1},
};

static dmx_status mlp_fn(dmx_ctx *ctx, dmx_tensor *const *in, dmx_tensor **out, void *user)
{
    const mlp_case *c = user;
    dmx_tensor *x = in[0];
    if (c->via_activation) {
        DMX_TRY(dmx_scale(ctx, in[0], 1.0f, &x));
        dmx_tensor *again = NULL; /* x feeds two ops, so its gradient is a sum */
        DMX_TRY(dmx_mix_mlp(ctx, x, in[1], in[2], in[3], in[4], c->M, c->J, c->Din, c->R1, c->R2,
                            &again));
        dmx_tensor *y = NULL;
        DMX_TRY(dmx_mix_mlp(ctx, x, in[1], in[2], in[3], in[4], c->M, c->J, c->Din, c->R1, c->R2,
                            &y));
        return dmx_add(ctx, y, again, out);
    }
    return dmx_mix_mlp(ctx, x, in[1], in[2], in[3], in[4], c->M, c->J, c->Din, c->R1, c->R2, out);
}

/* The same stage unfused: mix_linear, GELU, mix_linear. */
static dmx_status mlp_chain(dmx_ctx *ctx, dmx_tensor *const *in, const mlp_case *c,
                            dmx_tensor **out)
{
    dmx_tensor *h = NULL, *a = NULL;
    DMX_TRY(dmx_mix_linear(ctx, in[0], in[1], in[2], c->M, c->J, c->Din, c->R1, c->R2, &h));
    DMX_TRY(dmx_gelu(ctx, h, &a));
    return dmx_mix_linear(ctx, a, in[3], in[4], c->M, c->J, c->Dh, c->R1, c->R2, out);
}

static void mlp_leaves(dmx_device *dev, const mlp_case *c, dmx_test_rng *rng, dmx_tensor **in)
{
    const int64_t G = (int64_t)c->J * c->R1, rows = (int64_t)c->M * G * c->R2;
    const int64_t n[5] = {rows * c->Din, G * c->Dh * c->Din, G * c->Dh, G * c->Dout * c->Dh,
                          G * c->Dout};
    const char *names[5] = {"x", "w1", "b1", "w2", "b2"};
    for (int i = 0; i < 5; i++)
        DMX_ASSERT_OK(dmx_test_leaf_random(dev, names[i], 1, &n[i], rng, -1, 1, &in[i]));
}

static void test_mix_mlp_gradients(void **state)
{
    (void)state;
    dmx_device *dev = dmx_test_cpu();
    dmx_test_rng rng = {137};
    for (size_t k = 0; k < sizeof mlp_cases / sizeof mlp_cases[0]; k++) {
        dmx_tensor *in[5];
        mlp_leaves(dev, &mlp_cases[k], &rng, in);
        DMX_ASSERT_GRADCHECK(dev, mlp_cases[k].what, mlp_fn, (void *)&mlp_cases[k], in, 5, NULL);
        for (int i = 0; i < 5; i++)
            dmx_test_leaf_free(in[i]);
    }
    dmx_device_close(dev);
}

/* The fused stage computes what its definition says: mix_linear, GELU, mix_linear. */
static void test_mix_mlp_is_the_unfused_chain(void **state)
{
    (void)state;
    dmx_device *dev = dmx_test_cpu();
    dmx_test_rng rng = {139};
    for (size_t k = 0; k < sizeof mlp_cases / sizeof mlp_cases[0]; k++) {
        const mlp_case *c = &mlp_cases[k];
        dmx_tensor *in[5];
        mlp_leaves(dev, c, &rng, in);
        dmx_ctx *ctx = NULL;
        DMX_ASSERT_OK(dmx_ctx_create(dev, &ctx));
        dmx_tensor *fused = NULL, *chain = NULL;
        DMX_ASSERT_OK(dmx_mix_mlp(ctx, in[0], in[1], in[2], in[3], in[4], c->M, c->J, c->Din,
                                  c->R1, c->R2, &fused));
        DMX_ASSERT_OK(mlp_chain(ctx, in, c, &chain));
        assert_int_equal(dmx_tensor_numel(fused), dmx_tensor_numel(chain));
        float *got = dmx_test_read(fused), *want = dmx_test_read(chain);
        DMX_ASSERT_CLOSE(c->what, got, want, (size_t)dmx_tensor_numel(fused), 1e-6, 1e-5);
        free(got);
        free(want);
        dmx_ctx_destroy(ctx);
        for (int i = 0; i < 5; i++)
            dmx_test_leaf_free(in[i]);
    }
    dmx_device_close(dev);
}

static dmx_status linear_fn(dmx_ctx *ctx, dmx_tensor *const *in, dmx_tensor **out, void *user)
{
    return dmx_linear(ctx, in[0], in[1], user ? in[2] : NULL, out);
}

static void test_linear_gradients(void **state)
{
    (void)state;
    dmx_device *dev = dmx_test_cpu();
    dmx_test_rng rng = {131};
    const int64_t xs[3] = {2, 3, 5}, ws[2] = {4, 5}, bs = 4;
    dmx_tensor *in[3];
    DMX_ASSERT_OK(dmx_test_leaf_random(dev, "x", 3, xs, &rng, -1, 1, &in[0]));
    DMX_ASSERT_OK(dmx_test_leaf_random(dev, "weight", 2, ws, &rng, -1, 1, &in[1]));
    DMX_ASSERT_OK(dmx_test_leaf_random(dev, "bias", 1, &bs, &rng, -1, 1, &in[2]));
    static int with_bias = 1;
    DMX_ASSERT_GRADCHECK(dev, "linear", linear_fn, NULL, in, 2, NULL);
    DMX_ASSERT_GRADCHECK(dev, "linear with bias", linear_fn, &with_bias, in, 3, NULL);
    for (int i = 0; i < 3; i++)
        dmx_test_leaf_free(in[i]);
    dmx_device_close(dev);
}

typedef struct mm_case {
    int ta, tb;
    float alpha;
    int via_activation; /* b passes through scale(1) */
} mm_case;

static dmx_status matmul_fn(dmx_ctx *ctx, dmx_tensor *const *in, dmx_tensor **out, void *user)
{
    const mm_case *c = user;
    dmx_tensor *b = in[1];
    if (c->via_activation)
        DMX_TRY(dmx_scale(ctx, in[1], 1.0f, &b));
    return dmx_matmul(ctx, in[0], b, c->ta, c->tb, c->alpha, out);
}

static void test_matmul_gradients_rank4_rank2_and_shared(void **state)
{
    (void)state;
    dmx_device *dev = dmx_test_cpu();
    dmx_test_rng rng = {137};
    const int M = 3, K = 5, N = 2;
    for (int form = 0; form < 3; form++) /* 0: rank 4, 1: rank 2, 2: rank 4 with shared b */
        for (int ta = 0; ta < 2; ta++)
            for (int tb = 0; tb < 2; tb++) {
                const int64_t ashape[4] = {2, 3, ta ? K : M, ta ? M : K};
                const int64_t bshape[4] = {2, 3, tb ? N : K, tb ? K : N};
                const int a4 = form != 1, b4 = form == 0;
                dmx_tensor *in[2];
                DMX_ASSERT_OK(dmx_test_leaf_random(dev, "a", a4 ? 4 : 2, a4 ? ashape : ashape + 2,
                                                   &rng, -1, 1, &in[0]));
                DMX_ASSERT_OK(dmx_test_leaf_random(dev, "b", b4 ? 4 : 2, b4 ? bshape : bshape + 2,
                                                   &rng, -1, 1, &in[1]));
                /* A shared b reached through an activation: its gradient is fresh and the
                 * batches must be summed into it, not overwrite one another. */
                mm_case c = {ta, tb, form == 1 ? 1.0f : -0.7f, form == 2};
                DMX_ASSERT_GRADCHECK(dev, "matmul", matmul_fn, &c, in, 2, NULL);
                dmx_test_leaf_free(in[0]);
                dmx_test_leaf_free(in[1]);
            }
    dmx_device_close(dev);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_mix_linear_gradients_every_view),
        cmocka_unit_test(test_mix_mlp_gradients),
        cmocka_unit_test(test_mix_mlp_is_the_unfused_chain),
        cmocka_unit_test(test_linear_gradients),
        cmocka_unit_test(test_matmul_gradients_rank4_rank2_and_shared),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
