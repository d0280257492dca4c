/* dimix bench: speed and device memory of ops, models and the LRA model on every device,
 * with the ratios that matter (structured against dense in the same run, dimix against a
 * baseline file such as tools/bench_torch.py's). A benchmark, not a test: it asserts no
 * timing. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#ifdef _OPENMP
#include <omp.h>
#endif

#include "bench.h"
#include "cli_options.h"
#include "commands.h"

#define MAX_DEVICES 16

static const char *const cmd = "bench";

static void usage(FILE *out)
{
    fprintf(out,
            "usage: dimix bench [--device NAME]... [--suite ops|models|lra|all]... [--json FILE]\n"
            "                   [--repeat N] [--warmup N] [--budget SECONDS] [--threads N]\n"
            "                   [--baseline FILE] [--filter TEXT] [--quick] [--list]\n"
            "       mpirun -np N dimix bench --suite dist [--device NAME] [--preset NAME]\n"
            "                   [--batch B] [--threads T] [--repeat N] [--warmup N] [--json FILE]\n"
            "                   [--allreduce-bucket FLOATS]\n\n"
            "Times each case on each device: warm-up runs, then up to N timed runs; prints the\n"
            "median and minimum milliseconds, the rate, and the device memory the case held\n"
            "(parameters + gradients + the activation arena's peak + inputs), then the ratios:\n"
            "butterfly against dense in the same run, and dimix against --baseline.\n\n"
            "  --device NAME     a device (repeatable); default: every device present\n"
            "  --suite S         ops (default): butterfly stage and butterfly-MLP layer against\n"
            "                    dense at N 256, 1024, 4096 (4096 rows), GEMM 512..4096,\n"
            "                    skinny GEMM (M 1, 4 and N 1 at K 1024), dense against\n"
            "                    butterfly attention at S 256, 1024, 2048;\n"
            "                    models: train step (batch 64) and inference (batch 1, 256) of\n"
            "                    the papers' presets; lra: the LRA model at 1024 and 2048 tokens,\n"
            "                    dense and butterfly attention, batch 8; all: the three;\n"
            "                    dist (alone): data-parallel training, one rank with the\n"
            "                    global batch, then N ranks (under mpirun) each with its slice,\n"
            "                    with the blocking gradient sum, then overlapped with backward\n"
            "                    in buckets (--allreduce-bucket floats, default %d): ms/step,\n"
            "                    img/s, all-reduce bytes/step, scaling efficiency\n"
            "                    = img/s(N) / (N x img/s(1)); --preset (fmnist-bmlp), --batch\n"
            "                    (128, global), --repeat timed steps (20), --device as dimix\n"
            "                    train's (auto, or a per-rank list cpu,vulkan:0)\n"
            "  --json FILE       write one record per (case, device) ('-' for stdout)\n"
            "  --repeat N        timed runs per case, at most (default 5)\n"
            "  --warmup N        untimed runs first (default 1)\n"
            "  --budget SECONDS  stop repeating a case once its timed runs took this long\n"
            "                    (default 10; at least one timed run)\n"
            "  --threads N       OpenMP threads of the CPU device (default: OMP_NUM_THREADS or\n"
            "                    every core); PoCL and lavapipe use their own threads\n"
            "  --baseline FILE   a dimix-bench/1 JSON file (tools/bench_torch.py --json, or an\n"
            "                    earlier dimix bench --json): print dimix / baseline per case\n"
            "  --filter TEXT     only cases whose name contains TEXT\n"
            "  --quick           small shapes (a smoke run: 256 rows, N <= 1024, ...)\n"
            "  --list            print the case names and exit\n"
            "Exit status: 0 every case ran, 1 a case failed, 2 bad usage.\n",
            DMX_DIST_BUCKET_FLOATS);
}

typedef struct bench_args {
    dmx_bench_options o;
    const char *devices[MAX_DEVICES];
    int n_devices;
    const char *json, *baseline;
    bool list;
    const char *preset; /* --suite dist */
    int batch;
    long long bucket;
    bool repeat_given;
} bench_args;

static int parse_suite(const char *s, unsigned *suites)
{
    if (strcmp(s, "ops") == 0)
        *suites |= DMX_BENCH_OPS;
    else if (strcmp(s, "models") == 0)
        *suites |= DMX_BENCH_MODELS;
    else if (strcmp(s, "lra") == 0)
        *suites |= DMX_BENCH_LRA;
    else if (strcmp(s, "all") == 0)
        *suites |= DMX_BENCH_OPS | DMX_BENCH_MODELS | DMX_BENCH_LRA;
    else if (strcmp(s, "dist") == 0)
        *suites |= DMX_BENCH_DIST;
    else {
        fprintf(stderr, "dimix bench: unknown suite '%s' (ops, models, lra, all or dist)\n", s);
        return 0;
    }
    return 1;
}

