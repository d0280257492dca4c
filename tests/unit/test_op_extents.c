/* The dispatcher rejects parameters that reach past their arguments, on every backend, before
 * any kernel runs (op_extents.c). */
#include <string.h>

#include "ops/op_table.h"
#include "test_util.h"

static dmx_buffer *buffer_of(dmx_device *dev, size_t elems)
{
    dmx_buffer *b = NULL;
    DMX_ASSERT_OK(dmx_buffer_alloc(dev, elems * 4, &b));
    return b;
}

static void test_sizes_past_the_arguments_fail(void **state)
{
    (void)state;
    dmx_device *dev = dmx_test_cpu();
    dmx_buffer *a = buffer_of(dev, 64), *b = buffer_of(dev, 64);

    dmx_p_gemm g = {.M = 4, .N = 4, .K = 4, .lda = 4, .ldb = 4, .ldc = 4, .batch = 2,
                    .stride_a = 16, .stride_b = 16, .stride_c = 16, .alpha = 1};
    dmx_op_call call = {.op = DMX_OP_GEMM, .params = &g};
    call.args[0] = (dmx_arg){a, 0, 32};
    call.args[1] = (dmx_arg){b, 0, 32};
    call.args[2] = (dmx_arg){b, 32, 31};
    DMX_ASSERT_FAILS(dmx_op_run(dev, &call), DMX_ERR_INVALID_ARG, "argument 2 (C) has 31");
    call.args[2].count = 32;
    DMX_ASSERT_OK(dmx_op_run(dev, &call));
    g.lda = 3;
    DMX_ASSERT_FAILS(dmx_op_run(dev, &call), DMX_ERR_INVALID_ARG, "lda=3");

    dmx_p_mix_linear m = {.M = 2, .J = 2, .Din = 4, .Dout = 3, .R1 = 1, .R2 = 2, .has_bias = 1};
    call = (dmx_op_call){.op = DMX_OP_MIX_LINEAR, .params = &m};
    call.args[0] = (dmx_arg){a, 0, 32};
    call.args[1] = (dmx_arg){a, 32, 24};
    call.args[2] = (dmx_arg){a, 56, 5};
    call.args[3] = (dmx_arg){b, 0, 24};
    DMX_ASSERT_FAILS(dmx_op_run(dev, &call), DMX_ERR_INVALID_ARG, "argument 2 (bias) has 5");
    m.has_bias = 2;
    DMX_ASSERT_FAILS(dmx_op_run(dev, &call), DMX_ERR_INVALID_ARG, "has_bias = 2");

    dmx_p_copy_strided c = {.ndim = 2, .shape = {4, 4}, .src_stride = {-4, 1},
                            .dst_stride = {4, 1}};
    call = (dmx_op_call){.op = DMX_OP_COPY_STRIDED, .params = &c};
    call.args[0] = (dmx_arg){a, 12, 16};
    call.args[1] = (dmx_arg){b, 0, 16};
    DMX_ASSERT_FAILS(dmx_op_run(dev, &call), DMX_ERR_INVALID_ARG, "reaches 12 elements before");

    dmx_p_unary u = {.n = -1};
    call = (dmx_op_call){.op = DMX_OP_GELU, .params = &u};
    call.args[0] = (dmx_arg){a, 0, 8};
    call.args[1] = (dmx_arg){b, 0, 8};
    DMX_ASSERT_FAILS(dmx_op_run(dev, &call), DMX_ERR_INVALID_ARG, "n = -1 is negative");
    u.n = 9;
    DMX_ASSERT_FAILS(dmx_op_run(dev, &call), DMX_ERR_INVALID_ARG, "the parameters need 9");

    dmx_buffer_free(a);
    dmx_buffer_free(b);
    dmx_device_close(dev);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_sizes_past_the_arguments_fail),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
