/* dimix lra train: the lra model on ListOps or Pathfinder through dmx_train, with the
 * behaviour of `dimix train`: a progress bar, per-epoch test accuracy, log.csv / epochs.csv /
 * curves.svg, atomic checkpoints, exact resume and a checkpoint on Ctrl-C. Defaults are the
 * paper's LRA recipe (notes/papers.md 1.10): AdamW without weight decay, lr 1e-4, linear
 * warmup then linear decay; ListOps batch 32, warmup 1000, 5000 steps; Pathfinder-32 batch
 * 256, warmup 312, 62400 steps. */
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "app_data.h"
#include "app_dist.h"
#include "cli_options.h"
#include "commands.h"
#include "dimix/lra_batches.h"
#include "io/make_dirs.h"
#include "lra_cli.h"
#include "train_progress.h"

static const char *const cmd = "lra train";

#define MAX_KNOBS 32

typedef struct task_recipe {
    const char *task, *preset;
    long long batch, warmup, steps;
} task_recipe;

static const task_recipe recipes[] = {
    {"listops", "lra-listops", 32, 1000, 5000},
    {"pathfinder", "lra-pathfinder", 256, 312, 62400},
};

typedef struct train_args {
    const char *task, *data, *preset, *device, *out, *resume, *schedule, *eval_split, *json;
    const char *overlap;
    const char *knobs[MAX_KNOBS];
    int n_knobs, extend;
    long long steps, max_steps, batch, warmup, eval_batches, seed, contour_length, bucket;
    double lr, min_lr, weight_decay, clip, label_smoothing;
} train_args;

#define A(field) offsetof(train_args, field)
/* Every option of dimix lra train. Settings (true) are recorded in the checkpoint and taken
 * over by --resume; of them only --steps may change on resume, with --extend. */
static const dmx_opt options[] = {
    {"--data", DMX_OPT_TEXT, A(data), 0, 0, false, NULL},
    {"--preset", DMX_OPT_TEXT, A(preset), 0, 0, false, NULL},
    {"--device", DMX_OPT_TEXT, A(device), 0, 0, false, NULL},
    {"--out", DMX_OPT_TEXT, A(out), 0, 0, false, NULL},
    {"--resume", DMX_OPT_TEXT, A(resume), 0, 0, false, NULL},
    {"--eval-split", DMX_OPT_TEXT, A(eval_split), 0, 0, false, NULL},
    {"--json", DMX_OPT_TEXT, A(json), 0, 0, false, NULL},
    {"--max-steps", DMX_OPT_INT, A(max_steps), 1, 1ll << 40, false, "--stop-after"},
    {"--eval-batches", DMX_OPT_INT, A(eval_batches), 0, 1ll << 40, false, NULL},
    {"--extend", DMX_OPT_FLAG, A(extend), 0, 0, false, NULL},
    {"--allreduce-overlap", DMX_OPT_TEXT, A(overlap), 0, 0, false, NULL},
    {"--allreduce-bucket", DMX_OPT_INT, A(bucket), 1, 1ll << 40, false, NULL},
    {"--task", DMX_OPT_TEXT, A(task), 0, 0, true, NULL},
    {"--contour-length", DMX_OPT_INT, A(contour_length), 1, 1000, true, NULL},
    {"--steps", DMX_OPT_INT, A(steps), 1, 1ll << 40, true, NULL},
    {"--batch", DMX_OPT_INT, A(batch), 1, 1 << 20, true, "--batch-size"},
    {"--lr", DMX_OPT_REAL, A(lr), 0, 10, true, NULL},
    {"--min-lr", DMX_OPT_REAL, A(min_lr), 0, 10, true, NULL},
    {"--weight-decay", DMX_OPT_REAL, A(weight_decay), 0, 10, true, NULL},
    {"--schedule", DMX_OPT_TEXT, A(schedule), 0, 0, true, NULL},
    {"--warmup", DMX_OPT_INT, A(warmup), 0, 1ll << 40, true, NULL},
    {"--clip", DMX_OPT_REAL, A(clip), 0, 1e9, true, NULL},
    {"--label-smoothing", DMX_OPT_REAL, A(label_smoothing), 0, 1, true, NULL},
    {"--seed", DMX_OPT_INT, A(seed), 0, DMX_OPT_NO_LIMIT, true, NULL},
};
#undef A
enum { N_OPTIONS = (int)(sizeof options / sizeof options[0]) };
_Static_assert(N_OPTIONS <= DMX_OPT_MAX, "raise DMX_OPT_MAX");

