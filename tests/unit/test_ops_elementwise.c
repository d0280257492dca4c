/* Elementwise ops, row broadcast, sum over rows and the reductions (dot, norm2) against naive
 * loops, at the tensor level (outputs from a NaN-poisoned arena) and at the device-op level
 * (accumulate, aliasing, fill bit patterns, guard bands). Sizes are odd on purpose. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "op_harness.h"

typedef struct fixture {
    dmx_device *dev;
    dmx_ctx *ctx;
    dmx_test_rng rng;
} fixture;

static int setup(void **state)
{
    fixture *f = calloc(1, sizeof *f);
    f->dev = dmx_test_cpu();
    if (dmx_ctx_create(f->dev, &f->ctx) != DMX_OK)
        return -1;
    f->rng.state = 0x5eed;
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

/* An activation of `shape` holding a copy of data. */
static dmx_tensor *input(fixture *f, int ndim, const int64_t *shape, const float *data)
{
    dmx_tensor *t = NULL;
    DMX_ASSERT_OK(dmx_tensor_from_host(f->ctx, DMX_F32, ndim, shape, data, "input", &t));
    return t;
}

static float *random_floats(fixture *f, size_t n, float lo, float hi)
{
    float *x = malloc((n ? n : 1) * sizeof *x);
    dmx_test_fill(&f->rng, x, n, lo, hi);
    return x;
}

static void expect_tensor(const char *what, const dmx_tensor *t, const float *want, size_t n,
                          double atol, double rtol)
{
    assert_int_equal(dmx_tensor_numel(t), n);
    float *got = dmx_test_read(t);
    assert_non_null(got);
    DMX_ASSERT_CLOSE(what, got, want, n, atol, rtol);
    free(got);
}

/* ---- tensor level ---- */

static void test_add_mul_scale_match_naive(void **state)
{
    fixture *f = *state;
    const int64_t shape[2] = {5, 7};
    const size_t n = 35;
    float *a = random_floats(f, n, -3, 3), *b = random_floats(f, n, -3, 3);
    float want[35];
    DMX_ASSERT_OK(dmx_test_poison_arena(f->ctx, 1 << 16));
    dmx_tensor *ta = input(f, 2, shape, a), *tb = input(f, 2, shape, b), *y = NULL;

    DMX_ASSERT_OK(dmx_add(f->ctx, ta, tb, &y));
    assert_int_equal(y->ndim, 2);
    assert_int_equal(y->shape[1], 7);
    for (size_t i = 0; i < n; i++)
        want[i] = a[i] + b[i];
    expect_tensor("add", y, want, n, 0, 0);

    DMX_ASSERT_OK(dmx_mul(f->ctx, ta, tb, &y));
    for (size_t i = 0; i < n; i++)
        want[i] = a[i] * b[i];
    expect_tensor("mul", y, want, n, 0, 0);

    DMX_ASSERT_OK(dmx_scale(f->ctx, ta, -1.75f, &y));
    for (size_t i = 0; i < n; i++)
        want[i] = -1.75f * a[i];
    expect_tensor("scale", y, want, n, 0, 0);
    free(a);
    free(b);
}

static void test_add_row_broadcasts_over_every_row(void **state)
{
    fixture *f = *state;
    const int64_t xshape[3] = {3, 5, 7};
    const size_t n = 105;
    float *x = random_floats(f, n, -2, 2), *b = random_floats(f, 35, -2, 2), want[105];
    /* b of 35 elements: x viewed as [3, 35]; b of 7: x viewed as [15, 7]. */
    const int64_t bsizes[2] = {35, 7};
    for (int k = 0; k < 2; k++) {
        const int64_t cols = bsizes[k];
        DMX_ASSERT_OK(dmx_test_poison_arena(f->ctx, 1 << 16));
        dmx_tensor *tx = input(f, 3, xshape, x), *tb = input(f, 1, &cols, b), *y = NULL;
        DMX_ASSERT_OK(dmx_add_row(f->ctx, tx, tb, &y));
        for (size_t i = 0; i < n; i++)
            want[i] = x[i] + b[i % (size_t)cols];
        expect_tensor("add_row", y, want, n, 0, 0);
    }
    free(x);
    free(b);
}

