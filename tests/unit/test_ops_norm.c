/* LayerNorm (eps 1e-5 and 1e-6, affine) and softmax (scale, grouped masks, removed entries,
 * fully masked rows, logits +-100), forward and backward kernels, against double-precision
 * loops written from op_params.h. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "op_harness.h"

/* ---- layernorm ---- */

static void layernorm_naive(const float *x, const float *gamma, const float *beta, int rows,
                            int cols, double eps, float *y, float *mean, float *rstd)
{
    for (int r = 0; r < rows; r++) {
        const float *xr = x + r * cols;
        double mu = 0.0, var = 0.0;
        for (int c = 0; c < cols; c++)
            mu += xr[c];
        mu /= cols;
        for (int c = 0; c < cols; c++)
            var += (xr[c] - mu) * (xr[c] - mu);
        var /= cols;
        double rs = 1.0 / sqrt(var + eps);
        for (int c = 0; c < cols; c++)
            y[r * cols + c] = (float)((xr[c] - mu) * rs * gamma[c] + beta[c]);
        mean[r] = (float)mu;
        rstd[r] = (float)rs;
    }
}

/* Rows of varied character: random around an offset of 5 (catastrophic cancellation in a
 * one-pass variance), a constant row (variance 0: y = beta), and a row of variance ~1e-6 where
 * eps 1e-5 and 1e-6 give visibly different results. */
static void layernorm_inputs(dmx_test_rng *rng, float *x, int rows, int cols)
{
    dmx_test_fill(rng, x, (size_t)rows * cols, 4.0f, 6.0f);
    for (int c = 0; c < cols; c++) {
        x[1 * cols + c] = -2.5f;
        x[2 * cols + c] = 1.0f + ((c % 2) ? 1e-3f : -1e-3f);
    }
}

static void test_layernorm_forward_both_eps(void **state)
{
    (void)state;
    enum { ROWS = 7, COLS = 13 };
    dmx_device *dev = dmx_test_cpu();
    dmx_ctx *ctx = NULL;
    DMX_ASSERT_OK(dmx_ctx_create(dev, &ctx));
    dmx_test_rng rng = {17};
    float x[ROWS * COLS], gamma[COLS], beta[COLS], y[ROWS * COLS], mean[ROWS], rstd[ROWS];
    layernorm_inputs(&rng, x, ROWS, COLS);
    dmx_test_fill(&rng, gamma, COLS, 0.5f, 1.5f);
    dmx_test_fill(&rng, beta, COLS, -1.0f, 1.0f);
    const int64_t xshape[3] = {1, ROWS, COLS}, pshape = COLS;
    const float eps_list[2] = {1e-5f, 1e-6f};
    float row2[2][COLS]; /* the small-variance row under each eps */
    for (int e = 0; e < 2; e++) {
        /* Tensor level: y from a NaN-poisoned arena. */
        DMX_ASSERT_OK(dmx_test_poison_arena(ctx, 1 << 16));
        dmx_tensor *tx, *tg, *tb, *ty;
        DMX_ASSERT_OK(dmx_tensor_from_host(ctx, DMX_F32, 3, xshape, x, "x", &tx));
        DMX_ASSERT_OK(dmx_tensor_from_host(ctx, DMX_F32, 1, &pshape, gamma, "gamma", &tg));
        DMX_ASSERT_OK(dmx_tensor_from_host(ctx, DMX_F32, 1, &pshape, beta, "beta", &tb));
        DMX_ASSERT_OK(dmx_layernorm(ctx, tx, tg, tb, eps_list[e], &ty));
        assert_int_equal(ty->ndim, 3);
        layernorm_naive(x, gamma, beta, ROWS, COLS, eps_list[e], y, mean, rstd);
        float *got = dmx_test_read(ty);
        DMX_ASSERT_CLOSE(e ? "layernorm eps 1e-6" : "layernorm eps 1e-5", got, y, ROWS * COLS,
                         2e-6, 2e-6);
        for (int c = 0; c < COLS; c++) {
            if (got[COLS + c] != beta[c]) /* a constant row normalises to exactly 0 */
                fail_msg("layernorm of a constant row: y[1, %d] = %.9g, want beta %.9g", c,
                         (double)got[COLS + c], (double)beta[c]);
            row2[e][c] = got[2 * COLS + c];
        }
        free(got);

        /* Op level: mean and rstd outputs too, all NaN-prefilled, inside guard bands. */
        dmx_arg ax = dmx_optest_arg(dev, x, ROWS * COLS), ag = dmx_optest_arg(dev, gamma, COLS);
        dmx_arg ab = dmx_optest_arg(dev, beta, COLS), ay = dmx_optest_arg(dev, NULL, ROWS * COLS);
        dmx_arg am = dmx_optest_arg(dev, NULL, ROWS), ar = dmx_optest_arg(dev, NULL, ROWS);
        dmx_p_layernorm p = {.rows = ROWS, .cols = COLS, .eps = eps_list[e]};
        DMX_OPTEST_RUN(dev, DMX_OP_LAYERNORM, &p, ax, ag, ab, ay, am, ar);
        float got_m[ROWS], got_r[ROWS];
        dmx_optest_read(am, got_m);
        dmx_optest_read(ar, got_r);
        DMX_ASSERT_CLOSE("layernorm mean", got_m, mean, ROWS, 1e-6, 1e-6);
        DMX_ASSERT_CLOSE("layernorm rstd", got_r, rstd, ROWS, 0, 1e-6);
        dmx_optest_free(ax, "x"), dmx_optest_free(ag, "gamma"), dmx_optest_free(ab, "beta");
        dmx_optest_free(ay, "y"), dmx_optest_free(am, "mean"), dmx_optest_free(ar, "rstd");
    }
    /* Variance 1e-6: rstd is 1/sqrt(1.1e-5) vs 1/sqrt(2e-6), about 0.30 vs 0.71 per unit. */
    double d0 = fabs(row2[0][1] - beta[1]), d1 = fabs(row2[1][1] - beta[1]);
    if (!(d1 > 2.0 * d0))
        fail_msg("eps 1e-6 (|y - beta| %.6g) is not distinguished from eps 1e-5 (%.6g)", d1, d0);
    dmx_ctx_destroy(ctx);
    dmx_device_close(dev);
}

