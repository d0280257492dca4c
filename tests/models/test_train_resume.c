/* Resume is exact: a run stopped mid-epoch (as Ctrl-C does) and resumed from its checkpoint
 * logs the same losses, bit for bit, as one that never stopped; the final weights agree too.
 * Also: dropout, augmentation and optimizer state all take part (AdamW with weight decay,
 * a butterfly-MLP Mixer, crop + flip). */
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "test_util.h"
#include "train_fixture.h"

#define STEPS_PER_EPOCH 8 /* 64 images, batch 8 */
#define EPOCHS 3
#define STOP_AFTER 13     /* inside the second epoch */

typedef struct stopper {
    volatile sig_atomic_t *flag;
    int64_t at;
} stopper;

static void stop_at(void *user, const dmx_step_info *s)
{
    stopper *st = user;
    if (s->step == st->at)
        *st->flag = 1;
}

static char *read_file(const char *path)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return NULL;
    fseek(f, 0, SEEK_END);
    long n = ftell(f);
    fseek(f, 0, SEEK_SET);
    char *s = calloc(1, (size_t)n + 1);
    if (fread(s, 1, (size_t)n, f) != (size_t)n) {
        free(s);
        s = NULL;
    }
    fclose(f);
    return s;
}

static dmx_train_options options(const char *dir, const char *resume,
                                 volatile sig_atomic_t *stop)
{
    dmx_train_options o = {
        .optim = {.kind = DMX_OPTIM_ADAMW, .weight_decay = 0.05f},
        .schedule = {.kind = DMX_SCHEDULE_COSINE, .lr = 3e-3f, .warmup_steps = 4},
        .epochs = EPOCHS, .label_smoothing = 0.1f, .clip_norm = 1.0f, .seed = 5,
        .out_dir = dir, .resume = resume, .eval_each_epoch = true, .stop = stop};
    return o;
}

/* How a run stops or resumes besides the defaults of run(). */
typedef struct run_way {
    int64_t max_steps;  /* dmx_train_options.max_steps */
    bool by_handle;     /* resume through an open dmx_checkpoint whose path is then deleted */
} run_way;

static void run_with(const char *dir, const char *resume, volatile sig_atomic_t *stop,
                     int64_t stop_at_step, dmx_status expect, float *final_weights,
                     size_t n_weights, run_way way);

static void run(const char *dir, const char *resume, volatile sig_atomic_t *stop, int64_t stop_at_step,
                dmx_status expect, float *final_weights, size_t n_weights)
{
    run_with(dir, resume, stop, stop_at_step, expect, final_weights, n_weights, (run_way){0});
}

static void run_with(const char *dir, const char *resume, volatile sig_atomic_t *stop,
                     int64_t stop_at_step, dmx_status expect, float *final_weights,
                     size_t n_weights, run_way way)
{
    dmx_device *dev = dmx_test_cpu();
    train_fixture f;
    DMX_ASSERT_OK(train_fixture_open(&f, 1, 8, 4, 64, 8, 11));
    dmx_model_config cfg;
    DMX_ASSERT_OK(dmx_model_config_defaults("mixer", &cfg));
    DMX_ASSERT_OK(dmx_model_config_parse(small_family_configs[0], &cfg));
    dmx_model *m = NULL;
    dmx_checkpoint *ck = NULL;
    if (resume && way.by_handle) {
        /* The model gets other initial weights: the trainer must read the checkpoint's, and
           from the open file, since the path is gone. */
        DMX_ASSERT_OK(dmx_checkpoint_open(resume, &ck));
        DMX_ASSERT_OK(dmx_checkpoint_config(ck, &cfg));
        DMX_ASSERT_OK(dmx_model_create(dev, &cfg, 99, &m));
        assert_int_equal(unlink(resume), 0);
    } else if (resume) {
        DMX_ASSERT_OK(dmx_checkpoint_load_model(resume, dev, &m, NULL));
    } else {
        DMX_ASSERT_OK(dmx_model_create(dev, &cfg, 5, &m));
    }
    dmx_ctx *ctx = NULL;
    DMX_ASSERT_OK(dmx_ctx_create(dev, &ctx));
    dmx_train_options o = options(dir, ck ? NULL : resume, stop);
    o.resume_from = ck;
    o.max_steps = way.max_steps;
    stopper st = {stop, stop_at_step};
    if (stop_at_step) {
        o.on_step = stop_at;
        o.user = &st;
    }
    dmx_train_result r;
    dmx_status s = dmx_train(ctx, m, f.train, f.test, &o, &r);
    if (s != expect)
        fail_msg("dmx_train returned %s (%s), expected %s", dmx_status_name(s), dmx_last_error(),
                 dmx_status_name(expect));
    if (final_weights)
        DMX_ASSERT_OK(dmx_params_read(dmx_model_params(m), "head.weight", final_weights,
                                      n_weights));
    dmx_checkpoint_close(ck);
    dmx_ctx_destroy(ctx);
    dmx_model_destroy(m);
    train_fixture_close(&f);
    dmx_device_close(dev);
}

