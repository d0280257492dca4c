/* dimix bench --suite dist: data-parallel scaling of the real training loop (dmx_train).
 *
 * Run under `mpirun -np N dimix bench --suite dist`, it measures in one invocation:
 *   1. one rank: rank 0 alone trains with the whole global batch B (the other ranks wait
 *      asleep, so they take no core from it);
 *   2. N ranks: every rank trains on its slice of B, the gradients summed each step, twice:
 *      with one blocking sum after backward, and with the sum in buckets overlapped with
 *      backward (the default of dimix train), alternating in runs of at most 10 timed steps.
 * Each phase runs `warmup` untimed steps, then `repeat` timed ones; a step's time is the
 * interval between consecutive steps on rank 0 (batch preparation on the calling thread,
 * upload, forward, backward, the gradient sum, the optimizer step). Throughput is B / median
 * step time; scaling efficiency = throughput(N) / (N x throughput(1)), at the same global
 * batch (strong scaling: the training run is the same one). Without mpirun (N = 1) only
 * phase 1 runs. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "app_data.h"
#include "app_dist.h"
#include "bench.h"
#include "commands.h"
#include "core/error.h"

typedef struct phase {
    int ranks;
    bool overlap;     /* the N-rank phase with the bucketed sum overlapped with backward */
    double *stamps;  /* on_step times of rank 0, this run */
    int n, cap;
    double *iv;      /* the timed step intervals of every run of the phase */
    int n_iv;
    double reduce_s, wait_s, early_sum, steps_sum; /* over the runs */
    double median_ms, min_ms, rate;
    double reduce_ms; /* per step, in the gradient sums (rank 0; includes waiting for peers) */
    double wait_ms;   /* per step, from the end of backward until the sums were done */
    int buckets;
    double early;     /* buckets per step started during backward */
    int64_t reduce_bytes;
    int64_t params;
} phase;

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

