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
    const char *task, *data, *preset, *device, *out, *resume, *schedule, *eval_split;
    const char *knobs[MAX_KNOBS];
    int n_knobs;
    long long steps, stop_after, batch, warmup, eval_batches, seed, contour_length;
    double lr, min_lr, weight_decay, clip, label_smoothing;
} train_args;

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
            "optimisation (AdamW, the paper's recipe by default):\n"
            "  --steps N           optimizer steps (ListOps 5000, Pathfinder 62400)\n"
            "  --stop-after N      stop (with a checkpoint) after N steps in all; --resume\n"
            "                      goes on towards --steps, as if never stopped\n"
            "  --batch N           sequences per step (ListOps 32, Pathfinder 256)\n"
            "  --lr X (1e-4)  --warmup STEPS (ListOps 1000, Pathfinder 312)  --min-lr X (0)\n"
            "  --schedule linear|cosine|constant (linear)  --weight-decay X (0)\n"
            "  --clip NORM (0: off)  --label-smoothing X (0)  --seed N (1)\n"
            "output:\n"
            "  --out DIR           log.csv, epochs.csv, curves.svg, checkpoint.safetensors\n"
            "                      (default runs/lra-<task>-<time>)\n"
            "  --resume FILE       continue from a checkpoint exactly where it stopped (give\n"
            "                      the same --data, --steps and optimisation options)\n"
            "  --eval-batches N    evaluate on at most N batches (0: all)\n\n"
            "Ctrl-C writes a checkpoint and stops; --resume continues bit for bit.\n"
            "Exit status: 0 done, 1 a failure, 2 bad usage, 130 stopped by Ctrl-C.\n");
}

static const task_recipe *recipe_of(const char *task)
{
    for (size_t i = 0; task && i < sizeof recipes / sizeof recipes[0]; i++)
        if (strcmp(recipes[i].task, task) == 0)
            return &recipes[i];
    return NULL;
}

/* Reads one option at argv[*i]; returns 1, 0 (bad value: exit 2) or -1 (unknown option). */
static int parse_one(int argc, char **argv, int *i, train_args *a)
{
    const char *k = argv[*i];
    static const struct {
        const char *flag;
        size_t offset;
    } texts[] = {
        {"--task", offsetof(train_args, task)},       {"--data", offsetof(train_args, data)},
        {"--preset", offsetof(train_args, preset)},   {"--device", offsetof(train_args, device)},
        {"--out", offsetof(train_args, out)},         {"--resume", offsetof(train_args, resume)},
        {"--schedule", offsetof(train_args, schedule)},
        {"--eval-split", offsetof(train_args, eval_split)},
    };
    static const struct {
        const char *flag;
        size_t offset;
        long long lo, hi;
    } ints[] = {
        {"--steps", offsetof(train_args, steps), 1, 1ll << 40},
        {"--stop-after", offsetof(train_args, stop_after), 1, 1ll << 40},
        {"--batch", offsetof(train_args, batch), 1, 1 << 20},
        {"--warmup", offsetof(train_args, warmup), 0, 1ll << 40},
        {"--eval-batches", offsetof(train_args, eval_batches), 0, 1ll << 40},
        {"--seed", offsetof(train_args, seed), 0, 1ll << 62},
        {"--contour-length", offsetof(train_args, contour_length), 1, 1000},
    };
    static const struct {
        const char *flag;
        size_t offset;
        double hi;
    } reals[] = {
        {"--lr", offsetof(train_args, lr), 10},
        {"--min-lr", offsetof(train_args, min_lr), 10},
        {"--weight-decay", offsetof(train_args, weight_decay), 10},
        {"--clip", offsetof(train_args, clip), 1e9},
        {"--label-smoothing", offsetof(train_args, label_smoothing), 1},
    };
    for (size_t t = 0; t < sizeof texts / sizeof texts[0]; t++)
        if (strcmp(k, texts[t].flag) == 0)
            return dmx_cli_text(cmd, argc, argv, i,
                                (const char **)((char *)a + texts[t].offset));
    for (size_t t = 0; t < sizeof ints / sizeof ints[0]; t++)
        if (strcmp(k, ints[t].flag) == 0)
            return dmx_cli_int(cmd, argc, argv, i, ints[t].lo, ints[t].hi,
                               (long long *)((char *)a + ints[t].offset));
    for (size_t t = 0; t < sizeof reals / sizeof reals[0]; t++)
        if (strcmp(k, reals[t].flag) == 0)
            return dmx_cli_float(cmd, argc, argv, i, 0, reals[t].hi,
                                 (double *)((char *)a + reals[t].offset));
    if (k[0] != '-' && strchr(k, '=') && a->n_knobs < MAX_KNOBS) {
        a->knobs[a->n_knobs++] = k;
        return 1;
    }
    return -1;
}

