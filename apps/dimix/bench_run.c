/* dimix bench: timing one case on one device (warm-up, repeats under a time budget, median
 * and minimum), and the case list. */
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "bench.h"
#include "core/error.h"

static double seconds_now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

bool dmx_bench_add(dmx_bench_list *l, const dmx_bench_case *c, const dmx_bench_options *opts)
{
    if (opts->filter && !strstr(c->name, opts->filter))
        return true;
    if (l->n == l->cap) {
        int cap = l->cap ? 2 * l->cap : 64;
        dmx_bench_case *at = realloc(l->at, (size_t)cap * sizeof *at);
        if (!at)
            return false;
        l->at = at;
        l->cap = cap;
    }
    l->at[l->n++] = *c;
    return true;
}

void dmx_bench_list_free(dmx_bench_list *l)
{
    free(l->at);
    *l = (dmx_bench_list){0};
}

dmx_bench_memory dmx_bench_store_memory(dmx_params *ps, const dmx_ctx *ctx)
{
    dmx_bench_memory m = {0};
    if (ps && dmx_params_count(ps) > 0) { /* one values and one gradients buffer per store */
        const dmx_tensor *first = dmx_params_at(ps, 0);
        m.parameters = dmx_buffer_size(first->buf);
        m.gradients = first->grad ? dmx_buffer_size(first->grad->buf) : 0;
    }
    m.activations = ctx ? dmx_ctx_peak_bytes(ctx) : 0;
    return m;
}

static int compare_doubles(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

static void fail_record(dmx_bench_record *out, const char *stage)
{
    const char *why = dmx_last_error();
    out->ok = false;
    snprintf(out->error, sizeof out->error, "%s: %s", stage, *why ? why : "failed");
    dmx_clear_error();
}

void dmx_bench_run_case(const dmx_bench_case *c, dmx_device *dev,
                        const dmx_bench_options *opts, dmx_bench_record *out)
{
    *out = (dmx_bench_record){.c = c, .dev = *dmx_device_info_of(dev), .params = -1};
    void *state = NULL;
    if (c->setup(c, dev, &state) != DMX_OK) {
        fail_record(out, "setup");
        return;
    }
    /* The first iterations build kernels, grow the arena and fault pages in: untimed. */
    for (int w = 0; w < opts->warmup; w++)
        if (c->iter(state) != DMX_OK) {
            fail_record(out, "warm-up");
            c->teardown(state);
            return;
        }
    double *ms = malloc((size_t)opts->repeat * sizeof *ms);
    if (!ms) {
        snprintf(out->error, sizeof out->error, "out of host memory");
        c->teardown(state);
        return;
    }
    double spent = 0;
    int done = 0;
    dmx_device_counters before, after;
    dmx_device_counters_get(dev, &before);
    while (done < opts->repeat && (done == 0 || spent < opts->budget_s)) {
        double t0 = seconds_now();
        if (c->iter(state) != DMX_OK) {
            fail_record(out, "timed run");
            break;
        }
        double dt = seconds_now() - t0;
        ms[done++] = 1e3 * dt;
        spent += dt;
    }
    if (done > 0 && !out->error[0]) {
        qsort(ms, (size_t)done, sizeof *ms, compare_doubles);
        out->ok = true;
        out->repeats = done;
        out->min_ms = ms[0];
        out->median_ms = done % 2 ? ms[done / 2] : 0.5 * (ms[done / 2 - 1] + ms[done / 2]);
        out->rate = c->work / (1e-3 * out->median_ms);
        out->mem = c->memory(state);
        out->params = c->params ? c->params(state) : -1;
        dmx_device_counters_get(dev, &after);
        out->ops = (double)(after.ops - before.ops) / done;
        out->op_bytes = (double)(after.op_bytes - before.op_bytes) / done;
        out->transfers = (double)(after.reads + after.writes - before.reads - before.writes) / done;
        out->transfer_bytes = (double)(after.read_bytes + after.write_bytes - before.read_bytes -
                                       before.write_bytes) / done;
    }
    free(ms);
    c->teardown(state);
}