static void on_step(void *user, const dmx_step_info *info)
{
    (void)info;
    phase *p = user;
    if (p->n < p->cap)
        p->stamps[p->n++] = now_s();
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

/* Median and minimum of the pooled step intervals; the per-step means of the sums' times. */
static void summarize(phase *p, int batch)
{
    const double steps = p->steps_sum > 0 ? p->steps_sum : 1;
    p->reduce_ms = 1e3 * p->reduce_s / steps;
    p->wait_ms = 1e3 * p->wait_s / steps;
    p->early = p->early_sum / steps;
    const int k = p->n_iv;
    if (k == 0) {
        p->median_ms = p->min_ms = p->rate = NAN;
        return;
    }
    double *d = p->iv;
    qsort(d, (size_t)k, sizeof *d, cmp_double);
    double med = k % 2 ? d[k / 2] : 0.5 * (d[k / 2 - 1] + d[k / 2]);
    p->median_ms = 1e3 * med;
    p->min_ms = 1e3 * d[0];
    p->rate = (double)batch / med;
}

typedef struct dist_bench {
    const dmx_bench_options *o;
    const dmx_dist *dist;
    const char *preset;
    int batch;
    int64_t bucket_floats;
    dmx_device *dev;
    dmx_model_config cfg;
} dist_bench;

/* One run of a phase: a fresh model (same seed) trained `warmup + timed + 1` steps, the timed
 * intervals added to the phase's; dist NULL: one rank with the whole batch. */
static dmx_status run_phase(const dist_bench *b, const dmx_dist *dist, phase *p, int timed)
{
    const int steps = b->o->warmup + timed + 1;
    dmx_synthetic_options so = {.count = (int64_t)b->batch * 4, .channels = b->cfg.channels,
                                .height = b->cfg.image, .width = b->cfg.image,
                                .num_classes = b->cfg.classes, .seed = 7,
                                .split = DMX_SPLIT_TRAIN, .noise = 40};
    dmx_image_dataset *ds = NULL;
    DMX_TRY(dmx_synthetic_images(&so, &ds));
    dmx_loader_options lo = dmx_loader_train_defaults(b->batch, 1);
    lo.random_crop = lo.random_flip = false;
    lo.background = false; /* batch preparation is part of the step, on this rank's core */
    lo.part = dist ? dist->rank : 0;
    lo.parts = dist ? dist->size : 1;
    dmx_app_images im;
    dmx_status s = dmx_app_images_make(ds, &lo, &im);
    if (s != DMX_OK)
        return s;
    dmx_model *model = NULL;
    dmx_ctx *ctx = NULL;
    p->cap = steps;
    p->n = 0;
    p->stamps = malloc(sizeof *p->stamps * (size_t)steps);
    if (!p->stamps)
        s = dmx_fail(DMX_ERR_OUT_OF_MEMORY, "bench: out of host memory");
    if (s == DMX_OK)
        s = dmx_model_create(b->dev, &b->cfg, 1, &model);
    if (s == DMX_OK) {
        p->params = dmx_params_trainable_count(dmx_model_params(model));
        s = dmx_ctx_create(b->dev, &ctx);
    }
    dmx_train_options to = {.optim = {.kind = DMX_OPTIM_ADAM},
                            .schedule = {.kind = DMX_SCHEDULE_CONSTANT, .lr = 1e-3f},
                            .epochs = 1000000, .max_steps = steps, .seed = 1,
                            .dist = dist, .dist_blocking_sum = !p->overlap,
                            .dist_bucket_floats = b->bucket_floats, .on_step = on_step,
                            .user = p};
    dmx_train_result res;
    if (s == DMX_OK)
        s = dmx_train(ctx, model, im.source, NULL, &to, &res);
    if (s == DMX_OK) {
        p->ranks = dist ? dist->size : 1;
        p->reduce_bytes = dist ? res.reduce_bytes : 0;
        p->steps_sum += (double)res.steps;
        p->reduce_s += res.reduce_seconds;
        p->wait_s += res.reduce_wait_seconds;
        p->buckets = res.reduce_buckets;
        p->early_sum += (double)res.reduce_buckets_early;
        for (int i = b->o->warmup + 1; i < p->n && p->iv; i++)
            p->iv[p->n_iv++] = p->stamps[i] - p->stamps[i - 1];
    }
    dmx_ctx_destroy(ctx);
    dmx_model_destroy(model);
    dmx_app_images_free(&im);
    free(p->stamps);
    p->stamps = NULL;
    return s;
}

static void print_phase(const phase *p)
{
    printf("  %d rank%s %-10s %9.2f ms/step (min %.2f)  %9.1f img/s", p->ranks,
           p->ranks == 1 ? " " : "s", p->ranks == 1 ? "" : p->overlap ? "overlapped" : "blocking",
           p->median_ms, p->min_ms, p->rate);
    if (p->ranks > 1) {
        printf("  all-reduce %lld B/step, %.2f ms/step in MPI calls, %.2f ms/step waited after "
               "backward (rank 0)", (long long)p->reduce_bytes, p->reduce_ms, p->wait_ms);
        if (p->overlap)
            printf(", %d buckets (%.1f started during backward)", p->buckets, p->early);
    }
    printf("\n");
}

static int write_json(const char *path, const dist_bench *b, const dmx_device_info *dev,
                      const phase *one, const phase *blocking, const phase *all,
                      double efficiency, double efficiency_blocking)
{
    FILE *f = strcmp(path, "-") == 0 ? stdout : fopen(path, "w");
    if (!f) {
        fprintf(stderr, "dimix bench: cannot write %s\n", path);
        return 1;
    }
    fprintf(f, "{\"schema\": \"dimix-bench-dist/2\", \"build_type\": \"%s\", \"model\": \"%s\", "
            "\"parameters\": %lld, \"global_batch\": %d, \"device_rank0\": \"%s\", "
            "\"threads_per_rank\": %d, \"warmup\": %d, \"timed_steps\": %d,\n \"phases\": [",
            DIMIX_BUILD_TYPE, b->preset, (long long)one->params, b->batch, dev->name, b->o->threads,
            b->o->warmup, b->o->repeat);
    const phase *ph[3] = {one, blocking, all};
    int n = all->ranks > 1 ? 3 : 1;
    for (int i = 0; i < n; i++)
        fprintf(f, "%s\n  {\"ranks\": %d, \"overlap\": %s, \"median_ms\": %.4f, "
                "\"min_ms\": %.4f, \"img_per_s\": %.2f, \"allreduce_bytes_per_step\": %lld, "
                "\"allreduce_ms_per_step\": %.4f, \"wait_after_backward_ms_per_step\": %.4f, "
                "\"buckets\": %d, \"buckets_started_during_backward\": %.2f}", i ? "," : "",
                ph[i]->ranks, ph[i]->overlap ? "true" : "false", ph[i]->median_ms,
                ph[i]->min_ms, ph[i]->rate, (long long)ph[i]->reduce_bytes, ph[i]->reduce_ms,
                ph[i]->wait_ms, ph[i]->buckets, ph[i]->early);
    fprintf(f, "],\n \"bucket_floats\": %lld, \"efficiency\": ", (long long)b->bucket_floats);
    if (n == 3)
        fprintf(f, "%.4f, \"efficiency_blocking\": %.4f}\n", efficiency, efficiency_blocking);
    else
        fprintf(f, "null, \"efficiency_blocking\": null}\n");
    if (f != stdout)
        fclose(f);
    return 0;
}

int dmx_bench_dist(const dmx_bench_options *o, const char *device, const char *preset,
                   int batch, int64_t bucket_floats, const char *json)
{
    dmx_dist dist;
    if (dmx_app_dist_init("bench", &dist) != 0)
        return 1;
    dist_bench b = {.o = o, .dist = &dist, .preset = preset ? preset : "fmnist-bmlp",
                    .batch = batch > 0 ? batch : 128,
                    .bucket_floats = bucket_floats > 0 ? bucket_floats : DMX_DIST_BUCKET_FLOATS};
    char name[64], cmd[48];
    snprintf(cmd, sizeof cmd, dist.size > 1 ? "bench (rank %d/%d)" : "bench", dist.rank,
             dist.size);
    int rc = dmx_app_dist_device("bench", device, &dist, name, sizeof name);
    if (rc == 0 && (dmx_model_preset(b.preset, &b.cfg) != DMX_OK ||
                    dmx_app_open_device(cmd, name, &b.dev) != DMX_OK))
        rc = dmx_app_fail(cmd, "setting up");
    if (rc == 0 && b.batch < dist.size) {
        fprintf(stderr, "dimix bench: --batch %d is smaller than the %d ranks\n", b.batch,
                dist.size);
        rc = 2;
    }
    phase one = {.ranks = 1}, blocking = {.ranks = dist.size},
          all = {.ranks = dist.size, .overlap = true};
    one.iv = malloc(sizeof *one.iv * (size_t)(o->repeat + 1));
    blocking.iv = malloc(sizeof *blocking.iv * (size_t)(o->repeat + 1));
    all.iv = malloc(sizeof *all.iv * (size_t)(o->repeat + 1));
    if (!one.iv || !blocking.iv || !all.iv)
        rc = dmx_app_fail(cmd, "out of host memory");
    if (rc == 0 && dist.rank == 0) {
        printf("dimix bench --suite dist: %s, global batch %d, %d warm-up + %d timed steps, "
               "%d CPU thread%s per rank, %d rank%s\n", b.preset, b.batch, o->warmup,
               o->repeat, o->threads, o->threads == 1 ? "" : "s", dist.size,
               dist.size == 1 ? "" : "s");
        fflush(stdout);
        if (run_phase(&b, NULL, &one, o->repeat) != DMX_OK) {
            rc = dmx_app_fail(cmd, "one-rank phase");
        } else {
            summarize(&one, b.batch);
            print_phase(&one);
        }
        fflush(stdout);
    }
    /* The other ranks sleep through the one-rank phase; a failure there ends the job. */
    if (rc != 0)
        dmx_app_dist_abort(&dist, rc);
    if (dmx_app_dist_wait_all(&dist) != DMX_OK)
        rc = dmx_app_fail(cmd, "waiting for rank 0");
    /* The blocking and the overlapped sum alternate in runs of at most 10 timed steps, so a
       change in what else runs on the machine touches both alike. */
    const int rounds = (o->repeat + 9) / 10;
    for (int r = 0; r < rounds && rc == 0 && dist.size > 1; r++)
        for (int k = 0; k < 2 && rc == 0; k++) {
            const int timed = o->repeat * (r + 1) / rounds - o->repeat * r / rounds;
            if (run_phase(&b, &dist, k ? &all : &blocking, timed) != DMX_OK)
                rc = dmx_app_fail(cmd, "data-parallel phase");
        }
    if (rc == 0 && dist.size > 1 && dist.rank == 0) {
        summarize(&blocking, b.batch);
        summarize(&all, b.batch);
        print_phase(&blocking);
        print_phase(&all);
    }
    if (rc != 0)
        dmx_app_dist_abort(&dist, rc);
    if (rc == 0 && dist.rank == 0) {
        double eff = dist.size > 1 ? all.rate / ((double)dist.size * one.rate) : NAN;
        double eff_b = dist.size > 1 ? blocking.rate / ((double)dist.size * one.rate) : NAN;
        if (dist.size > 1)
            printf("scaling efficiency %d ranks: %.2f (= %.1f img/s / (%d x %.1f img/s)), "
                   "%.2f with the blocking sum; all-reduced %lld bytes per step per rank\n",
                   dist.size, eff, all.rate, dist.size, one.rate, eff_b,
                   (long long)all.reduce_bytes);
        else
            printf("one rank only: run under mpirun -np N for the N-rank phase and the "
                   "efficiency\n");
        if (json)
            rc = write_json(json, &b, dmx_device_info_of(b.dev), &one, &blocking, &all, eff,
                            eff_b);
    }
    free(one.iv);
    free(blocking.iv);
    free(all.iv);
    dmx_device_close(b.dev);
    dmx_app_dist_finish(&dist);
    return rc;
}
