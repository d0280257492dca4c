/* dmx_op_run refuses a call whose parameters reach past an argument, for every op of ops.def:
 * each case gives valid parameters and, by hand from op_params.h, the exact element count of
 * every argument. The call runs with those counts and is refused when any one argument is a
 * single element short, before a backend could read or write out of bounds. */
#include <stdio.h>
#include <string.h>

#include "op_harness.h"

typedef struct dispatch_case {
    dmx_op op;
    const void *params;
    int counts[DMX_MAX_ARGS]; /* elements each argument spans; -1: absent (optional) */
} dispatch_case;

static const dmx_p_copy_strided p_copy = {
    .ndim = 3, .shape = {2, 3, 2}, .src_stride = {6, 1, 3}, .dst_stride = {1, 4, 2}};
static const dmx_p_gemm p_gemm = {.trans_a = 1, .M = 2, .N = 3, .K = 4, .lda = 3, .ldb = 3,
                                  .ldc = 5, .batch = 2, .stride_a = 13, .stride_b = 12,
                                  .stride_c = 11, .alpha = 1};
static const dmx_p_mix_linear p_mix = {.M = 2, .J = 3, .Din = 2, .Dout = 5, .R1 = 2, .R2 = 3,
                                       .has_bias = 1};
static const dmx_p_mix_mlp p_mlp = {.M = 2, .J = 3, .Din = 2, .Dh = 4, .Dout = 5, .R1 = 2,
                                    .R2 = 3};
static const dmx_p_fill p_fill = {.n = 7};
static const dmx_p_add p_add = {.n = 7};
static const dmx_p_mul p_mul = {.n = 7};
static const dmx_p_scale p_scale = {.n = 7, .alpha = 2};
static const dmx_p_axpy p_axpy = {.n = 7, .alpha = 2};
static const dmx_p_add_row p_add_row = {.rows = 3, .cols = 5};
static const dmx_p_sum_rows p_sum_rows = {.rows = 3, .cols = 5, .scale = 1};
static const dmx_p_unary p_unary = {.n = 7};
static const dmx_p_layernorm p_ln = {.rows = 3, .cols = 5, .eps = 1e-5f};
static const dmx_p_softmax p_softmax = {.rows = 7, .cols = 5, .scale = 1, .has_mask = 1,
                                        .mask_group = 3};
static const dmx_p_cross_entropy p_ce = {.rows = 3, .cols = 5, .scale = 1};
static const dmx_p_embedding p_emb = {.n = 4, .dim = 3, .vocab = 6};
static const dmx_p_dropout p_dropout = {.n = 7, .p = 0.5f};
static const dmx_p_adamw p_adamw = {.n = 7, .lr = 1e-3f, .beta1 = 0.9f, .beta2 = 0.999f,
                                    .eps = 1e-8f, .step_size = 1e-3f, .bc2_sqrt = 1};
static const dmx_p_sgd p_sgd = {.n = 7, .lr = 0.1f, .momentum = 0.9f, .first_step = 1};
static const dmx_p_reduce p_reduce = {.n = 7};
static const dmx_p_clip_scale p_clip_scale = {.n = 7, .threshold = 1, .numerator = 1};
static const dmx_p_attention p_attn = {.batch = 2, .seq = 3, .heads = 2, .head_dim = 3,
                                       .scale = 1, .has_mask = 1};

