/* Deferred loss reads (dmx_train_options.loss_read_every): on every device present, a run that
 * reads the losses back every 5 steps logs exactly what a run that reads every step logs (the
 * same steps, epochs, batches, learning rates and bit-identical losses, in order, across an
 * epoch end and a max_steps stop mid-epoch), with fewer host reads (gradient clipping, on
 * here, reads nothing back: CLIP_SCALE keeps the norm on the device); and a diverging run fails
 * naming the same step either way. A device that is absent is skipped and said so. */
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "test_util.h"
#include "train_fixture.h"

#define MAX_LOGGED 64

typedef struct steps_seen {
    int n;
    dmx_step_info info[MAX_LOGGED];
} steps_seen;

static void on_step(void *user, const dmx_step_info *s)
{
    steps_seen *seen = user;
    if (seen->n < MAX_LOGGED)
        seen->info[seen->n++] = *s;
}

/* Trains on `dev`; returns the status, the steps seen and the host reads made. */
static dmx_status train(dmx_device *dev, int64_t read_every, float lr, steps_seen *seen,
                        uint64_t *reads, char *error, size_t cap)
{
    train_fixture f;
    DMX_ASSERT_OK(train_fixture_open(&f, 1, 8, 4, 160, 8, 3));
    dmx_model_config cfg;
    DMX_ASSERT_OK(dmx_model_config_defaults("mixer", &cfg));
    DMX_ASSERT_OK(dmx_model_config_parse(small_family_configs[0], &cfg));
    dmx_model *m = NULL;
    DMX_ASSERT_OK(dmx_model_create(dev, &cfg, 17, &m));
    dmx_ctx *ctx = NULL;
    DMX_ASSERT_OK(dmx_ctx_create(dev, &ctx));
    memset(seen, 0, sizeof *seen);
    dmx_train_options o = {.optim = {.kind = DMX_OPTIM_ADAMW},
                           .schedule = {.kind = DMX_SCHEDULE_CONSTANT, .lr = lr},
                           .epochs = 2, .max_steps = 27, .clip_norm = 0.05f, .seed = 1,
                           .loss_read_every = read_every, .on_step = on_step, .user = seen};
    dmx_device_counters before, after;
    dmx_device_counters_get(dev, &before);
    dmx_train_result r;
    dmx_status s = dmx_train(ctx, m, f.train, NULL, &o, &r);
    dmx_device_counters_get(dev, &after);
    *reads = after.reads - before.reads;
    snprintf(error, cap, "%s", s == DMX_OK ? "" : dmx_last_error());
    dmx_ctx_destroy(ctx);
    dmx_model_destroy(m);
    train_fixture_close(&f);
    return s;
}

static void test_deferred_reads_log_the_same(void **state)
{
    (void)state;
    const char *devices[] = {"cpu", "opencl:0", "vulkan:0"};
    int ran = 0;
    for (int d = 0; d < 3; d++) {
        dmx_device *dev = NULL;
        if (dmx_device_open(devices[d], &dev) != DMX_OK) {
            printf("  %-9s skipped: absent here (%s)\n", devices[d], dmx_last_error());
            continue;
        }
        static steps_seen each, batched;
        uint64_t reads_each = 0, reads_batched = 0;
        char err_each[1024], err_batched[1024];
        DMX_ASSERT_OK(train(dev, 1, 1e-3f, &each, &reads_each, err_each, sizeof err_each));
        DMX_ASSERT_OK(train(dev, 5, 1e-3f, &batched, &reads_batched, err_batched,
                            sizeof err_batched));
        assert_int_equal(each.n, 27);
        assert_int_equal(batched.n, each.n);
        for (int i = 0; i < each.n; i++) {
            const dmx_step_info *a = &each.info[i], *b = &batched.info[i];
            assert_int_equal(a->step, i + 1);
            assert_int_equal(b->step, a->step);
            assert_int_equal(b->epoch, a->epoch);
            assert_int_equal(b->batch, a->batch);
            assert_memory_equal(&b->loss, &a->loss, sizeof a->loss);
            assert_memory_equal(&b->lr, &a->lr, sizeof a->lr);
        }
        /* 27 reads become 6 (5 full rings, the epoch end after step 20 and the stop at 27) */
        printf("  %-9s 27 steps logged identically; host reads %llu (every step) vs %llu "
               "(every 5)\n", devices[d], (unsigned long long)reads_each,
               (unsigned long long)reads_batched);
        assert_true(reads_batched + 20 <= reads_each);
        /* gradient clipping (on in these runs) reads nothing back: only the loss rings */
        assert_true(reads_batched <= 6);

        /* Divergence: the same step is named either way. */
        dmx_status s1 = train(dev, 1, 1e9f, &each, &reads_each, err_each, sizeof err_each);
        dmx_status s5 = train(dev, 5, 1e9f, &batched, &reads_batched, err_batched,
                              sizeof err_batched);
        printf("  %-9s diverging run: %s\n", devices[d], err_each);
        assert_int_not_equal(s1, DMX_OK);
        assert_int_equal(s5, s1);
        assert_non_null(strstr(err_each, "training diverged"));
        assert_string_equal(err_batched, err_each);
        assert_int_equal(batched.n, each.n);
        dmx_device_close(dev);
        ran++;
    }
    assert_true(ran >= 1);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_deferred_reads_log_the_same),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