static int opt_index(const char *name)
{
    for (int j = 0; j < N_OPTIONS; j++)
        if (strcmp(options[j].name, name) == 0)
            return j;
    return 0;
}

static void usage(FILE *out)
{
    fprintf(out,
            "usage: dimix lra train --task listops|pathfinder --data DIR [--preset NAME]\n"
            "                       [KNOB=VALUE ...] [options]\n\n"
            "Trains the LRA classifier (SPEC 5 \"lra\") and reports test accuracy after every\n"
            "epoch (a pass over the training split) and at the end.\n\n"
            "model:\n"
            "  --preset NAME       lra-listops (default for listops), lra-listops-dense,\n"
            "                      lra-pathfinder (default for pathfinder), lra-pathfinder-dense\n"
            "  KNOB=VALUE          change one knob, e.g. seq_len=512 attention=dense dropout=0\n"
            "data and device:\n"
            "  --data DIR          written by `dimix lra gen` (ListOps basic_*.tsv, Pathfinder\n"
            "                      pathfinder<R>_cl<C>_*.pfb with R^2 = seq_len)\n"
            "  --contour-length C  Pathfinder split to read (14)\n"
            "  --eval-split NAME   test or val (test)\n"
            "  --device NAME       cpu | opencl:N | vulkan:N | auto (default: $DIMIX_DEVICE or auto)\n"
            "                      under mpirun: as dimix train's (docs/distributed.md)\n"
            "optimisation (AdamW, the paper's recipe by default):\n"
            "  --steps N           optimizer steps (ListOps 5000, Pathfinder 62400)\n"
            "  --max-steps N       stop (with a checkpoint) after N steps in all; the schedule\n"
            "                      stays that of --steps, and --resume goes on towards --steps\n"
            "                      as if never stopped (--stop-after is the same)\n"
            "  --batch N           sequences per step (ListOps 32, Pathfinder 256; --batch-size\n"
            "                      is the same)\n"
            "  --lr X (1e-4)  --warmup STEPS (ListOps 1000, Pathfinder 312)  --min-lr X (0)\n"
            "  --schedule linear|cosine|constant (linear)  --weight-decay X (0)\n"
            "  --clip NORM (0: off)  --label-smoothing X (0)  --seed N (1)\n"
            "output:\n"
            "  --out DIR           log.csv, epochs.csv, curves.svg, checkpoint.safetensors\n"
            "                      (default runs/lra-<task>-<time>)\n"
            "                      (with --resume, the checkpoint's folder; locked while it runs)\n"
            "  --resume FILE       continue from a checkpoint exactly where it stopped: the model,\n"
            "                      task, data and every optimisation setting come from it; giving\n"
            "                      one with another value is an error (exit 2)\n"
            "  --extend            with --resume: --steps N may raise the steps\n"
            "  --eval-batches N    evaluate on at most N batches (0: all)\n"
            "  --json FILE         a JSON summary ('-': stdout, the text goes to stderr)\n"
            "  --allreduce-overlap on|off, --allreduce-bucket N  under mpirun: as dimix train's\n\n"
            "Ctrl-C writes a checkpoint and stops; --resume continues bit for bit.\n"
            "Exit status: 0 done, 1 a failure, 2 bad usage or a resume that contradicts the\n"
            "checkpoint, 130 stopped by Ctrl-C.\n");
}

