/* Backward of the elementwise ops against central finite differences: add, mul (also with the
 * same tensor on both sides), scale, add_row, sum_rows (sum and mean), gelu, elu, relu (inputs
 * kept away from the kink), dropout (fixed seed), clip_scale (scaling and not, gradients to x and
 * to the norm). Default dmx_gradcheck tolerances throughout. */
#include <math.h>
#include <stdlib.h>

#include "gradcheck.h"

typedef struct fixture {
    dmx_device *dev;
    dmx_test_rng rng;
    dmx_tensor *in[3];
} fixture;

static int setup(void **state)
{
    fixture *f = calloc(1, sizeof *f);
    f->dev = dmx_test_cpu();
    f->rng.state = 101;
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    fixture *f = *state;
    for (int i = 0; i < 3; i++)
        dmx_test_leaf_free(f->in[i]);
    dmx_device_close(f->dev);
    free(f);
    return 0;
}

static void leaf(fixture *f, int k, const char *name, int ndim, const int64_t *shape)
{
    DMX_ASSERT_OK(dmx_test_leaf_random(f->dev, name, ndim, shape, &f->rng, -1.5f, 1.5f, &f->in[k]));
}

static dmx_status add_fn(dmx_ctx *ctx, dmx_tensor *const *in, dmx_tensor **out, void *user)
{
    (void)user;
    return dmx_add(ctx, in[0], in[1], out);
}

static dmx_status mul_fn(dmx_ctx *ctx, dmx_tensor *const *in, dmx_tensor **out, void *user)
{
    (void)user;
    return dmx_mul(ctx, in[0], in[1], out);
}

static dmx_status square_fn(dmx_ctx *ctx, dmx_tensor *const *in, dmx_tensor **out, void *user)
{
    (void)user;
    return dmx_mul(ctx, in[0], in[0], out); /* d/dx x*x = 2x: both sides contribute */
}

static dmx_status scale_fn(dmx_ctx *ctx, dmx_tensor *const *in, dmx_tensor **out, void *user)
{
    (void)user;
    return dmx_scale(ctx, in[0], -2.5f, out);
}

static void test_add_mul_scale_gradients(void **state)
{
    fixture *f = *state;
    const int64_t shape[2] = {3, 7};
    leaf(f, 0, "a", 2, shape);
    leaf(f, 1, "b", 2, shape);
    DMX_ASSERT_GRADCHECK(f->dev, "add", add_fn, NULL, f->in, 2, NULL);
    DMX_ASSERT_GRADCHECK(f->dev, "mul", mul_fn, NULL, f->in, 2, NULL);
    DMX_ASSERT_GRADCHECK(f->dev, "mul(a, a)", square_fn, NULL, f->in, 1, NULL);
    DMX_ASSERT_GRADCHECK(f->dev, "scale", scale_fn, NULL, f->in, 1, NULL);
}

static dmx_status clip_scale_fn(dmx_ctx *ctx, dmx_tensor *const *in, dmx_tensor **out,
                                void *user)
{
    (void)user;
    return dmx_clip_scale(ctx, in[0], in[1], 1.0f, 0.8f, out);
}

/* A norm of 2 is above the threshold 1 (y = 0.8 x / g: both gradients); 0.5 is below it
 * (y = x: the norm gets none). The finite-difference steps stay far from the threshold. */
static void test_clip_scale_gradients(void **state)
{
    fixture *f = *state;
    const int64_t shape[2] = {3, 7}, one = 1;
    leaf(f, 0, "x", 2, shape);
    const float norms[2] = {2.0f, 0.5f};
    for (int k = 0; k < 2; k++) {
        dmx_test_leaf_free(f->in[1]);
        DMX_ASSERT_OK(dmx_test_leaf(f->dev, "norm", 1, &one, &norms[k], &f->in[1]));
        DMX_ASSERT_GRADCHECK(f->dev, k ? "clip_scale (not scaling)" : "clip_scale (scaling)",
                             clip_scale_fn, NULL, f->in, 2, NULL);
    }
}

static dmx_status add_row_fn(dmx_ctx *ctx, dmx_tensor *const *in, dmx_tensor **out, void *user)
{
    (void)user;
    return dmx_add_row(ctx, in[0], in[1], out);
}

