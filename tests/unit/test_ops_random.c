/* Philox4x32-10 against the Random123 known-answer vectors, and dropout: the documented mask,
 * keep rate within a statistical bound, scaling by 1/(1-p), the same mask forward and backward,
 * identity outside training, determinism across steps. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "autograd/autograd.h"
#include "core/philox.h"
#include "op_harness.h"

/* Random123 kat_vectors, "philox4x32 10": counter, key, expected output. */
static void test_philox_known_answers(void **state)
{
    (void)state;
    static const struct {
        uint32_t ctr[4], key[2], out[4];
    } kat[] = {
        {{0, 0, 0, 0}, {0, 0}, {0x6627e8d5u, 0xe169c58du, 0xbc57ac4cu, 0x9b00dbd8u}},
        {{0xffffffffu, 0xffffffffu, 0xffffffffu, 0xffffffffu},
         {0xffffffffu, 0xffffffffu},
         {0x408f276du, 0x41c83b0eu, 0xa20bc7c6u, 0x6d5451fdu}},
        {{0x243f6a88u, 0x85a308d3u, 0x13198a2eu, 0x03707344u},
         {0xa4093822u, 0x299f31d0u},
         {0xd16cfe09u, 0x94fdccebu, 0x5001e420u, 0x24126ea1u}},
    };
    for (size_t k = 0; k < sizeof kat / sizeof kat[0]; k++) {
        uint32_t out[4];
        dmx_philox4x32_10(kat[k].ctr, kat[k].key[0], kat[k].key[1], out);
        for (int i = 0; i < 4; i++)
            if (out[i] != kat[k].out[i])
                fail_msg("philox4x32-10 vector %zu word %d: 0x%08x, want 0x%08x", k, i, out[i],
                         kat[k].out[i]);
    }
    /* u = (first word >> 8) 2^-24: counter (0, 0, 0, 0), key (0, 0) gives 0x6627e8 / 2^24. */
    assert_true(dmx_philox_uniform(0, 0, 0) == (float)0x6627e8 / 16777216.0f);
}

/* keep_i = u_i >= p with u_i from counter (offset + i, 0, 0, 0), key (seed_lo, seed_hi). */
static int kept(const dmx_p_dropout *p, int i)
{
    uint32_t ctr[4] = {p->offset + (uint32_t)i, 0, 0, 0}, out[4];
    dmx_philox4x32_10(ctr, p->seed_lo, p->seed_hi, out);
    return (float)(out[0] >> 8) * (1.0f / 16777216.0f) >= p->p;
}