static void test_layernorm_backward_kernel(void **state)
{
    (void)state;
    enum { ROWS = 5, COLS = 11 };
    dmx_device *dev = dmx_test_cpu();
    dmx_test_rng rng = {23};
    float x[ROWS * COLS], gamma[COLS], beta[COLS], dy[ROWS * COLS], dx0[ROWS * COLS];
    float dg0[COLS], db0[COLS], y[ROWS * COLS], mean[ROWS], rstd[ROWS];
    layernorm_inputs(&rng, x, ROWS, COLS);
    dmx_test_fill(&rng, gamma, COLS, 0.5f, 1.5f);
    dmx_test_fill(&rng, beta, COLS, -1.0f, 1.0f);
    dmx_test_fill(&rng, dy, ROWS * COLS, -1.0f, 1.0f);
    dmx_test_fill(&rng, dx0, ROWS * COLS, -1.0f, 1.0f);
    dmx_test_fill(&rng, dg0, COLS, -1.0f, 1.0f);
    dmx_test_fill(&rng, db0, COLS, -1.0f, 1.0f);
    layernorm_naive(x, gamma, beta, ROWS, COLS, 1e-5, y, mean, rstd);
    /* op_params.h: xhat = (x - mean) rstd, g = dy gamma,
     * dx (+)= rstd (g - mean_c g - xhat mean_c(g xhat)); dgamma += sum dy xhat; dbeta += sum dy. */
    float want_dx[2][ROWS * COLS], want_dg[COLS], want_db[COLS];
    for (int c = 0; c < COLS; c++) {
        double sg = 0.0, sb = 0.0;
        for (int r = 0; r < ROWS; r++) {
            sg += (double)dy[r * COLS + c] * ((double)x[r * COLS + c] - mean[r]) * rstd[r];
            sb += dy[r * COLS + c];
        }
        want_dg[c] = (float)(dg0[c] + sg);
        want_db[c] = (float)(db0[c] + sb);
    }
    for (int r = 0; r < ROWS; r++) {
        double mg = 0.0, mgx = 0.0;
        for (int c = 0; c < COLS; c++) {
            double xhat = ((double)x[r * COLS + c] - mean[r]) * rstd[r];
            mg += (double)dy[r * COLS + c] * gamma[c] / COLS;
            mgx += (double)dy[r * COLS + c] * gamma[c] * xhat / COLS;
        }
        for (int c = 0; c < COLS; c++) {
            double xhat = ((double)x[r * COLS + c] - mean[r]) * rstd[r];
            double v = rstd[r] * ((double)dy[r * COLS + c] * gamma[c] - mg - xhat * mgx);
            want_dx[0][r * COLS + c] = (float)v;
            want_dx[1][r * COLS + c] = (float)(dx0[r * COLS + c] + v);
        }
    }
    for (int acc = 0; acc < 2; acc++) {
        dmx_arg ady = dmx_optest_arg(dev, dy, ROWS * COLS);
        dmx_arg ax = dmx_optest_arg(dev, x, ROWS * COLS);
        dmx_arg ag = dmx_optest_arg(dev, gamma, COLS), am = dmx_optest_arg(dev, mean, ROWS);
        dmx_arg ar = dmx_optest_arg(dev, rstd, ROWS);
        dmx_arg adx = dmx_optest_arg(dev, acc ? dx0 : NULL, ROWS * COLS);
        dmx_arg adg = dmx_optest_arg(dev, dg0, COLS), adb = dmx_optest_arg(dev, db0, COLS);
        dmx_p_layernorm p = {.rows = ROWS, .cols = COLS, .eps = 1e-5f, .accumulate = acc};
        DMX_OPTEST_RUN(dev, DMX_OP_LAYERNORM_BWD, &p, ady, ax, ag, am, ar, adx, adg, adb);
        float got[ROWS * COLS];
        dmx_optest_read(adx, got);
        DMX_ASSERT_CLOSE(acc ? "layernorm dx (accumulate)" : "layernorm dx", got, want_dx[acc],
                         ROWS * COLS, 1e-5, 1e-5);
        dmx_optest_read(adg, got);
        DMX_ASSERT_CLOSE("layernorm dgamma (always +=)", got, want_dg, COLS, 1e-5, 1e-5);
        dmx_optest_read(adb, got);
        DMX_ASSERT_CLOSE("layernorm dbeta (always +=)", got, want_db, COLS, 1e-5, 1e-5);
        dmx_optest_free(ady, "dy"), dmx_optest_free(ax, "x"), dmx_optest_free(ag, "gamma");
        dmx_optest_free(am, "mean"), dmx_optest_free(ar, "rstd"), dmx_optest_free(adx, "dx");
        dmx_optest_free(adg, "dgamma"), dmx_optest_free(adb, "dbeta");
    }
    dmx_device_close(dev);
}

