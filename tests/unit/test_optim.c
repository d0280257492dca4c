/* Optimizers against torch.optim trajectories (tools/optim_reference.py prints them), and the
 * learning-rate schedules. */
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "dimix/optim.h"
#include "test_util.h"

typedef struct optim_case {
    const char *name;
    dmx_optim_config cfg;
    float lr;
    double want[3][3]; /* parameters after steps 1, 2, 3 */
} optim_case;

static const optim_case cases[] = {
    {"adamw", {.kind = DMX_OPTIM_ADAMW, .weight_decay = 0.1f}, 0.01f,
     {{0.489500001, -0.2897, 1.23875}, {0.479358681, -0.279410301, 1.23803757},
      {0.469299311, -0.269130891, 1.2334416}}},
    {"adam", {.kind = DMX_OPTIM_ADAM}, 0.01f,
     {{0.490000001, -0.29, 1.24}, {0.480348181, -0.280000001, 1.24052632},
      {0.47076817, -0.270000001, 1.23716838}}},
    {"sgd_nesterov", {.kind = DMX_OPTIM_SGD, .momentum = 0.9f, .nesterov = true,
                      .weight_decay = 5e-4f}, 0.1f,
     {{0.4809525, -0.2619715, 1.24038125}, {0.43478656, -0.207734463, 1.24566279},
      {0.354217551, -0.138913183, 1.23635365}}},
    {"sgd_damp", {.kind = DMX_OPTIM_SGD, .momentum = 0.9f, .dampening = 0.1f,
                  .weight_decay = 1e-2f}, 0.1f,
     {{0.4895, -0.2797, 1.24375}, {0.46160945, -0.24317827, 1.24150562},
      {0.409092506, -0.192089853, 1.23386833}}},
    {"sgd_plain", {.kind = DMX_OPTIM_SGD}, 0.1f,
     {{0.49, -0.28, 1.245}, {0.47, -0.26, 1.25}, {0.44, -0.24, 1.245}}},
};

static void test_optimizers_follow_torch(void **state)
{
    (void)state;
    dmx_device *dev = dmx_test_cpu();
    for (size_t c = 0; c < sizeof cases / sizeof cases[0]; c++) {
        const float p0[3] = {0.5f, -0.3f, 1.25f};
        const int64_t shape[2] = {1, 3}; /* rank 2, so decay_matrices_only would not matter */
        dmx_tensor *p = NULL;
        DMX_ASSERT_OK(dmx_test_leaf(dev, "w", 2, shape, p0, &p));
        dmx_optimizer *opt = NULL;
        DMX_ASSERT_OK(dmx_optim_create(dev, &cases[c].cfg, &p, 1, &opt));
        for (int t = 0; t < 3; t++) {
            float g[3] = {0.1f * (float)(t + 1), -0.2f, t % 2 ? -0.05f : 0.05f};
            DMX_ASSERT_OK(dmx_buffer_write(p->grad->buf, 0, g, sizeof g));
            DMX_ASSERT_OK(dmx_optim_step(opt, cases[c].lr));
            float got[3], want[3];
            DMX_ASSERT_OK(dmx_tensor_to_host(p, got, sizeof got));
            for (int i = 0; i < 3; i++)
                want[i] = (float)cases[c].want[t][i];
            char what[64];
            snprintf(what, sizeof what, "%s step %d", cases[c].name, t + 1);
            DMX_ASSERT_CLOSE(what, got, want, 3, 2e-7, 2e-6);
        }
        assert_int_equal(dmx_optim_steps(opt), 3);
        assert_int_equal(dmx_optim_state_count(opt), cases[c].cfg.kind == DMX_OPTIM_SGD ? 1 : 2);
        assert_string_equal(dmx_optim_state(opt, 0)->name,
                            cases[c].cfg.kind == DMX_OPTIM_SGD ? "optim.w.momentum" : "optim.w.m");
        dmx_optim_destroy(opt);
        dmx_test_leaf_free(p);
    }
    dmx_device_close(dev);
}

static void test_zero_grad_and_no_decay_on_vectors(void **state)
{
    (void)state;
    dmx_device *dev = dmx_test_cpu();
    const float one[3] = {1, 1, 1};
    const int64_t n = 3;
    dmx_tensor *bias = NULL;
    DMX_ASSERT_OK(dmx_test_leaf(dev, "bias", 1, &n, one, &bias));
    dmx_optim_config cfg = {.kind = DMX_OPTIM_ADAMW, .weight_decay = 0.5f,
                            .decay_matrices_only = true};
    dmx_optimizer *opt = NULL;
    DMX_ASSERT_OK(dmx_optim_create(dev, &cfg, &bias, 1, &opt));
    DMX_ASSERT_OK(dmx_buffer_fill(bias->grad->buf, 0, 12, 0x3f800000u));
    DMX_ASSERT_OK(dmx_optim_zero_grad(opt));
    float g[3];
    DMX_ASSERT_OK(dmx_tensor_to_host(bias->grad, g, sizeof g));
    assert_true(g[0] == 0 && g[1] == 0 && g[2] == 0);
    DMX_ASSERT_OK(dmx_optim_step(opt, 0.1f)); /* zero gradient, no decay: unchanged */
    float p[3];
    DMX_ASSERT_OK(dmx_tensor_to_host(bias, p, sizeof p));
    DMX_ASSERT_CLOSE("bias", p, one, 3, 0, 0);
    DMX_ASSERT_FAILS(dmx_optim_step(opt, NAN), DMX_ERR_INVALID_ARG, "learning rate");
    dmx_optim_destroy(opt);
    dmx_test_leaf_free(bias);
    dmx_device_close(dev);
}

static void test_schedules(void **state)
{
    (void)state;
    dmx_schedule cos = {DMX_SCHEDULE_COSINE, 1.0f, 0.0f, 10, 110};
    assert_float_equal(dmx_schedule_lr(&cos, 0), 0.1f, 1e-7);  /* warmup (step+1)/10 */
    assert_float_equal(dmx_schedule_lr(&cos, 9), 1.0f, 1e-7);
    assert_float_equal(dmx_schedule_lr(&cos, 10), 1.0f, 1e-7); /* cosine starts at lr */
    assert_float_equal(dmx_schedule_lr(&cos, 60), 0.5f, 1e-6); /* halfway */
    assert_float_equal(dmx_schedule_lr(&cos, 110), 0.0f, 1e-7);
    dmx_schedule lin = {DMX_SCHEDULE_LINEAR, 2.0f, 0.0f, 0, 100};
    assert_float_equal(dmx_schedule_lr(&lin, 25), 1.5f, 1e-6);
    dmx_schedule cst = {DMX_SCHEDULE_CONSTANT, 0.3f, 0.0f, 0, 0};
    assert_float_equal(dmx_schedule_lr(&cst, 1000), 0.3f, 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_optimizers_follow_torch),
        cmocka_unit_test(test_zero_grad_and_no_decay_on_vectors),
        cmocka_unit_test(test_schedules),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