static const task_recipe *recipe_of(const char *task)
{
    for (size_t i = 0; task && i < sizeof recipes / sizeof recipes[0]; i++)
        if (strcmp(recipes[i].task, task) == 0)
            return &recipes[i];
    return NULL;
}

/* 0 to go on, else the exit code. Task defaults fill what the command line left out. */
/* 0 to go on, else the exit code. Task defaults fill what the command line left out (after
 * the checkpoint's settings, on resume: finish_args). */
static int parse_args(int argc, char **argv, train_args *a, bool *given)
{
    *a = (train_args){.schedule = "linear", .eval_split = "test", .lr = 1e-4, .seed = 1,
                      .contour_length = 14, .steps = -1, .batch = -1, .warmup = -1};
    for (int i = 1; i < argc; i++) {
        int ok = dmx_opt_parse(cmd, options, N_OPTIONS, argc, argv, &i, a, given);
        if (ok == 0)
            return 2;
        if (ok > 0)
            continue;
        if (argv[i][0] != '-' && strchr(argv[i], '=') && a->n_knobs < MAX_KNOBS) {
            a->knobs[a->n_knobs++] = argv[i];
            continue;
        }
        fprintf(stderr, "dimix %s: unknown option '%s' (try --help)\n", cmd, argv[i]);
        return 2;
    }
    dmx_train_options check = {0};
    if (dmx_app_dist_sum_options(cmd, a->overlap, a->bucket, &check))
        return 2;
    if (!a->resume && (!recipe_of(a->task) || !a->data)) {
        fprintf(stderr, "dimix %s: needs --task listops|pathfinder and --data DIR (try --help)"
                "\n", cmd);
        return 2;
    }
    if (a->resume && (a->preset || a->n_knobs)) {
        fprintf(stderr, "dimix %s: --resume takes the model from the checkpoint; drop --preset "
                "and the knobs\n", cmd);
        return 2;
    }
    if (a->extend && (!a->resume || !given[opt_index("--steps")])) {
        fprintf(stderr, "dimix %s: --extend goes with --resume FILE and --steps N\n", cmd);
        return 2;
    }
    return 0;
}

/* Checks what the command line and the checkpoint left, then fills the task's defaults. */
static int finish_args(train_args *a)
{
    const task_recipe *r = recipe_of(a->task);
    if (!r) {
        fprintf(stderr, "dimix %s: --task takes listops or pathfinder, not '%s'\n", cmd,
                a->task ? a->task : "");
        return 2;
    }
    if (strcmp(a->eval_split, "test") != 0 && strcmp(a->eval_split, "val") != 0) {
        fprintf(stderr, "dimix %s: --eval-split takes test or val, not '%s'\n", cmd,
                a->eval_split);
        return 2;
    }
    struct stat st;
    if (!a->data || stat(a->data, &st) != 0 || !S_ISDIR(st.st_mode)) {
        fprintf(stderr, "dimix %s: --data must be a directory holding the train and %s splits, "
                "not '%s'\n", cmd, a->eval_split, a->data ? a->data : "");
        return 2;
    }
    if (strcmp(a->schedule, "linear") && strcmp(a->schedule, "cosine") &&
        strcmp(a->schedule, "constant")) {
        fprintf(stderr, "dimix %s: --schedule takes linear, cosine or constant, not '%s'\n", cmd,
                a->schedule);
        return 2;
    }
    a->preset = a->preset ? a->preset : r->preset;
    a->steps = a->steps > 0 ? a->steps : r->steps;
    a->batch = a->batch > 0 ? a->batch : r->batch;
    a->warmup = a->warmup >= 0 ? a->warmup : r->warmup;
    return 0;
}