/* ---- softmax ---- */

/* op_params.h: z = scale x + mask; entries with mask <= -1e20 removed (y = 0); the rest
 * exp(z - max) / sum; a row with every entry removed is all zeros. */
static void softmax_naive(const float *x, const float *mask, int rows, int cols, int group,
                          double scale, float *y)
{
    for (int r = 0; r < rows; r++) {
        const float *m = mask ? mask + (r / group) * cols : NULL;
        double zmax = -INFINITY, sum = 0.0;
        for (int c = 0; c < cols; c++)
            if (!m || m[c] > -1e20f)
                zmax = fmax(zmax, scale * x[r * cols + c] + (m ? m[c] : 0.0));
        for (int c = 0; c < cols; c++)
            if (!m || m[c] > -1e20f)
                sum += exp(scale * x[r * cols + c] + (m ? m[c] : 0.0) - zmax);
        for (int c = 0; c < cols; c++) {
            bool kept = (!m || m[c] > -1e20f) && zmax > -INFINITY;
            y[r * cols + c] =
                kept ? (float)(exp(scale * x[r * cols + c] + (m ? m[c] : 0.0) - zmax) / sum) : 0.0f;
        }
    }
}

static float *softmax_run(dmx_ctx *ctx, const float *x, const int64_t *xshape, const float *mask,
                          int64_t mask_rows, float scale, int64_t group)
{
    DMX_ASSERT_OK(dmx_test_poison_arena(ctx, 1 << 16));
    dmx_tensor *tx = NULL, *tm = NULL, *ty = NULL;
    const int64_t mshape[2] = {mask_rows, xshape[2]};
    DMX_ASSERT_OK(dmx_tensor_from_host(ctx, DMX_F32, 3, xshape, x, "x", &tx));
    if (mask)
        DMX_ASSERT_OK(dmx_tensor_from_host(ctx, DMX_F32, 2, mshape, mask, "mask", &tm));
    DMX_ASSERT_OK(dmx_softmax(ctx, tx, tm, scale, group, &ty));
    return dmx_test_read(ty);
}