/* 1: parsed; 0: help printed; -1: bad usage (message printed). */
static int parse(int argc, char **argv, bench_args *a)
{
    *a = (bench_args){.o = {.repeat = 5, .warmup = 1, .budget_s = 10.0}};
    for (int i = 1; i < argc; i++) {
        const char *o = argv[i], *word = NULL;
        long long v = 0;
        double x = 0;
        if (dmx_cli_is_help(o)) {
            usage(stdout);
            return 0;
        } else if (strcmp(o, "--device") == 0) {
            if (!dmx_cli_text(cmd, argc, argv, &i, &word))
                return -1;
            if (a->n_devices == MAX_DEVICES) {
                fprintf(stderr, "dimix bench: at most %d devices\n", MAX_DEVICES);
                return -1;
            }
            a->devices[a->n_devices++] = word;
        } else if (strcmp(o, "--suite") == 0) {
            if (!dmx_cli_text(cmd, argc, argv, &i, &word) || !parse_suite(word, &a->o.suites))
                return -1;
        } else if (strcmp(o, "--json") == 0) {
            if (!dmx_cli_text(cmd, argc, argv, &i, &a->json))
                return -1;
        } else if (strcmp(o, "--baseline") == 0) {
            if (!dmx_cli_text(cmd, argc, argv, &i, &a->baseline))
                return -1;
        } else if (strcmp(o, "--filter") == 0) {
            if (!dmx_cli_text(cmd, argc, argv, &i, &a->o.filter))
                return -1;
        } else if (strcmp(o, "--repeat") == 0) {
            if (!dmx_cli_int(cmd, argc, argv, &i, 1, 100000, &v))
                return -1;
            a->o.repeat = (int)v;
            a->repeat_given = true;
        } else if (strcmp(o, "--warmup") == 0) {
            if (!dmx_cli_int(cmd, argc, argv, &i, 0, 100000, &v))
                return -1;
            a->o.warmup = (int)v;
        } else if (strcmp(o, "--threads") == 0) {
            if (!dmx_cli_int(cmd, argc, argv, &i, 1, 4096, &v))
                return -1;
            a->o.threads = (int)v;
        } else if (strcmp(o, "--budget") == 0) {
            if (!dmx_cli_float(cmd, argc, argv, &i, 0.0, 1e6, &x))
                return -1;
            a->o.budget_s = x;
        } else if (strcmp(o, "--preset") == 0) {
            if (!dmx_cli_text(cmd, argc, argv, &i, &a->preset))
                return -1;
        } else if (strcmp(o, "--batch") == 0) {
            if (!dmx_cli_int(cmd, argc, argv, &i, 1, 1 << 20, &v))
                return -1;
            a->batch = (int)v;
        } else if (strcmp(o, "--allreduce-bucket") == 0) {
            if (!dmx_cli_int(cmd, argc, argv, &i, 1, 1ll << 40, &v))
                return -1;
            a->bucket = v;
        } else if (strcmp(o, "--quick") == 0) {
            a->o.quick = true;
        } else if (strcmp(o, "--list") == 0) {
            a->list = true;
        } else {
            fprintf(stderr, "dimix bench: unknown option '%s'\n\n", o);
            usage(stderr);
            return -1;
        }
    }
    if (!a->o.suites)
        a->o.suites = DMX_BENCH_OPS;
    if ((a->o.suites & DMX_BENCH_DIST) && a->o.suites != DMX_BENCH_DIST) {
        fprintf(stderr, "dimix bench: --suite dist runs alone\n");
        return -1;
    }
    if (a->o.suites == DMX_BENCH_DIST) {
        if (a->n_devices > 1 || a->baseline || a->o.filter || a->list || a->o.quick) {
            fprintf(stderr, "dimix bench: --suite dist takes one --device (a per-rank list "
                    "goes in one: cpu,vulkan:0), --preset, --batch, --threads, --repeat, "
                    "--warmup, --json\n");
            return -1;
        }
        if (!a->repeat_given)
            a->o.repeat = 20;
    } else if (a->preset || a->batch || a->bucket) {
        fprintf(stderr, "dimix bench: --preset, --batch and --allreduce-bucket go with --suite "
                "dist\n");
        return -1;
    }
    return 1;
}

static bool collect_cases(const dmx_bench_options *o, dmx_bench_list *l)
{
    return (!(o->suites & DMX_BENCH_OPS) || dmx_bench_ops_cases(l, o)) &&
           (!(o->suites & DMX_BENCH_MODELS) || dmx_bench_model_cases(l, o)) &&
           (!(o->suites & DMX_BENCH_LRA) || dmx_bench_lra_cases(l, o));
}