typedef struct sum_rows_case {
    int64_t rows;
    float scale;
} sum_rows_case;

static dmx_status sum_rows_fn(dmx_ctx *ctx, dmx_tensor *const *in, dmx_tensor **out, void *user)
{
    const sum_rows_case *c = user;
    return dmx_sum_rows(ctx, in[0], c->rows, c->scale, out);
}

static void test_add_row_and_sum_rows_gradients(void **state)
{
    fixture *f = *state;
    const int64_t xshape[3] = {3, 5, 3}, bshape = 15;
    leaf(f, 0, "x", 3, xshape);
    leaf(f, 1, "b", 1, &bshape);
    DMX_ASSERT_GRADCHECK(f->dev, "add_row", add_row_fn, NULL, f->in, 2, NULL);
    const sum_rows_case sum = {3, 1.0f}, mean = {9, 1.0f / 9.0f}, total = {45, 1.0f};
    DMX_ASSERT_GRADCHECK(f->dev, "sum_rows", sum_rows_fn, (void *)&sum, f->in, 1, NULL);
    DMX_ASSERT_GRADCHECK(f->dev, "sum_rows (mean)", sum_rows_fn, (void *)&mean, f->in, 1, NULL);
    DMX_ASSERT_GRADCHECK(f->dev, "sum_rows (total)", sum_rows_fn, (void *)&total, f->in, 1, NULL);
}

static dmx_status gelu_fn(dmx_ctx *ctx, dmx_tensor *const *in, dmx_tensor **out, void *user)
{
    (void)user;
    return dmx_gelu(ctx, in[0], out);
}

static dmx_status elu_fn(dmx_ctx *ctx, dmx_tensor *const *in, dmx_tensor **out, void *user)
{
    (void)user;
    return dmx_elu(ctx, in[0], out);
}

static dmx_status relu_fn(dmx_ctx *ctx, dmx_tensor *const *in, dmx_tensor **out, void *user)
{
    (void)user;
    return dmx_relu(ctx, in[0], out);
}

static void test_activation_gradients(void **state)
{
    fixture *f = *state;
    /* [-3, 3] with every |x| >= 0.05, far beyond the step 1e-3, so ReLU's kink is never
     * straddled; ELU is C1 at 0 and GELU smooth, so the same points serve them. */
    float x[37];
    dmx_test_fill(&f->rng, x, 37, -3.0f, 3.0f);
    for (int i = 0; i < 37; i++)
        if (fabsf(x[i]) < 0.05f)
            x[i] = x[i] < 0 ? x[i] - 0.05f : x[i] + 0.05f;
    const int64_t shape = 37;
    DMX_ASSERT_OK(dmx_test_leaf(f->dev, "x", 1, &shape, x, &f->in[0]));
    DMX_ASSERT_GRADCHECK(f->dev, "gelu", gelu_fn, NULL, f->in, 1, NULL);
    DMX_ASSERT_GRADCHECK(f->dev, "elu", elu_fn, NULL, f->in, 1, NULL);
    DMX_ASSERT_GRADCHECK(f->dev, "relu", relu_fn, NULL, f->in, 1, NULL);
}

static dmx_status dropout_fn(dmx_ctx *ctx, dmx_tensor *const *in, dmx_tensor **out, void *user)
{
    (void)user;
    /* Every evaluation runs on a freshly reset context with the same seed: the same mask. */
    dmx_ctx_set_seed(ctx, 0xfeedbeefcafeull);
    return dmx_dropout(ctx, in[0], 0.35f, out);
}

static void test_dropout_gradient(void **state)
{
    fixture *f = *state;
    const int64_t shape[2] = {5, 9};
    leaf(f, 0, "x", 2, shape);
    DMX_ASSERT_GRADCHECK(f->dev, "dropout", dropout_fn, NULL, f->in, 1, NULL);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_add_mul_scale_gradients, setup, teardown),
        cmocka_unit_test_setup_teardown(test_add_row_and_sum_rows_gradients, setup, teardown),
        cmocka_unit_test_setup_teardown(test_clip_scale_gradients, setup, teardown),
        cmocka_unit_test_setup_teardown(test_activation_gradients, setup, teardown),
        cmocka_unit_test_setup_teardown(test_dropout_gradient, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
