/* Bad input is an error value, never a crash: every tensor op and context function given a NULL
 * context, NULL tensors or a NULL output pointer returns DMX_ERR_INVALID_ARG (or a shape error)
 * with a message, in training and in inference mode (where some ops are identities). */
#include <stdlib.h>
#include <string.h>

#include "test_util.h"

typedef struct fixture {
    dmx_device *dev;
    dmx_ctx *ctx;
    dmx_tensor *x, *w, *v, *ids, *labels;
} fixture;

static int setup(void **state)
{
    fixture *f = calloc(1, sizeof *f);
    f->dev = dmx_test_cpu();
    if (dmx_ctx_create(f->dev, &f->ctx) != DMX_OK)
        return -1;
    const int64_t xs[2] = {2, 3}, ws[2] = {4, 3}, vs = 3, n2 = 2;
    const int32_t zeros[2] = {0, 0};
    if (dmx_tensor_new(f->ctx, DMX_F32, 2, xs, "x", &f->x) != DMX_OK ||
        dmx_tensor_new(f->ctx, DMX_F32, 2, ws, "w", &f->w) != DMX_OK ||
        dmx_tensor_new(f->ctx, DMX_F32, 1, &vs, "v", &f->v) != DMX_OK ||
        dmx_tensor_from_host(f->ctx, DMX_I32, 1, &n2, zeros, "ids", &f->ids) != DMX_OK ||
        dmx_tensor_from_host(f->ctx, DMX_I32, 1, &n2, zeros, "labels", &f->labels) != DMX_OK)
        return -1;
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    fixture *f = *state;
    dmx_ctx_destroy(f->ctx);
    dmx_device_close(f->dev);
    free(f);
    return 0;
}