static void test_softmax_scale_and_grouped_mask(void **state)
{
    (void)state;
    enum { B = 2, H = 3, C = 11, ROWS = B * H };
    dmx_device *dev = dmx_test_cpu();
    dmx_ctx *ctx = NULL;
    DMX_ASSERT_OK(dmx_ctx_create(dev, &ctx));
    dmx_test_rng rng = {31};
    float x[ROWS * C], mask[B * C], want[ROWS * C];
    dmx_test_fill(&rng, x, ROWS * C, -4.0f, 4.0f);
    /* Mask row 0 (x rows 0-2): padding keys removed with -1e30 and -inf, one large finite
     * penalty kept. Mask row 1 (x rows 3-5): mask -1e20 exactly (removed) and small offsets. */
    for (int c = 0; c < C; c++) {
        mask[c] = c >= 8 ? -1e30f : 0.0f;
        mask[C + c] = (float)c * 0.1f;
    }
    mask[3] = -INFINITY;
    mask[5] = -30.0f;
    mask[C + 0] = -1e20f;
    const int64_t xshape[3] = {B, H, C};

    float *got = softmax_run(ctx, x, xshape, NULL, 0, 0.37f, 1);
    softmax_naive(x, NULL, ROWS, C, 1, 0.37f, want);
    DMX_ASSERT_CLOSE("softmax scale 0.37", got, want, ROWS * C, 1e-7, 1e-6);
    free(got);

    got = softmax_run(ctx, x, xshape, mask, B, 0.37f, H);
    softmax_naive(x, mask, ROWS, C, H, 0.37f, want);
    DMX_ASSERT_CLOSE("softmax with mask group 3", got, want, ROWS * C, 1e-7, 1e-6);
    for (int r = 0; r < ROWS; r++) {
        double sum = 0.0;
        for (int c = 0; c < C; c++)
            sum += got[r * C + c];
        if (fabs(sum - 1.0) > 1e-6)
            fail_msg("softmax row %d sums to %.9g", r, sum);
    }
    for (int r = 0; r < H; r++) /* removed entries are exactly zero */
        if (got[r * C + 3] != 0.0f || got[r * C + 9] != 0.0f)
            fail_msg("softmax row %d: removed entries hold %g, %g", r, (double)got[r * C + 3],
                     (double)got[r * C + 9]);
    if (got[H * C] != 0.0f)
        fail_msg("softmax: mask -1e20 did not remove the entry (y = %g)", (double)got[H * C]);
    free(got);
    dmx_ctx_destroy(ctx);
    dmx_device_close(dev);
}

static void test_softmax_extremes(void **state)
{
    (void)state;
    enum { ROWS = 4, C = 5 };
    dmx_device *dev = dmx_test_cpu();
    dmx_ctx *ctx = NULL;
    DMX_ASSERT_OK(dmx_ctx_create(dev, &ctx));
    const float x[ROWS * C] = {100, -100, 0, 100, -100,   /* ties at the top */
                               -100, -100, -100, -100, -99, /* everything far below 0 */
                               1, 2, 3, 4, 5,              /* fully masked */
                               100, 99, 100, -1e30f, 7};   /* logit -1e30 itself, not masked */
    float mask[ROWS * C] = {0};
    for (int c = 0; c < C; c++)
        mask[2 * C + c] = c % 2 ? -1e30f : -INFINITY;
    const int64_t xshape[3] = {1, ROWS, C};
    float *got = softmax_run(ctx, x, xshape, mask, ROWS, 1.0f, 1);
    float want[ROWS * C];
    softmax_naive(x, mask, ROWS, C, 1, 1.0f, want);
    assert_int_equal(dmx_optest_count_nan(got, ROWS * C), 0);
    DMX_ASSERT_CLOSE("softmax extremes", got, want, ROWS * C, 1e-7, 1e-6);
    for (int c = 0; c < C; c++)
        if (got[2 * C + c] != 0.0f)
            fail_msg("fully masked row: y[2, %d] = %g, want 0", c, (double)got[2 * C + c]);
    /* Hand-computed: two tied maxima of 100 share the row; e^-200 vanishes in float. */
    assert_true(fabsf(got[0] - 0.5f) < 1e-7f && fabsf(got[3] - 0.5f) < 1e-7f);
    free(got);
    dmx_ctx_destroy(ctx);
    dmx_device_close(dev);
}