static void test_sum_rows_sum_and_mean(void **state)
{
    fixture *f = *state;
    const int64_t rows = 9, cols = 11, shape[2] = {9, 11};
    float *x = random_floats(f, 99, -4, 4), want[11];
    const float scales[2] = {1.0f, 1.0f / 9.0f};
    for (int k = 0; k < 2; k++) {
        DMX_ASSERT_OK(dmx_test_poison_arena(f->ctx, 1 << 16));
        dmx_tensor *tx = input(f, 2, shape, x), *y = NULL;
        DMX_ASSERT_OK(dmx_sum_rows(f->ctx, tx, rows, scales[k], &y));
        assert_int_equal(y->ndim, 1);
        assert_int_equal(y->shape[0], cols);
        for (int64_t c = 0; c < cols; c++) {
            double acc = 0.0;
            for (int64_t r = 0; r < rows; r++)
                acc += x[r * cols + c];
            want[c] = (float)(acc * scales[k]);
        }
        expect_tensor(k ? "sum_rows (mean)" : "sum_rows", y, want, (size_t)cols, 1e-6, 1e-6);
    }
    /* All 99 elements as rows of one column: the total. */
    dmx_tensor *tx = input(f, 2, shape, x), *y = NULL;
    DMX_ASSERT_OK(dmx_sum_rows(f->ctx, tx, 99, 1.0f, &y));
    double total = 0.0;
    for (int i = 0; i < 99; i++)
        total += x[i];
    float want_total = (float)total;
    expect_tensor("sum_rows (total)", y, &want_total, 1, 1e-5, 1e-6);
    free(x);
}

static void test_shape_errors_name_the_tensors(void **state)
{
    fixture *f = *state;
    const int64_t s5 = 5, s6 = 6, s4 = 4;
    dmx_tensor *a = NULL, *b = NULL, *c = NULL, *y = NULL;
    DMX_ASSERT_OK(dmx_tensor_new(f->ctx, DMX_F32, 1, &s5, "a5", &a));
    DMX_ASSERT_OK(dmx_tensor_new(f->ctx, DMX_F32, 1, &s6, "b6", &b));
    DMX_ASSERT_OK(dmx_tensor_new(f->ctx, DMX_F32, 1, &s4, "c4", &c));
    DMX_ASSERT_FAILS(dmx_add(f->ctx, a, b, &y), DMX_ERR_SHAPE, "b6");
    DMX_ASSERT_FAILS(dmx_mul(f->ctx, a, b, &y), DMX_ERR_SHAPE, "expected 5");
    DMX_ASSERT_FAILS(dmx_add_row(f->ctx, b, c, &y), DMX_ERR_SHAPE, "is not rows of c4");
    DMX_ASSERT_FAILS(dmx_sum_rows(f->ctx, a, 2, 1.0f, &y), DMX_ERR_SHAPE, "into 2 rows");
    DMX_ASSERT_FAILS(dmx_sum_rows(f->ctx, a, 0, 1.0f, &y), DMX_ERR_SHAPE, "into 0 rows");
    DMX_ASSERT_FAILS(dmx_add(f->ctx, a, NULL, &y), DMX_ERR_INVALID_ARG, "b is NULL");
}

/* ---- device-op level ---- */

static void test_fill_writes_exact_bit_patterns(void **state)
{
    fixture *f = *state;
    const uint32_t patterns[] = {0x00000000u, 0x80000000u /* -0 */, 0xffffffffu,
                                 0x7f800001u /* signalling NaN */, 0x7f800000u /* +inf */,
                                 0x12345678u, 0x3f800000u /* 1.0f */};
    uint32_t got[13];
    for (size_t k = 0; k < sizeof patterns / sizeof patterns[0]; k++) {
        dmx_arg y = dmx_optest_arg(f->dev, NULL, 13);
        dmx_p_fill p = {.n = 13, .bits = patterns[k]};
        DMX_OPTEST_RUN(f->dev, DMX_OP_FILL, &p, y);
        dmx_optest_read(y, got);
        for (int i = 0; i < 13; i++)
            if (got[i] != patterns[k])
                fail_msg("fill 0x%08x: element %d is 0x%08x", patterns[k], i, got[i]);
        dmx_optest_free(y, "fill");
    }
}

static void test_add_and_scale_may_alias_their_output(void **state)
{
    fixture *f = *state;
    const size_t n = 23;
    float *a = random_floats(f, n, -1, 1), *b = random_floats(f, n, -1, 1), got[23], want[23];
    dmx_arg ta = dmx_optest_arg(f->dev, a, n), tb = dmx_optest_arg(f->dev, b, n);
    dmx_p_add pa = {.n = (int32_t)n};
    DMX_OPTEST_RUN(f->dev, DMX_OP_ADD, &pa, ta, tb, ta); /* a = a + b in place */
    dmx_optest_read(ta, got);
    for (size_t i = 0; i < n; i++)
        want[i] = a[i] + b[i];
    DMX_ASSERT_CLOSE("add in place", got, want, n, 0, 0);

    dmx_p_scale ps = {.n = (int32_t)n, .alpha = 3.0f};
    DMX_OPTEST_RUN(f->dev, DMX_OP_SCALE, &ps, tb, tb); /* b = 3 b in place */
    dmx_optest_read(tb, got);
    for (size_t i = 0; i < n; i++)
        want[i] = 3.0f * b[i];
    DMX_ASSERT_CLOSE("scale in place", got, want, n, 0, 0);
    dmx_optest_free(ta, "add");
    dmx_optest_free(tb, "scale");
    free(a);
    free(b);
}

