/* AdamW and SGD steps against PyTorch's formulas written out here in double, and against
 * trajectories computed once with PyTorch 1.13 (float32) by tests/unit/tools/
 * optim_trajectories.py and pasted below. Both use p0[i] = 0.5 i - 1 and the gradient
 * g[t][i] = ((7 i + 3 t) % 11 - 5) / 8 at step t (0-based), exact in float. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "op_harness.h"

enum { N = 5, STEPS = 5 };

/* Output of tests/unit/tools/optim_trajectories.py: parameters after each step. */
static const float torch_adamw[5][5] = {
    {-0.989000022f, -0.509500027f, 0.00999999978f, 0.489500016f, 0.989000022f},
    {-0.979025304f, -0.518387616f, 0.0126533695f, 0.487095535f, 0.979167283f},
    {-0.972384632f, -0.521103859f, 0.00806739833f, 0.485128164f, 0.977732122f},
    {-0.971099198f, -0.523232341f, 0.00906096399f, 0.480903625f, 0.977383792f},
    {-0.96712631f, -0.527112126f, 0.0107729584f, 0.481221646f, 0.975137711f},
};
static const float torch_adam[5][5] = {
    {-0.950000048f, -0.549999774f, 0.0499997996f, 0.450000077f, 0.950000405f},
    {-0.906151474f, -0.598057985f, 0.0605566017f, 0.443255007f, 0.904368639f},
    {-0.881427765f, -0.611176968f, 0.033371821f, 0.438367367f, 0.905354977f},
    {-0.886230409f, -0.621219218f, 0.0399428532f, 0.419500709f, 0.911908329f},
    {-0.872572482f, -0.642887115f, 0.0504363775f, 0.427921861f, 0.905979216f},
};
static const float torch_sgd_plain[5][5] = {
    {-0.9375f, -0.524999976f, 0.0250000004f, 0.4375f, 0.987500012f},
    {-0.912500024f, -0.587499976f, 0.0125000002f, 0.474999994f, 0.9375f},
    {-0.925000012f, -0.549999952f, -0.0375000015f, 0.474999994f, 0.987500012f},
    {-0.975000024f, -0.549999952f, 0.0124999993f, 0.4375f, 1.0f},
    {-0.925000012f, -0.587499976f, 0.0249999985f, 0.5f, 0.975000024f},
};
static const float torch_sgd_momentum_wd[5][5] = {
    {-0.936500013f, -0.524500012f, 0.0250000004f, 0.437000006f, 0.986500025f},
    {-0.853413522f, -0.608525515f, 0.0349749997f, 0.417363018f, 0.923363507f},
    {-0.790282249f, -0.646039963f, -0.00608247751f, 0.399272352f, 0.915617287f},
    {-0.782673836f, -0.679156899f, 0.00697187567f, 0.345091492f, 0.920230091f},
    {-0.725043595f, -0.745782971f, 0.0312138218f, 0.358483613f, 0.898461401f},
};
static const float torch_sgd_dampening[5][5] = {
    {-0.9375f, -0.524999976f, 0.0250000004f, 0.4375f, 0.987500012f},
    {-0.858749986f, -0.60374999f, 0.036249999f, 0.414999992f, 0.931250036f},
    {-0.799124956f, -0.640874982f, 0.00137499894f, 0.394749999f, 0.925625026f},
    {-0.790462434f, -0.674287498f, 0.0149874985f, 0.342774987f, 0.931812525f},
    {-0.73766619f, -0.738108754f, 0.0384887494f, 0.352247477f, 0.914881289f},
};
static const float torch_sgd_nesterov[5][5] = {
    {-0.879350007f, -0.546549976f, 0.0474999994f, 0.380299985f, 0.974349976f},
    {-0.778744221f, -0.684106529f, 0.0439097472f, 0.39979741f, 0.866563737f},
    {-0.733760834f, -0.679599524f, -0.0431121588f, 0.383177757f, 0.908786535f},
    {-0.776332498f, -0.708617687f, 0.0186895616f, 0.296601862f, 0.92459029f},
    {-0.673832357f, -0.805249274f, 0.0529867969f, 0.370964855f, 0.87912482f},
};