static void fill_options(const train_args *a, int64_t batches_per_epoch, const char *settings,
                         dmx_train_options *o)
{
    dmx_schedule_kind sk = strcmp(a->schedule, "cosine") == 0     ? DMX_SCHEDULE_COSINE
                           : strcmp(a->schedule, "constant") == 0 ? DMX_SCHEDULE_CONSTANT
                                                                  : DMX_SCHEDULE_LINEAR;
    *o = (dmx_train_options){
        .optim = {.kind = DMX_OPTIM_ADAMW, .weight_decay = (float)a->weight_decay},
        .schedule = {.kind = sk, .lr = (float)a->lr, .min_lr = (float)a->min_lr,
                     .warmup_steps = a->warmup, .total_steps = a->steps},
        .epochs = (a->steps + batches_per_epoch - 1) / batches_per_epoch,
        .max_steps = a->max_steps > 0 && a->max_steps < a->steps ? a->max_steps : a->steps,
        .label_smoothing = (float)a->label_smoothing,
        .clip_norm = (float)a->clip, .seed = (uint64_t)a->seed, .out_dir = a->out,
        .eval_each_epoch = true, .eval_max_batches = a->eval_batches};
    snprintf(o->description, sizeof o->description, "%s", settings);
}

/* Everything the command opened, released in one place. */
typedef struct train_run {
    dmx_device *dev;
    dmx_model *model;
    dmx_ctx *ctx;
    dmx_checkpoint *ckpt; /* the resume checkpoint, opened once */
    dmx_train_state state;
    dmx_model_config cfg;
    dmx_lra_tokens train_set, eval_set;
    dmx_lra_batches *train, *eval;
    uint64_t data_seed; /* the shuffle's seed: the checkpoint's when resuming */
    char out_dir[512], data[1024];
    int lock_fd;
    FILE *json;
    dmx_dist dist; /* one rank, or this process's place in an MPI job */
} train_run;

static void release(train_run *r)
{
    dmx_lra_batches_destroy(r->train);
    dmx_lra_batches_destroy(r->eval);
    dmx_lra_tokens_free(&r->train_set);
    dmx_lra_tokens_free(&r->eval_set);
    dmx_ctx_destroy(r->ctx);
    dmx_model_destroy(r->model);
    dmx_checkpoint_close(r->ckpt);
    dmx_device_close(r->dev);
    if (r->lock_fd >= 0)
        close(r->lock_fd);
    dmx_cli_json_close(r->json);
}

/* Resume: the checkpoint (opened once) gives the model and the settings; what contradicts
 * them is refused (exit 2). */
static int take_over(train_args *a, const bool *given, train_run *r)
{
    if (dmx_checkpoint_open(a->resume, &r->ckpt) != DMX_OK ||
        dmx_checkpoint_config(r->ckpt, &r->cfg) != DMX_OK ||
        dmx_checkpoint_state(r->ckpt, &r->state) != DMX_OK)
        return dmx_app_fail(cmd, "resuming");
    if (strcmp(r->cfg.family, "lra") != 0) {
        fprintf(stderr, "dimix %s: %s is a %s model, not an lra one\n", cmd, a->resume,
                r->cfg.family);
        return 2;
    }
    char taken[DMX_CHECKPOINT_TEXT], missing[512];
    int rc = dmx_opt_take_over(cmd, options, N_OPTIONS, r->state.train, a, given, "--steps",
                               a->extend, taken, sizeof taken, missing, sizeof missing);
    if (rc)
        return rc;
    if (!given[opt_index("--data")] &&
        dmx_opt_recorded(r->state.train, "data", r->data, sizeof r->data))
        a->data = r->data;
    printf("resuming %s at step %lld\n  from the checkpoint: the model, %s%s%s\n", a->resume,
           (long long)r->state.step, taken, given[opt_index("--data")] ? "" : " data=",
           given[opt_index("--data")] ? "" : a->data ? a->data : "(not recorded)");
    if (*missing)
        printf("  not recorded in the checkpoint (the command line's or the default): %s\n",
               missing);
    r->data_seed = r->state.seed;
    return 0;
}

