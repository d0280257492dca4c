#include "vk_compare.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define GUARD 64 /* elements before and after each argument */
#define GUARD_BITS 0x7fc0dead

dmx_device *vkc_open_or_skip(void)
{
    dmx_device *dev = NULL;
    if (dmx_device_open("vulkan:0", &dev) != DMX_OK) {
        fprintf(stderr, "SKIPPED: no vulkan:0: %s\n", dmx_last_error());
        skip();
    }
    return dev;
}

typedef struct side {
    dmx_buffer *buf[DMX_MAX_ARGS];
    uint32_t *host[DMX_MAX_ARGS]; /* GUARD + count + GUARD words */
} side;

static void fill_arg(dmx_test_rng *rng, const vkc_arg *a, uint32_t *words)
{
    for (size_t i = 0; i < GUARD; i++)
        words[i] = words[GUARD + a->count + i] = GUARD_BITS;
    if (a->fill == VKC_DATA) {
        memcpy(words + GUARD, a->data, a->count * 4);
        return;
    }
    float *f = (float *)(words + GUARD);
    int32_t *n = (int32_t *)(words + GUARD);
    for (size_t i = 0; i < a->count; i++) {
        if (a->fill == VKC_NAN)
            f[i] = NAN;
        else if (a->fill == VKC_MASK) {
            static const float choices[] = {0.0f, 0.0f, 0.0f, -3.5f, -1e10f, -1e30f, -1e21f};
            uint64_t row = i / (size_t)(a->int_lo > 0 ? a->int_lo : 1);
            f[i] = row % 4 == 1 ? -1e30f : choices[dmx_test_next(rng) % 7];
        }
        else if (a->fill == VKC_INTS) {
            /* In 64 bits: hi - lo + 1 is 2^31 for [INT32_MIN / 2, INT32_MAX / 2] (test_vk_ops) */
            const int64_t span = (int64_t)a->int_hi - a->int_lo + 1;
            n[i] = (int32_t)(a->int_lo + (int64_t)(dmx_test_next(rng) % (uint64_t)span));
        } else
            f[i] = dmx_test_uniform(rng, a->lo, a->hi);
    }
}

static void upload(dmx_device *dev, const vkc_case *c, int n_args, uint32_t **init, side *s)
{
    for (int i = 0; i < n_args; i++) {
        const vkc_arg *a = &c->args[i];
        s->buf[i] = NULL;
        if (a->fill == VKC_ABSENT)
            continue;
        size_t words = a->count + 2 * GUARD;
        DMX_ASSERT_OK(dmx_buffer_alloc(dev, words * 4, &s->buf[i]));
        DMX_ASSERT_OK(dmx_buffer_write(s->buf[i], 0, init[i], words * 4));
    }
}

static void run(dmx_device *dev, const vkc_case *c, int n_args, side *s)
{
    dmx_op_call call = {.op = c->op, .params = c->params};
    for (int i = 0; i < n_args; i++)
        if (s->buf[i])
            call.args[i] = (dmx_arg){s->buf[i], GUARD, c->args[i].count};
    dmx_status st = dmx_op_run(dev, &call);
    if (st != DMX_OK)
        fail_msg("%s on %s: %s: %s", c->what, dmx_device_info_of(dev)->name, dmx_status_name(st),
                 dmx_last_error());
    for (int i = 0; i < n_args; i++) {
        s->host[i] = NULL;
        if (!s->buf[i])
            continue;
        size_t words = c->args[i].count + 2 * GUARD;
        s->host[i] = malloc(words * 4);
        DMX_ASSERT_OK(dmx_buffer_read(s->buf[i], 0, s->host[i], words * 4));
    }
    for (int i = 0; i < n_args; i++)
        dmx_buffer_free(s->buf[i]);
}

static double nmse(const float *got, const float *want, size_t n)
{
    double num = 0, den = 0;
    for (size_t i = 0; i < n; i++)
        if (isfinite(want[i]) && isfinite(got[i])) {
            num += ((double)got[i] - want[i]) * ((double)got[i] - want[i]);
            den += (double)want[i] * want[i];
        }
    return den > 0 ? num / den : num;
}

double vkc_check(dmx_device *vk, dmx_device *cpu, const vkc_case *c, uint64_t seed)
{
    const dmx_op_desc *d = dmx_op_describe(c->op);
    int n_args = d->n_in + d->n_out;
    dmx_test_rng rng = {seed};
    uint32_t *init[DMX_MAX_ARGS] = {0};
    for (int i = 0; i < n_args; i++) {
        init[i] = malloc((c->args[i].count + 2 * GUARD) * 4);
        fill_arg(&rng, &c->args[i], init[i]);
    }
    side v = {0}, r = {0};
    upload(vk, c, n_args, init, &v);
    upload(cpu, c, n_args, init, &r);
    run(vk, c, n_args, &v);
    run(cpu, c, n_args, &r);
    double worst = 0;
    for (int i = 0; i < n_args; i++) {
        if (!v.host[i])
            continue;
        size_t n = c->args[i].count;
        char what[160];
        for (size_t g = 0; g < GUARD; g++)
            if (v.host[i][g] != GUARD_BITS || v.host[i][GUARD + n + g] != GUARD_BITS)
                fail_msg("%s: argument %d: guard word %zu %s the range was overwritten", c->what,
                         i, g, v.host[i][g] != GUARD_BITS ? "before" : "after");
        if (i < d->n_in && c->args[i].fill != VKC_NAN) {
            if (memcmp(v.host[i] + GUARD, init[i] + GUARD, n * 4) != 0)
                fail_msg("%s: input argument %d was modified", c->what, i);
            continue;
        }
        snprintf(what, sizeof what, "%s arg %d", c->what, i);
        const float *got = (const float *)(v.host[i] + GUARD);
        const float *want = (const float *)(r.host[i] + GUARD);
        size_t bad = dmx_test_compare(what, got, want, n, c->atol, c->rtol);
        if (bad)
            fail_msg("%s: %zu of %zu elements differ from the CPU reference", what, bad, n);
        double e = nmse(got, want, n);
        worst = e > worst ? e : worst;
    }
    for (int i = 0; i < n_args; i++) {
        free(init[i]);
        free(v.host[i]);
        free(r.host[i]);
    }
    return worst;
}