/* Opens the named devices, or every device present; an unknown name is an error. */
static int open_devices(bench_args *a, dmx_device **devs)
{
    static char owned[MAX_DEVICES][32];
    if (a->n_devices == 0) {
        int count = dmx_device_count();
        for (int i = 0; i < count && a->n_devices < MAX_DEVICES; i++) {
            dmx_device_info info;
            if (dmx_device_get_info(i, &info) == DMX_OK) {
                snprintf(owned[a->n_devices], sizeof owned[0], "%s", info.name);
                a->devices[a->n_devices] = owned[a->n_devices];
                a->n_devices++;
            }
        }
    }
    for (int d = 0; d < a->n_devices; d++)
        if (dmx_device_open(a->devices[d], &devs[d]) != DMX_OK) {
            char what[96];
            snprintf(what, sizeof what, "cannot open device '%s'", a->devices[d]);
            for (int k = 0; k < d; k++)
                dmx_device_close(devs[k]);
            return dmx_app_fail(cmd, what);
        }
    return 0;
}

static void print_header(const bench_args *a, dmx_device *const *devs, int n_cases)
{
    printf("dimix bench: %d cases x %d devices, up to %d timed runs each (%d warm-up, budget "
           "%g s), CPU threads %d%s\n",
           n_cases, a->n_devices, a->o.repeat, a->o.warmup, a->o.budget_s, a->o.threads,
           a->o.quick ? ", quick shapes" : "");
    for (int d = 0; d < a->n_devices; d++) {
        const dmx_device_info *i = dmx_device_info_of(devs[d]);
        printf("  %-9s %s (%s, %s)\n", i->name, i->description, i->vendor, i->driver);
    }
    printf("\n");
}

static int run_all(const bench_args *a, dmx_device **devs, const dmx_bench_list *cases,
                   const dmx_bench_baseline *base)
{
    const int n = cases->n * a->n_devices;
    dmx_bench_record *recs = calloc((size_t)(n ? n : 1), sizeof *recs);
    if (!recs)
        return dmx_app_fail(cmd, "out of host memory");
    int failed = 0, k = 0;
    for (int d = 0; d < a->n_devices; d++)
        for (int c = 0; c < cases->n; c++, k++) {
            dmx_bench_run_case(&cases->at[c], devs[d], &a->o, &recs[k]);
            dmx_bench_print_record(stdout, &recs[k]);
            failed += !recs[k].ok;
        }
    dmx_bench_print_ratios(stdout, recs, n, base);
    int rc = 0;
    if (a->json) {
        if (dmx_bench_write_json(a->json, recs, n, &a->o) != DMX_OK)
            rc = dmx_app_fail(cmd, "writing the JSON report");
        else if (strcmp(a->json, "-") != 0)
            printf("\nwrote %d records to %s\n", n, a->json);
    }
    if (failed) {
        fprintf(stderr, "dimix bench: %d of %d cases failed (see FAILED above)\n", failed, n);
        rc = 1;
    }
    free(recs);
    return rc;
}

int dmx_cmd_bench(int argc, char **argv)
{
    bench_args a;
    int p = parse(argc, argv, &a);
    if (p <= 0)
        return p == 0 ? 0 : 2;
#ifdef _OPENMP
    if (a.o.threads > 0)
        omp_set_num_threads(a.o.threads);
    a.o.threads = omp_get_max_threads();
#else
    a.o.threads = 1;
#endif
    if (a.o.suites == DMX_BENCH_DIST)
        return dmx_bench_dist(&a.o, a.n_devices ? a.devices[0] : NULL, a.preset, a.batch, a.bucket,
                              a.json);
    dmx_bench_list cases = {0};
    if (!collect_cases(&a.o, &cases)) {
        dmx_bench_list_free(&cases);
        return dmx_app_fail(cmd, "out of host memory");
    }
    if (a.list) {
        for (int i = 0; i < cases.n; i++)
            printf("%s%s%s\n", cases.at[i].name, cases.at[i].vs[0] ? "  vs " : "",
                   cases.at[i].vs);
        dmx_bench_list_free(&cases);
        return 0;
    }
    if (cases.n == 0) {
        fprintf(stderr, "dimix bench: no case matches --filter '%s'\n", a.o.filter);
        dmx_bench_list_free(&cases);
        return 2;
    }
    dmx_bench_baseline base;
    if (a.baseline && dmx_bench_baseline_read(a.baseline, &base) != DMX_OK) {
        dmx_bench_list_free(&cases);
        return dmx_app_fail(cmd, "reading the baseline");
    }
    dmx_device *devs[MAX_DEVICES] = {0};
    int rc = open_devices(&a, devs);
    if (rc == 0) {
        print_header(&a, devs, cases.n);
        rc = run_all(&a, devs, &cases, a.baseline ? &base : NULL);
        for (int d = 0; d < a.n_devices; d++)
            dmx_device_close(devs[d]);
    }
    if (a.baseline)
        dmx_bench_baseline_free(&base);
    dmx_bench_list_free(&cases);
    return rc;
}
