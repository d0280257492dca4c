/* Core: devices, buffers, errors, the op dispatcher, and forward ops against naive loops. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "ops/op_table.h"
#include "test_util.h"

static void test_cpu_device_listed(void **state)
{
    (void)state;
    assert_true(dmx_device_count() >= 1);
    dmx_device_info info;
    DMX_ASSERT_OK(dmx_device_get_info(0, &info));
    assert_string_equal(info.name, "cpu");
    assert_int_equal(info.backend, DMX_BACKEND_CPU);
    assert_true(info.memory_bytes > 0);
}

static void test_unknown_device_is_a_clear_error(void **state)
{
    (void)state;
    dmx_device *dev = NULL;
    DMX_ASSERT_FAILS(dmx_device_open("tpu:7", &dev), DMX_ERR_NOT_FOUND, "unknown device 'tpu:7'");
    assert_null(dev);
    DMX_ASSERT_FAILS(dmx_device_get_info(-1, NULL), DMX_ERR_INVALID_ARG, "out of range");
}

static void test_buffer_round_trip_and_bounds(void **state)
{
    (void)state;
    dmx_device *dev = dmx_test_cpu();
    dmx_buffer *a = NULL, *b = NULL;
    DMX_ASSERT_OK(dmx_buffer_alloc(dev, 64, &a));
    DMX_ASSERT_OK(dmx_buffer_alloc(dev, 64, &b));
    float x[16], y[16];
    for (int i = 0; i < 16; i++)
        x[i] = (float)i - 3.5f;
    DMX_ASSERT_OK(dmx_buffer_write(a, 0, x, sizeof x));
    DMX_ASSERT_OK(dmx_buffer_copy(a, 8, b, 0, 32));
    DMX_ASSERT_OK(dmx_buffer_read(b, 0, y, 32));
    assert_memory_equal(y, x + 2, 32);
    DMX_ASSERT_OK(dmx_buffer_fill(b, 4, 8, 0x3f800000u));
    DMX_ASSERT_OK(dmx_buffer_read(b, 0, y, 16));
    assert_true(y[1] == 1.0f && y[2] == 1.0f && y[0] == x[2] && y[3] == x[5]);
    DMX_ASSERT_FAILS(dmx_buffer_read(a, 60, y, 8), DMX_ERR_INVALID_ARG, "outside the buffer");
    DMX_ASSERT_FAILS(dmx_buffer_fill(a, 2, 8, 0), DMX_ERR_INVALID_ARG, "multiples of 4");
    dmx_buffer_free(a);
    dmx_buffer_free(b);
    dmx_device_close(dev);
}

static void test_dispatch_checks_bounds_and_required_args(void **state)
{
    (void)state;
    dmx_device *dev = dmx_test_cpu();
    dmx_buffer *a = NULL;
    DMX_ASSERT_OK(dmx_buffer_alloc(dev, 16, &a));
    dmx_p_unary p = {.n = 8};
    dmx_op_call call = {.op = DMX_OP_GELU, .params = &p};
    call.args[0] = (dmx_arg){a, 0, 8};
    call.args[1] = (dmx_arg){a, 0, 4};
    DMX_ASSERT_FAILS(dmx_op_run(dev, &call), DMX_ERR_INVALID_ARG, "spans elements [0, 8)");
    call.args[0].count = 4;
    call.args[1].buf = NULL;
    DMX_ASSERT_FAILS(dmx_op_run(dev, &call), DMX_ERR_INVALID_ARG, "required argument 1");
    assert_int_equal(dmx_op_from_name("mix_linear"), DMX_OP_MIX_LINEAR);
    assert_string_equal(dmx_op_name(DMX_OP_LAYERNORM_BWD), "layernorm_bwd");
    dmx_buffer_free(a);
    dmx_device_close(dev);
}

/* Naive mix_linear straight from SPEC section 2. */
static void naive_mix(const float *x, const float *W, const float *c, float *y, int M, int J,
                      int Din, int Dout, int R1, int R2)
{
    for (int m = 0; m < M; m++)
        for (int j = 0; j < J; j++)
            for (int o = 0; o < Dout; o++)
                for (int r1 = 0; r1 < R1; r1++)
                    for (int r2 = 0; r2 < R2; r2++) {
                        double acc = c ? c[(j * R1 + r1) * Dout + o] : 0.0;
                        for (int d = 0; d < Din; d++)
                            acc += (double)W[((j * R1 + r1) * Dout + o) * Din + d] *
                                   x[(((m * J + j) * Din + d) * R1 + r1) * R2 + r2];
                        y[(((m * J + j) * Dout + o) * R1 + r1) * R2 + r2] = (float)acc;
                    }
}