/* 0 to go on, else the exit code. Task defaults fill what the command line left out. */
static int parse_args(int argc, char **argv, train_args *a)
{
    *a = (train_args){.schedule = "linear", .eval_split = "test", .lr = 1e-4, .seed = 1,
                      .contour_length = 14, .steps = -1, .batch = -1, .warmup = -1};
    for (int i = 1; i < argc; i++) {
        int ok = parse_one(argc, argv, &i, a);
        if (ok == 0)
            return 2;
        if (ok < 0) {
            fprintf(stderr, "dimix %s: unknown option '%s' (try --help)\n", cmd, argv[i]);
            return 2;
        }
    }
    const task_recipe *r = recipe_of(a->task);
    if (!r || !a->data) {
        fprintf(stderr, "dimix %s: needs --task listops|pathfinder and --data DIR (try --help)"
                "\n", cmd);
        return 2;
    }
    if (strcmp(a->eval_split, "test") != 0 && strcmp(a->eval_split, "val") != 0) {
        fprintf(stderr, "dimix %s: --eval-split takes test or val, not '%s'\n", cmd,
                a->eval_split);
        return 2;
    }
    struct stat st;
    if (stat(a->data, &st) != 0 || !S_ISDIR(st.st_mode)) {
        fprintf(stderr, "dimix %s: --data must be a directory holding the train and %s splits, "
                "not '%s'\n", cmd, a->eval_split, a->data);
        return 2;
    }
    if (strcmp(a->schedule, "linear") && strcmp(a->schedule, "cosine") &&
        strcmp(a->schedule, "constant")) {
        fprintf(stderr, "dimix %s: --schedule takes linear, cosine or constant, not '%s'\n", cmd,
                a->schedule);
        return 2;
    }
    if (a->resume && (a->preset || a->n_knobs)) {
        fprintf(stderr, "dimix %s: --resume takes the model from the checkpoint; drop --preset "
                "and the knobs\n", cmd);
        return 2;
    }
    a->preset = a->preset ? a->preset : r->preset;
    a->steps = a->steps > 0 ? a->steps : r->steps;
    a->batch = a->batch > 0 ? a->batch : r->batch;
    a->warmup = a->warmup >= 0 ? a->warmup : r->warmup;
    return 0;
}

static void fill_options(const train_args *a, int64_t batches_per_epoch, dmx_train_options *o)
{
    dmx_schedule_kind sk = strcmp(a->schedule, "cosine") == 0     ? DMX_SCHEDULE_COSINE
                           : strcmp(a->schedule, "constant") == 0 ? DMX_SCHEDULE_CONSTANT
                                                                  : DMX_SCHEDULE_LINEAR;
    *o = (dmx_train_options){
        .optim = {.kind = DMX_OPTIM_ADAMW, .weight_decay = (float)a->weight_decay},
        .schedule = {.kind = sk, .lr = (float)a->lr, .min_lr = (float)a->min_lr,
                     .warmup_steps = a->warmup, .total_steps = a->steps},
        .epochs = (a->steps + batches_per_epoch - 1) / batches_per_epoch,
        .max_steps = a->stop_after > 0 && a->stop_after < a->steps ? a->stop_after : a->steps,
        .label_smoothing = (float)a->label_smoothing,
        .clip_norm = (float)a->clip, .seed = (uint64_t)a->seed, .out_dir = a->out,
        .resume = a->resume, .eval_each_epoch = true, .eval_max_batches = a->eval_batches};
    snprintf(o->description, sizeof o->description,
             "dimix lra train task=%s optimizer=adamw lr=%g min_lr=%g weight_decay=%g "
             "schedule=%s warmup=%lld steps=%lld batch=%lld label_smoothing=%g clip=%g "
             "seed=%lld", a->task, a->lr, a->min_lr, a->weight_decay, a->schedule, a->warmup,
             a->steps, a->batch, a->label_smoothing, a->clip, a->seed);
}

/* Everything the command opened, released in one place. */
typedef struct train_run {
    dmx_device *dev;
    dmx_model *model;
    dmx_ctx *ctx;
    dmx_lra_tokens train_set, eval_set;
    dmx_lra_batches *train, *eval;
    uint64_t data_seed; /* the shuffle's seed: the checkpoint's when resuming */
    char out_dir[512];
} train_run;

static void release(train_run *r)
{
    dmx_lra_batches_destroy(r->train);
    dmx_lra_batches_destroy(r->eval);
    dmx_lra_tokens_free(&r->train_set);
    dmx_lra_tokens_free(&r->eval_set);
    dmx_ctx_destroy(r->ctx);
    dmx_model_destroy(r->model);
    dmx_device_close(r->dev);
}