static float p0_of(int i) { return 0.5f * (float)i - 1.0f; }
static float grad_of(int t, int i) { return (float)((7 * i + 3 * t) % 11 - 5) / 8.0f; }

typedef struct adamw_cfg {
    double lr, beta1, beta2, eps, weight_decay;
} adamw_cfg;

/* torch.optim.AdamW (single tensor, amsgrad off): decoupled decay, then bias-corrected moments. */
static void adamw_reference(const adamw_cfg *c, double want[STEPS][N])
{
    double p[N], m[N] = {0}, v[N] = {0};
    for (int i = 0; i < N; i++)
        p[i] = p0_of(i);
    for (int t = 0; t < STEPS; t++) {
        const int step = t + 1;
        const double bc1 = 1.0 - pow(c->beta1, step), bc2 = 1.0 - pow(c->beta2, step);
        for (int i = 0; i < N; i++) {
            const double g = grad_of(t, i);
            p[i] *= 1.0 - c->lr * c->weight_decay;
            m[i] = c->beta1 * m[i] + (1.0 - c->beta1) * g;
            v[i] = c->beta2 * v[i] + (1.0 - c->beta2) * g * g;
            p[i] -= (c->lr / bc1) * m[i] / (sqrt(v[i]) / sqrt(bc2) + c->eps);
            want[t][i] = p[i];
        }
    }
}

static void check_step(const char *what, int t, const float *got, const double *want_double,
                       const float *want_torch)
{
    float want[N];
    char label[96];
    for (int i = 0; i < N; i++)
        want[i] = (float)want_double[i];
    snprintf(label, sizeof label, "%s step %d vs the formulas", what, t + 1);
    DMX_ASSERT_CLOSE(label, got, want, N, 2e-6, 2e-6);
    snprintf(label, sizeof label, "%s step %d vs PyTorch", what, t + 1);
    DMX_ASSERT_CLOSE(label, got, want_torch, N, 2e-6, 2e-6);
}

static void run_adamw(const char *what, const adamw_cfg *c, const float torch[STEPS][N])
{
    dmx_device *dev = dmx_test_cpu();
    double want[STEPS][N];
    adamw_reference(c, want);
    float p0[N], zeros[N] = {0}, g[N], got[N];
    for (int i = 0; i < N; i++)
        p0[i] = p0_of(i);
    dmx_arg ap = dmx_optest_arg(dev, p0, N), am = dmx_optest_arg(dev, zeros, N);
    dmx_arg av = dmx_optest_arg(dev, zeros, N);
    for (int t = 0; t < STEPS; t++) {
        for (int i = 0; i < N; i++)
            g[i] = grad_of(t, i);
        dmx_arg ag = dmx_optest_arg(dev, g, N);
        /* The caller's part of the contract: bias corrections for the 1-based step. */
        const int step = t + 1;
        dmx_p_adamw p = {.n = N, .lr = (float)c->lr, .beta1 = (float)c->beta1,
                         .beta2 = (float)c->beta2, .eps = (float)c->eps,
                         .weight_decay = (float)c->weight_decay,
                         .step_size = (float)(c->lr / (1.0 - pow(c->beta1, step))),
                         .bc2_sqrt = (float)sqrt(1.0 - pow(c->beta2, step))};
        DMX_OPTEST_RUN(dev, DMX_OP_ADAMW, &p, ag, ap, am, av);
        dmx_optest_read(ap, got);
        check_step(what, t, got, want[t], torch[t]);
        dmx_optest_free(ag, "g");
    }
    dmx_optest_read(av, got);
    for (int i = 0; i < N; i++) /* the second moment never goes negative */
        assert_true(got[i] >= 0.0f);
    dmx_optest_free(ap, "p"), dmx_optest_free(am, "m"), dmx_optest_free(av, "v");
    dmx_device_close(dev);
}

