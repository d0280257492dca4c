/* A few training steps of a small LRA model (dense and butterfly attention, dropout 0.1 on,
 * AdamW) give the same losses on every device as on the CPU reference.
 *
 * Every device starts from the same weights (initialised on the host) and draws the same
 * dropout masks (Philox keyed by seed and element index), so only floating-point summation
 * order differs. Tolerance: |loss_dev - loss_cpu| <= 1e-4 |loss_cpu| at every step, the parity
 * suite's tolerance for one reduction op (gemm, mix_linear: rtol 1e-4). To see how rounding
 * differences grow over training, the CPU run is repeated with every initial weight multiplied
 * by (1 + u), |u| <= 1e-6 (several roundings' worth): the losses move by at most 2.3e-7
 * (dense) and 1.1e-7 (butterfly) relative over the 6 steps (printed by test_cpu_reference). So
 * 1e-4 leaves a factor of ~400 for devices whose kernels round differently at every op, while
 * a real error stands far out: attention that ignores the padding mask moved these losses by
 * 3e-3 (dense) and 2e-2 (butterfly) at the first step and by 6e-2 and 8e-2 at the last.
 *
 * On the CPU alone it checks that two runs are bitwise equal and that the loss falls on the
 * repeated batch. Absent backends are reported as skipped. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "test_util.h"

#define STEPS 6
#define REL_TOL 1e-4
enum { B = 4, S = 64, VOCAB = 18, CLASSES = 10 };

static const char *const configs[2] = {
    "family=lra vocab=18 seq_len=64 classes=10 dim=16 depth=2 heads=2 mlp_hidden=32 "
    "head_hidden=16 dropout=0.1 attention=dense",
    "family=lra vocab=18 seq_len=64 classes=10 dim=16 depth=2 heads=2 mlp_hidden=32 "
    "head_hidden=16 dropout=0.1 attention=butterfly attn_radix=8",
};

/* One fixed batch: sequences of 64, 50, 23 and 7 tokens. */
static void make_batch(int32_t *ids, float *mask, int32_t *labels)
{
    static const int lengths[B] = {64, 50, 23, 7};
    dmx_test_rng rng = {11};
    for (int b = 0; b < B; b++) {
        labels[b] = (int32_t)(dmx_test_next(&rng) % CLASSES);
        for (int s = 0; s < S; s++) {
            bool real = s < lengths[b];
            mask[b * S + s] = real ? 1.0f : 0.0f;
            ids[b * S + s] = real ? 1 + (int32_t)(dmx_test_next(&rng) % (VOCAB - 1)) : 0;
        }
    }
}

/* Multiplies every parameter by (1 + u), |u| <= rel (0: unchanged). */
static void perturb(dmx_params *ps, double rel)
{
    dmx_test_rng rng = {99};
    for (int i = 0; rel > 0 && i < dmx_params_count(ps); i++) {
        dmx_tensor *p = dmx_params_at(ps, i);
        size_t n = (size_t)dmx_tensor_numel(p);
        float *v = dmx_test_read(p);
        for (size_t k = 0; k < n; k++)
            v[k] *= 1.0f + dmx_test_uniform(&rng, (float)-rel, (float)rel);
        DMX_ASSERT_OK(dmx_params_write(ps, p->name, v, n));
        free(v);
    }
}