static void test_softmax_backward_kernel(void **state)
{
    (void)state;
    enum { ROWS = 5, C = 9 };
    dmx_device *dev = dmx_test_cpu();
    dmx_test_rng rng = {37};
    float x[ROWS * C], y[ROWS * C], dy[ROWS * C], dx0[ROWS * C], want[2][ROWS * C];
    dmx_test_fill(&rng, x, ROWS * C, -3, 3);
    dmx_test_fill(&rng, dy, ROWS * C, -1, 1);
    dmx_test_fill(&rng, dx0, ROWS * C, -1, 1);
    const float scale = 0.6f;
    softmax_naive(x, NULL, ROWS, C, 1, scale, y);
    for (int c = 0; c < C; c++) /* row 4 as a fully masked row: all zeros */
        y[4 * C + c] = 0.0f;
    for (int r = 0; r < ROWS; r++) {
        double dot = 0.0;
        for (int c = 0; c < C; c++)
            dot += (double)dy[r * C + c] * y[r * C + c];
        for (int c = 0; c < C; c++) {
            double v = scale * (double)y[r * C + c] * (dy[r * C + c] - dot);
            want[0][r * C + c] = (float)v;
            want[1][r * C + c] = (float)(dx0[r * C + c] + v);
        }
    }
    for (int acc = 0; acc < 2; acc++) {
        dmx_arg ay = dmx_optest_arg(dev, y, ROWS * C), ady = dmx_optest_arg(dev, dy, ROWS * C);
        dmx_arg adx = dmx_optest_arg(dev, acc ? dx0 : NULL, ROWS * C);
        dmx_p_softmax p = {.rows = ROWS, .cols = C, .scale = scale, .mask_group = 1,
                           .accumulate = acc};
        DMX_OPTEST_RUN(dev, DMX_OP_SOFTMAX_BWD, &p, ay, ady, adx);
        float got[ROWS * C];
        dmx_optest_read(adx, got);
        DMX_ASSERT_CLOSE(acc ? "softmax_bwd (accumulate)" : "softmax_bwd", got, want[acc],
                         ROWS * C, 1e-7, 1e-6);
        dmx_optest_free(ay, "y"), dmx_optest_free(ady, "dy"), dmx_optest_free(adx, "dx");
    }
    dmx_device_close(dev);
}

static void test_norm_shape_errors(void **state)
{
    (void)state;
    dmx_device *dev = dmx_test_cpu();
    dmx_ctx *ctx = NULL;
    DMX_ASSERT_OK(dmx_ctx_create(dev, &ctx));
    const int64_t xs[2] = {6, 4}, s4 = 4, s5 = 5, ms[2] = {4, 4};
    dmx_tensor *x, *g4, *g5, *m, *y;
    DMX_ASSERT_OK(dmx_tensor_new(ctx, DMX_F32, 2, xs, "x", &x));
    DMX_ASSERT_OK(dmx_tensor_new(ctx, DMX_F32, 1, &s4, "g4", &g4));
    DMX_ASSERT_OK(dmx_tensor_new(ctx, DMX_F32, 1, &s5, "g5", &g5));
    DMX_ASSERT_OK(dmx_tensor_new(ctx, DMX_F32, 2, ms, "m", &m));
    DMX_ASSERT_FAILS(dmx_layernorm(ctx, x, g5, g4, 1e-5f, &y), DMX_ERR_SHAPE, "gamma (g5)");
    DMX_ASSERT_FAILS(dmx_layernorm(ctx, x, g4, g4, 0.0f, &y), DMX_ERR_INVALID_ARG, "eps");
    DMX_ASSERT_FAILS(dmx_softmax(ctx, x, m, 1.0f, 4, &y), DMX_ERR_SHAPE, "mask groups of 4");
    DMX_ASSERT_FAILS(dmx_softmax(ctx, x, m, 1.0f, 3, &y), DMX_ERR_SHAPE, "mask (m)");
    dmx_ctx_destroy(ctx);
    dmx_device_close(dev);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_layernorm_forward_both_eps),
        cmocka_unit_test(test_layernorm_backward_kernel),
        cmocka_unit_test(test_softmax_scale_and_grouped_mask),
        cmocka_unit_test(test_softmax_extremes),
        cmocka_unit_test(test_softmax_backward_kernel),
        cmocka_unit_test(test_norm_shape_errors),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
