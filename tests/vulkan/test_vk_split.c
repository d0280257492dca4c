/* Arguments larger than maxStorageBufferRange run in pieces. ctest lowers the range to 64 KiB
 * (DIMIX_VK_MAX_BINDING), so ordinary shapes take the paths that on lavapipe (128 MiB) need
 * tensors of hundreds of MiB; every op that can be split is compared with the CPU reference,
 * and one that cannot gets a clear error. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "vk_compare.h"
#include "vulkan/vk_internal.h"

#define RND(n, lo_, hi_) (vkc_arg){.count = (n), .fill = VKC_RANDOM, .lo = (lo_), .hi = (hi_)}
#define OUT(n) (vkc_arg){.count = (n), .fill = VKC_NAN}
#define INTS(n, lo_, hi_) (vkc_arg){.count = (n), .fill = VKC_INTS, .int_lo = (lo_), .int_hi = (hi_)}

static dmx_device *vk, *cpu;

static void open_devices(void)
{
    vk = vkc_open_or_skip();
    cpu = dmx_test_cpu();
    assert_true(dmx_vk_of(vk)->max_range <= 65536); /* ctest's DIMIX_VK_MAX_BINDING */
}

static void close_devices(void)
{
    dmx_device_close(vk);
    dmx_device_close(cpu);
}

static void test_elementwise_and_rows_in_pieces(void **state)
{
    (void)state;
    open_devices();
    size_t n = 100000;
    dmx_p_add a = {(int32_t)n};
    vkc_check(vk, cpu, &(vkc_case){"add", DMX_OP_ADD, &a, {RND(n, -1, 1), RND(n, -1, 1), OUT(n)},
              0, 0}, 1);
    dmx_p_dropout dr = {(int32_t)n, 0.3f, 7, 9, 4294900000u, 0};
    vkc_check(vk, cpu, &(vkc_case){"dropout", DMX_OP_DROPOUT, &dr, {RND(n, -1, 1), OUT(n)}, 0, 0},
              2);
    dmx_p_add_row ar = {5000, 7};
    vkc_check(vk, cpu, &(vkc_case){"add_row", DMX_OP_ADD_ROW, &ar,
              {RND(35000, -1, 1), RND(7, -1, 1), OUT(35000)}, 0, 0}, 3);
    dmx_p_embedding e = {3000, 17, 50};
    vkc_check(vk, cpu, &(vkc_case){"embedding", DMX_OP_EMBEDDING, &e,
              {INTS(3000, -1, 50), RND(850, -1, 1), OUT(51000)}, 0, 0}, 4);
    dmx_p_embedding eb = {5000, 7, 20};
    vkc_check(vk, cpu, &(vkc_case){"embedding_bwd", DMX_OP_EMBEDDING_BWD, &eb,
              {INTS(5000, -1, 20), RND(35000, -1, 1), RND(140, -1, 1)}, 1e-4, 1e-5}, 5);
    dmx_p_layernorm ln = {3000, 20, 1e-5f, 1};
    vkc_check(vk, cpu, &(vkc_case){"layernorm", DMX_OP_LAYERNORM, &ln,
              {RND(60000, -2, 2), RND(20, 0.5f, 1.5f), RND(20, -1, 1), OUT(60000), OUT(3000),
               OUT(3000)}, 1e-5, 1e-5}, 6);
    vkc_check(vk, cpu, &(vkc_case){"layernorm_bwd", DMX_OP_LAYERNORM_BWD, &ln,
              {RND(60000, -1, 1), RND(60000, -2, 2), RND(20, 0.5f, 1.5f), RND(3000, -0.1f, 0.1f),
               RND(3000, 0.5f, 2), RND(60000, -1, 1), RND(20, -1, 1), RND(20, -1, 1)},
              1e-4, 1e-4}, 7);
    dmx_p_softmax sm = {3000, 20, 0.5f, 1, 2, 0};
    vkc_check(vk, cpu, &(vkc_case){"softmax", DMX_OP_SOFTMAX, &sm,
              {RND(60000, -5, 5), (vkc_arg){.count = 30000, .fill = VKC_MASK, .int_lo = 20},
               OUT(60000)}, 1e-7, 2e-5}, 8);
    dmx_p_cross_entropy ce = {3000, 10, 0.1f, 1.0f / 3000, 0};
    vkc_check(vk, cpu, &(vkc_case){"cross_entropy", DMX_OP_CROSS_ENTROPY, &ce,
              {RND(30000, -5, 5), INTS(3000, 0, 9), OUT(3000)}, 1e-5, 1e-5}, 9);
    vkc_check(vk, cpu, &(vkc_case){"cross_entropy_bwd", DMX_OP_CROSS_ENTROPY_BWD, &ce,
              {RND(30000, -5, 5), INTS(3000, 0, 9), RND(1, 1, 2), OUT(30000)}, 1e-6, 1e-5}, 10);
    dmx_p_sum_rows sr = {10000, 5, 1.0f, 1};
    vkc_check(vk, cpu, &(vkc_case){"sum_rows", DMX_OP_SUM_ROWS, &sr,
              {RND(50000, -1, 1), RND(5, -1, 1)}, 1e-4, 1e-5}, 11);
    dmx_p_reduce r = {(int32_t)n};
    vkc_check(vk, cpu, &(vkc_case){"dot", DMX_OP_DOT, &r, {RND(n, -1, 1), RND(n, -1, 1), OUT(1)},
              1e-4, 1e-5}, 12);
    vkc_check(vk, cpu, &(vkc_case){"norm2", DMX_OP_NORM2, &r, {RND(n, -1, 1), OUT(1)}, 1e-5, 1e-5},
              13);
    /* [50, 40, 30] -> [50, 30, 40]: pieces along the outer 50 */
    dmx_p_copy_strided cp = {3, {50, 40, 30}, {1200, 30, 1}, {1200, 1, 40}, 0};
    vkc_check(vk, cpu, &(vkc_case){"copy_strided", DMX_OP_COPY_STRIDED, &cp,
              {RND(60000, -1, 1), OUT(60000)}, 0, 0}, 14);
    close_devices();
}