/* STEPS AdamW steps (lr 1e-3) on the batch in training mode; losses[k] before step k. */
static void train(dmx_device *dev, const char *text, double noise, float *losses)
{
    dmx_model_config cfg;
    dmx_model *m = NULL;
    DMX_ASSERT_OK(dmx_model_config_parse(text, &cfg));
    DMX_ASSERT_OK(dmx_model_create(dev, &cfg, 7, &m));
    dmx_params *ps = dmx_model_params(m);
    perturb(ps, noise);
    dmx_tensor *params[64];
    int n = dmx_params_trainable(ps, params, 64);
    assert_true(n <= 64);
    dmx_optim_config oc = {.kind = DMX_OPTIM_ADAMW};
    dmx_optimizer *opt = NULL;
    DMX_ASSERT_OK(dmx_optim_create(dev, &oc, params, n, &opt));
    int32_t ids[B * S], labels[B];
    float mask[B * S];
    make_batch(ids, mask, labels);
    dmx_ctx *ctx = NULL;
    DMX_ASSERT_OK(dmx_ctx_create(dev, &ctx));
    dmx_ctx_set_training(ctx, true);
    const int64_t shape[2] = {B, S}, rows = B;
    for (int step = 0; step < STEPS; step++) {
        dmx_model_input in = {0};
        dmx_tensor *label_t = NULL, *logits = NULL, *loss = NULL;
        DMX_ASSERT_OK(dmx_ctx_reset(ctx));
        dmx_ctx_set_seed(ctx, 1000 + (uint64_t)step); /* new dropout masks each step */
        DMX_ASSERT_OK(dmx_tensor_from_host(ctx, DMX_I32, 2, shape, ids, "ids", &in.ids));
        DMX_ASSERT_OK(dmx_tensor_from_host(ctx, DMX_F32, 2, shape, mask, "mask", &in.mask));
        DMX_ASSERT_OK(dmx_tensor_from_host(ctx, DMX_I32, 1, &rows, labels, "labels", &label_t));
        DMX_ASSERT_OK(dmx_model_forward(ctx, m, &in, &logits));
        DMX_ASSERT_OK(dmx_cross_entropy(ctx, logits, label_t, 0.0f, &loss));
        DMX_ASSERT_OK(dmx_tensor_to_host(loss, &losses[step], sizeof(float)));
        DMX_ASSERT_OK(dmx_backward(ctx, loss));
        DMX_ASSERT_OK(dmx_optim_step(opt, 1e-3f));
        DMX_ASSERT_OK(dmx_optim_zero_grad(opt));
    }
    dmx_ctx_destroy(ctx);
    dmx_optim_destroy(opt);
    dmx_model_destroy(m);
}

static double worst_rel_diff(const float *a, const float *ref)
{
    double worst = 0;
    for (int k = 0; k < STEPS; k++) {
        double d = fabs((double)a[k] - ref[k]) / fabs((double)ref[k]);
        worst = d > worst || isnan(d) ? d : worst;
    }
    return worst;
}

static void test_cpu_reference(void **state)
{
    (void)state;
    dmx_device *cpu = dmx_test_cpu();
    for (int c = 0; c < 2; c++) {
        float a[STEPS], b[STEPS], noisy[STEPS];
        train(cpu, configs[c], 0, a);
        train(cpu, configs[c], 0, b);
        assert_memory_equal(a, b, sizeof a);
        train(cpu, configs[c], 1e-6, noisy);
        printf("%s: cpu losses", strstr(configs[c], "attention="));
        for (int k = 0; k < STEPS; k++)
            printf(" %.6f", (double)a[k]);
        printf("; weights x (1 +- 1e-6) move them by %.2g relative\n", worst_rel_diff(noisy, a));
        assert_true(a[STEPS - 1] < a[0] - 0.05f); /* it learns the repeated batch */
    }
    dmx_device_close(cpu);
}

static void test_every_device_matches_cpu(void **state)
{
    (void)state;
    dmx_device *cpu = dmx_test_cpu();
    float ref[2][STEPS];
    for (int c = 0; c < 2; c++)
        train(cpu, configs[c], 0, ref[c]);
    dmx_device_close(cpu);
    int compared = 0;
    for (int d = 0; d < dmx_device_count(); d++) {
        dmx_device_info info;
        DMX_ASSERT_OK(dmx_device_get_info(d, &info));
        if (strcmp(info.name, "cpu-ref") == 0) /* the reference; the fast "cpu" is compared */
            continue;
        dmx_device *dev = NULL;
        DMX_ASSERT_OK(dmx_device_open(info.name, &dev));
        for (int c = 0; c < 2; c++) {
            float got[STEPS];
            train(dev, configs[c], 0, got);
            double err = worst_rel_diff(got, ref[c]);
            printf("%-9s %s: worst relative loss difference %.3g over %d steps\n", info.name,
                   strstr(configs[c], "attention="), err, STEPS);
            if (!(err <= REL_TOL))
                fail_msg("%s, %s: losses differ from the CPU's by %.3g relative (> %.g)",
                         info.name, configs[c], err, REL_TOL);
        }
        dmx_device_close(dev);
        compared++;
    }
    const char *backends[2] = {"opencl:0", "vulkan:0"};
    for (int b = 0; b < 2; b++) {
        dmx_device *dev = NULL;
        if (dmx_device_open(backends[b], &dev) == DMX_OK)
            dmx_device_close(dev);
        else
            printf("%s: SKIPPED (not present: %s)\n", backends[b], dmx_last_error());
    }
    printf("%d device(s) besides the CPU compared\n", compared);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_cpu_reference),
        cmocka_unit_test(test_every_device_matches_cpu),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
