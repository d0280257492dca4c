/* dimix lra: Long Range Arena tasks. Sub-commands come from a table (train and eval join it
 * later); `gen` writes a task's data set with the published generators. */
#include <errno.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "commands.h"
#include "dimix/dimix.h"

static int lra_gen(int argc, char **argv);
static int gen_listops(int argc, char **argv);
static int gen_pathfinder(int argc, char **argv);

static const dmx_command lra_commands[] = {
    {"gen", "generate a task's data set: listops, pathfinder", lra_gen},
};

static const dmx_command gen_tasks[] = {
    {"listops", "ListOps TSV splits (basic_{train,val,test}.tsv)", gen_listops},
    {"pathfinder", "Pathfinder images at 32, 64 or 128 pixels (.pfb splits)", gen_pathfinder},
};

#define COUNT_OF(a) ((int)(sizeof(a) / sizeof((a)[0])))

static int is_help(const char *arg)
{
    return strcmp(arg, "--help") == 0 || strcmp(arg, "-h") == 0 || strcmp(arg, "help") == 0;
}

/* Runs the entry of `table` named by argv[1]; `path` ("lra", "lra gen") names the level. */
static int dispatch(const char *path, const char *what, const dmx_command *table, int n, int argc,
                    char **argv)
{
    if (argc < 2 || is_help(argv[1])) {
        FILE *out = argc < 2 ? stderr : stdout;
        fprintf(out, "usage: dimix %s <%s> [options]\n\n%ss:\n", path, what, what);
        for (int i = 0; i < n; i++)
            fprintf(out, "  %-11s %s\n", table[i].name, table[i].summary);
        fprintf(out, "\n'dimix %s <%s> --help' describes its options.\n", path, what);
        return argc < 2 ? 2 : 0;
    }
    for (int i = 0; i < n; i++)
        if (strcmp(argv[1], table[i].name) == 0)
            return table[i].run(argc - 1, argv + 1);
    fprintf(stderr, "dimix %s: unknown %s '%s' (try --help)\n", path, what, argv[1]);
    return 2;
}

int dmx_cmd_lra(int argc, char **argv)
{
    return dispatch("lra", "command", lra_commands, COUNT_OF(lra_commands), argc, argv);
}

static int lra_gen(int argc, char **argv)
{
    return dispatch("lra gen", "task", gen_tasks, COUNT_OF(gen_tasks), argc, argv);
}

/* ---- options ---- */

/* Reads the integer after option argv[*i] into *out; says why not and returns 0 on failure. */
static int int_option(const char *cmd, int argc, char **argv, int *i, long long lo, long long hi,
                      long long *out)
{
    const char *name = argv[*i];
    if (*i + 1 >= argc) {
        fprintf(stderr, "dimix %s: %s needs a value\n", cmd, name);
        return 0;
    }
    const char *text = argv[++*i];
    char *end = NULL;
    errno = 0;
    long long v = strtoll(text, &end, 10);
    if (errno || end == text || *end || v < lo || v > hi) {
        fprintf(stderr, "dimix %s: %s takes an integer in %lld..%lld, not '%s'\n", cmd, name, lo,
                hi, text);
        return 0;
    }
    *out = v;
    return 1;
}

static int text_option(const char *cmd, int argc, char **argv, int *i, const char **out)
{
    if (*i + 1 >= argc) {
        fprintf(stderr, "dimix %s: %s needs a value\n", cmd, argv[*i]);
        return 0;
    }
    *out = argv[++*i];
    return 1;
}

/* ---- progress on the terminal, and Ctrl-C ---- */

static volatile sig_atomic_t interrupted;

static void on_interrupt(int sig)
{
    (void)sig;
    interrupted = 1;
}

typedef struct progress_line {
    const char *what;
    struct timespec start;
    int tty;
    int last_tenth;
} progress_line;

static double seconds_since(const struct timespec *start)
{
    struct timespec now;
    clock_gettime(CLOCK_MONOTONIC, &now);
    return (double)(now.tv_sec - start->tv_sec) + 1e-9 * (double)(now.tv_nsec - start->tv_nsec);
}

