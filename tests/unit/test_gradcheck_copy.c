/* Backward of the data-movement ops against central finite differences: permute, gather_view
 * (a covering butterfly gather and a non-covering view, whose gradient must be zero elsewhere)
 * and reshape (of a parameter, and of an activation whose gradient it adopts). */
#include <stdlib.h>

#include "core/error.h"
#include "gradcheck.h"

static dmx_status permute_fn(dmx_ctx *ctx, dmx_tensor *const *in, dmx_tensor **out, void *user)
{
    const int *perm = user;
    return dmx_permute(ctx, in[0], perm, out);
}

static void test_permute_gradients(void **state)
{
    (void)state;
    dmx_device *dev = dmx_test_cpu();
    dmx_test_rng rng = {139};
    const int64_t s3[3] = {3, 5, 2}, s6[6] = {2, 1, 3, 2, 1, 3};
    static const int p3[3] = {2, 0, 1}, p6[6] = {5, 2, 0, 4, 3, 1};
    dmx_tensor *in[1];
    DMX_ASSERT_OK(dmx_test_leaf_random(dev, "x", 3, s3, &rng, -1, 1, &in[0]));
    DMX_ASSERT_GRADCHECK(dev, "permute rank 3", permute_fn, (void *)p3, in, 1, NULL);
    dmx_test_leaf_free(in[0]);
    DMX_ASSERT_OK(dmx_test_leaf_random(dev, "x", 6, s6, &rng, -1, 1, &in[0]));
    DMX_ASSERT_GRADCHECK(dev, "permute rank 6", permute_fn, (void *)p6, in, 1, NULL);
    dmx_test_leaf_free(in[0]);
    dmx_device_close(dev);
}

typedef struct view_case {
    int ndim;
    int64_t shape[4], stride[4], offset;
    int via_activation; /* x passes through scale(1): its gradient is a fresh activation */
} view_case;

static dmx_status view_fn(dmx_ctx *ctx, dmx_tensor *const *in, dmx_tensor **out, void *user)
{
    const view_case *c = user;
    dmx_tensor *x = in[0], *v = NULL;
    if (c->via_activation)
        DMX_TRY(dmx_scale(ctx, in[0], 1.0f, &x));
    DMX_TRY(dmx_gather_view(ctx, x, c->ndim, c->shape, c->stride, c->offset, &v));
    /* gelu makes the output depend non-linearly on the gathered values. */
    return dmx_gelu(ctx, v, out);
}

static void test_gather_view_gradients(void **state)
{
    (void)state;
    dmx_device *dev = dmx_test_cpu();
    dmx_test_rng rng = {149};
    const int64_t n = 36;
    /* Butterfly gather of [rows 2, N 18], b 3, s 3: covers every element once. */
    const view_case covering = {4, {2, 2, 3, 3}, {18, 9, 1, 3}, 0, 0};
    const view_case covering_act = {4, {2, 2, 3, 3}, {18, 9, 1, 3}, 0, 1};
    /* Every third element of rows 1 and 2 of [4, 9], from column 1: 6 of 36 elements. */
    const view_case partial = {2, {2, 3}, {9, 3}, 10, 0};
    const view_case partial_act = {2, {2, 3}, {9, 3}, 10, 1};
    dmx_tensor *in[1];
    DMX_ASSERT_OK(dmx_test_leaf_random(dev, "x", 1, &n, &rng, -1, 1, &in[0]));
    DMX_ASSERT_GRADCHECK(dev, "butterfly gather", view_fn, (void *)&covering, in, 1, NULL);
    DMX_ASSERT_GRADCHECK(dev, "butterfly gather of an activation", view_fn,
                         (void *)&covering_act, in, 1, NULL);
    /* All 36 elements are checked (max_checks default 48 >= 36): the 30 outside the view
     * must have gradient 0, numerically and analytically. */
    DMX_ASSERT_GRADCHECK(dev, "partial view", view_fn, (void *)&partial, in, 1, NULL);
    DMX_ASSERT_GRADCHECK(dev, "partial view of an activation", view_fn, (void *)&partial_act, in,
                         1, NULL);

    /* And exactly zero, not merely small, outside the view. */
    dmx_ctx *ctx = NULL;
    DMX_ASSERT_OK(dmx_ctx_create(dev, &ctx));
    DMX_ASSERT_OK(dmx_test_poison_arena(ctx, 1 << 16));
    DMX_ASSERT_OK(dmx_buffer_fill(in[0]->grad->buf, 0, 36 * 4, 0));
    dmx_tensor *y = NULL, *loss = NULL;
    DMX_ASSERT_OK(view_fn(ctx, in, &y, (void *)&partial_act));
    DMX_ASSERT_OK(dmx_sum_rows(ctx, y, 6, 1.0f, &loss));
    DMX_ASSERT_OK(dmx_backward(ctx, loss));
    float *g = dmx_test_read(in[0]->grad);
    for (int i = 0; i < 36; i++) {
        int inside = (i / 9 == 1 || i / 9 == 2) && i % 9 >= 1 && (i % 9 - 1) % 3 == 0;
        if (inside ? g[i] == 0.0f : g[i] != 0.0f)
            fail_msg("partial view: gradient of x[%d] (%s the view) is %.9g", i,
                     inside ? "inside" : "outside", (double)g[i]);
    }
    free(g);
    dmx_ctx_destroy(ctx);
    dmx_test_leaf_free(in[0]);
    dmx_device_close(dev);
}

/* reshape [3, 4] -> [2, 6] -> [12]: mode 0 reshapes the parameter itself (its gradient is
 * added into), mode 1 an activation (whose gradient the reshape adopts), mode 2 uses the
 * activation both directly and through the reshape. */
static dmx_status reshape_fn(dmx_ctx *ctx, dmx_tensor *const *in, dmx_tensor **out, void *user)
{
    const int mode = *(const int *)user;
    const int64_t s26[2] = {2, 6}, s12 = 12;
    dmx_tensor *x = in[0], *r = NULL, *flat = NULL, *g = NULL;
    if (mode)
        DMX_TRY(dmx_gelu(ctx, in[0], &x));
    DMX_TRY(dmx_reshape(ctx, x, 2, s26, &r));
    DMX_TRY(dmx_reshape(ctx, r, 1, &s12, &flat));
    if (mode < 2)
        return dmx_mul(ctx, flat, flat, out);
    DMX_TRY(dmx_elu(ctx, flat, &g));
    DMX_TRY(dmx_reshape(ctx, g, 2, s26, &r));
    return dmx_add(ctx, r, x, out);
}

static void test_reshape_gradients(void **state)
{
    (void)state;
    dmx_device *dev = dmx_test_cpu();
    dmx_test_rng rng = {151};
    const int64_t shape[2] = {3, 4};
    dmx_tensor *in[1];
    DMX_ASSERT_OK(dmx_test_leaf_random(dev, "x", 2, shape, &rng, -1, 1, &in[0]));
    static const int param = 0, activation = 1, both = 2;
    DMX_ASSERT_GRADCHECK(dev, "reshape of a parameter", reshape_fn, (void *)&param, in, 1, NULL);
    DMX_ASSERT_GRADCHECK(dev, "reshape of an activation", reshape_fn, (void *)&activation, in, 1,
                         NULL);
    DMX_ASSERT_GRADCHECK(dev, "activation used directly and reshaped", reshape_fn, (void *)&both,
                         in, 1, NULL);
    dmx_test_leaf_free(in[0]);
    dmx_device_close(dev);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_permute_gradients),
        cmocka_unit_test(test_gather_view_gradients),
        cmocka_unit_test(test_reshape_gradients),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