/* The model: from the resume checkpoint (with its seed), or the preset and knobs. */
static int open_model(const train_args *a, train_run *r)
{
    if (dmx_app_open_device(cmd, a->device, &r->dev) != DMX_OK)
        return dmx_app_fail(cmd, "opening the device");
    r->data_seed = (uint64_t)a->seed;
    if (a->resume) {
        dmx_train_state st;
        if (dmx_checkpoint_load_model(a->resume, r->dev, &r->model, &st) != DMX_OK)
            return dmx_app_fail(cmd, "resuming");
        r->data_seed = st.seed;
    } else {
        dmx_model_config cfg;
        if (dmx_lra_cli_config(a->preset, a->knobs, a->n_knobs, &cfg) != DMX_OK)
            return dmx_app_fail(cmd, "model configuration");
        if (dmx_model_create(r->dev, &cfg, (uint64_t)a->seed, &r->model) != DMX_OK)
            return dmx_app_fail(cmd, "creating the model");
    }
    if (strcmp(dmx_model_config_of(r->model)->family, "lra") != 0) {
        fprintf(stderr, "dimix %s: %s is a %s model, not an lra one\n", cmd, a->resume,
                dmx_model_config_of(r->model)->family);
        return 1;
    }
    return 0;
}

static int open_data(const train_args *a, train_run *r)
{
    const dmx_model_config *cfg = dmx_model_config_of(r->model);
    char train_path[1024], eval_path[1024];
    if (dmx_lra_cli_load(a->task, a->data, "train", (int)a->contour_length, cfg, &r->train_set,
                         train_path, sizeof train_path) != DMX_OK ||
        dmx_lra_cli_load(a->task, a->data, a->eval_split, (int)a->contour_length, cfg,
                         &r->eval_set, eval_path, sizeof eval_path) != DMX_OK)
        return dmx_app_fail(cmd, "reading the data");
    dmx_lra_batch_options to = {.batch_size = (int)a->batch, .shuffle = true, .drop_last = true,
                                .seed = r->data_seed},
                          eo = {.batch_size = (int)a->batch};
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

static int make_out_dir(const train_args *a, train_run *r)
{
    if (a->out) {
        snprintf(r->out_dir, sizeof r->out_dir, "%s", a->out);
    } else {
        char stamp[32];
        time_t now = time(NULL);
        strftime(stamp, sizeof stamp, "%Y%m%d-%H%M%S", localtime(&now));
        snprintf(r->out_dir, sizeof r->out_dir, "runs/lra-%s-%s", a->task, stamp);
    }
    if (dmx_make_dirs(r->out_dir) != DMX_OK)
        return dmx_app_fail(cmd, "output directory");
    return 0;
}

static int train(const train_args *a, train_run *r)
{
    dmx_batch_source train_src = dmx_lra_batches_source(r->train);
    dmx_batch_source eval_src = dmx_lra_batches_source(r->eval);
    const int64_t bpe = train_src.batches_per_epoch(train_src.self);
    train_args with_out = *a;
    with_out.out = r->out_dir;
    dmx_train_options opts;
    fill_options(&with_out, bpe, &opts);
    if (dmx_ctx_create(r->dev, &r->ctx) != DMX_OK)
        return dmx_app_fail(cmd, "creating a context");
    printf("training: %lld steps of %lld sequences (%lld per epoch), lr %g %s, warmup %lld; "
           "output %s\n", a->steps, a->batch, (long long)bpe, a->lr, a->schedule, a->warmup,
           r->out_dir);
    fflush(stdout);
    dmx_train_progress progress = {.epochs = opts.epochs, .batch = a->batch, .unit = "seq",
                                   .examples = "sequences"};
    dmx_train_result res;
    dmx_status s = dmx_train_with_progress(r->ctx, r->model, &train_src, &eval_src, &opts,
                                           &progress, &res);
    if (s == DMX_ERR_INTERRUPTED) {
        printf("stopped at step %lld; resume with: dimix lra train --task %s --data %s "
               "--resume %s/checkpoint.safetensors --out %s (and the same options)\n",
               (long long)res.steps, a->task, a->data, r->out_dir, r->out_dir);
        return 130;
    }
    if (s != DMX_OK)
        return dmx_app_fail(cmd, "training");
    char acc[64] = "no evaluation ran";
    if (res.test_accuracy >= 0)
        snprintf(acc, sizeof acc, "%s accuracy %.2f%%", a->eval_split,
                 100.0 * res.test_accuracy);
    printf("done: %lld steps in %.1f s; %s; checkpoint %s/checkpoint.safetensors, curves "
           "%s/curves.svg\n", (long long)res.steps, res.seconds, acc, r->out_dir, r->out_dir);
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
    int rc = parse_args(argc, argv, &a);
    if (rc)
        return rc;
    train_run r = {0};
    rc = open_model(&a, &r);
    if (rc == 0)
        rc = open_data(&a, &r);
    if (rc == 0)
        rc = make_out_dir(&a, &r);
    if (rc == 0)
        rc = train(&a, &r);
    release(&r);
    return rc;
}