/* The model: from the resume checkpoint (with its seed), or the preset and knobs. */
static int open_model(train_args *a, const bool *given, train_run *r)
{
    r->data_seed = (uint64_t)a->seed;
    if (a->resume) {
        int rc = take_over(a, given, r);
        if (rc)
            return rc;
    }
    int rc = finish_args(a);
    if (rc)
        return rc;
    if (!a->resume && dmx_lra_cli_config(a->preset, a->knobs, a->n_knobs, &r->cfg) != DMX_OK)
        return dmx_app_fail(cmd, "model configuration");
    char device[64], label[48];
    rc = dmx_app_dist_device(cmd, a->device, &r->dist, device, sizeof device);
    if (rc)
        return rc;
    snprintf(label, sizeof label, r->dist.size > 1 ? "%s (rank %d/%d)" : "%s", cmd,
             r->dist.rank, r->dist.size);
    if (dmx_app_open_device(label, device, &r->dev) != DMX_OK)
        return dmx_app_fail(cmd, "opening the device");
    if (dmx_model_create(r->dev, &r->cfg, (uint64_t)a->seed, &r->model) != DMX_OK)
        return dmx_app_fail(cmd, "creating the model");
    return 0;
}

static int open_data(const train_args *a, train_run *r)
{
    const dmx_model_config *cfg = &r->cfg;
    char train_path[1024], eval_path[1024];
    dmx_status s = dmx_lra_cli_load(a->task, a->data, "train", (int)a->contour_length, cfg,
                                    &r->train_set, train_path, sizeof train_path);
    if (s == DMX_OK)
        s = dmx_lra_cli_load(a->task, a->data, a->eval_split, (int)a->contour_length, cfg,
                             &r->eval_set, eval_path, sizeof eval_path);
    if (s != DMX_OK) {
        dmx_app_fail(cmd, "reading the data");
        return s == DMX_ERR_SHAPE ? 2 : 1; /* data that does not fit the model: exit 2 */
    }
    char recorded[64], count[32];
    snprintf(count, sizeof count, "%lld", (long long)r->train_set.count);
    if (a->resume && dmx_opt_recorded(r->state.train, "examples", recorded, sizeof recorded) &&
        strcmp(recorded, count) != 0) {
        fprintf(stderr, "dimix %s: %s has %s sequences, the checkpoint's run had %s: its "
                "position means nothing on other data\n", cmd, train_path, count, recorded);
        return 2;
    }
    dmx_lra_batch_options to = {.batch_size = (int)a->batch, .shuffle = true, .drop_last = true,
                                .seed = r->data_seed, .part = r->dist.rank,
                                .parts = r->dist.size},
                          eo = {.batch_size = (int)a->batch, .part = r->dist.rank,
                                .parts = r->dist.size};
    if (dmx_lra_batches_create(&r->train_set, &to, &r->train) != DMX_OK ||
        dmx_lra_batches_create(&r->eval_set, &eo, &r->eval) != DMX_OK)
        return dmx_app_fail(cmd, "batching the data");
    char text[DMX_CHECKPOINT_TEXT];
    dmx_model_config_format(cfg, text, sizeof text);
    printf("model %s: %lld parameters\n  %s\n", a->resume ? a->resume : a->preset,
           (long long)dmx_params_trainable_count(dmx_model_params(r->model)), text);
    printf("data: %s (%lld sequences), %s (%lld) of %d tokens, %d classes\n", train_path,
           (long long)r->train_set.count, eval_path, (long long)r->eval_set.count, cfg->seq_len,
           r->train_set.num_classes);
    return 0;
}

/* Whether a resumed run has nothing left to train (said so, naming no files). */
static bool already_done(const train_args *a, const train_run *r)
{
    if (!a->resume)
        return false;
    if (r->state.step >= a->steps) {
        printf("nothing to train: %s is at step %lld of its %lld steps; nothing was written "
               "(--extend --steps N trains longer)\n", a->resume, (long long)r->state.step,
               a->steps);
        return true;
    }
    if (a->max_steps > 0 && r->state.step >= a->max_steps) {
        printf("nothing to train: %s is at step %lld, already at --max-steps %lld (resume "
               "without it to go on to step %lld)\n", a->resume, (long long)r->state.step,
               a->max_steps, a->steps);
        return true;
    }
    return false;
}