static void test_mul_overwrites_or_accumulates(void **state)
{
    fixture *f = *state;
    const size_t n = 19;
    float *a = random_floats(f, n, -2, 2), *b = random_floats(f, n, -2, 2);
    float *y0 = random_floats(f, n, -2, 2), got[19], want[19];
    for (int acc = 0; acc < 2; acc++) {
        dmx_arg ta = dmx_optest_arg(f->dev, a, n), tb = dmx_optest_arg(f->dev, b, n);
        dmx_arg ty = dmx_optest_arg(f->dev, acc ? y0 : NULL, n);
        dmx_p_mul p = {.n = (int32_t)n, .accumulate = acc};
        DMX_OPTEST_RUN(f->dev, DMX_OP_MUL, &p, ta, tb, ty);
        dmx_optest_read(ty, got);
        for (size_t i = 0; i < n; i++)
            want[i] = acc ? y0[i] + a[i] * b[i] : a[i] * b[i];
        DMX_ASSERT_CLOSE(acc ? "mul accumulate" : "mul overwrite", got, want, n, 1e-7, 1e-7);
        dmx_optest_free(ta, "mul a");
        dmx_optest_free(tb, "mul b");
        dmx_optest_free(ty, "mul y");
    }
    free(a), free(b), free(y0);
}

static void test_axpy_adds_scaled_x(void **state)
{
    fixture *f = *state;
    const size_t n = 29;
    float *x = random_floats(f, n, -2, 2), *y0 = random_floats(f, n, -2, 2), got[29], want[29];
    dmx_arg tx = dmx_optest_arg(f->dev, x, n), ty = dmx_optest_arg(f->dev, y0, n);
    dmx_p_axpy p = {.n = (int32_t)n, .alpha = -0.3f};
    DMX_OPTEST_RUN(f->dev, DMX_OP_AXPY, &p, tx, ty);
    dmx_optest_read(ty, got);
    for (size_t i = 0; i < n; i++)
        want[i] = (float)((double)y0[i] + (double)-0.3f * x[i]);
    DMX_ASSERT_CLOSE("axpy", got, want, n, 1e-7, 1e-6);
    dmx_optest_free(tx, "axpy x");
    dmx_optest_free(ty, "axpy y");
    free(x), free(y0);
}

static void test_add_row_op_in_place(void **state)
{
    fixture *f = *state;
    const int rows = 7, cols = 3;
    float *x = random_floats(f, 21, -1, 1), *b = random_floats(f, 3, -1, 1), got[21], want[21];
    dmx_arg tx = dmx_optest_arg(f->dev, x, 21), tb = dmx_optest_arg(f->dev, b, 3);
    dmx_p_add_row p = {.rows = rows, .cols = cols};
    DMX_OPTEST_RUN(f->dev, DMX_OP_ADD_ROW, &p, tx, tb, tx);
    dmx_optest_read(tx, got);
    for (int i = 0; i < 21; i++)
        want[i] = x[i] + b[i % cols];
    DMX_ASSERT_CLOSE("add_row in place", got, want, 21, 0, 0);
    dmx_optest_free(tx, "add_row x");
    dmx_optest_free(tb, "add_row b");
    free(x), free(b);
}

static void test_sum_rows_op_scale_and_accumulate(void **state)
{
    fixture *f = *state;
    const int rows = 13, cols = 5;
    float *x = random_floats(f, 65, -1, 1), *y0 = random_floats(f, 5, -1, 1), got[5], want[5];
    for (int acc = 0; acc < 2; acc++) {
        dmx_arg tx = dmx_optest_arg(f->dev, x, 65), ty = dmx_optest_arg(f->dev, acc ? y0 : NULL, 5);
        dmx_p_sum_rows p = {.rows = rows, .cols = cols, .scale = 0.25f, .accumulate = acc};
        DMX_OPTEST_RUN(f->dev, DMX_OP_SUM_ROWS, &p, tx, ty);
        dmx_optest_read(ty, got);
        for (int c = 0; c < cols; c++) {
            double s = 0.0;
            for (int r = 0; r < rows; r++)
                s += x[r * cols + c];
            want[c] = (float)((acc ? y0[c] : 0.0) + 0.25 * s);
        }
        DMX_ASSERT_CLOSE(acc ? "sum_rows accumulate" : "sum_rows overwrite", got, want, 5, 1e-6,
                         1e-6);
        dmx_optest_free(tx, "sum_rows x");
        dmx_optest_free(ty, "sum_rows y");
    }
    free(x), free(y0);
}

