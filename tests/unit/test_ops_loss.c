/* Cross-entropy with label smoothing (logits +-100, out-of-range labels give NaN as documented)
 * and embedding (out-of-range ids give zeros; the backward scatter-adds repeated ids), forward
 * and backward kernels, against double-precision loops written from op_params.h. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "op_harness.h"

/* ---- cross_entropy ---- */

/* -sum_k t_k log softmax(z)_k with t = (1 - s) onehot + s / K; NaN for a label outside [0, K). */
static double ce_row(const float *z, int K, int label, double s)
{
    if (label < 0 || label >= K)
        return NAN;
    double zmax = -INFINITY, sum = 0.0, loss = 0.0;
    for (int k = 0; k < K; k++)
        zmax = fmax(zmax, z[k]);
    for (int k = 0; k < K; k++)
        sum += exp(z[k] - zmax);
    double lse = zmax + log(sum);
    for (int k = 0; k < K; k++)
        loss -= ((k == label ? 1.0 - s : 0.0) + s / K) * (z[k] - lse);
    return loss;
}

/* d loss_r / d z_rk = softmax(z_r)_k - t_rk. */
static double ce_grad(const float *z, int K, int label, double s, int k)
{
    if (label < 0 || label >= K)
        return NAN;
    double zmax = -INFINITY, sum = 0.0;
    for (int j = 0; j < K; j++)
        zmax = fmax(zmax, z[j]);
    for (int j = 0; j < K; j++)
        sum += exp(z[j] - zmax);
    return exp(z[k] - zmax) / sum - ((k == label ? 1.0 - s : 0.0) + s / K);
}

static void test_cross_entropy_mean_loss_with_smoothing(void **state)
{
    (void)state;
    enum { B = 5, K = 7 };
    dmx_device *dev = dmx_test_cpu();
    dmx_ctx *ctx = NULL;
    DMX_ASSERT_OK(dmx_ctx_create(dev, &ctx));
    dmx_test_rng rng = {41};
    float z[B * K];
    dmx_test_fill(&rng, z, B * K, -5, 5);
    const int32_t labels[B] = {0, 6, 3, 3, 1};
    const int64_t zshape[2] = {B, K}, lshape = B;
    const float smoothing[3] = {0.0f, 0.1f, 1.0f};
    for (int s = 0; s < 3; s++) {
        DMX_ASSERT_OK(dmx_test_poison_arena(ctx, 1 << 16));
        dmx_tensor *tz, *tl, *loss;
        DMX_ASSERT_OK(dmx_tensor_from_host(ctx, DMX_F32, 2, zshape, z, "logits", &tz));
        DMX_ASSERT_OK(dmx_tensor_from_host(ctx, DMX_I32, 1, &lshape, labels, "labels", &tl));
        DMX_ASSERT_OK(dmx_cross_entropy(ctx, tz, tl, smoothing[s], &loss));
        assert_int_equal(dmx_tensor_numel(loss), 1);
        double mean = 0.0;
        for (int r = 0; r < B; r++)
            mean += ce_row(z + r * K, K, labels[r], smoothing[s]) / B;
        float got, want = (float)mean;
        DMX_ASSERT_OK(dmx_tensor_to_host(loss, &got, 4));
        char what[48];
        snprintf(what, sizeof what, "cross_entropy smoothing %g", (double)smoothing[s]);
        DMX_ASSERT_CLOSE(what, &got, &want, 1, 1e-6, 1e-6);
    }
    /* Hand-computed: uniform logits give log K whatever the smoothing. */
    float flat[K] = {0};
    for (int k = 0; k < K; k++)
        flat[k] = 2.5f;
    const int64_t one_row[2] = {1, K}, one = 1;
    dmx_tensor *tz, *tl, *loss;
    DMX_ASSERT_OK(dmx_tensor_from_host(ctx, DMX_F32, 2, one_row, flat, "logits", &tz));
    DMX_ASSERT_OK(dmx_tensor_from_host(ctx, DMX_I32, 1, &one, labels, "labels", &tl));
    DMX_ASSERT_OK(dmx_cross_entropy(ctx, tz, tl, 0.3f, &loss));
    float got, want = (float)log(7.0);
    DMX_ASSERT_OK(dmx_tensor_to_host(loss, &got, 4));
    DMX_ASSERT_CLOSE("cross_entropy of uniform logits", &got, &want, 1, 1e-6, 1e-6);
    dmx_ctx_destroy(ctx);
    dmx_device_close(dev);
}

