/* copy_strided through dmx_permute and dmx_gather_view (F32 and I32, bit-exact), and at the
 * device-op level: accumulate = 1, destinations that cover only part of a buffer, and the
 * errors for views that leave the tensor or reach an element twice. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "op_harness.h"

/* Row-major strides of a contiguous shape. */
static void strides_of(int ndim, const int64_t *shape, int64_t *stride)
{
    int64_t s = 1;
    for (int k = ndim - 1; k >= 0; k--) {
        stride[k] = s;
        s *= shape[k];
    }
}

/* want[i_0..] = x[sum_k i_k xstride[perm[k]]] for the permuted shape. */
static void permute_naive(const uint32_t *x, int ndim, const int64_t *xshape, const int *perm,
                          uint32_t *want)
{
    int64_t xstride[DMX_MAX_DIMS], yshape[DMX_MAX_DIMS], idx[DMX_MAX_DIMS] = {0}, n = 1;
    strides_of(ndim, xshape, xstride);
    for (int k = 0; k < ndim; k++) {
        yshape[k] = xshape[perm[k]];
        n *= yshape[k];
    }
    for (int64_t i = 0; i < n; i++) {
        int64_t src = 0;
        for (int k = 0; k < ndim; k++)
            src += idx[k] * xstride[perm[k]];
        want[i] = x[src];
        for (int k = ndim - 1; k >= 0 && ++idx[k] == yshape[k]; k--) /* odometer */
            idx[k] = 0;
    }
}

static void check_permute(dmx_ctx *ctx, dmx_dtype dtype, int ndim, const int64_t *shape,
                          const int *perm)
{
    int64_t n = 1;
    for (int k = 0; k < ndim; k++)
        n *= shape[k];
    uint32_t *x = malloc(n * 4), *want = malloc(n * 4), *got = malloc(n * 4);
    dmx_test_rng rng = {(uint64_t)n};
    for (int64_t i = 0; i < n; i++) /* arbitrary bit patterns, NaN payloads included */
        x[i] = (uint32_t)dmx_test_next(&rng);
    permute_naive(x, ndim, shape, perm, want);
    DMX_ASSERT_OK(dmx_test_poison_arena(ctx, 1 << 20));
    dmx_tensor *tx = NULL, *ty = NULL;
    DMX_ASSERT_OK(dmx_tensor_from_host(ctx, dtype, ndim, shape, x, "x", &tx));
    DMX_ASSERT_OK(dmx_permute(ctx, tx, perm, &ty));
    assert_int_equal(ty->dtype, dtype);
    for (int k = 0; k < ndim; k++)
        assert_int_equal(ty->shape[k], shape[perm[k]]);
    DMX_ASSERT_OK(dmx_tensor_to_host(ty, got, (size_t)n * 4));
    for (int64_t i = 0; i < n; i++)
        if (got[i] != want[i])
            fail_msg("permute rank %d: element %lld is 0x%08x, want 0x%08x", ndim, (long long)i,
                     got[i], want[i]);
    free(x), free(want), free(got);
}

static void test_permute_every_rank_bit_exact(void **state)
{
    (void)state;
    dmx_device *dev = dmx_test_cpu();
    dmx_ctx *ctx = NULL;
    DMX_ASSERT_OK(dmx_ctx_create(dev, &ctx));
    const int64_t s1[1] = {7}, s2[2] = {5, 3}, s3[3] = {3, 5, 7}, s4[4] = {3, 4, 5, 2};
    const int64_t s5[5] = {2, 3, 1, 5, 3}, s6[6] = {2, 3, 2, 5, 1, 3};
    const int p1[1] = {0}, p2[2] = {1, 0}, p3[3] = {2, 0, 1}, p4[4] = {2, 0, 3, 1};
    const int p5[5] = {4, 2, 0, 3, 1}, p6[6] = {5, 3, 1, 0, 4, 2};
    for (int d = 0; d < 2; d++) {
        dmx_dtype dt = d ? DMX_I32 : DMX_F32;
        check_permute(ctx, dt, 1, s1, p1);
        check_permute(ctx, dt, 2, s2, p2);
        check_permute(ctx, dt, 3, s3, p3);
        check_permute(ctx, dt, 4, s4, p4);
        check_permute(ctx, dt, 5, s5, p5);
        check_permute(ctx, dt, 6, s6, p6);
    }
    dmx_ctx_destroy(ctx);
    dmx_device_close(dev);
}

