/* The data-parallel gradient sum overlapped with backward (host/train/grad_sum.c), without
 * MPI: dmx_train runs as rank 0 of 2 with an in-process dmx_dist whose "other rank" holds the
 * same values (every sum doubles). For every small model family:
 *   - a bucket's sum starts only once backward has finished writing into it: the device's
 *     gradients in its range are the same at the start of its sum and after backward;
 *   - the buckets of a step tile the flat gradient block once, the 3 extra floats follow;
 *   - there are several buckets, and backward ran on between the first start and the last
 *     (the device's gradients changed in between);
 *   - the final weights are bit-identical to the blocking sum's (--allreduce-overlap off). */
#include <stdlib.h>
#include <string.h>

#include "test_util.h"
#include "train_fixture.h"

enum { MAX_STARTS = 4096, BUCKET = 48, STEPS = 3 };

typedef struct fake {
    dmx_tensor grads; /* the model's flat gradient block */
    int64_t n;
    /* the sums started since the last wait: where, how long, the device block at the start */
    float *data[MAX_STARTS];
    int64_t len[MAX_STARTS];
    float *snap[MAX_STARTS];
    int n_started;
    /* over the run */
    int waits, max_buckets, steps_with_backward_between;
} fake;

static dmx_status fake_sum_f32(void *self, float *data, int64_t n)
{
    (void)self;
    for (int64_t i = 0; i < n; i++)
        data[i] *= 2.0f;
    return DMX_OK;
}

static dmx_status fake_sum_f64(void *self, double *data, int64_t n)
{
    (void)self;
    for (int64_t i = 0; i < n; i++)
        data[i] *= 2.0;
    return DMX_OK;
}

static dmx_status fake_broadcast(void *self, void *data, int64_t bytes, int root)
{
    (void)self, (void)data, (void)bytes, (void)root;
    return DMX_OK;
}

static dmx_status fake_start(void *self, float *data, int64_t n)
{
    fake *f = self;
    assert_true(f->n_started < MAX_STARTS);
    float *snap = malloc((size_t)f->n * sizeof *snap);
    assert_non_null(snap);
    DMX_ASSERT_OK(dmx_tensor_to_host(&f->grads, snap, (size_t)f->n * sizeof *snap));
    f->data[f->n_started] = data;
    f->len[f->n_started] = n;
    f->snap[f->n_started++] = snap;
    return DMX_OK;
}

static dmx_status fake_progress(void *self)
{
    (void)self;
    return DMX_OK;
}

/* After backward: the last sum is the 3 extra floats right after the block, which places the
 * others; each bucket's range must not have changed on the device since its start. */
static dmx_status fake_wait(void *self)
{
    fake *f = self;
    const int k = f->n_started;
    assert_true(k >= 2);
    assert_int_equal(f->len[k - 1], 3);
    float *base = f->data[k - 1] - f->n;
    float *now = malloc((size_t)f->n * sizeof *now);
    char *covered = calloc((size_t)f->n, 1);
    assert_non_null(now);
    assert_non_null(covered);
    DMX_ASSERT_OK(dmx_tensor_to_host(&f->grads, now, (size_t)f->n * sizeof *now));
    for (int i = 0; i < k - 1; i++) {
        const int64_t lo = f->data[i] - base, hi = lo + f->len[i];
        assert_true(lo >= 0 && hi <= f->n);
        for (int64_t e = lo; e < hi; e++) {
            assert_int_equal(covered[e], 0);
            covered[e] = 1;
        }
        if (memcmp(f->snap[i] + lo, now + lo, (size_t)f->len[i] * sizeof *now) != 0)
            fail_msg("bucket [%lld, %lld) started before backward finished writing into it",
                     (long long)lo, (long long)hi);
    }
    for (int64_t e = 0; e < f->n; e++)
        assert_int_equal(covered[e], 1);
    if (memcmp(f->snap[0], f->snap[k - 2], (size_t)f->n * sizeof *now) != 0)
        f->steps_with_backward_between++;
    if (k - 1 > f->max_buckets)
        f->max_buckets = k - 1;
    for (int i = 0; i < k; i++) {
        for (int64_t e = 0; e < f->len[i]; e++)
            f->data[i][e] *= 2.0f;
        free(f->snap[i]);
    }
    f->n_started = 0;
    f->waits++;
    free(now);
    free(covered);
    return DMX_OK;
}