static int make_out_dir(const train_args *a, train_run *r)
{
    if (r->dist.rank > 0) /* rank 0 alone writes the run's files */
        return 0;
    if (a->out) {
        snprintf(r->out_dir, sizeof r->out_dir, "%s", a->out);
    } else if (a->resume) {
        dmx_app_dirname(a->resume, r->out_dir, sizeof r->out_dir);
    } else {
        char stamp[32];
        time_t now = time(NULL);
        strftime(stamp, sizeof stamp, "%Y%m%d-%H%M%S", localtime(&now));
        snprintf(r->out_dir, sizeof r->out_dir, "runs/lra-%s-%s", a->task, stamp);
    }
    if (dmx_make_dirs(r->out_dir) != DMX_OK)
        return dmx_app_fail(cmd, "output directory");
    return dmx_app_lock_run_dir(cmd, r->out_dir, &r->lock_fd);
}

static void write_json(const train_args *a, const train_run *r, const dmx_train_result *res,
                       dmx_status s)
{
    FILE *f = r->json;
    fprintf(f, "{\"command\": \"lra train\", \"status\": ");
    dmx_cli_json_string(f, s == DMX_OK ? "done" : s == DMX_ERR_INTERRUPTED ? "stopped"
                                                                          : "failed");
    fprintf(f, ", \"task\": ");
    dmx_cli_json_string(f, a->task);
    fprintf(f, ", \"parameters\": %lld, \"first_step\": %lld, \"steps\": %lld, "
            "\"seconds\": %.3f, \"eval_split\": ",
            (long long)dmx_params_trainable_count(dmx_model_params(r->model)),
            (long long)res->first_step, (long long)res->steps, res->seconds);
    dmx_cli_json_string(f, a->eval_split);
    if (res->test_accuracy >= 0)
        fprintf(f, ", \"accuracy\": %.6f", res->test_accuracy);
    else
        fprintf(f, ", \"accuracy\": null");
    fprintf(f, ", \"out\": ");
    dmx_cli_json_string(f, r->out_dir);
    char path[600];
    snprintf(path, sizeof path, "%s/checkpoint.safetensors", r->out_dir);
    fprintf(f, ", \"checkpoint\": ");
    if (res->saved)
        dmx_cli_json_string(f, path);
    else
        fprintf(f, "null");
    fprintf(f, "}\n");
}