static void test_dot_and_norm2_match_double_sums(void **state)
{
    fixture *f = *state;
    /* Longer than the CPU's 4096-element chunk, and odd. */
    const size_t sizes[] = {1, 7, 10007};
    for (size_t k = 0; k < sizeof sizes / sizeof sizes[0]; k++) {
        const size_t n = sizes[k];
        float *x = random_floats(f, n, -1, 1), *y = random_floats(f, n, -1, 1);
        double dot = 0.0, sq = 0.0;
        for (size_t i = 0; i < n; i++) {
            dot += (double)x[i] * y[i];
            sq += (double)x[i] * x[i];
        }
        dmx_arg tx = dmx_optest_arg(f->dev, x, n), ty = dmx_optest_arg(f->dev, y, n);
        dmx_arg out = dmx_optest_arg(f->dev, NULL, 1);
        dmx_p_reduce p = {.n = (int32_t)n};
        float got, want;
        DMX_OPTEST_RUN(f->dev, DMX_OP_DOT, &p, tx, ty, out);
        dmx_optest_read(out, &got);
        want = (float)dot;
        DMX_ASSERT_CLOSE("dot", &got, &want, 1, 1e-6, 1e-6);
        DMX_OPTEST_RUN(f->dev, DMX_OP_NORM2, &p, tx, out);
        dmx_optest_read(out, &got);
        want = (float)sqrt(sq);
        DMX_ASSERT_CLOSE("norm2", &got, &want, 1, 1e-6, 1e-6);
        dmx_optest_free(tx, "x");
        dmx_optest_free(ty, "y");
        dmx_optest_free(out, "out");
        free(x), free(y);
    }
    /* Hand-computed: |(3, 4)| = 5, (1, 2, 3) . (4, -5, 6) = 12, and empty sums are 0. */
    const float a[3] = {3, 4, 0}, b[3] = {1, 2, 3}, c[3] = {4, -5, 6};
    dmx_arg ta = dmx_optest_arg(f->dev, a, 3), tb = dmx_optest_arg(f->dev, b, 3);
    dmx_arg tc = dmx_optest_arg(f->dev, c, 3), out = dmx_optest_arg(f->dev, NULL, 1);
    float got;
    DMX_OPTEST_RUN(f->dev, DMX_OP_NORM2, &(dmx_p_reduce){.n = 3}, ta, out);
    dmx_optest_read(out, &got);
    assert_true(got == 5.0f);
    DMX_OPTEST_RUN(f->dev, DMX_OP_DOT, &(dmx_p_reduce){.n = 3}, tb, tc, out);
    dmx_optest_read(out, &got);
    assert_true(got == 12.0f);
    DMX_OPTEST_RUN(f->dev, DMX_OP_NORM2, &(dmx_p_reduce){.n = 0}, ta, out);
    dmx_optest_read(out, &got);
    assert_true(got == 0.0f);
    dmx_optest_free(ta, "a"), dmx_optest_free(tb, "b"), dmx_optest_free(tc, "c");
    dmx_optest_free(out, "out");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_add_mul_scale_match_naive, setup, teardown),
        cmocka_unit_test_setup_teardown(test_add_row_broadcasts_over_every_row, setup, teardown),
        cmocka_unit_test_setup_teardown(test_sum_rows_sum_and_mean, setup, teardown),
        cmocka_unit_test_setup_teardown(test_shape_errors_name_the_tensors, setup, teardown),
        cmocka_unit_test_setup_teardown(test_fill_writes_exact_bit_patterns, setup, teardown),
        cmocka_unit_test_setup_teardown(test_add_and_scale_may_alias_their_output, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_mul_overwrites_or_accumulates, setup, teardown),
        cmocka_unit_test_setup_teardown(test_axpy_adds_scaled_x, setup, teardown),
        cmocka_unit_test_setup_teardown(test_add_row_op_in_place, setup, teardown),
        cmocka_unit_test_setup_teardown(test_sum_rows_op_scale_and_accumulate, setup, teardown),
        cmocka_unit_test_setup_teardown(test_dot_and_norm2_match_double_sums, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