static void test_adamw_matches_pytorch(void **state)
{
    (void)state;
    const adamw_cfg adamw = {0.01, 0.9, 0.999, 1e-8, 0.1};
    const adamw_cfg adam = {0.05, 0.8, 0.99, 1e-6, 0.0};
    run_adamw("adamw", &adamw, torch_adamw);
    run_adamw("adam (weight decay 0)", &adam, torch_adam);
}

typedef struct sgd_cfg {
    double lr, momentum, dampening, weight_decay;
    int nesterov;
} sgd_cfg;

/* torch.optim.SGD: d = g + wd p; buf = d on the first step, else momentum buf + (1 - damp) d;
 * d = nesterov ? d + momentum buf : buf; p -= lr d. */
static void sgd_reference(const sgd_cfg *c, double want[STEPS][N])
{
    double p[N], buf[N] = {0};
    for (int i = 0; i < N; i++)
        p[i] = p0_of(i);
    for (int t = 0; t < STEPS; t++)
        for (int i = 0; i < N; i++) {
            double d = grad_of(t, i) + c->weight_decay * p[i];
            if (c->momentum != 0.0) {
                buf[i] = t == 0 ? d : c->momentum * buf[i] + (1.0 - c->dampening) * d;
                d = c->nesterov ? d + c->momentum * buf[i] : buf[i];
            }
            p[i] -= c->lr * d;
            want[t][i] = p[i];
        }
}

static void run_sgd(const char *what, const sgd_cfg *c, const float torch[STEPS][N])
{
    dmx_device *dev = dmx_test_cpu();
    double want[STEPS][N];
    sgd_reference(c, want);
    float p0[N], g[N], got[N];
    for (int i = 0; i < N; i++)
        p0[i] = p0_of(i);
    /* The momentum buffer starts as NaN: the first step must not read it, and without
     * momentum it must stay untouched. */
    dmx_arg ap = dmx_optest_arg(dev, p0, N), abuf = dmx_optest_arg(dev, NULL, N);
    for (int t = 0; t < STEPS; t++) {
        for (int i = 0; i < N; i++)
            g[i] = grad_of(t, i);
        dmx_arg ag = dmx_optest_arg(dev, g, N);
        dmx_p_sgd p = {.n = N, .lr = (float)c->lr, .momentum = (float)c->momentum,
                       .dampening = (float)c->dampening, .weight_decay = (float)c->weight_decay,
                       .nesterov = c->nesterov, .first_step = t == 0};
        DMX_OPTEST_RUN(dev, DMX_OP_SGD, &p, ag, ap, abuf);
        dmx_optest_read(ap, got);
        check_step(what, t, got, want[t], torch[t]);
        dmx_optest_free(ag, "g");
    }
    uint32_t bits[N];
    dmx_optest_read(abuf, bits);
    for (int i = 0; i < N; i++)
        if ((bits[i] == DMX_NAN_BITS) != (c->momentum == 0.0))
            fail_msg("%s: momentum buffer[%d] = 0x%08x after %d steps", what, i, bits[i], STEPS);
    dmx_optest_free(ap, "p"), dmx_optest_free(abuf, "buf");
    dmx_device_close(dev);
}

static void test_sgd_matches_pytorch(void **state)
{
    (void)state;
    const sgd_cfg plain = {0.1, 0.0, 0.0, 0.0, 0};
    const sgd_cfg momentum_wd = {0.1, 0.9, 0.0, 0.01, 0};
    const sgd_cfg dampening = {0.1, 0.9, 0.1, 0.0, 0};
    const sgd_cfg nesterov = {0.1, 0.9, 0.0, 0.01, 1};
    run_sgd("sgd", &plain, torch_sgd_plain);
    run_sgd("sgd momentum + weight decay", &momentum_wd, torch_sgd_momentum_wd);
    run_sgd("sgd dampening", &dampening, torch_sgd_dampening);
    run_sgd("sgd nesterov", &nesterov, torch_sgd_nesterov);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_adamw_matches_pytorch),
        cmocka_unit_test(test_sgd_matches_pytorch),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
