/* Every model family trains the same on every device: 20 steps (AdamW, augmentation on, the
 * same seeds and data) give per-step losses within tolerance of the CPU reference's.
 * Devices other than the CPU that are absent make the test report itself skipped (exit 77). */
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "core/error.h"
#include "test_util.h"
#include "train_fixture.h"

#define STEPS 20

/* Reductions run in other orders on other devices and Adam can amplify tiny gradient
 * differences, so losses may drift a little over 20 steps. Measured on PoCL and lavapipe: at
 * most 1.7e-7 relative; 1e-4 leaves room for GPUs' fused multiply-adds while a wrong gradient
 * (differences above 1e-3 within a few steps) still fails. */
#define LOSS_RTOL 1e-4

typedef struct loss_log {
    float loss[STEPS];
    int n;
} loss_log;

static void record(void *user, const dmx_step_info *s)
{
    loss_log *l = user;
    if (l->n < STEPS)
        l->loss[l->n++] = s->loss;
}

static dmx_status train_losses(const char *device, const char *config, loss_log *out)
{
    dmx_device *dev = NULL;
    DMX_TRY(dmx_device_open(device, &dev));
    train_fixture f;
    dmx_model *m = NULL;
    dmx_ctx *ctx = NULL;
    dmx_model_config cfg;
    dmx_status s = train_fixture_open(&f, 1, 8, 4, 80, 8, 3);
    if (s == DMX_OK)
        s = dmx_model_config_defaults("mixer", &cfg);
    if (s == DMX_OK)
        s = dmx_model_config_parse(config, &cfg);
    if (s == DMX_OK)
        s = dmx_model_create(dev, &cfg, 17, &m);
    if (s == DMX_OK)
        s = dmx_ctx_create(dev, &ctx);
    if (s == DMX_OK) {
        dmx_train_options o = {.optim = {.kind = DMX_OPTIM_ADAMW, .weight_decay = 0.01f},
                               .schedule = {.kind = DMX_SCHEDULE_CONSTANT, .lr = 2e-3f},
                               .epochs = 3, .max_steps = STEPS, .seed = 1, .on_step = record,
                               .user = out};
        dmx_train_result r;
        out->n = 0;
        s = dmx_train(ctx, m, f.train, NULL, &o, &r);
    }
    dmx_ctx_destroy(ctx);
    dmx_model_destroy(m);
    train_fixture_close(&f);
    dmx_device_close(dev);
    return s;
}

static const char *devices[8];
static int n_devices;

static void test_every_family_matches_the_cpu(void **state)
{
    (void)state;
    int failures = 0;
    for (int c = 0; c < n_small_family_configs; c++) {
        loss_log ref;
        DMX_ASSERT_OK(train_losses("cpu-ref", small_family_configs[c], &ref));
        assert_int_equal(ref.n, STEPS);
        for (int d = 0; d < n_devices; d++) {
            loss_log got;
            DMX_ASSERT_OK(train_losses(devices[d], small_family_configs[c], &got));
            double worst = 0;
            for (int i = 0; i < STEPS; i++) {
                double err = fabs((double)got.loss[i] - ref.loss[i]) / fmax(1.0, fabs(ref.loss[i]));
                worst = err > worst ? err : worst;
                if (err > LOSS_RTOL && failures++ < 10)
                    fprintf(stderr, "  %s, %s: step %d loss %.7g, cpu-ref %.7g\n", devices[d],
                            small_family_configs[c], i + 1, (double)got.loss[i],
                            (double)ref.loss[i]);
            }
            printf("  %-9s worst relative loss difference %.2e: %.60s\n", devices[d], worst,
                   small_family_configs[c]);
        }
    }
    assert_int_equal(failures, 0);
}

int main(void)
{
    int count = dmx_device_count();
    for (int i = 0; i < count && n_devices < 8; i++) {
        dmx_device_info info;
        /* every device but the reference itself: the fast "cpu" is checked like a GPU */
        if (dmx_device_get_info(i, &info) == DMX_OK && strcmp(info.name, "cpu-ref") != 0) {
            static char names[8][32];
            snprintf(names[n_devices], sizeof names[0], "%s", info.name);
            devices[n_devices] = names[n_devices];
            n_devices++;
        }
    }
    if (n_devices == 0) {
        printf("SKIPPED: no device besides the CPU reference is present (dimix devices lists "
               "them)\n");
        return 77;
    }
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_every_family_matches_the_cpu),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
