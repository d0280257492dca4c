/* The butterfly stage index map (SPEC section 1): strides, stage counts, clear errors, and the
 * mix_linear stage views checked element by element against idx(j, d, r) = j b s + d s + r and
 * against the base-b digit rule for N = b^k. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "test_util.h"

typedef struct stage_case {
    int64_t N, b;
    int K;
    int64_t strides[8];
    int power_of_b; /* N = b^K: stage i changes base-b digit i only */
} stage_case;

static const stage_case cases[] = {
    {64, 8, 2, {1, 8}, 1},         {64, 16, 2, {1, 4}, 0},       {1024, 32, 2, {1, 32}, 1},
    {16, 2, 4, {1, 2, 4, 8}, 1},   {1024, 16, 3, {1, 16, 64}, 0}, {48, 8, 2, {1, 6}, 0},
    {27, 3, 3, {1, 3, 9}, 1},
};

static void test_strides_and_stage_counts(void **state)
{
    (void)state;
    for (size_t c = 0; c < sizeof cases / sizeof cases[0]; c++) {
        int K = -1;
        DMX_ASSERT_OK(dmx_butterfly_stages(cases[c].N, cases[c].b, &K));
        if (K != cases[c].K)
            fail_msg("N = %lld, b = %lld: %d stages, expected %d", (long long)cases[c].N,
                     (long long)cases[c].b, K, cases[c].K);
        for (int i = 0; i < K; i++) {
            int64_t s = 0;
            DMX_ASSERT_OK(dmx_butterfly_stride(cases[c].N, cases[c].b, i, &s));
            if (s != cases[c].strides[i])
                fail_msg("N = %lld, b = %lld, stage %d: stride %lld, expected %lld",
                         (long long)cases[c].N, (long long)cases[c].b, i, (long long)s,
                         (long long)cases[c].strides[i]);
        }
    }
    /* log(64)/log(4) is 2.9999999999999996 in doubles; integers say 3. */
    int K = 0;
    DMX_ASSERT_OK(dmx_butterfly_stages(64, 4, &K));
    assert_int_equal(K, 3);
}

static void test_invalid_sizes_are_clear_errors(void **state)
{
    (void)state;
    int K = 0;
    int64_t s = 0;
    dmx_mix_view v;
    DMX_ASSERT_FAILS(dmx_butterfly_stages(24, 16, &K), DMX_ERR_SHAPE,
                     "N = 24 is not a multiple of b * s = 16 (b = 16, stage 0 of 2 has stride "
                     "s = 1)");
    DMX_ASSERT_FAILS(dmx_butterfly_stages(40, 4, &K), DMX_ERR_SHAPE, "b * s = 16");
    DMX_ASSERT_FAILS(dmx_butterfly_stages(64, 1, &K), DMX_ERR_SHAPE, "radix b = 1");
    DMX_ASSERT_FAILS(dmx_butterfly_stages(1, 2, &K), DMX_ERR_SHAPE, "N = 1");
    DMX_ASSERT_FAILS(dmx_butterfly_stride(64, 8, 2, &s), DMX_ERR_SHAPE, "stage 2 outside [0, 2)");
    DMX_ASSERT_FAILS(dmx_butterfly_stage_view(64, 8, 0, 0, 1, &v), DMX_ERR_SHAPE, "outer 0");
}

static void test_vit_radix(void **state)
{
    (void)state;
    const int64_t S[] = {1, 2, 4, 63, 64, 65, 256, 1024, 1025};
    const int64_t a[] = {1, 2, 2, 8, 8, 16, 16, 32, 64};
    for (size_t i = 0; i < sizeof S / sizeof S[0]; i++)
        if (dmx_vit_radix(S[i]) != a[i])
            fail_msg("radix for S = %lld: %lld, expected %lld", (long long)S[i],
                     (long long)dmx_vit_radix(S[i]), (long long)a[i]);
}

/* Element n's source under stage i for N = b^K: n with base-b digit i advanced by one. */
static int64_t digit_rule_source(int64_t n, int64_t b, int i)
{
    int64_t p = 1;
    for (int k = 0; k < i; k++)
        p *= b;
    int64_t digit = (n / p) % b;
    return n - digit * p + ((digit + 1) % b) * p;
}

