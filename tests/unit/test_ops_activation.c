/* GELU (exact erf), ELU and ReLU, forward and backward, against double-precision formulas
 * written from SPEC section 3, including the extremes +-30 and +-150 (no NaN, exact limits). */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "op_harness.h"

#define SQRT1_2 0.70710678118654752440
#define INV_SQRT_2PI 0.39894228040143267794

static double gelu_ref(double x) { return 0.5 * x * (1.0 + erf(x * SQRT1_2)); }
static double gelu_grad_ref(double x)
{
    return 0.5 * (1.0 + erf(x * SQRT1_2)) + x * INV_SQRT_2PI * exp(-0.5 * x * x);
}
static double elu_ref(double x) { return x > 0 ? x : expm1(x); }
static double elu_grad_ref(double x) { return x > 0 ? 1.0 : exp(x); }
static double relu_ref(double x) { return x > 0 ? x : 0.0; }
static double relu_grad_ref(double x) { return x > 0 ? 1.0 : 0.0; }

typedef dmx_status (*tensor_fn)(dmx_ctx *, dmx_tensor *, dmx_tensor **);

typedef struct activation {
    const char *name;
    tensor_fn forward;
    dmx_op fwd_op, bwd_op;
    double (*f)(double);
    double (*df)(double);
} activation;

static const activation activations[] = {
    {"gelu", dmx_gelu, DMX_OP_GELU, DMX_OP_GELU_BWD, gelu_ref, gelu_grad_ref},
    {"elu", dmx_elu, DMX_OP_ELU, DMX_OP_ELU_BWD, elu_ref, elu_grad_ref},
    {"relu", dmx_relu, DMX_OP_RELU, DMX_OP_RELU_BWD, relu_ref, relu_grad_ref},
};
#define N_ACTIVATIONS (sizeof activations / sizeof activations[0])

/* Points in [-6, 6] plus the extremes and the kinks. */
static float *test_points(size_t *n_out)
{
    static const float special[] = {-150.0f, -30.0f, -10.0f, -1e-3f, -0.0f, 0.0f,
                                    1e-3f,   10.0f,  30.0f,  150.0f, -1e-30f, 1e-30f};
    const size_t n_random = 1001, n_special = sizeof special / sizeof special[0];
    float *x = malloc((n_random + n_special) * sizeof *x);
    dmx_test_rng rng = {42};
    dmx_test_fill(&rng, x, n_random, -6.0f, 6.0f);
    memcpy(x + n_random, special, sizeof special);
    *n_out = n_random + n_special;
    return x;
}

static void test_forward_matches_formulas(void **state)
{
    (void)state;
    dmx_device *dev = dmx_test_cpu();
    dmx_ctx *ctx = NULL;
    DMX_ASSERT_OK(dmx_ctx_create(dev, &ctx));
    size_t n = 0;
    float *x = test_points(&n);
    float *want = malloc(n * sizeof *want);
    const int64_t shape[2] = {1, (int64_t)n};
    for (size_t a = 0; a < N_ACTIVATIONS; a++) {
        const activation *act = &activations[a];
        DMX_ASSERT_OK(dmx_test_poison_arena(ctx, 1 << 16));
        dmx_tensor *tx = NULL, *ty = NULL;
        DMX_ASSERT_OK(dmx_tensor_from_host(ctx, DMX_F32, 2, shape, x, "x", &tx));
        DMX_ASSERT_OK(act->forward(ctx, tx, &ty));
        assert_int_equal(ty->ndim, 2);
        assert_int_equal(ty->shape[1], (int64_t)n);
        for (size_t i = 0; i < n; i++)
            want[i] = (float)act->f(x[i]);
        float *got = dmx_test_read(ty);
        /* SPEC: accurate to 1e-7 absolute (and to float rounding relative). */
        DMX_ASSERT_CLOSE(act->name, got, want, n, 1e-7, 2e-7);
        assert_int_equal(dmx_optest_count_nan(got, n), 0);
        free(got);
    }
    free(x);
    free(want);
    dmx_ctx_destroy(ctx);
    dmx_device_close(dev);
}