/* STEPS steps of `config` as rank 0 of the fake pair; *weights gets the final flat values. */
static void train(const char *config, bool overlap, fake *f, float **weights, int64_t *n)
{
    dmx_device *dev = dmx_test_cpu();
    train_fixture fx;
    DMX_ASSERT_OK(train_fixture_open(&fx, 1, 8, 4, 32, 8, 3));
    dmx_model_config cfg;
    DMX_ASSERT_OK(dmx_model_config_defaults("mixer", &cfg));
    DMX_ASSERT_OK(dmx_model_config_parse(config, &cfg));
    dmx_model *m = NULL;
    DMX_ASSERT_OK(dmx_model_create(dev, &cfg, 5, &m));
    dmx_tensor values;
    memset(f, 0, sizeof *f);
    DMX_ASSERT_OK(dmx_params_flat(dmx_model_params(m), &values, &f->grads));
    f->n = dmx_tensor_numel(&f->grads);
    dmx_dist dist = {.rank = 0, .size = 2, .self = f, .sum_f32 = fake_sum_f32,
                     .sum_f64 = fake_sum_f64, .broadcast = fake_broadcast,
                     .start_sum_f32 = fake_start, .progress = fake_progress,
                     .wait_sums = fake_wait};
    dmx_ctx *ctx = NULL;
    DMX_ASSERT_OK(dmx_ctx_create(dev, &ctx));
    dmx_train_options o = {.optim = {.kind = DMX_OPTIM_ADAM},
                           .schedule = {.kind = DMX_SCHEDULE_CONSTANT, .lr = 1e-2f},
                           .epochs = 1, .max_steps = STEPS, .seed = 2, .dist = &dist,
                           .dist_blocking_sum = !overlap, .dist_bucket_floats = BUCKET};
    dmx_train_result r;
    dmx_status s = dmx_train(ctx, m, fx.train, NULL, &o, &r);
    if (s != DMX_OK)
        fail_msg("%s: dmx_train: %s", config, dmx_last_error());
    assert_int_equal(r.reduce_buckets, overlap ? f->max_buckets : 0);
    *n = dmx_tensor_numel(&values);
    *weights = malloc((size_t)*n * sizeof **weights);
    assert_non_null(*weights);
    DMX_ASSERT_OK(dmx_tensor_to_host(&values, *weights, (size_t)*n * sizeof **weights));
    dmx_ctx_destroy(ctx);
    dmx_model_destroy(m);
    train_fixture_close(&fx);
    dmx_device_close(dev);
}

static void test_buckets_start_when_final_and_match_the_blocking_sum(void **state)
{
    (void)state;
    for (int c = 0; c < n_small_family_configs; c++) {
        const char *config = small_family_configs[c];
        fake over, block;
        float *wo = NULL, *wb = NULL;
        int64_t no = 0, nb = 0;
        train(config, true, &over, &wo, &no);
        train(config, false, &block, &wb, &nb);
        print_message("%s: %d buckets, backward ran between the first and the last start in "
                      "%d of %d steps\n", config, over.max_buckets,
                      over.steps_with_backward_between, over.waits);
        assert_int_equal(over.waits, STEPS);
        assert_int_equal(block.waits, 0); /* the blocking sum never starts one */
        assert_true(over.max_buckets >= 2);
        /* not every step: iMixer's head starts at zero, so in its first step every gradient
           but the head's is zero and the snapshots cannot tell */
        assert_true(over.steps_with_backward_between >= 1);
        assert_int_equal(no, nb);
        if (memcmp(wo, wb, (size_t)no * sizeof *wo) != 0)
            fail_msg("%s: overlapped and blocking sums gave different weights", config);
        free(wo);
        free(wb);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_buckets_start_when_final_and_match_the_blocking_sum),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
