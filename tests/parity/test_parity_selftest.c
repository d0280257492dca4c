/* The parity checks themselves: each must catch the failure it exists for. The "device image"
 * is the CPU reference's own result, tampered with in one way per test. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "parity/parity.h"
#include "test_util.h"

static dmx_parity_cases cases;
static dmx_device *cpu;

/* The first case of `op` whose name contains `name`. */
static const dmx_parity_case *find_case(dmx_op op, const char *name)
{
    for (int i = 0; i < cases.count; i++)
        if (cases.items[i].op == op && strstr(cases.items[i].name, name))
            return &cases.items[i];
    fail_msg("no case %s / %s", dmx_op_name(op), name);
    return NULL;
}

/* Offset of argument `arg` in a case image: guards of 67 words around each argument. */
static size_t arg_offset(const dmx_parity_case *c, int arg)
{
    size_t at = 67;
    for (int i = 0; i < arg; i++)
        if (c->args[i].role != DMX_PARITY_ABSENT)
            at += c->args[i].count + 67;
    return at;
}

typedef void (*tamper_fn)(const dmx_parity_case *c, uint32_t *image);

/* Runs the case on the CPU, tampers with a copy, returns the problems found. */
static int problems_after(const dmx_parity_case *c, tamper_fn tamper)
{
    uint32_t *ref = NULL;
    size_t words = 0;
    DMX_ASSERT_OK(dmx_parity_run_case(cpu, c, 0x7FC00000u, &ref, &words));
    uint32_t *dev = malloc(words * 4);
    memcpy(dev, ref, words * 4);
    if (tamper)
        tamper(c, dev);
    int n = dmx_parity_check(c, ref, dev, NULL, "tampered", NULL);
    free(ref);
    free(dev);
    return n;
}

static float *f32(uint32_t *image, size_t at) { return (float *)(image + at); }

static void add_1e3(const dmx_parity_case *c, uint32_t *im) { *f32(im, arg_offset(c, 3)) += 1e-3f; }
static void add_1ulp(const dmx_parity_case *c, uint32_t *im) { im[arg_offset(c, 2) + 5] += 1; }
static void make_nan(const dmx_parity_case *c, uint32_t *im) { *f32(im, arg_offset(c, 1) + 3) = NAN; }
static void hit_guard(const dmx_parity_case *c, uint32_t *im) { im[arg_offset(c, 3) - 1] = 0; }
static void hit_input(const dmx_parity_case *c, uint32_t *im) { *f32(im, arg_offset(c, 0)) += 1.0f; }
static void flip_bit(const dmx_parity_case *c, uint32_t *im) { im[arg_offset(c, 1) + 2] ^= 1; }

static void test_untouched_result_passes(void **state)
{
    (void)state;
    assert_int_equal(problems_after(find_case(DMX_OP_MIX_LINEAR, "dense bias=1"), NULL), 0);
    assert_int_equal(problems_after(find_case(DMX_OP_SOFTMAX, "fully masked"), NULL), 0);
}

static void test_wrong_value_fails(void **state)
{
    (void)state;
    assert_true(problems_after(find_case(DMX_OP_MIX_LINEAR, "dense bias=1"), add_1e3) > 0);
}

static void test_one_ulp_on_elementwise_passes(void **state)
{
    (void)state;
    assert_int_equal(problems_after(find_case(DMX_OP_ADD, "n=1001"), add_1ulp), 0);
}

static void test_nan_where_reference_is_finite_fails(void **state)
{
    (void)state;
    assert_true(problems_after(find_case(DMX_OP_GELU, "n=37"), make_nan) > 0);
}

static void test_write_into_guard_fails(void **state)
{
    (void)state;
    assert_true(problems_after(find_case(DMX_OP_MIX_LINEAR, "dense bias=1"), hit_guard) > 0);
}

static void test_modified_input_fails(void **state)
{
    (void)state;
    assert_true(problems_after(find_case(DMX_OP_MIX_LINEAR, "dense bias=1"), hit_input) > 0);
}

static void test_bitwise_class_rejects_one_bit(void **state)
{
    (void)state;
    assert_true(problems_after(find_case(DMX_OP_COPY_STRIDED, "transpose [7,13] gather acc=0"),
                               flip_bit) > 0);
}

static void test_every_op_has_cases(void **state)
{
    (void)state;
    for (int op = 0; op < DMX_OP_COUNT; op++) {
        int n = 0;
        for (int i = 0; i < cases.count; i++)
            n += cases.items[i].op == (dmx_op)op;
        if (n == 0)
            fail_msg("op %s has no parity case", dmx_op_name((dmx_op)op));
    }
}

int main(void)
{
    cpu = dmx_test_cpu();
    DMX_ASSERT_OK(dmx_parity_build_cases(&cases));
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_untouched_result_passes),
        cmocka_unit_test(test_wrong_value_fails),
        cmocka_unit_test(test_one_ulp_on_elementwise_passes),
        cmocka_unit_test(test_nan_where_reference_is_finite_fails),
        cmocka_unit_test(test_write_into_guard_fails),
        cmocka_unit_test(test_modified_input_fails),
        cmocka_unit_test(test_bitwise_class_rejects_one_bit),
        cmocka_unit_test(test_every_op_has_cases),
    };
    int rc = cmocka_run_group_tests(tests, NULL, NULL);
    dmx_parity_free_cases(&cases);
    dmx_device_close(cpu);
    return rc;
}