static void test_cross_entropy_kernels_extremes_and_bad_labels(void **state)
{
    (void)state;
    enum { B = 5, K = 4 };
    dmx_device *dev = dmx_test_cpu();
    const float z[B * K] = {100, -100, 0, 50,     /* label 0: loss ~ e^-50 */
                            100, -100, 0, 50,     /* label 1: loss 200 */
                            -100, -100, -100, -100, /* uniform at -100: log 4 */
                            1, 2, 3, 4,           /* label 4 = K: NaN */
                            1, 2, 3, 4};          /* label -1: NaN */
    const int32_t labels[B] = {0, 1, 2, K, -1};
    const float smoothing = 0.1f, dloss = 0.7f, scale = 1.0f / B;
    float dz0[B * K], got[B * K], want[B * K];
    dmx_test_rng rng = {43};
    dmx_test_fill(&rng, dz0, B * K, -1, 1);

    dmx_arg az = dmx_optest_arg(dev, z, B * K), al = dmx_optest_arg(dev, labels, B);
    dmx_arg aloss = dmx_optest_arg(dev, NULL, B), adl = dmx_optest_arg(dev, &dloss, 1);
    dmx_p_cross_entropy p = {.rows = B, .cols = K, .smoothing = smoothing, .scale = scale};
    DMX_OPTEST_RUN(dev, DMX_OP_CROSS_ENTROPY, &p, az, al, aloss);
    dmx_optest_read(aloss, got);
    for (int r = 0; r < B; r++)
        want[r] = (float)ce_row(z + r * K, K, labels[r], smoothing);
    DMX_ASSERT_CLOSE("cross_entropy rows", got, want, B, 1e-5, 1e-6);
    assert_true(isnan(got[3]) && isnan(got[4])); /* the documented out-of-range result */
    assert_true(isfinite(got[0]) && isfinite(got[1]) && isfinite(got[2]));

    for (int acc = 0; acc < 2; acc++) {
        dmx_arg adz = dmx_optest_arg(dev, acc ? dz0 : NULL, B * K);
        p.accumulate = acc;
        DMX_OPTEST_RUN(dev, DMX_OP_CROSS_ENTROPY_BWD, &p, az, al, adl, adz);
        dmx_optest_read(adz, got);
        for (int r = 0; r < B; r++)
            for (int k = 0; k < K; k++)
                want[r * K + k] = (float)((acc ? dz0[r * K + k] : 0.0) +
                                          dloss * scale * ce_grad(z + r * K, K, labels[r],
                                                                  smoothing, k));
        DMX_ASSERT_CLOSE(acc ? "cross_entropy_bwd (accumulate)" : "cross_entropy_bwd", got, want,
                         B * K, 1e-7, 1e-6);
        /* Finite everywhere but the rows with bad labels, which are NaN (documented). */
        assert_int_equal(dmx_optest_count_nan(got, 3 * K), 0);
        assert_int_equal(dmx_optest_count_nan(got + 3 * K, 2 * K), 2 * K);
        dmx_optest_free(adz, "dz");
    }
    dmx_optest_free(az, "z"), dmx_optest_free(al, "labels"), dmx_optest_free(aloss, "loss");
    dmx_optest_free(adl, "dloss");
    dmx_device_close(dev);
}

static void test_cross_entropy_errors(void **state)
{
    (void)state;
    dmx_device *dev = dmx_test_cpu();
    dmx_ctx *ctx = NULL;
    DMX_ASSERT_OK(dmx_ctx_create(dev, &ctx));
    const int64_t zs[2] = {3, 4}, l3 = 3, l2 = 2;
    dmx_tensor *z, *l, *lf, *lshort, *loss;
    DMX_ASSERT_OK(dmx_tensor_new(ctx, DMX_F32, 2, zs, "z", &z));
    DMX_ASSERT_OK(dmx_tensor_new(ctx, DMX_I32, 1, &l3, "l", &l));
    DMX_ASSERT_OK(dmx_tensor_new(ctx, DMX_F32, 1, &l3, "lf", &lf));
    DMX_ASSERT_OK(dmx_tensor_new(ctx, DMX_I32, 1, &l2, "lshort", &lshort));
    DMX_ASSERT_FAILS(dmx_cross_entropy(ctx, z, lf, 0.0f, &loss), DMX_ERR_INVALID_ARG,
                     "must be I32");
    DMX_ASSERT_FAILS(dmx_cross_entropy(ctx, z, lshort, 0.0f, &loss), DMX_ERR_SHAPE, "expected 3");
    DMX_ASSERT_FAILS(dmx_cross_entropy(ctx, z, l, 1.5f, &loss), DMX_ERR_INVALID_ARG, "smoothing");
    DMX_ASSERT_FAILS(dmx_cross_entropy(ctx, l, l, 0.0f, &loss), DMX_ERR_INVALID_ARG, "F32");
    dmx_ctx_destroy(ctx);
    dmx_device_close(dev);
}