/* On a terminal one line rewritten in place; otherwise a line per tenth of the work. */
static int show_progress(void *user, int64_t done, int64_t total)
{
    progress_line *p = user;
    double t = seconds_since(&p->start);
    double share = total > 0 ? (double)done / (double)total : 1.0;
    if (p->tty) {
        fprintf(stderr, "\r%s: %lld/%lld (%.1f%%), %.0f s, about %.0f s left   ", p->what,
                (long long)done, (long long)total, 100.0 * share, t,
                share > 0 ? t * (1 - share) / share : 0.0);
        if (done == total)
            fputc('\n', stderr);
    } else if ((int)(10 * share) > p->last_tenth) {
        p->last_tenth = (int)(10 * share);
        fprintf(stderr, "%s: %lld/%lld (%.0f%%), %.1f s\n", p->what, (long long)done,
                (long long)total, 100.0 * share, t);
    }
    return interrupted;
}

static void start_progress(progress_line *p, const char *what)
{
    p->what = what;
    p->tty = isatty(fileno(stderr));
    p->last_tenth = 0;
    clock_gettime(CLOCK_MONOTONIC, &p->start);
    interrupted = 0;
    signal(SIGINT, on_interrupt);
}

/* Restores Ctrl-C and turns the status into an exit code (130 when interrupted). */
static int finish(const char *cmd, dmx_status s, const progress_line *p)
{
    signal(SIGINT, SIG_DFL);
    if (p->tty && s != DMX_OK)
        fputc('\n', stderr);
    if (s == DMX_ERR_INTERRUPTED) {
        fprintf(stderr, "dimix %s: interrupted; finished files were kept, the partial one "
                        "removed\n", cmd);
        return 130;
    }
    return s == DMX_OK ? 0 : dmx_app_fail(cmd, "generation failed");
}

/* ---- dimix lra gen listops ---- */

static void listops_usage(void)
{
    printf("usage: dimix lra gen listops --out DIR [--train N] [--val N] [--test N]\n"
           "                             [--min-len L] [--max-len L] [--seed S]\n\n"
           "Generates ListOps with LRA's published algorithm and writes DIR/basic_train.tsv,\n"
           "basic_val.tsv and basic_test.tsv (header Source<TAB>Target, one example a line).\n\n"
           "  --out DIR      output directory (created if missing)\n"
           "  --train N      training examples (96000)\n"
           "  --val N        validation examples (2000)\n"
           "  --test N       test examples (2000)\n"
           "  --min-len L    keep trees longer than L tokens (500)\n"
           "  --max-len L    keep trees shorter than L tokens (2000)\n"
           "  --seed S       seed of the generator (0)\n");
}

static int gen_listops(int argc, char **argv)
{
    const char *cmd = "lra gen listops", *out = NULL;
    dmx_listops_config cfg;
    dmx_listops_config_default(&cfg);
    for (int i = 1; i < argc; i++) {
        long long v = 0;
        int ok = 1;
        if (is_help(argv[i])) {
            listops_usage();
            return 0;
        } else if (strcmp(argv[i], "--out") == 0) {
            ok = text_option(cmd, argc, argv, &i, &out);
        } else if (strcmp(argv[i], "--train") == 0) {
            ok = int_option(cmd, argc, argv, &i, 0, 100000000, &v);
            cfg.num_train = v;
        } else if (strcmp(argv[i], "--val") == 0) {
            ok = int_option(cmd, argc, argv, &i, 0, 100000000, &v);
            cfg.num_val = v;
        } else if (strcmp(argv[i], "--test") == 0) {
            ok = int_option(cmd, argc, argv, &i, 0, 100000000, &v);
            cfg.num_test = v;
        } else if (strcmp(argv[i], "--min-len") == 0) {
            ok = int_option(cmd, argc, argv, &i, 0, 1 << 24, &v);
            cfg.min_length = (int)v;
        } else if (strcmp(argv[i], "--max-len") == 0) {
            ok = int_option(cmd, argc, argv, &i, 2, 1 << 24, &v);
            cfg.max_length = (int)v;
        } else if (strcmp(argv[i], "--seed") == 0) {
            ok = int_option(cmd, argc, argv, &i, 0, INT64_MAX, &v);
            cfg.seed = (uint64_t)v;
        } else {
            fprintf(stderr, "dimix %s: unknown option '%s' (try --help)\n", cmd, argv[i]);
            return 2;
        }
        if (!ok)
            return 2;
    }
    if (!out) {
        fprintf(stderr, "dimix %s: --out DIR is required (try --help)\n", cmd);
        return 2;
    }
    progress_line p;
    start_progress(&p, "listops");
    dmx_status s = dmx_listops_write_splits(&cfg, out, show_progress, &p);
    if (s == DMX_OK)
        printf("wrote %s/basic_train.tsv (%lld), basic_val.tsv (%lld), basic_test.tsv (%lld) "
               "in %.1f s\n", out, (long long)cfg.num_train, (long long)cfg.num_val,
               (long long)cfg.num_test, seconds_since(&p.start));
    return finish(cmd, s, &p);
}

