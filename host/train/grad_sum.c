/* The data-parallel gradient sum, blocking or overlapped with backward (grad_sum.h). */
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "autograd/autograd.h"
#include "core/error.h"
#include "device/backend.h"
#include "train/grad_sum.h"

static double seconds_now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

static int by_offset(const void *a, const void *b)
{
    size_t x = (*(dmx_tensor *const *)a)->offset, y = (*(dmx_tensor *const *)b)->offset;
    return x < y ? -1 : x > y;
}

/* Bucket bounds on parameter starts: a bucket closes before a parameter that would take it
 * past `size` elements (a larger parameter has a bucket of its own). */
static dmx_status make_buckets(dmx_grad_sum *gs, dmx_params *ps, int64_t size)
{
    const int np = dmx_params_trainable(ps, NULL, 0);
    dmx_tensor **list = malloc((size_t)(np ? np : 1) * sizeof *list);
    gs->bounds = malloc((size_t)(np + 2) * sizeof *gs->bounds);
    gs->ready = malloc((size_t)(np + 1) * sizeof *gs->ready);
    gs->order = malloc((size_t)(np + 2) * sizeof *gs->order);
    if (!list || !gs->bounds || !gs->ready || !gs->order) {
        free(list);
        return dmx_fail(DMX_ERR_OUT_OF_MEMORY, "trainer: out of host memory");
    }
    dmx_params_trainable(ps, list, np);
    qsort(list, (size_t)np, sizeof *list, by_offset);
    int nb = 0;
    gs->bounds[0] = 0;
    for (int i = 0; i < np; i++) {
        const int64_t at = (int64_t)list[i]->offset;
        const int64_t end = i + 1 < np ? (int64_t)list[i + 1]->offset : gs->n;
        if (at > gs->bounds[nb] && end - gs->bounds[nb] > size)
            gs->bounds[++nb] = at;
    }
    gs->bounds[++nb] = gs->n;
    gs->n_buckets = nb;
    for (int b = 0; b < nb; b++)
        gs->order[1 + b] = b;
    free(list);
    return DMX_OK;
}

dmx_status dmx_grad_sum_init(dmx_grad_sum *gs, dmx_ctx *ctx, const dmx_dist *dist,
                             dmx_params *ps, const dmx_tensor *grads, float *buf, bool overlap,
                             int64_t bucket_floats)
{
    *gs = (dmx_grad_sum){.dist = dist, .ctx = ctx, .grads = *grads, .buf = buf,
                         .n = dmx_tensor_numel(grads)};
    gs->overlap = overlap && dist->start_sum_f32 && dist->progress && dist->wait_sums;
    if (!gs->overlap)
        return DMX_OK;
    return make_buckets(gs, ps, bucket_floats > 0 ? bucket_floats : 1);
}

void dmx_grad_sum_free(dmx_grad_sum *gs)
{
    if (gs->ctx)
        dmx_ctx_set_backward_hook(gs->ctx, NULL, NULL);
    free(gs->bounds);
    free(gs->ready);
    free(gs->order);
    gs->bounds = NULL;
    gs->ready = NULL;
    gs->order = NULL;
}

/* This rank's weighted gradients of elements [lo, hi) on the host (zero for an empty slice). */
static dmx_status weighted_range(dmx_grad_sum *gs, int64_t lo, int64_t hi)
{
    float *g = gs->buf + lo;
    const size_t bytes = (size_t)(hi - lo) * sizeof *g;
    if (gs->weight == 0) {
        memset(g, 0, bytes);
        return DMX_OK;
    }
    DMX_TRY(dmx_buffer_read(gs->grads.buf, (gs->grads.offset + (size_t)lo) * sizeof *g, g, bytes));
    const float w = gs->weight;
    for (int64_t i = 0; i < hi - lo; i++)
        g[i] *= w;
    return DMX_OK;
}

static dmx_status start_bucket(dmx_grad_sum *gs, int b)
{
    const int64_t lo = gs->bounds[b], hi = gs->bounds[b + 1];
    DMX_TRY(weighted_range(gs, lo, hi));
    double t0 = seconds_now();
    dmx_status s = gs->dist->start_sum_f32(gs->dist->self, gs->buf + lo, hi - lo);
    gs->seconds += seconds_now() - t0;
    return s;
}

/* After each replayed tape entry: start the buckets (in the agreed order) no later entry
 * writes into, and let the started sums progress. */