/* ---- embedding ---- */

static void test_embedding_lookup_and_out_of_range_ids(void **state)
{
    (void)state;
    enum { V = 6, D = 7, N = 15 };
    dmx_device *dev = dmx_test_cpu();
    dmx_ctx *ctx = NULL;
    DMX_ASSERT_OK(dmx_ctx_create(dev, &ctx));
    dmx_test_rng rng = {47};
    float table[V * D], want[N * D];
    dmx_test_fill(&rng, table, V * D, -1, 1);
    const int32_t ids[N] = {0, 5, 3, 3, -1, 6, INT32_MAX, INT32_MIN, 2, 1, 5, 0, 4, 4, 4};
    const int64_t ishape[2] = {3, 5}, tshape[2] = {V, D};
    DMX_ASSERT_OK(dmx_test_poison_arena(ctx, 1 << 16));
    dmx_tensor *tids, *ttab, *y;
    DMX_ASSERT_OK(dmx_tensor_from_host(ctx, DMX_I32, 2, ishape, ids, "ids", &tids));
    DMX_ASSERT_OK(dmx_tensor_from_host(ctx, DMX_F32, 2, tshape, table, "table", &ttab));
    DMX_ASSERT_OK(dmx_embedding(ctx, tids, ttab, &y));
    assert_int_equal(y->ndim, 3);
    assert_int_equal(y->shape[0], 3);
    assert_int_equal(y->shape[1], 5);
    assert_int_equal(y->shape[2], D);
    for (int i = 0; i < N; i++)
        for (int d = 0; d < D; d++)
            want[i * D + d] = ids[i] >= 0 && ids[i] < V ? table[ids[i] * D + d] : 0.0f;
    float *got = dmx_test_read(y);
    DMX_ASSERT_CLOSE("embedding", got, want, N * D, 0, 0);
    free(got);
    DMX_ASSERT_FAILS(dmx_embedding(ctx, ttab, ttab, &y), DMX_ERR_INVALID_ARG, "must be I32");
    dmx_ctx_destroy(ctx);
    dmx_device_close(dev);
}

static void test_embedding_backward_scatter_adds(void **state)
{
    (void)state;
    enum { V = 5, D = 3, N = 9 };
    dmx_device *dev = dmx_test_cpu();
    const int32_t ids[N] = {2, 0, 2, 7, 2, -3, 4, 0, 2};
    float dy[N * D], dE0[V * D], want[V * D], got[V * D];
    dmx_test_rng rng = {53};
    dmx_test_fill(&rng, dy, N * D, -1, 1);
    dmx_test_fill(&rng, dE0, V * D, -1, 1);
    /* dE[ids[i]] += dy[i]; ids 7 and -3 contribute nothing; row 1 and 3 keep their values. */
    for (int v = 0; v < V; v++)
        for (int d = 0; d < D; d++) {
            double acc = dE0[v * D + d];
            for (int i = 0; i < N; i++)
                if (ids[i] == v)
                    acc += dy[i * D + d];
            want[v * D + d] = (float)acc;
        }
    dmx_arg ai = dmx_optest_arg(dev, ids, N), ady = dmx_optest_arg(dev, dy, N * D);
    dmx_arg adE = dmx_optest_arg(dev, dE0, V * D);
    dmx_p_embedding p = {.n = N, .dim = D, .vocab = V};
    DMX_OPTEST_RUN(dev, DMX_OP_EMBEDDING_BWD, &p, ai, ady, adE);
    dmx_optest_read(adE, got);
    DMX_ASSERT_CLOSE("embedding_bwd", got, want, V * D, 1e-6, 1e-6);
    /* Deterministic: a second identical run on a fresh copy is bitwise equal. */
    float again[V * D];
    dmx_arg adE2 = dmx_optest_arg(dev, dE0, V * D);
    DMX_OPTEST_RUN(dev, DMX_OP_EMBEDDING_BWD, &p, ai, ady, adE2);
    dmx_optest_read(adE2, again);
    assert_memory_equal(got, again, sizeof got);
    dmx_optest_free(ai, "ids"), dmx_optest_free(ady, "dy"), dmx_optest_free(adE, "dE");
    dmx_optest_free(adE2, "dE");
    dmx_device_close(dev);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_cross_entropy_mean_loss_with_smoothing),
        cmocka_unit_test(test_cross_entropy_kernels_extremes_and_bad_labels),
        cmocka_unit_test(test_cross_entropy_errors),
        cmocka_unit_test(test_embedding_lookup_and_out_of_range_ids),
        cmocka_unit_test(test_embedding_backward_scatter_adds),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