static void test_extremes_reach_exact_limits(void **state)
{
    (void)state;
    dmx_device *dev = dmx_test_cpu();
    const float x[6] = {-150.0f, -30.0f, 30.0f, 150.0f, -0.0f, 0.0f};
    /* GELU: x Phi(x) is exactly x (in float) at +30 and exactly 0 at -30; ELU saturates at -1.
     * The derivatives are exact too, but for e^-30 (relative 1e-6; exact limits give 0 slack). */
    const float gelu_want[6] = {0, 0, 30, 150, 0, 0}, gelu_grad_want[6] = {0, 0, 1, 1, 0.5f, 0.5f};
    const float elu_want[6] = {-1, -1, 30, 150, 0, 0};
    const float elu_grad_want[6] = {0, 9.3576230e-14f /* e^-30 */, 1, 1, 1, 1};
    const float relu_grad_want[6] = {0, 0, 1, 1, 0, 0}; /* x > 0 ? 1 : 0, so 0 at 0 */
    const float *fwd_want[3] = {gelu_want, elu_want, NULL};
    const float *bwd_want[3] = {gelu_grad_want, elu_grad_want, relu_grad_want};
    const float ones[6] = {1, 1, 1, 1, 1, 1};
    float got[6];
    for (size_t a = 0; a < N_ACTIVATIONS; a++) {
        const activation *act = &activations[a];
        dmx_arg tx = dmx_optest_arg(dev, x, 6), ty = dmx_optest_arg(dev, NULL, 6);
        dmx_arg tdy = dmx_optest_arg(dev, ones, 6), tdx = dmx_optest_arg(dev, NULL, 6);
        dmx_p_unary p = {.n = 6};
        DMX_OPTEST_RUN(dev, act->fwd_op, &p, tx, ty);
        dmx_optest_read(ty, got);
        if (fwd_want[a])
            for (int i = 0; i < 6; i++)
                if (got[i] != fwd_want[a][i])
                    fail_msg("%s(%g) = %.9g, want exactly %g", act->name, (double)x[i],
                             (double)got[i], (double)fwd_want[a][i]);
        assert_int_equal(dmx_optest_count_nan(got, 6), 0);
        DMX_OPTEST_RUN(dev, act->bwd_op, &p, tx, tdy, tdx);
        dmx_optest_read(tdx, got);
        for (int i = 0; i < 6; i++)
            if (!(fabsf(got[i] - bwd_want[a][i]) <= 1e-6f * bwd_want[a][i]))
                fail_msg("%s'(%g) = %.9g, want %.9g", act->name, (double)x[i],
                         (double)got[i], (double)bwd_want[a][i]);
        dmx_optest_free(tx, "x"), dmx_optest_free(ty, "y");
        dmx_optest_free(tdy, "dy"), dmx_optest_free(tdx, "dx");
    }
    dmx_device_close(dev);
}

static void test_backward_ops_overwrite_or_accumulate(void **state)
{
    (void)state;
    dmx_device *dev = dmx_test_cpu();
    size_t n = 0;
    float *x = test_points(&n);
    float *dy = malloc(n * sizeof *dy), *dx0 = malloc(n * sizeof *dx0);
    float *got = malloc(n * sizeof *got), *want = malloc(n * sizeof *want);
    dmx_test_rng rng = {9};
    dmx_test_fill(&rng, dy, n, -2, 2);
    dmx_test_fill(&rng, dx0, n, -2, 2);
    for (size_t a = 0; a < N_ACTIVATIONS; a++)
        for (int acc = 0; acc < 2; acc++) {
            const activation *act = &activations[a];
            dmx_arg tx = dmx_optest_arg(dev, x, n), tdy = dmx_optest_arg(dev, dy, n);
            dmx_arg tdx = dmx_optest_arg(dev, acc ? dx0 : NULL, n);
            dmx_p_unary p = {.n = (int32_t)n, .accumulate = acc};
            DMX_OPTEST_RUN(dev, act->bwd_op, &p, tx, tdy, tdx);
            dmx_optest_read(tdx, got);
            for (size_t i = 0; i < n; i++)
                want[i] = (float)((acc ? dx0[i] : 0.0) + (double)dy[i] * act->df(x[i]));
            char what[64];
            snprintf(what, sizeof what, "%s_bwd (accumulate %d)", act->name, acc);
            DMX_ASSERT_CLOSE(what, got, want, n, 1e-6, 1e-6);
            dmx_optest_free(tx, "x"), dmx_optest_free(tdy, "dy"), dmx_optest_free(tdx, "dx");
        }
    free(x), free(dy), free(dx0), free(got), free(want);
    dmx_device_close(dev);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_forward_matches_formulas),
        cmocka_unit_test(test_extremes_reach_exact_limits),
        cmocka_unit_test(test_backward_ops_overwrite_or_accumulate),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