static int train(const train_args *a, train_run *r)
{
    dmx_batch_source train_src = dmx_lra_batches_source(r->train);
    dmx_batch_source eval_src = dmx_lra_batches_source(r->eval);
    const int64_t bpe = train_src.batches_per_epoch(train_src.self);
    train_args with_out = *a;
    with_out.out = r->dist.rank == 0 ? r->out_dir : NULL;
    char settings[DMX_CHECKPOINT_TEXT], data_words[1200];
    dmx_opt_format_settings(options, N_OPTIONS, a, settings, sizeof settings);
    snprintf(data_words, sizeof data_words, " examples=%lld data=%s",
             (long long)r->train_set.count, a->data);
    if (strlen(settings) + strlen(data_words) < sizeof settings)
        strcat(settings, data_words);
    dmx_train_options opts;
    fill_options(&with_out, bpe, settings, &opts);
    opts.resume_from = r->ckpt;
    if (r->dist.size > 1) {
        opts.dist = &r->dist;
        dmx_app_dist_sum_options(cmd, a->overlap, a->bucket, &opts);
    }
    if (dmx_ctx_create(r->dev, &r->ctx) != DMX_OK)
        return dmx_app_fail(cmd, "creating a context");
    printf("training: %lld steps of %lld sequences (%lld per epoch), lr %g %s, warmup %lld; "
           "output %s\n", a->steps, a->batch, (long long)bpe, a->lr, a->schedule, a->warmup,
           r->out_dir);
    if (a->max_steps > 0 && a->max_steps < a->steps)
        printf("--max-steps %lld: stops at step %lld; the %s schedule stays that of all %lld "
               "steps, resume to finish it\n", a->max_steps, a->max_steps, a->schedule,
               a->steps);
    fflush(stdout);
    if (r->dist.size > 1)
        printf("data-parallel over %d ranks: each takes its slice of every batch of %lld; "
               "rank 0 writes the output (dropout masks differ from one process's)\n",
               r->dist.size, a->batch);
    dmx_train_progress progress = {.epochs = opts.epochs, .batch = a->batch, .unit = "seq",
                                   .examples = "sequences", .quiet = r->dist.rank > 0};
    dmx_train_result res;
    dmx_status s = dmx_train_with_progress(r->ctx, r->model, &train_src, &eval_src, &opts,
                                           &progress, &res);
    if (r->json)
        write_json(a, r, &res, s);
    if (s == DMX_ERR_INTERRUPTED) {
        printf("stopped at step %lld; resume with: dimix lra train --resume "
               "%s/checkpoint.safetensors\n", (long long)res.steps, r->out_dir);
        return 130;
    }
    if (s != DMX_OK)
        return dmx_app_fail(cmd, "training");
    char acc[64] = "no evaluation ran";
    if (res.test_accuracy >= 0)
        snprintf(acc, sizeof acc, "%s accuracy %.2f%%", a->eval_split,
                 100.0 * res.test_accuracy);
    printf("done: %lld steps in %.1f s; %s", (long long)res.steps, res.seconds, acc);
    if (res.saved)
        printf("; checkpoint %s/checkpoint.safetensors", r->out_dir);
    if (res.curves_saved)
        printf(", curves %s/curves.svg", r->out_dir);
    printf("\n");
    if (r->dist.size > 1) {
        dmx_app_dist_print_sums(&r->dist, &res);
        printf("\n");
    }
    return 0;
}

int dmx_cmd_lra_train(int argc, char **argv)
{
    for (int i = 1; i < argc; i++)
        if (dmx_cli_is_help(argv[i])) {
            usage(stdout);
            printf("\n");
            dmx_model_config_help(stdout, "lra");
            return 0;
        }
    train_args a;
    bool given[N_OPTIONS] = {0};
    int rc = parse_args(argc, argv, &a, given);
    if (rc)
        return rc;
    train_run r = {.lock_fd = -1};
    if (dmx_app_dist_init(cmd, &r.dist) != 0)
        return 1;
    if (r.dist.rank > 0 && !freopen("/dev/null", "w", stdout)) { /* rank 0 alone prints */
        fprintf(stderr, "dimix %s: cannot silence stdout on rank %d\n", cmd, r.dist.rank);
        rc = 1;
    }
    if (rc == 0 && a.json && r.dist.rank == 0 && !(r.json = dmx_cli_json_open(cmd, a.json)))
        rc = 2;
    if (rc == 0)
        rc = open_model(&a, given, &r);
    if (rc == 0)
        rc = open_data(&a, &r);
    if (rc == 0 && already_done(&a, &r)) {
        if (r.json) /* the same in JSON: no step taken, no file written */
            fprintf(r.json, "{\"command\": \"lra train\", \"status\": \"nothing to train\", "
                    "\"first_step\": %lld, \"steps\": %lld, \"checkpoint\": null}\n",
                    (long long)r.state.step, (long long)r.state.step);
        release(&r);
        dmx_app_dist_finish(&r.dist);
        return 0;
    }
    if (rc == 0)
        rc = make_out_dir(&a, &r);
    if (rc == 0)
        rc = train(&a, &r);
    release(&r);
    if (rc != 0 && rc != 130 && r.dist.size > 1) { /* the others would wait for this rank */
        fprintf(stderr, "dimix %s (rank %d/%d): failed (status %d): ending every rank\n", cmd,
                r.dist.rank, r.dist.size, rc);
        dmx_app_dist_abort(&r.dist, rc);
    }
    dmx_app_dist_finish(&r.dist);
    return rc;
}