static void test_mix_linear_matches_naive_for_every_view(void **state)
{
    (void)state;
    /* M, J, Din, Dout, R1, R2: dense, token mixing, butterfly stages, Monarch, Dout != Din */
    const int views[][6] = {{5, 1, 7, 3, 1, 1}, {3, 1, 6, 6, 1, 5}, {4, 8, 8, 8, 1, 1},
                            {4, 1, 8, 8, 8, 1},  {2, 2, 4, 12, 4, 3}, {3, 4, 3, 5, 2, 1}};
    dmx_device *dev = dmx_test_cpu();
    dmx_ctx *ctx = NULL;
    DMX_ASSERT_OK(dmx_ctx_create(dev, &ctx));
    dmx_test_rng rng = {7};
    for (size_t v = 0; v < sizeof views / sizeof views[0]; v++) {
        const int M = views[v][0], J = views[v][1], Din = views[v][2], Dout = views[v][3];
        const int R1 = views[v][4], R2 = views[v][5];
        int64_t nx = (int64_t)M * J * Din * R1 * R2, nw = (int64_t)J * R1 * Dout * Din;
        int64_t nc = (int64_t)J * R1 * Dout, ny = (int64_t)M * J * Dout * R1 * R2;
        float *x = malloc(nx * 4), *W = malloc(nw * 4), *c = malloc(nc * 4), *want = malloc(ny * 4);
        dmx_test_fill(&rng, x, nx, -1, 1);
        dmx_test_fill(&rng, W, nw, -1, 1);
        dmx_test_fill(&rng, c, nc, -1, 1);
        for (int with_bias = 0; with_bias < 2; with_bias++) {
            naive_mix(x, W, with_bias ? c : NULL, want, M, J, Din, Dout, R1, R2);
            dmx_tensor *tx, *tw, *tc, *ty;
            DMX_ASSERT_OK(dmx_ctx_reset(ctx));
            DMX_ASSERT_OK(dmx_tensor_from_host(ctx, DMX_F32, 1, &nx, x, "x", &tx));
            DMX_ASSERT_OK(dmx_tensor_from_host(ctx, DMX_F32, 1, &nw, W, "W", &tw));
            DMX_ASSERT_OK(dmx_tensor_from_host(ctx, DMX_F32, 1, &nc, c, "c", &tc));
            DMX_ASSERT_OK(dmx_mix_linear(ctx, tx, tw, with_bias ? tc : NULL, M, J, Din, R1, R2, &ty));
            assert_int_equal(ty->shape[2], Dout);
            float *got = dmx_test_read(ty);
            DMX_ASSERT_CLOSE("mix_linear", got, want, (size_t)ny, 1e-5, 1e-5);
            free(got);
        }
        free(x), free(W), free(c), free(want);
    }
    dmx_ctx_destroy(ctx);
    dmx_device_close(dev);
}

static void test_mix_linear_shape_errors_name_the_sizes(void **state)
{
    (void)state;
    dmx_device *dev = dmx_test_cpu();
    dmx_ctx *ctx = NULL;
    DMX_ASSERT_OK(dmx_ctx_create(dev, &ctx));
    int64_t nx = 24, nw = 10;
    dmx_tensor *x, *w, *y;
    DMX_ASSERT_OK(dmx_tensor_new(ctx, DMX_F32, 1, &nx, "x", &x));
    DMX_ASSERT_OK(dmx_tensor_new(ctx, DMX_F32, 1, &nw, "w", &w));
    DMX_ASSERT_FAILS(dmx_mix_linear(ctx, x, w, NULL, 2, 1, 5, 1, 1, &y), DMX_ERR_SHAPE,
                     "needs 10");
    DMX_ASSERT_FAILS(dmx_mix_linear(ctx, x, w, NULL, 2, 1, 4, 3, 1, &y), DMX_ERR_SHAPE,
                     "Din=4");
    dmx_ctx_destroy(ctx);
    dmx_device_close(dev);
}

static void test_gelu_exact_values(void **state)
{
    (void)state;
    /* x * Phi(x) from tables of the normal CDF. */
    const float x[] = {-30.0f, -3.0f, -1.0f, 0.0f, 0.5f, 1.0f, 3.0f, 30.0f};
    const float want[] = {-0.0f, -0.0040496977f, -0.15865525f, 0.0f, 0.34573123f, 0.84134475f,
                          2.9959502f, 30.0f};
    dmx_device *dev = dmx_test_cpu();
    dmx_ctx *ctx = NULL;
    DMX_ASSERT_OK(dmx_ctx_create(dev, &ctx));
    int64_t n = 8;
    dmx_tensor *tx, *ty;
    DMX_ASSERT_OK(dmx_tensor_from_host(ctx, DMX_F32, 1, &n, x, "x", &tx));
    DMX_ASSERT_OK(dmx_gelu(ctx, tx, &ty));
    float *got = dmx_test_read(ty);
    DMX_ASSERT_CLOSE("gelu", got, want, 8, 1e-7, 1e-6);
    free(got);
    dmx_ctx_destroy(ctx);
    dmx_device_close(dev);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_cpu_device_listed),
        cmocka_unit_test(test_unknown_device_is_a_clear_error),
        cmocka_unit_test(test_buffer_round_trip_and_bounds),
        cmocka_unit_test(test_dispatch_checks_bounds_and_required_args),
        cmocka_unit_test(test_mix_linear_matches_naive_for_every_view),
        cmocka_unit_test(test_mix_linear_shape_errors_name_the_sizes),
        cmocka_unit_test(test_gelu_exact_values),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