static void test_linear_ops_in_pieces(void **state)
{
    (void)state;
    open_devices();
    dmx_p_gemm g = {0, 1, 20, 21, 22, 22, 22, 21, 100, 440, 462, 420, 1.0f, 0.5f};
    vkc_check(vk, cpu, &(vkc_case){"gemm batches", DMX_OP_GEMM, &g,
              {RND(44000, -1, 1), RND(46200, -1, 1), RND(42000, -1, 1)}, 1e-5, 1e-5}, 20);
    /* skinny batches (gemm_subgroup where supported): small M, then small N */
    dmx_p_gemm s = {0, 1, 3, 40, 100, 100, 100, 40, 60, 300, 4000, 120, -1.0f, 0.25f};
    vkc_check(vk, cpu, &(vkc_case){"skinny gemm batches", DMX_OP_GEMM, &s,
              {RND(18000, -1, 1), RND(240000, -1, 1), RND(7200, -1, 1)}, 1e-5, 1e-5}, 21);
    dmx_p_gemm t = {1, 0, 40, 2, 100, 40, 2, 2, 60, 4000, 200, 80, 1.0f, 0.0f};
    vkc_check(vk, cpu, &(vkc_case){"skinny gemm batches, small N", DMX_OP_GEMM, &t,
              {RND(240000, -1, 1), RND(12000, -1, 1), OUT(4800)}, 1e-5, 1e-5}, 22);
    /* dense and token-mixing views with the batch cut into pieces */
    const int views[][6] = {{3000, 1, 8, 12, 1, 1}, {300, 1, 9, 70, 1, 1}, {200, 1, 6, 5, 1, 30}};
    for (int v = 0; v < 3; v++) {
        int M = views[v][0], Din = views[v][2], Dout = views[v][3], R2 = views[v][5];
        size_t nx = (size_t)M * Din * R2, ny = (size_t)M * Dout * R2, nw = (size_t)Din * Dout;
        dmx_p_mix_linear p = {M, 1, Din, Dout, 1, R2, 1, 0};
        vkc_check(vk, cpu, &(vkc_case){"mix_linear", DMX_OP_MIX_LINEAR, &p,
                  {RND(nx, -1, 1), RND(nw, -1, 1), RND((size_t)Dout, -1, 1), OUT(ny)}, 1e-5, 1e-5},
                  21);
        vkc_check(vk, cpu, &(vkc_case){"mix_linear_bwd_w", DMX_OP_MIX_LINEAR_BWD_W, &p,
                  {RND(ny, -1, 1), RND(nx, -1, 1), RND(nw, -1, 1), RND((size_t)Dout, -1, 1)},
                  1e-4, 1e-5}, 22);
        p.has_bias = 0;
        vkc_check(vk, cpu, &(vkc_case){"mix_linear_bwd_x", DMX_OP_MIX_LINEAR_BWD_X, &p,
                  {RND(ny, -1, 1), RND(nw, -1, 1), OUT(nx)}, 1e-5, 1e-5}, 23);
    }
    close_devices();
}

static void test_unsplittable_argument_is_a_clear_error(void **state)
{
    (void)state;
    open_devices();
    /* one layernorm row of 20000 columns (80 KB) cannot be cut */
    dmx_buffer *x = NULL, *g = NULL, *s = NULL;
    DMX_ASSERT_OK(dmx_buffer_alloc(vk, 2 * 20000 * 4, &x));
    DMX_ASSERT_OK(dmx_buffer_alloc(vk, 2 * 20000 * 4, &g));
    DMX_ASSERT_OK(dmx_buffer_alloc(vk, 64, &s));
    dmx_p_layernorm p = {1, 20000, 1e-5f, 0};
    dmx_op_call call = {.op = DMX_OP_LAYERNORM, .params = &p};
    call.args[0] = (dmx_arg){x, 0, 20000};
    call.args[1] = (dmx_arg){g, 0, 20000};
    call.args[2] = (dmx_arg){g, 20000, 20000};
    call.args[3] = (dmx_arg){x, 20000, 20000};
    call.args[4] = (dmx_arg){s, 0, 1};
    call.args[5] = (dmx_arg){s, 1, 1};
    DMX_ASSERT_FAILS(dmx_op_run(vk, &call), DMX_ERR_UNSUPPORTED, "maxStorageBufferRange");
    printf("%s\n", dmx_last_error());
    dmx_buffer_free(x), dmx_buffer_free(g), dmx_buffer_free(s);
    close_devices();
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_elementwise_and_rows_in_pieces),
        cmocka_unit_test(test_linear_ops_in_pieces),
        cmocka_unit_test(test_unsplittable_argument_is_a_clear_error),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