static void test_gather_view_butterfly_stage_and_partial_views(void **state)
{
    (void)state;
    dmx_device *dev = dmx_test_cpu();
    dmx_ctx *ctx = NULL;
    DMX_ASSERT_OK(dmx_ctx_create(dev, &ctx));
    /* [rows = 3, N = 18], radix b = 3, stage 1: stride s = 3, groups g = j*s + r,
     * element d of group (j, r) at j*b*s + d*s + r. View [rows, J = 2, R = 3, b = 3]. */
    float x[54], want[54];
    for (int i = 0; i < 54; i++)
        x[i] = (float)i;
    const int64_t xshape = 54;
    const int64_t shape[4] = {3, 2, 3, 3}, stride[4] = {18, 9, 1, 3};
    for (int row = 0, i = 0; row < 3; row++)
        for (int j = 0; j < 2; j++)
            for (int r = 0; r < 3; r++)
                for (int d = 0; d < 3; d++)
                    want[i++] = x[row * 18 + j * 9 + d * 3 + r];
    DMX_ASSERT_OK(dmx_test_poison_arena(ctx, 1 << 16));
    dmx_tensor *tx, *ty;
    DMX_ASSERT_OK(dmx_tensor_from_host(ctx, DMX_F32, 1, &xshape, x, "x", &tx));
    DMX_ASSERT_OK(dmx_gather_view(ctx, tx, 4, shape, stride, 0, &ty));
    float *got = dmx_test_read(ty);
    DMX_ASSERT_CLOSE("butterfly gather", got, want, 54, 0, 0);
    free(got);

    /* A partial view with an offset: every second element of rows 1..2, columns 3..9. */
    const int64_t pshape[2] = {2, 4}, pstride[2] = {18, 2};
    DMX_ASSERT_OK(dmx_gather_view(ctx, tx, 2, pshape, pstride, 18 + 3, &ty));
    got = dmx_test_read(ty);
    for (int r = 0; r < 2; r++)
        for (int c = 0; c < 4; c++)
            want[r * 4 + c] = x[21 + r * 18 + 2 * c];
    DMX_ASSERT_CLOSE("partial view", got, want, 8, 0, 0);
    free(got);

    /* Errors: past the end, a negative offset, a view that reaches an element twice. */
    const int64_t far[2] = {18, 2}, twice_shape[2] = {3, 4}, twice_stride[2] = {2, 1};
    DMX_ASSERT_FAILS(dmx_gather_view(ctx, tx, 2, pshape, far, 40, &ty), DMX_ERR_SHAPE,
                     "reaches element 64 of a tensor with 54");
    DMX_ASSERT_FAILS(dmx_gather_view(ctx, tx, 2, pshape, pstride, -1, &ty), DMX_ERR_SHAPE,
                     "offset -1 is negative");
    DMX_ASSERT_FAILS(dmx_gather_view(ctx, tx, 2, twice_shape, twice_stride, 0, &ty),
                     DMX_ERR_SHAPE, "reaches some elements twice");
    DMX_ASSERT_FAILS(dmx_gather_view(ctx, tx, 0, pshape, pstride, 0, &ty), DMX_ERR_INVALID_ARG,
                     "rank 0");
    const int bad_perm[1] = {1};
    DMX_ASSERT_FAILS(dmx_permute(ctx, tx, bad_perm, &ty), DMX_ERR_INVALID_ARG,
                     "not a permutation");
    dmx_ctx_destroy(ctx);
    dmx_device_close(dev);
}

/* A transpose [5, 3] -> [3, 5] written into the middle of a wider destination [3, 8] at
 * column 2: dst[c, 2 + r] (+)= src[r, c]. Elements outside the view must keep their values. */
static void test_copy_strided_op_accumulate_and_untouched_elsewhere(void **state)
{
    (void)state;
    dmx_device *dev = dmx_test_cpu();
    float src[15], dst0[24], got[24], want[24];
    dmx_test_rng rng = {59};
    dmx_test_fill(&rng, src, 15, -1, 1);
    dmx_test_fill(&rng, dst0, 24, -1, 1);
    dmx_p_copy_strided p = {.ndim = 2, .shape = {5, 3}, .src_stride = {3, 1}, .dst_stride = {1, 8}};
    for (int acc = 0; acc < 2; acc++) {
        dmx_arg as = dmx_optest_arg(dev, src, 15), ad = dmx_optest_arg(dev, dst0, 24);
        p.accumulate = acc;
        /* The destination argument starts at column 2 and spans to the view's last element. */
        dmx_arg view = {ad.buf, ad.offset + 2, 2 * 8 + 4 + 1};
        DMX_OPTEST_RUN(dev, DMX_OP_COPY_STRIDED, &p, as, view);
        dmx_optest_read(ad, got);
        memcpy(want, dst0, sizeof want);
        for (int r = 0; r < 5; r++)
            for (int c = 0; c < 3; c++)
                want[c * 8 + 2 + r] = acc ? dst0[c * 8 + 2 + r] + src[r * 3 + c] : src[r * 3 + c];
        DMX_ASSERT_CLOSE(acc ? "copy_strided accumulate" : "copy_strided", got, want, 24, 0, 0);
        dmx_optest_free(as, "src"), dmx_optest_free(ad, "dst");
    }
    dmx_device_close(dev);
}

/* accumulate = 0 moves 4-byte words untouched: integers, -0 and NaN payloads survive. */
static void test_copy_strided_op_copies_words_exactly(void **state)
{
    (void)state;
    dmx_device *dev = dmx_test_cpu();
    const uint32_t words[6] = {0x80000000u, 0x7f800001u, 0xffffffffu, 0x00000001u,
                               (uint32_t)INT32_MIN, 0x7fc12345u};
    uint32_t got[6];
    dmx_arg as = dmx_optest_arg(dev, words, 6), ad = dmx_optest_arg(dev, NULL, 6);
    /* A transpose [2, 3] -> [3, 2]. */
    dmx_p_copy_strided p = {.ndim = 2, .shape = {2, 3}, .src_stride = {3, 1}, .dst_stride = {1, 2}};
    DMX_OPTEST_RUN(dev, DMX_OP_COPY_STRIDED, &p, as, ad);
    dmx_optest_read(ad, got);
    for (int r = 0; r < 2; r++)
        for (int c = 0; c < 3; c++)
            if (got[c * 2 + r] != words[r * 3 + c])
                fail_msg("copy_strided: dst[%d] = 0x%08x, want 0x%08x", c * 2 + r,
                         got[c * 2 + r], words[r * 3 + c]);
    dmx_optest_free(as, "src"), dmx_optest_free(ad, "dst");
    dmx_device_close(dev);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_permute_every_rank_bit_exact),
        cmocka_unit_test(test_gather_view_butterfly_stage_and_partial_views),
        cmocka_unit_test(test_copy_strided_op_accumulate_and_untouched_elsewhere),
        cmocka_unit_test(test_copy_strided_op_copies_words_exactly),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
