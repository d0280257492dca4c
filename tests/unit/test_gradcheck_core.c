/* Backward of the structural ops against finite differences. */
#include <stdlib.h>

#include "gradcheck.h"

typedef struct mix_case {
    int M, J, Din, R1, R2;
    int bias;
} mix_case;

static dmx_status mix_fn(dmx_ctx *ctx, dmx_tensor *const *in, dmx_tensor **out, void *user)
{
    const mix_case *c = user;
    return dmx_mix_linear(ctx, in[0], in[1], c->bias ? in[2] : NULL, c->M, c->J, c->Din, c->R1,
                          c->R2, out);
}

static void test_mix_linear_gradients(void **state)
{
    (void)state;
    const mix_case cases[] = {{3, 1, 5, 1, 1, 1}, {2, 2, 4, 3, 1, 1}, {2, 1, 4, 2, 3, 1},
                              {2, 2, 3, 2, 2, 0}};
    const int douts[] = {4, 4, 6, 2};
    dmx_device *dev = dmx_test_cpu();
    dmx_test_rng rng = {11};
    for (size_t k = 0; k < sizeof cases / sizeof cases[0]; k++) {
        const mix_case *c = &cases[k];
        int64_t nx = (int64_t)c->M * c->J * c->Din * c->R1 * c->R2;
        int64_t nw = (int64_t)c->J * c->R1 * douts[k] * c->Din, nb = (int64_t)c->J * c->R1 * douts[k];
        float *buf = malloc((nx + nw + nb) * 4);
        dmx_test_fill(&rng, buf, nx + nw + nb, -1, 1);
        dmx_tensor *in[3];
        DMX_ASSERT_OK(dmx_test_leaf(dev, "x", 1, &nx, buf, &in[0]));
        DMX_ASSERT_OK(dmx_test_leaf(dev, "w", 1, &nw, buf + nx, &in[1]));
        DMX_ASSERT_OK(dmx_test_leaf(dev, "bias", 1, &nb, buf + nx + nw, &in[2]));
        DMX_ASSERT_GRADCHECK(dev, "mix_linear", mix_fn, (void *)c, in, c->bias ? 3 : 2, NULL);
        for (int i = 0; i < 3; i++)
            dmx_test_leaf_free(in[i]);
        free(buf);
    }
    dmx_device_close(dev);
}

typedef struct mm_case {
    int ta, tb;
} mm_case;

static dmx_status matmul_fn(dmx_ctx *ctx, dmx_tensor *const *in, dmx_tensor **out, void *user)
{
    const mm_case *c = user;
    return dmx_matmul(ctx, in[0], in[1], c->ta, c->tb, 0.5f, out);
}

static void test_matmul_gradients_all_transposes_and_shared_b(void **state)
{
    (void)state;
    dmx_device *dev = dmx_test_cpu();
    dmx_test_rng rng = {5};
    const int64_t a_shape[2][3] = {{2, 3, 4}, {2, 4, 3}}; /* [B, M, K] or [B, K, M] */
    for (int ta = 0; ta < 2; ta++)
        for (int tb = 0; tb < 2; tb++)
            for (int shared = 0; shared < 2; shared++) {
                int64_t bshape3[3] = {2, tb ? 5 : 4, tb ? 4 : 5};
                float a[24], b[40];
                dmx_test_fill(&rng, a, 24, -1, 1);
                dmx_test_fill(&rng, b, 40, -1, 1);
                dmx_tensor *in[2];
                DMX_ASSERT_OK(dmx_test_leaf(dev, "a", 3, a_shape[ta], a, &in[0]));
                DMX_ASSERT_OK(dmx_test_leaf(dev, "b", shared ? 2 : 3, shared ? bshape3 + 1 : bshape3,
                                            b, &in[1]));
                mm_case c = {ta, tb};
                DMX_ASSERT_GRADCHECK(dev, "matmul", matmul_fn, &c, in, 2, NULL);
                dmx_test_leaf_free(in[0]);
                dmx_test_leaf_free(in[1]);
            }
    dmx_device_close(dev);
}

static dmx_status permute_fn(dmx_ctx *ctx, dmx_tensor *const *in, dmx_tensor **out, void *user)
{
    (void)user;
    static const int perm[4] = {2, 0, 3, 1};
    dmx_tensor *p = NULL, *g = NULL;
    if (dmx_permute(ctx, in[0], perm, &p) != DMX_OK)
        return DMX_ERR_SHAPE;
    /* Use the result twice so accumulation into the gradient is exercised. */
    if (dmx_gelu(ctx, p, &g) != DMX_OK)
        return DMX_ERR_SHAPE;
    return dmx_mul(ctx, g, p, out);
}

static void test_permute_gradient(void **state)
{
    (void)state;
    dmx_device *dev = dmx_test_cpu();
    dmx_test_rng rng = {3};
    const int64_t shape[4] = {2, 3, 4, 5};
    float x[120];
    dmx_test_fill(&rng, x, 120, -2, 2);
    dmx_tensor *in[1];
    DMX_ASSERT_OK(dmx_test_leaf(dev, "x", 4, shape, x, &in[0]));
    DMX_ASSERT_GRADCHECK(dev, "permute", permute_fn, NULL, in, 1, NULL);
    dmx_test_leaf_free(in[0]);
    dmx_device_close(dev);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_mix_linear_gradients),
        cmocka_unit_test(test_matmul_gradients_all_transposes_and_shared_b),
        cmocka_unit_test(test_permute_gradient),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