static const dispatch_case cases[] = {
    /* view spans: src 1 + 1*6 + 2*1 + 1*3 = 12, dst 1 + 1*1 + 2*4 + 1*2 = 12 */
    {DMX_OP_COPY_STRIDED, &p_copy, {12, 12, -1}},
    /* A stored [K, M] with lda 3: 13 + 3*3 + 2 = 24; B [K, N]: 12 + 3*3 + 3 = 24;
     * C [M, N] ldc 5: 11 + 1*5 + 3 = 19 */
    {DMX_OP_GEMM, &p_gemm, {24, 24, 19, -1}},
    /* x 2*3*2*2*3 = 72, W 3*2*5*2 = 60, c 3*2*5 = 30, y 2*3*5*2*3 = 180 */
    {DMX_OP_MIX_LINEAR, &p_mix, {72, 60, 30, 180, -1}},
    {DMX_OP_MIX_LINEAR_BWD_X, &p_mix, {180, 60, 72, -1}},
    {DMX_OP_MIX_LINEAR_BWD_W, &p_mix, {180, 72, 60, 30, -1}},
    /* 36 rows in 6 groups: x 72, W1 6*4*2 = 48, c1 24, W2 6*5*4 = 120, c2 30, y 180 */
    {DMX_OP_MIX_MLP, &p_mlp, {72, 48, 24, 120, 30, 180, -1}},
    {DMX_OP_MIX_MLP_BWD, &p_mlp, {180, 72, 48, 24, 120, 72, 48, 24, 120, 30}},
    {DMX_OP_FILL, &p_fill, {7, -1}},
    {DMX_OP_ADD, &p_add, {7, 7, 7, -1}},
    {DMX_OP_MUL, &p_mul, {7, 7, 7, -1}},
    {DMX_OP_SCALE, &p_scale, {7, 7, -1}},
    {DMX_OP_AXPY, &p_axpy, {7, 7, -1}},
    {DMX_OP_ADD_ROW, &p_add_row, {15, 5, 15, -1}},
    {DMX_OP_SUM_ROWS, &p_sum_rows, {15, 5, -1}},
    {DMX_OP_GELU, &p_unary, {7, 7, -1}},
    {DMX_OP_GELU_BWD, &p_unary, {7, 7, 7, -1}},
    {DMX_OP_ELU, &p_unary, {7, 7, -1}},
    {DMX_OP_ELU_BWD, &p_unary, {7, 7, 7, -1}},
    {DMX_OP_RELU, &p_unary, {7, 7, -1}},
    {DMX_OP_RELU_BWD, &p_unary, {7, 7, 7, -1}},
    {DMX_OP_LAYERNORM, &p_ln, {15, 5, 5, 15, 3, 3, -1}},
    {DMX_OP_LAYERNORM_BWD, &p_ln, {15, 15, 5, 3, 3, 15, 5, 5}},
    /* 7 rows in mask groups of 3: rows 0-2, 3-5, 6 read mask rows 0, 1, 2 */
    {DMX_OP_SOFTMAX, &p_softmax, {35, 15, 35, -1}},
    {DMX_OP_SOFTMAX_BWD, &p_softmax, {35, 35, 35, -1}},
    {DMX_OP_CROSS_ENTROPY, &p_ce, {15, 3, 3, -1}},
    {DMX_OP_CROSS_ENTROPY_BWD, &p_ce, {15, 3, 1, 15, -1}},
    {DMX_OP_EMBEDDING, &p_emb, {4, 18, 12, -1}},
    {DMX_OP_EMBEDDING_BWD, &p_emb, {4, 12, 18, -1}},
    {DMX_OP_DROPOUT, &p_dropout, {7, 7, -1}},
    {DMX_OP_ADAMW, &p_adamw, {7, 7, 7, 7, -1}},
    {DMX_OP_SGD, &p_sgd, {7, 7, 7, -1}},
    {DMX_OP_DOT, &p_reduce, {7, 7, 1, -1}},
    {DMX_OP_NORM2, &p_reduce, {7, 1, -1}},
    {DMX_OP_CLIP_SCALE, &p_clip_scale, {1, 7, -1}},
    {DMX_OP_CLIP_SCALE_BWD, &p_clip_scale, {1, 1, 1, -1}},
    {DMX_OP_ATTENTION, &p_attn, {36, 36, 36, 6, 36, 24}},
    {DMX_OP_ATTENTION_BWD, &p_attn, {36, 36, 36, 6, 36, 36, 24, 36, 36, 36}},
};

static dmx_op_call make_call(dmx_device *dev, const dispatch_case *c)
{
    dmx_op_call call = {.op = c->op, .params = c->params};
    const dmx_op_desc *d = dmx_op_describe(c->op);
    for (int i = 0; i < d->n_in + d->n_out; i++) {
        assert_true(c->counts[i] >= 0); /* every case lists every argument */
        /* Zeros: valid labels and ids, finite values. */
        call.args[i] = dmx_optest_arg(dev, NULL, (size_t)c->counts[i]);
        DMX_ASSERT_OK(dmx_buffer_fill(call.args[i].buf, call.args[i].offset * 4,
                                      call.args[i].count * 4, 0));
    }
    return call;
}