static dmx_status on_backward(void *user, size_t replayed)
{
    dmx_grad_sum *gs = user;
    while (gs->next < gs->n_buckets && gs->ready[gs->order[1 + gs->next]] <= replayed) {
        DMX_TRY(start_bucket(gs, gs->order[1 + gs->next]));
        gs->next++;
        gs->early += replayed < gs->tape_len; /* the last entry's come with backward's end */
    }
    double t0 = seconds_now();
    dmx_status s = gs->dist->progress(gs->dist->self);
    gs->seconds += seconds_now() - t0;
    return s;
}

static int ready_then_index(const void *a, const void *b, void *ready)
{
    const size_t *r = ready;
    const int32_t x = *(const int32_t *)a, y = *(const int32_t *)b;
    return r[x] != r[y] ? (r[x] < r[y] ? -1 : 1) : (x > y) - (x < y);
}

/* Insertion sort: few buckets, and qsort has no context argument in C11. */
static void sort_order(int32_t *order, int n, size_t *ready)
{
    for (int i = 1; i < n; i++) {
        int32_t v = order[i];
        int j = i;
        for (; j > 0 && ready_then_index(&order[j - 1], &v, ready) > 0; j--)
            order[j] = order[j - 1];
        order[j] = v;
    }
}

dmx_status dmx_grad_sum_begin(dmx_grad_sum *gs, int64_t count)
{
    gs->weight = (float)count;
    gs->next = 0;
    if (!gs->overlap)
        return DMX_OK;
    const int nb = gs->n_buckets;
    gs->tape_len = count > 0 ? dmx_ctx_tape_length(gs->ctx) : 0;
    if (count > 0)
        dmx_ctx_grad_ready(gs->ctx, gs->grads.buf, gs->bounds, nb, gs->ready);
    else
        memset(gs->ready, 0, (size_t)nb * sizeof *gs->ready);
    /* Every rank must start the same sums in the same order, and the tapes may differ (an
     * empty slice has none; backends may record differently): rank 0's order of readiness
     * is broadcast once, at the first step where rank 0 had a tape. */
    if (!gs->agreed) {
        if (gs->dist->rank == 0) {
            gs->order[0] = count > 0;
            if (count > 0)
                sort_order(gs->order + 1, nb, gs->ready);
        }
        double t0 = seconds_now();
        DMX_TRY(gs->dist->broadcast(gs->dist->self, gs->order,
                                    (int64_t)(nb + 1) * (int64_t)sizeof *gs->order, 0));
        gs->seconds += seconds_now() - t0;
        gs->agreed = gs->order[0] != 0;
    }
    if (count > 0)
        dmx_ctx_set_backward_hook(gs->ctx, on_backward, gs);
    return DMX_OK;
}

dmx_status dmx_grad_sum_finish(dmx_grad_sum *gs, float *loss, int64_t count, bool stop,
                               bool *stop_all)
{
    dmx_ctx_set_backward_hook(gs->ctx, NULL, NULL);
    const int64_t n = gs->n;
    float *g = gs->buf;
    const float w = (float)count;
    gs->weight = w;
    double t0 = seconds_now(), in_dist = 0;
    if (gs->overlap) {
        for (; gs->next < gs->n_buckets; gs->next++)
            DMX_TRY(start_bucket(gs, gs->order[1 + gs->next]));
    } else {
        DMX_TRY(weighted_range(gs, 0, n));
    }
    g[n] = count > 0 ? *loss * w : 0.0f;
    g[n + 1] = w;
    g[n + 2] = stop ? 1.0f : 0.0f;
    double t1 = seconds_now();
    if (gs->overlap) {
        DMX_TRY(gs->dist->start_sum_f32(gs->dist->self, g + n, 3));
        DMX_TRY(gs->dist->wait_sums(gs->dist->self));
    } else {
        DMX_TRY(gs->dist->sum_f32(gs->dist->self, g, n + 3));
    }
    in_dist = seconds_now() - t1;
    gs->seconds += in_dist;
    gs->wait_seconds += seconds_now() - t0;
    const float total = g[n + 1];
    if (!(total > 0))
        return dmx_fail(DMX_ERR_INVALID_ARG, "data-parallel step: the ranks' batch slices "
                        "hold no example");
    const float inv = 1.0f / total;
    for (int64_t i = 0; i < n; i++)
        g[i] *= inv;
    DMX_TRY(dmx_tensor_write(&gs->grads, g, (size_t)n * sizeof *g));
    *loss = g[n] * inv;
    *stop_all = g[n + 2] > 0;
    return DMX_OK;
}