static void test_resumed_run_equals_uninterrupted_run(void **state)
{
    (void)state;
    char a[] = "/tmp/dimix_resume_a_XXXXXX", b[] = "/tmp/dimix_resume_b_XXXXXX";
    assert_non_null(mkdtemp(a));
    assert_non_null(mkdtemp(b));
    enum { N = 4 * 16 * 9 }; /* head [classes, S * D] = [4, 16 * 9] */
    static float wa[N], wb[N];
    volatile sig_atomic_t never = 0, stop = 0;

    run(a, NULL, &never, 0, DMX_OK, wa, N);
    run(b, NULL, &stop, STOP_AFTER, DMX_ERR_INTERRUPTED, NULL, 0);
    char ckpt[256];
    snprintf(ckpt, sizeof ckpt, "%s/checkpoint.safetensors", b);
    stop = 0;
    run(b, ckpt, &stop, 0, DMX_OK, wb, N);

    char path[256];
    snprintf(path, sizeof path, "%s/log.csv", a);
    char *la = read_file(path);
    snprintf(path, sizeof path, "%s/log.csv", b);
    char *lb = read_file(path);
    assert_non_null(la);
    assert_non_null(lb);
    int lines = 0;
    for (const char *p = la; *p; p++)
        lines += *p == '\n';
    assert_int_equal(lines, 1 + EPOCHS * STEPS_PER_EPOCH);
    if (strcmp(la, lb) != 0) {
        fprintf(stderr, "uninterrupted log:\n%s\nresumed log:\n%s\n", la, lb);
        fail_msg("the resumed run's losses differ from the uninterrupted run's");
    }
    assert_memory_equal(wa, wb, sizeof wa);

    /* A run stopped by max_steps keeps the full run's schedule, so resumed (through an open
       checkpoint whose file is deleted before training: read once, never reopened) it equals
       the uninterrupted run too. */
    char c[] = "/tmp/dimix_resume_c_XXXXXX";
    assert_non_null(mkdtemp(c));
    static float wc[N];
    stop = 0;
    run_with(c, NULL, &stop, 0, DMX_OK, NULL, 0, (run_way){.max_steps = STOP_AFTER});
    snprintf(ckpt, sizeof ckpt, "%s/checkpoint.safetensors", c);
    run_with(c, ckpt, &stop, 0, DMX_OK, wc, N, (run_way){.by_handle = true});
    snprintf(path, sizeof path, "%s/log.csv", c);
    char *lc = read_file(path);
    assert_non_null(lc);
    if (strcmp(la, lc) != 0) {
        fprintf(stderr, "uninterrupted log:\n%s\nmax_steps then resumed log:\n%s\n", la, lc);
        fail_msg("stopping at max_steps and resuming differs from the uninterrupted run");
    }
    assert_memory_equal(wa, wc, sizeof wa);
    free(la);
    free(lb);
    free(lc);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_resumed_run_equals_uninterrupted_run),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
