/* Every reduction of the OpenCL backend runs in a fixed order (no float atomics), so running an
 * op twice on the same inputs gives bitwise equal outputs. Shapes are chosen to take the
 * multi-chunk (two-pass) paths. */
#include <stdlib.h>
#include <string.h>

#include "ops/op_table.h"
#include "opencl_test_util.h"

typedef struct det_case {
    const char *what;
    dmx_op op;
    const void *params;
    size_t count[DMX_MAX_ARGS];
    int ids_arg;   /* an I32 argument of ids in [0, id_max), or -1 */
    int id_max;
} det_case;

/* Runs the case once from fixed inputs; returns the outputs, concatenated (malloc'd). */
static float *run_once(dmx_device *dev, const det_case *c, size_t *total)
{
    const dmx_op_desc *d = dmx_op_describe(c->op);
    const int nargs = d->n_in + d->n_out;
    dmx_buffer *bufs[DMX_MAX_ARGS] = {0};
    dmx_op_call call = {.op = c->op, .params = c->params};
    dmx_test_rng rng = {42};
    *total = 0;
    for (int i = 0; i < nargs; i++) {
        size_t n = c->count[i];
        if (n == 0)
            continue;
        float *host = malloc(n * sizeof *host);
        if (i == c->ids_arg)
            for (size_t k = 0; k < n; k++) {
                int32_t id = (int32_t)(dmx_test_next(&rng) % (uint64_t)c->id_max);
                memcpy(&host[k], &id, sizeof id);
            }
        else
            dmx_test_fill(&rng, host, n, -2.0f, 2.0f);
        DMX_ASSERT_OK(dmx_buffer_alloc(dev, n * sizeof *host, &bufs[i]));
        DMX_ASSERT_OK(dmx_buffer_write(bufs[i], 0, host, n * sizeof *host));
        free(host);
        call.args[i] = (dmx_arg){bufs[i], 0, n};
        if (i >= d->n_in)
            *total += n;
    }
    DMX_ASSERT_OK(dmx_op_run(dev, &call));
    float *out = malloc(*total * sizeof *out), *at = out;
    for (int i = d->n_in; i < nargs; i++)
        if (bufs[i]) {
            DMX_ASSERT_OK(dmx_buffer_read(bufs[i], 0, at, c->count[i] * sizeof *at));
            at += c->count[i];
        }
    for (int i = 0; i < nargs; i++)
        dmx_buffer_free(bufs[i]);
    return out;
}

static void check_repeatable(dmx_device *dev, const det_case *c)
{
    size_t n1 = 0, n2 = 0;
    float *a = run_once(dev, c, &n1), *b = run_once(dev, c, &n2);
    assert_int_equal(n1, n2);
    for (size_t i = 0; i < n1; i++)
        if (memcmp(&a[i], &b[i], sizeof *a) != 0)
            fail_msg("%s (%s): output %zu differs between two runs: %.9g vs %.9g",
                     dmx_op_name(c->op), c->what, i, (double)a[i], (double)b[i]);
    free(a);
    free(b);
}

static void test_reductions_are_bitwise_repeatable(void **state)
{
    (void)state;
    dmx_device *dev = dmx_cl_test_open();
    const dmx_p_mix_linear ml = {.M = 2000, .J = 2, .Din = 8, .Dout = 8, .R1 = 4, .R2 = 1,
                                 .has_bias = 1};
    const dmx_p_mix_linear tok = {.M = 40, .J = 1, .Din = 12, .Dout = 10, .R1 = 1, .R2 = 70,
                                  .has_bias = 1};
    const dmx_p_sum_rows sr = {.rows = 5000, .cols = 40, .scale = 0.5f, .accumulate = 1};
    const dmx_p_layernorm ln = {.rows = 4000, .cols = 48, .eps = 1e-5f, .accumulate = 0};
    const dmx_p_embedding em = {.n = 3000, .dim = 70, .vocab = 90};
    const dmx_p_reduce rd = {.n = 300001};
    const dmx_p_softmax sm = {.rows = 30, .cols = 1000, .scale = 0.7f};
    const dmx_p_cross_entropy ce = {.rows = 30, .cols = 1000, .smoothing = 0.1f,
                                    .scale = 1.0f / 30};
    const size_t nx = 2000 * 2 * 8 * 4, nw = 2 * 4 * 8 * 8, nc = 2 * 4 * 8;
    const det_case cases[] = {
        {"butterfly weights, 2000 rows", DMX_OP_MIX_LINEAR_BWD_W, &ml, {nx, nx, nw, nc}, -1, 0},
        {"token mixing weights", DMX_OP_MIX_LINEAR_BWD_W, &tok,
         {40 * 10 * 70, 40 * 12 * 70, 120, 10}, -1, 0},
        {"5000 rows", DMX_OP_SUM_ROWS, &sr, {5000 * 40, 40}, -1, 0},
        {"4000 rows", DMX_OP_LAYERNORM_BWD, &ln,
         {4000 * 48, 4000 * 48, 48, 4000, 4000, 4000 * 48, 48, 48}, -1, 0},
        {"3000 ids", DMX_OP_EMBEDDING_BWD, &em, {3000, 3000 * 70, 90 * 70}, 0, 90},
        {"300001", DMX_OP_DOT, &rd, {300001, 300001, 1}, -1, 0},
        {"300001", DMX_OP_NORM2, &rd, {300001, 1}, -1, 0},
        {"30 x 1000", DMX_OP_SOFTMAX, &sm, {30000, 0, 30000}, -1, 0},
        {"30 x 1000", DMX_OP_CROSS_ENTROPY, &ce, {30000, 30, 30}, 1, 1000},
    };
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++)
        check_repeatable(dev, &cases[i]);
    dmx_device_close(dev);
}

int main(void)
{
    int skip = dmx_cl_test_require_device();
    if (skip)
        return skip;
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_reductions_are_bitwise_repeatable),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