static void test_dropout_kernel_mask_rate_scale_accumulate(void **state)
{
    (void)state;
    enum { N = 20011 };
    dmx_device *dev = dmx_test_cpu();
    float *x = malloc(N * 4), *y0 = malloc(N * 4), *got = malloc(N * 4);
    dmx_test_rng rng = {73};
    dmx_test_fill(&rng, x, N, 0.5f, 2.0f); /* never 0, so a zero output means dropped */
    dmx_test_fill(&rng, y0, N, -1.0f, 1.0f);
    const float probs[3] = {0.1f, 0.3f, 0.75f};
    for (int k = 0; k < 3; k++)
        for (int acc = 0; acc < 2; acc++) {
            dmx_p_dropout p = {.n = N, .p = probs[k], .seed_lo = 0x9e3779b9u, .seed_hi = 17,
                               .offset = 1000u * (uint32_t)k, .accumulate = acc};
            dmx_arg ax = dmx_optest_arg(dev, x, N), ay = dmx_optest_arg(dev, acc ? y0 : NULL, N);
            DMX_OPTEST_RUN(dev, DMX_OP_DROPOUT, &p, ax, ay);
            dmx_optest_read(ay, got);
            const float scale = 1.0f / (1.0f - probs[k]);
            int n_kept = 0;
            for (int i = 0; i < N; i++) {
                int keep = kept(&p, i);
                float v = got[i] - (acc ? y0[i] : 0.0f);
                float want = keep ? x[i] * scale : 0.0f;
                n_kept += keep;
                if (!(fabsf(v - want) <= 1e-6f * fabsf(want) + (acc ? 1e-6f : 0.0f)))
                    fail_msg("dropout p %g element %d (%s): %.9g, want %.9g", (double)probs[k], i,
                             keep ? "kept" : "dropped", (double)v, (double)want);
            }
            /* Binomial(N, 1-p): 5 standard deviations. */
            double mean = N * (1.0 - probs[k]), sd = sqrt(N * probs[k] * (1.0 - probs[k]));
            if (fabs(n_kept - mean) > 5.0 * sd)
                fail_msg("dropout p %g kept %d of %d, expected %.0f +- %.0f", (double)probs[k],
                         n_kept, N, mean, 5.0 * sd);
            dmx_optest_free(ax, "x"), dmx_optest_free(ay, "y");
        }
    /* p = 0 copies. */
    dmx_p_dropout p0 = {.n = N, .p = 0.0f, .seed_lo = 5};
    dmx_arg ax = dmx_optest_arg(dev, x, N), ay = dmx_optest_arg(dev, NULL, N);
    DMX_OPTEST_RUN(dev, DMX_OP_DROPOUT, &p0, ax, ay);
    dmx_optest_read(ay, got);
    assert_memory_equal(got, x, N * 4);
    dmx_optest_free(ax, "x"), dmx_optest_free(ay, "y");
    free(x), free(y0), free(got);
    dmx_device_close(dev);
}

typedef struct dropout_step {
    float *y, *dx;
} dropout_step;

/* One training step: y = dropout(x), loss = sum y, backward; returns y and dL/dx. */
static dropout_step dropout_forward_backward(dmx_ctx *ctx, dmx_tensor *x, float p)
{
    dmx_tensor *y = NULL, *loss = NULL;
    DMX_ASSERT_OK(dmx_dropout(ctx, x, p, &y));
    DMX_ASSERT_OK(dmx_sum_rows(ctx, y, dmx_tensor_numel(y), 1.0f, &loss));
    DMX_ASSERT_OK(dmx_backward(ctx, loss));
    dropout_step s = {dmx_test_read(y), dmx_test_read(x->grad)};
    return s;
}