/* Each call must fail (not crash) and leave a message. */
#define EXPECT_ERROR(expr)                                                                   \
    do {                                                                                     \
        dmx_clear_error();                                                                   \
        dmx_status s_ = (expr);                                                              \
        if (s_ == DMX_OK)                                                                    \
            fail_msg("%s succeeded", #expr);                                                 \
        if (!*dmx_last_error())                                                              \
            fail_msg("%s returned %s without a message", #expr, dmx_status_name(s_));       \
    } while (0)

static void every_op_refuses(fixture *f)
{
    dmx_ctx *c = f->ctx;
    dmx_tensor *x = f->x, *w = f->w, *v = f->v, *y = NULL;
    const int perm[2] = {1, 0};
    const int64_t shape[2] = {3, 2}, stride[2] = {1, 3};
    /* A NULL context. */
    EXPECT_ERROR(dmx_add(NULL, x, x, &y));
    EXPECT_ERROR(dmx_mul(NULL, x, x, &y));
    EXPECT_ERROR(dmx_scale(NULL, x, 2.0f, &y));
    EXPECT_ERROR(dmx_add_row(NULL, x, v, &y));
    EXPECT_ERROR(dmx_sum_rows(NULL, x, 2, 1.0f, &y));
    EXPECT_ERROR(dmx_gelu(NULL, x, &y));
    EXPECT_ERROR(dmx_elu(NULL, x, &y));
    EXPECT_ERROR(dmx_relu(NULL, x, &y));
    EXPECT_ERROR(dmx_dropout(NULL, x, 0.5f, &y));
    EXPECT_ERROR(dmx_layernorm(NULL, x, v, v, 1e-5f, &y));
    EXPECT_ERROR(dmx_softmax(NULL, x, NULL, 1.0f, 1, &y));
    EXPECT_ERROR(dmx_cross_entropy(NULL, x, f->labels, 0.0f, &y));
    EXPECT_ERROR(dmx_embedding(NULL, f->ids, w, &y));
    EXPECT_ERROR(dmx_permute(NULL, x, perm, &y));
    EXPECT_ERROR(dmx_gather_view(NULL, x, 2, shape, stride, 0, &y));
    EXPECT_ERROR(dmx_mix_linear(NULL, x, v, NULL, 2, 1, 3, 1, 1, &y));
    EXPECT_ERROR(dmx_linear(NULL, x, w, NULL, &y));
    EXPECT_ERROR(dmx_matmul(NULL, x, w, 0, 1, 1.0f, &y));
    EXPECT_ERROR(dmx_reshape(NULL, x, 2, shape, &y));
    EXPECT_ERROR(dmx_tensor_new(NULL, DMX_F32, 2, shape, "t", &y));
    EXPECT_ERROR(dmx_backward(NULL, x));
    EXPECT_ERROR(dmx_ctx_reset(NULL));
    /* NULL tensors. */
    EXPECT_ERROR(dmx_add(c, NULL, x, &y));
    EXPECT_ERROR(dmx_mul(c, x, NULL, &y));
    EXPECT_ERROR(dmx_scale(c, NULL, 2.0f, &y));
    EXPECT_ERROR(dmx_add_row(c, x, NULL, &y));
    EXPECT_ERROR(dmx_sum_rows(c, NULL, 2, 1.0f, &y));
    EXPECT_ERROR(dmx_gelu(c, NULL, &y));
    EXPECT_ERROR(dmx_dropout(c, NULL, 0.5f, &y));
    EXPECT_ERROR(dmx_layernorm(c, x, NULL, v, 1e-5f, &y));
    EXPECT_ERROR(dmx_softmax(c, NULL, NULL, 1.0f, 1, &y));
    EXPECT_ERROR(dmx_cross_entropy(c, x, NULL, 0.0f, &y));
    EXPECT_ERROR(dmx_embedding(c, NULL, w, &y));
    EXPECT_ERROR(dmx_permute(c, NULL, perm, &y));
    EXPECT_ERROR(dmx_gather_view(c, NULL, 2, shape, stride, 0, &y));
    EXPECT_ERROR(dmx_mix_linear(c, x, NULL, NULL, 2, 1, 3, 1, 1, &y));
    EXPECT_ERROR(dmx_linear(c, NULL, w, NULL, &y));
    EXPECT_ERROR(dmx_matmul(c, x, NULL, 0, 1, 1.0f, &y));
    EXPECT_ERROR(dmx_reshape(c, NULL, 2, shape, &y));
    EXPECT_ERROR(dmx_tensor_write(NULL, shape, 8));
    EXPECT_ERROR(dmx_tensor_to_host(NULL, &y, 8));
    /* A NULL output pointer. */
    EXPECT_ERROR(dmx_add(c, x, x, NULL));
    EXPECT_ERROR(dmx_mul(c, x, x, NULL));
    EXPECT_ERROR(dmx_scale(c, x, 2.0f, NULL));
    EXPECT_ERROR(dmx_add_row(c, x, v, NULL));
    EXPECT_ERROR(dmx_sum_rows(c, x, 2, 1.0f, NULL));
    EXPECT_ERROR(dmx_gelu(c, x, NULL));
    EXPECT_ERROR(dmx_elu(c, x, NULL));
    EXPECT_ERROR(dmx_relu(c, x, NULL));
    EXPECT_ERROR(dmx_dropout(c, x, 0.5f, NULL));
    EXPECT_ERROR(dmx_dropout(c, x, 0.0f, NULL));
    EXPECT_ERROR(dmx_layernorm(c, x, v, v, 1e-5f, NULL));
    EXPECT_ERROR(dmx_softmax(c, x, NULL, 1.0f, 1, NULL));
    EXPECT_ERROR(dmx_cross_entropy(c, x, f->labels, 0.0f, NULL));
    EXPECT_ERROR(dmx_embedding(c, f->ids, w, NULL));
    EXPECT_ERROR(dmx_permute(c, x, perm, NULL));
    EXPECT_ERROR(dmx_gather_view(c, x, 2, shape, stride, 0, NULL));
    EXPECT_ERROR(dmx_mix_linear(c, x, v, NULL, 2, 1, 3, 1, 1, NULL));
    EXPECT_ERROR(dmx_linear(c, x, w, NULL, NULL));
    EXPECT_ERROR(dmx_matmul(c, x, w, 0, 1, 1.0f, NULL));
    EXPECT_ERROR(dmx_reshape(c, x, 2, shape, NULL));
    EXPECT_ERROR(dmx_ctx_create(f->dev, NULL));
}

static void test_null_arguments_are_errors_in_training(void **state)
{
    fixture *f = *state;
    every_op_refuses(f);
}

static void test_null_arguments_are_errors_in_inference(void **state)
{
    fixture *f = *state;
    dmx_ctx_set_training(f->ctx, false);
    dmx_ctx_set_grad(f->ctx, false);
    every_op_refuses(f);
}

/* The context's setters and getters accept NULL quietly: they have no status to return. */
static void test_context_accessors_tolerate_null(void **state)
{
    (void)state;
    dmx_ctx_set_grad(NULL, true);
    dmx_ctx_set_training(NULL, true);
    dmx_ctx_set_seed(NULL, 1);
    dmx_ctx_destroy(NULL);
    assert_false(dmx_ctx_grad_enabled(NULL));
    assert_false(dmx_ctx_training(NULL));
    assert_int_equal(dmx_ctx_peak_bytes(NULL), 0);
    assert_null(dmx_ctx_device(NULL));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_null_arguments_are_errors_in_training, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_null_arguments_are_errors_in_inference, setup,
                                        teardown),
        cmocka_unit_test(test_context_accessors_tolerate_null),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