static void test_every_op_is_refused_one_element_short(void **state)
{
    (void)state;
    dmx_device *dev = dmx_test_cpu();
    int covered[DMX_OP_COUNT] = {0};
    for (size_t k = 0; k < sizeof cases / sizeof cases[0]; k++) {
        const dispatch_case *c = &cases[k];
        const dmx_op_desc *d = dmx_op_describe(c->op);
        covered[c->op] = 1;
        dmx_op_call call = make_call(dev, c);
        dmx_status s = dmx_op_run(dev, &call);
        if (s != DMX_OK)
            fail_msg("%s with exact argument sizes: %s", d->name, dmx_last_error());
        for (int i = 0; i < d->n_in + d->n_out; i++) {
            call.args[i].count--;
            char text[64];
            const char *needle = text;
            snprintf(text, sizeof text, "argument %d holds %d elements", i, c->counts[i] - 1);
            DMX_ASSERT_FAILS(dmx_op_run(dev, &call), DMX_ERR_INVALID_ARG, needle);
            assert_non_null(strstr(dmx_last_error(), d->name)); /* the message names the op */
            call.args[i].count++;
        }
        for (int i = 0; i < d->n_in + d->n_out; i++)
            dmx_optest_free(call.args[i], d->name);
    }
    for (int op = 0; op < DMX_OP_COUNT; op++)
        if (!covered[op])
            fail_msg("op %s has no dispatch case", dmx_op_name((dmx_op)op));
    dmx_device_close(dev);
}

static void test_invalid_sizes_are_refused(void **state)
{
    (void)state;
    dmx_device *dev = dmx_test_cpu();
    dmx_arg a = dmx_optest_arg(dev, NULL, 64), b = dmx_optest_arg(dev, NULL, 64);
    dmx_arg c = dmx_optest_arg(dev, NULL, 64);
    dmx_op_call call = {.op = DMX_OP_ADD, .params = &(dmx_p_add){.n = -1}};
    call.args[0] = a, call.args[1] = b, call.args[2] = c;
    DMX_ASSERT_FAILS(dmx_op_run(dev, &call), DMX_ERR_INVALID_ARG,
                     "add on cpu-ref: n -1 is negative");

    dmx_p_gemm g = {.M = 2, .N = 2, .K = 3, .lda = 2, .ldb = 2, .ldc = 2, .batch = 1};
    call = (dmx_op_call){.op = DMX_OP_GEMM, .params = &g};
    call.args[0] = a, call.args[1] = b, call.args[2] = c;
    DMX_ASSERT_FAILS(dmx_op_run(dev, &call), DMX_ERR_INVALID_ARG, "A: leading dimension 2");

    dmx_p_softmax sm = {.rows = 2, .cols = 2, .scale = 1, .has_mask = 1, .mask_group = 0};
    call = (dmx_op_call){.op = DMX_OP_SOFTMAX, .params = &sm};
    call.args[0] = a, call.args[1] = b, call.args[2] = c;
    DMX_ASSERT_FAILS(dmx_op_run(dev, &call), DMX_ERR_INVALID_ARG, "mask_group 0");

    dmx_p_attention at = {.batch = 1, .seq = 1, .heads = 1, .head_dim = 65};
    call = (dmx_op_call){.op = DMX_OP_ATTENTION, .params = &at};
    call.args[0] = a, call.args[1] = b, call.args[2] = c, call.args[4] = a, call.args[5] = b;
    DMX_ASSERT_FAILS(dmx_op_run(dev, &call), DMX_ERR_INVALID_ARG, "head_dim 65");

    dmx_p_copy_strided cp = {.ndim = 7};
    call = (dmx_op_call){.op = DMX_OP_COPY_STRIDED, .params = &cp};
    call.args[0] = a, call.args[1] = b;
    DMX_ASSERT_FAILS(dmx_op_run(dev, &call), DMX_ERR_INVALID_ARG, "ndim 7");
    cp = (dmx_p_copy_strided){.ndim = 1, .shape = {3}, .src_stride = {-1}, .dst_stride = {1}};
    DMX_ASSERT_FAILS(dmx_op_run(dev, &call), DMX_ERR_INVALID_ARG, "source stride -1");

    /* Sizes whose product overflows 64 bits saturate and are refused, not wrapped. */
    dmx_p_mix_linear mix = {.M = INT32_MAX, .J = INT32_MAX, .Din = INT32_MAX, .Dout = 1,
                            .R1 = INT32_MAX, .R2 = INT32_MAX};
    call = (dmx_op_call){.op = DMX_OP_MIX_LINEAR, .params = &mix};
    call.args[0] = a, call.args[1] = b, call.args[3] = c;
    DMX_ASSERT_FAILS(dmx_op_run(dev, &call), DMX_ERR_INVALID_ARG,
                     "argument 0 holds 64 elements, the parameters reach 9223372036854775807");
    dmx_optest_free(a, "a"), dmx_optest_free(b, "b"), dmx_optest_free(c, "c");
    dmx_device_close(dev);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_every_op_is_refused_one_element_short),
        cmocka_unit_test(test_invalid_sizes_are_refused),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