static void test_dropout_tensor_same_mask_forward_backward(void **state)
{
    (void)state;
    enum { N = 4099 };
    dmx_device *dev = dmx_test_cpu();
    dmx_ctx *ctx = NULL;
    DMX_ASSERT_OK(dmx_ctx_create(dev, &ctx));
    float *xv = malloc(N * 4);
    dmx_test_rng rng = {79};
    dmx_test_fill(&rng, xv, N, 0.5f, 2.0f);
    const int64_t shape[2] = {1, N};
    dmx_tensor *x = NULL;
    DMX_ASSERT_OK(dmx_test_leaf(dev, "x", 2, shape, xv, &x));
    const float p = 0.4f, scale = 1.0f / (1.0f - p);
    dmx_ctx_set_seed(ctx, 0x123456789abcdefull);
    DMX_ASSERT_OK(dmx_test_poison_arena(ctx, 1 << 16));
    dropout_step s = dropout_forward_backward(ctx, x, p);
    int n_kept = 0;
    for (int i = 0; i < N; i++) {
        int keep = s.y[i] != 0.0f;
        n_kept += keep;
        /* dL/dx = dL/dy * mask * scale with dL/dy = 1: the forward's mask, the same scale. */
        float want_dx = keep ? scale : 0.0f;
        if (s.dx[i] != want_dx || (keep && fabsf(s.y[i] - xv[i] * scale) > 1e-6f * s.y[i]))
            fail_msg("dropout element %d: y %.9g (x %.9g), dx %.9g, want dx %.9g", i,
                     (double)s.y[i], (double)xv[i], (double)s.dx[i], (double)want_dx);
    }
    assert_true(fabs(n_kept - N * (1.0 - p)) < 5.0 * sqrt(N * p * (1.0 - p)));

    /* Same seed after a reset: the same mask (the offset restarts). */
    DMX_ASSERT_OK(dmx_buffer_fill(x->grad->buf, 0, N * 4, 0));
    DMX_ASSERT_OK(dmx_ctx_reset(ctx));
    dropout_step again = dropout_forward_backward(ctx, x, p);
    assert_memory_equal(again.y, s.y, N * 4);
    free(again.y), free(again.dx);

    /* Two draws in one step and a new seed: different masks. */
    DMX_ASSERT_OK(dmx_ctx_reset(ctx));
    dmx_tensor *y1 = NULL, *y2 = NULL, *y3 = NULL;
    DMX_ASSERT_OK(dmx_dropout(ctx, x, p, &y1));
    DMX_ASSERT_OK(dmx_dropout(ctx, x, p, &y2));
    dmx_ctx_set_seed(ctx, 99);
    DMX_ASSERT_OK(dmx_dropout(ctx, x, p, &y3));
    float *v1 = dmx_test_read(y1), *v2 = dmx_test_read(y2), *v3 = dmx_test_read(y3);
    int same12 = 0, same13 = 0;
    for (int i = 0; i < N; i++) {
        same12 += (v1[i] == 0.0f) == (v2[i] == 0.0f);
        same13 += (v1[i] == 0.0f) == (v3[i] == 0.0f);
    }
    /* Independent masks agree on p^2 + (1-p)^2 = 52% of elements, not all of them. */
    assert_true(same12 < N * 0.6 && same13 < N * 0.6);
    assert_memory_equal(v1, s.y, N * 4); /* the first draw of a step is the step's mask */
    free(v1), free(v2), free(v3);
    free(s.y), free(s.dx), free(xv);
    dmx_test_leaf_free(x);
    dmx_ctx_destroy(ctx);
    dmx_device_close(dev);
}

static void test_dropout_identity_outside_training(void **state)
{
    (void)state;
    dmx_device *dev = dmx_test_cpu();
    dmx_ctx *ctx = NULL;
    DMX_ASSERT_OK(dmx_ctx_create(dev, &ctx));
    const float xv[5] = {1, -2, 3, -4, 5};
    const int64_t n = 5;
    dmx_tensor *x = NULL, *y = NULL;
    DMX_ASSERT_OK(dmx_test_leaf(dev, "x", 1, &n, xv, &x));
    dmx_ctx_set_training(ctx, false);
    DMX_ASSERT_OK(dmx_dropout(ctx, x, 0.9f, &y));
    float *got = dmx_test_read(y);
    assert_memory_equal(got, xv, sizeof xv);
    free(got);
    assert_int_equal(dmx_ctx_tape_length(ctx), 0);
    /* p = 0 in training is the identity too; p outside [0, 1) is an error. */
    dmx_ctx_set_training(ctx, true);
    DMX_ASSERT_OK(dmx_dropout(ctx, x, 0.0f, &y));
    got = dmx_test_read(y);
    assert_memory_equal(got, xv, sizeof xv);
    free(got);
    DMX_ASSERT_FAILS(dmx_dropout(ctx, x, 1.0f, &y), DMX_ERR_INVALID_ARG, "outside [0, 1)");
    DMX_ASSERT_FAILS(dmx_dropout(ctx, x, -0.1f, &y), DMX_ERR_INVALID_ARG, "outside [0, 1)");
    DMX_ASSERT_FAILS(dmx_dropout(ctx, x, NAN, &y), DMX_ERR_INVALID_ARG, "outside [0, 1)");
    dmx_test_leaf_free(x);
    dmx_ctx_destroy(ctx);
    dmx_device_close(dev);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_philox_known_answers),
        cmocka_unit_test(test_dropout_kernel_mask_rate_scale_accumulate),
        cmocka_unit_test(test_dropout_tensor_same_mask_forward_backward),
        cmocka_unit_test(test_dropout_identity_outside_training),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
