/* Backward of layernorm (x, gamma and beta; eps 1e-5 and 1e-6) and softmax (scale, a grouped
 * mask with removed entries, a fully masked row) against central finite differences. */
#include <math.h>
#include <stdlib.h>

#include "core/error.h"
#include "gradcheck.h"

typedef struct ln_case {
    float eps;
    int via_activation; /* gamma and beta pass through scale(1): fresh activation gradients */
} ln_case;

static dmx_status layernorm_fn(dmx_ctx *ctx, dmx_tensor *const *in, dmx_tensor **out, void *user)
{
    const ln_case *c = user;
    dmx_tensor *gamma = in[1], *beta = in[2];
    if (c->via_activation) {
        DMX_TRY(dmx_scale(ctx, in[1], 1.0f, &gamma));
        DMX_TRY(dmx_scale(ctx, in[2], 1.0f, &beta));
    }
    return dmx_layernorm(ctx, in[0], gamma, beta, c->eps, out);
}

static void test_layernorm_gradients(void **state)
{
    (void)state;
    dmx_device *dev = dmx_test_cpu();
    dmx_test_rng rng = {103};
    const int64_t xshape[3] = {2, 3, 7}, pshape = 7;
    dmx_tensor *in[3];
    DMX_ASSERT_OK(dmx_test_leaf_random(dev, "x", 3, xshape, &rng, -2.0f, 2.0f, &in[0]));
    DMX_ASSERT_OK(dmx_test_leaf_random(dev, "gamma", 1, &pshape, &rng, 0.5f, 1.5f, &in[1]));
    DMX_ASSERT_OK(dmx_test_leaf_random(dev, "beta", 1, &pshape, &rng, -1.0f, 1.0f, &in[2]));
    const ln_case eps5 = {1e-5f, 0}, eps6 = {1e-6f, 0}, eps5_act = {1e-5f, 1};
    DMX_ASSERT_GRADCHECK(dev, "layernorm eps 1e-5", layernorm_fn, (void *)&eps5, in, 3, NULL);
    DMX_ASSERT_GRADCHECK(dev, "layernorm eps 1e-6", layernorm_fn, (void *)&eps6, in, 3, NULL);
    DMX_ASSERT_GRADCHECK(dev, "layernorm, affine from activations", layernorm_fn,
                         (void *)&eps5_act, in, 3, NULL);
    for (int i = 0; i < 3; i++)
        dmx_test_leaf_free(in[i]);
    dmx_device_close(dev);
}

/* Mask [2, 5] for x [2 * 3, 5] with mask_group 3: mask row 0 removes entries 1 and 4 (-1e30,
 * -inf) and adds a finite -2 to entry 2; mask row 1 removes everything, so x rows 3-5 are
 * fully masked: output zeros, gradient zero. */
static const float softmax_mask[10] = {0, -1e30f, -2.0f, 0, -INFINITY,
                                       -1e30f, -1e30f, -1e30f, -1e30f, -1e30f};

static dmx_status softmax_fn(dmx_ctx *ctx, dmx_tensor *const *in, dmx_tensor **out, void *user)
{
    const int masked = user != NULL;
    dmx_tensor *mask = NULL;
    const int64_t mshape[2] = {2, 5};
    if (masked) {
        dmx_status s = dmx_tensor_from_host(ctx, DMX_F32, 2, mshape, softmax_mask, "mask", &mask);
        if (s != DMX_OK)
            return s;
    }
    return dmx_softmax(ctx, in[0], mask, 0.8f, masked ? 3 : 1, out);
}

static void test_softmax_gradients(void **state)
{
    (void)state;
    dmx_device *dev = dmx_test_cpu();
    dmx_test_rng rng = {107};
    const int64_t xshape[3] = {2, 3, 5};
    dmx_tensor *in[1];
    DMX_ASSERT_OK(dmx_test_leaf_random(dev, "x", 3, xshape, &rng, -2.0f, 2.0f, &in[0]));
    DMX_ASSERT_GRADCHECK(dev, "softmax", softmax_fn, NULL, in, 1, NULL);
    static int masked = 1;
    DMX_ASSERT_GRADCHECK(dev, "softmax with mask", softmax_fn, &masked, in, 1, NULL);
    dmx_test_leaf_free(in[0]);
    dmx_device_close(dev);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_layernorm_gradients),
        cmocka_unit_test(test_softmax_gradients),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
