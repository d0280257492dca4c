/* A training step allocates no memory once warm: every family of small model trains on the
 * CPU devices with the heap functions counted (this program interposes malloc, calloc,
 * realloc, aligned_alloc and posix_memalign, on every thread: the loader's prefetch thread and
 * OpenMP's workers included); from step WARM + 1 to step STEPS the count must stay zero. The
 * first steps may allocate (arena growth, kernel scratch, per-thread buffers). */
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "test_util.h"
#include "train_fixture.h"

#define WARM 3
#define STEPS 8

extern void *__libc_malloc(size_t n);
extern void *__libc_calloc(size_t n, size_t size);
extern void *__libc_realloc(void *p, size_t n);
extern void *__libc_memalign(size_t align, size_t n);

static atomic_int counting;
static atomic_long allocations;

static void count(void)
{
    if (atomic_load_explicit(&counting, memory_order_relaxed))
        atomic_fetch_add_explicit(&allocations, 1, memory_order_relaxed);
}

void *malloc(size_t n)
{
    count();
    return __libc_malloc(n);
}

void *calloc(size_t n, size_t size)
{
    count();
    return __libc_calloc(n, size);
}

void *realloc(void *p, size_t n)
{
    count();
    return __libc_realloc(p, n);
}

void *aligned_alloc(size_t align, size_t n)
{
    count();
    return __libc_memalign(align, n);
}

int posix_memalign(void **out, size_t align, size_t n)
{
    count();
    void *p = __libc_memalign(align, n);
    if (!p)
        return 12; /* ENOMEM */
    *out = p;
    return 0;
}

typedef struct window {
    long at_start, at_end;
} window;

/* Counting runs over the steps after WARM; the callback itself allocates nothing. */
static void on_step(void *user, const dmx_step_info *s)
{
    window *w = user;
    if (s->step == WARM) {
        w->at_start = atomic_load(&allocations);
        atomic_store(&counting, 1);
    } else if (s->step == STEPS) {
        atomic_store(&counting, 0);
        w->at_end = atomic_load(&allocations);
    }
}

static long allocations_per_warm_steps(const char *device, const char *config)
{
    dmx_device *dev = NULL;
    DMX_ASSERT_OK(dmx_device_open(device, &dev));
    train_fixture f;
    DMX_ASSERT_OK(train_fixture_open(&f, 1, 8, 4, 160, 8, 3));
    dmx_model_config cfg;
    DMX_ASSERT_OK(dmx_model_config_defaults("mixer", &cfg));
    DMX_ASSERT_OK(dmx_model_config_parse(config, &cfg));
    dmx_model *m = NULL;
    DMX_ASSERT_OK(dmx_model_create(dev, &cfg, 17, &m));
    dmx_ctx *ctx = NULL;
    DMX_ASSERT_OK(dmx_ctx_create(dev, &ctx));
    window w = {-1, -1};
    dmx_train_options o = {.optim = {.kind = DMX_OPTIM_ADAMW, .weight_decay = 0.01f},
                           .schedule = {.kind = DMX_SCHEDULE_CONSTANT, .lr = 1e-3f},
                           .epochs = 5, .max_steps = STEPS, .clip_norm = 1.0f, .seed = 1,
                           .on_step = on_step, .user = &w};
    dmx_train_result r;
    DMX_ASSERT_OK(dmx_train(ctx, m, f.train, NULL, &o, &r));
    atomic_store(&counting, 0);
    assert_int_equal(r.steps, STEPS);
    assert_true(w.at_start >= 0 && w.at_end >= w.at_start);
    dmx_ctx_destroy(ctx);
    dmx_model_destroy(m);
    train_fixture_close(&f);
    dmx_device_close(dev);
    return w.at_end - w.at_start;
}

static void test_warm_steps_allocate_nothing(void **state)
{
    (void)state;
    const char *devices[] = {"cpu", "cpu-ref"};
    int bad = 0;
    for (int c = 0; c < n_small_family_configs; c++)
        for (int d = 0; d < 2; d++) {
            const long n = allocations_per_warm_steps(devices[d], small_family_configs[c]);
            printf("  %-8s %-60s %ld allocations in steps %d-%d\n", devices[d],
                   small_family_configs[c], n, WARM + 1, STEPS);
            bad += n != 0;
        }
    assert_int_equal(bad, 0);
}

/* The check of the check: counting is live (an allocation inside the window is seen). */
static void test_the_counter_counts(void **state)
{
    (void)state;
    const long before = atomic_load(&allocations);
    atomic_store(&counting, 1);
    void *volatile p = malloc(64);
    atomic_store(&counting, 0);
    free(p);
    assert_int_equal(atomic_load(&allocations) - before, 1);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_the_counter_counts),
        cmocka_unit_test(test_warm_steps_allocate_nothing),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