/* Stage i with W_g = (g + 1) * shift (W_g[o][d] = 1 when d = o + 1 mod b) on x[m, n, c]:
 * y[m, idx(j, o, r), c] must be (g + 1) x[m, idx(j, o + 1 mod b, r), c], g = j s + r. */
static void check_stage(dmx_ctx *ctx, const stage_case *c, int i, int64_t outer, int64_t inner)
{
    const int64_t N = c->N, b = c->b, G = N / b;
    int64_t s = 0;
    dmx_mix_view v;
    DMX_ASSERT_OK(dmx_butterfly_stride(N, b, i, &s));
    DMX_ASSERT_OK(dmx_butterfly_stage_view(N, b, i, outer, inner, &v));
    assert_true(v.M == outer && v.J == N / (b * s) && v.Din == b && v.R1 == s && v.R2 == inner);
    const int64_t nx = outer * N * inner, nw = G * b * b;
    float *x = malloc(nx * 4), *w = calloc(nw, 4), *want = malloc(nx * 4);
    for (int64_t k = 0; k < nx; k++)
        x[k] = (float)(k % 4096 + 1); /* distinct within a row, exact in float */
    for (int64_t g = 0; g < G; g++)
        for (int64_t o = 0; o < b; o++)
            w[(g * b + o) * b + (o + 1) % b] = (float)(g + 1);
    for (int64_t m = 0; m < outer; m++)
        for (int64_t j = 0; j < v.J; j++)
            for (int64_t r = 0; r < s; r++)
                for (int64_t o = 0; o < b; o++) {
                    int64_t n = j * b * s + o * s + r, src = j * b * s + ((o + 1) % b) * s + r;
                    if (c->power_of_b && digit_rule_source(n, b, i) != src)
                        fail_msg("N = %lld, b = %lld, stage %d: element %lld pairs with %lld, the "
                                 "digit rule says %lld", (long long)N, (long long)b, i,
                                 (long long)n, (long long)src,
                                 (long long)digit_rule_source(n, b, i));
                    for (int64_t e = 0; e < inner; e++)
                        want[(m * N + n) * inner + e] =
                            (float)(j * s + r + 1) * x[(m * N + src) * inner + e];
                }
    dmx_tensor *tx, *tw, *ty;
    const int64_t xshape[3] = {outer, N, inner}, wshape[3] = {G, b, b};
    DMX_ASSERT_OK(dmx_ctx_reset(ctx));
    DMX_ASSERT_OK(dmx_tensor_from_host(ctx, DMX_F32, 3, xshape, x, "x", &tx));
    DMX_ASSERT_OK(dmx_tensor_from_host(ctx, DMX_F32, 3, wshape, w, "w", &tw));
    DMX_ASSERT_OK(dmx_mix_linear(ctx, tx, tw, NULL, v.M, v.J, v.Din, v.R1, v.R2, &ty));
    float *got = dmx_test_read(ty);
    char what[96];
    snprintf(what, sizeof what, "N=%lld b=%lld stage %d inner %lld", (long long)N, (long long)b,
             i, (long long)inner);
    DMX_ASSERT_CLOSE(what, got, want, (size_t)nx, 0, 0);
    free(got), free(x), free(w), free(want);
}

static void test_stage_views_follow_the_index_map(void **state)
{
    (void)state;
    dmx_device *dev = dmx_test_cpu();
    dmx_ctx *ctx = NULL;
    DMX_ASSERT_OK(dmx_ctx_create(dev, &ctx));
    for (size_t c = 0; c < sizeof cases / sizeof cases[0]; c++)
        for (int i = 0; i < cases[c].K; i++) {
            check_stage(ctx, &cases[c], i, 2, 1); /* last axis of [rows, N] */
            check_stage(ctx, &cases[c], i, 2, 3); /* token axis of [B, S, C] */
        }
    dmx_ctx_destroy(ctx);
    dmx_device_close(dev);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_strides_and_stage_counts),
        cmocka_unit_test(test_invalid_sizes_are_clear_errors),
        cmocka_unit_test(test_vit_radix),
        cmocka_unit_test(test_stage_views_follow_the_index_map),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