/* ---- dimix lra gen pathfinder ---- */

static void pathfinder_usage(void)
{
    printf("usage: dimix lra gen pathfinder --out DIR --resolution 32|64|128 [--count N]\n"
           "                                [--contour-length 6|9|14] [--seed S]\n\n"
           "Draws Pathfinder images with LRA's parameters for the resolution and writes\n"
           "DIR/pathfinder<R>_cl<C>_{train,val,test}.pfb, split 80/10/10 as LRA splits its\n"
           "200,000 images (format: docs/lra-data.md).\n\n"
           "  --out DIR             output directory (created if missing)\n"
           "  --resolution R        image side: 32, 64 or 128 (required)\n"
           "  --count N             images in all three splits (200000)\n"
           "  --contour-length C    paddles per target snake: 14 (LRA's hard split), 9 or 6\n"
           "  --seed S              seed of the generator (0)\n");
}

/* Checks the options, then writes the three splits. */
static int write_pathfinder(const char *cmd, const char *out, long long resolution,
                            long long contour, long long count, long long seed)
{
    if (resolution != 32 && resolution != 64 && resolution != 128) {
        fprintf(stderr, "dimix %s: --resolution takes 32, 64 or 128, not %lld\n", cmd,
                resolution);
        return 2;
    }
    if (contour != 6 && contour != 9 && contour != 14) {
        fprintf(stderr, "dimix %s: --contour-length takes 6, 9 or 14, not %lld\n", cmd, contour);
        return 2;
    }
    dmx_pathfinder_config cfg;
    if (dmx_pathfinder_config_default(&cfg, (int)resolution, (int)contour) != DMX_OK)
        return dmx_app_fail(cmd, "configuring the generator");
    cfg.seed = (uint64_t)seed;
    const char *splits[3] = {"train", "val", "test"};
    int64_t counts[3] = {count * 8 / 10, count / 10, 0};
    counts[2] = count - counts[0] - counts[1];
    progress_line p;
    start_progress(&p, "pathfinder");
    dmx_status s = dmx_pathfinder_write_splits(&cfg, out, counts[0], counts[1], counts[2],
                                               show_progress, &p);
    for (int k = 0; k < 3 && s == DMX_OK; k++) {
        char name[256];
        s = dmx_pathfinder_split_name(&cfg, splits[k], name, sizeof name);
        if (s == DMX_OK)
            printf("wrote %s/%s (%lld images)\n", out, name, (long long)counts[k]);
    }
    if (s == DMX_OK)
        printf("in %.1f s\n", seconds_since(&p.start));
    return finish(cmd, s, &p);
}

static int gen_pathfinder(int argc, char **argv)
{
    const char *cmd = "lra gen pathfinder", *out = NULL;
    long long resolution = 0, contour = 14, count = 200000, seed = 0;
    for (int i = 1; i < argc; i++) {
        int ok = 1;
        if (is_help(argv[i])) {
            pathfinder_usage();
            return 0;
        } else if (strcmp(argv[i], "--out") == 0) {
            ok = text_option(cmd, argc, argv, &i, &out);
        } else if (strcmp(argv[i], "--resolution") == 0) {
            ok = int_option(cmd, argc, argv, &i, 1, 1 << 16, &resolution);
        } else if (strcmp(argv[i], "--count") == 0) {
            ok = int_option(cmd, argc, argv, &i, 0, 100000000, &count);
        } else if (strcmp(argv[i], "--contour-length") == 0) {
            ok = int_option(cmd, argc, argv, &i, 1, 1000, &contour);
        } else if (strcmp(argv[i], "--seed") == 0) {
            ok = int_option(cmd, argc, argv, &i, 0, INT64_MAX, &seed);
        } else {
            fprintf(stderr, "dimix %s: unknown option '%s' (try --help)\n", cmd, argv[i]);
            return 2;
        }
        if (!ok)
            return 2;
    }
    if (!out || !resolution) {
        fprintf(stderr, "dimix %s: --out DIR and --resolution R are required (try --help)\n",
                cmd);
        return 2;
    }
    return write_pathfinder(cmd, out, resolution, contour, count, seed);
}
