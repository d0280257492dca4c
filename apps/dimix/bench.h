/* dimix bench: the cases, how one is timed, and the records they produce.
 *
 * A case is a setup that builds its state on a device (weights, inputs, a context), an `iter`
 * that runs one iteration to completion (its results read back or the device synced), and a
 * teardown. The runner warms a case up, times `repeat` iterations (fewer once a time budget
 * is spent), and keeps the median, the minimum and the device memory the case held. Case
 * names are the join keys with tools/bench_torch.py, which writes the same records. */
#ifndef DMX_APP_BENCH_H
#define DMX_APP_BENCH_H

#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>

#include "dimix/dimix.h"

#define DMX_BENCH_NAME 96

typedef enum dmx_bench_suite {
    DMX_BENCH_OPS = 1 << 0,
    DMX_BENCH_MODELS = 1 << 1,
    DMX_BENCH_LRA = 1 << 2,
    DMX_BENCH_DIST = 1 << 3, /* data-parallel scaling (bench_dist.c), run alone */
} dmx_bench_suite;

/* What the user asked for. */
typedef struct dmx_bench_options {
    unsigned suites;    /* DMX_BENCH_* bits */
    int repeat, warmup; /* timed iterations (at most), untimed ones before */
    double budget_s;    /* stop repeating a case after this much timed work (>= 1 repeat) */
    bool quick;         /* small shapes: a smoke run */
    const char *filter; /* only cases whose name contains it; NULL: all */
    int threads;        /* OpenMP threads of the CPU devices */
} dmx_bench_options;

/* Device memory a case held: parameters, their gradients, the activation arena's peak. */
typedef struct dmx_bench_memory {
    size_t parameters, gradients, activations;
} dmx_bench_memory;

typedef struct dmx_bench_case dmx_bench_case;
struct dmx_bench_case {
    char name[DMX_BENCH_NAME]; /* "ops/stage1/N1024/e2/fwdbwd" */
    char vs[DMX_BENCH_NAME];   /* the dense case this one is compared with, or "" */
    dmx_bench_suite suite;
    const char *unit;          /* "GFLOP/s", "img/s", "seq/s" */
    double work;               /* units per iteration (GFLOP for GFLOP/s) */
    int batch;                 /* 0 when not meaningful */
    /* Builds the case's state on dev; *state is passed to iter, memory and teardown. */
    dmx_status (*setup)(const dmx_bench_case *c, dmx_device *dev, void **state);
    dmx_status (*iter)(void *state);
    dmx_bench_memory (*memory)(void *state);
    int64_t (*params)(void *state); /* trainable parameters, or -1 */
    void (*teardown)(void *state);
    int arg[8];              /* case-specific sizes */
    char text[DMX_BENCH_NAME]; /* case-specific word (a preset name) */
};

/* A growable list of cases. */
typedef struct dmx_bench_list {
    dmx_bench_case *at;
    int n, cap;
} dmx_bench_list;

/* Appends a copy of c (names filtered by opts->filter); false when out of host memory. */
bool dmx_bench_add(dmx_bench_list *l, const dmx_bench_case *c, const dmx_bench_options *opts);
void dmx_bench_list_free(dmx_bench_list *l);

/* The suites' cases. */
bool dmx_bench_ops_cases(dmx_bench_list *l, const dmx_bench_options *opts);
bool dmx_bench_model_cases(dmx_bench_list *l, const dmx_bench_options *opts);
bool dmx_bench_lra_cases(dmx_bench_list *l, const dmx_bench_options *opts);

/* One measured (case, device). */
typedef struct dmx_bench_record {
    const dmx_bench_case *c;
    dmx_device_info dev;
    bool ok;
    char error[512];
    int repeats;
    double median_ms, min_ms, rate; /* rate = work / median seconds */
    int64_t params;                 /* -1 when not meaningful */
    dmx_bench_memory mem;
    /* Per timed iteration (dmx_device_counters): device ops run, bytes their arguments span,
     * host <-> device transfers and their bytes. */
    double ops, op_bytes, transfers, transfer_bytes;
} dmx_bench_record;

/* Sets up, warms up, times and tears down one case on one device. A failing case is a record
 * with ok false and the library's message, never an abort. */
void dmx_bench_run_case(const dmx_bench_case *c, dmx_device *dev,
                        const dmx_bench_options *opts, dmx_bench_record *out);

/* ---- results: the JSON file, a baseline read back, the ratios ---- */

/* One record of a baseline file (tools/bench_torch.py or an earlier dimix bench). */
typedef struct dmx_bench_baseline_row {
    char name[DMX_BENCH_NAME];
    char device_type[8]; /* "cpu" or "gpu" */
    char device[32];
    double median_ms;
    double total_bytes; /* < 0 when unknown */
} dmx_bench_baseline_row;

typedef struct dmx_bench_baseline {
    char tool[32];
    int threads;
    dmx_bench_baseline_row *rows;
    int n;
} dmx_bench_baseline;

dmx_status dmx_bench_baseline_read(const char *path, dmx_bench_baseline *out);
void dmx_bench_baseline_free(dmx_bench_baseline *b);

/* Writes every record with the machine, build type and threads (schema "dimix-bench/1"). */
dmx_status dmx_bench_write_json(const char *path, const dmx_bench_record *recs, int n,
                                const dmx_bench_options *opts);

/* One line per record as it completes. */
void dmx_bench_print_record(FILE *out, const dmx_bench_record *r);
/* The ratios: butterfly / dense in the same run, and dimix / baseline where given. */
void dmx_bench_print_ratios(FILE *out, const dmx_bench_record *recs, int n,
                            const dmx_bench_baseline *base);

/* --suite dist (bench_dist.c): the training step of `preset` (NULL: fmnist-bmlp) at global
 * batch `batch` on one rank, then on every rank of the MPI job with the blocking and with the
 * overlapped gradient sum (buckets of `bucket_floats`, 0: the default), with the scaling
 * efficiency and the bytes all-reduced per step. `device` as dimix train's --device. Returns
 * the exit status. */
int dmx_bench_dist(const dmx_bench_options *o, const char *device, const char *preset,
                   int batch, int64_t bucket_floats, const char *json);

/* Shared by the cases: device memory of a parameter store and a context. */
dmx_bench_memory dmx_bench_store_memory(dmx_params *ps, const dmx_ctx *ctx);

#endif
