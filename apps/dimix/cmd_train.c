/* dimix train: a model (preset, family, knobs) on image data, with a progress bar, per-epoch
 * test accuracy, log.csv / epochs.csv / curves.svg, atomic checkpoints, exact resume, and a
 * checkpoint on Ctrl-C. */
#include <math.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "app_data.h"
#include "app_dist.h"
#include "cli_options.h"
#include "core/error.h"
#include "io/make_dirs.h"
#include "commands.h"
#include "progress.h"
#include "train_progress.h"

typedef struct train_args {
    const char *preset, *family, *data, *device, *out, *resume, *optimizer, *schedule, *augment;
    const char *json, *overlap;
    const char *knobs[64];
    int n_knobs;
    long long epochs, batch, max_steps, warmup, eval_batches, seed, dist_check, bucket;
    double lr, min_lr, weight_decay, momentum, label_smoothing, clip;
    int nesterov, no_prefetch, extend;
} train_args;

#define A(field) offsetof(train_args, field)
/* Every option of dimix train. Settings (true) are recorded in the checkpoint and taken over
 * by --resume; of them only --epochs may change on resume, with --extend. */
static const dmx_opt options[] = {
    {"--preset", DMX_OPT_TEXT, A(preset), 0, 0, false, NULL},
    {"--model", DMX_OPT_TEXT, A(family), 0, 0, false, NULL},
    {"--data", DMX_OPT_TEXT, A(data), 0, 0, false, NULL},
    {"--device", DMX_OPT_TEXT, A(device), 0, 0, false, NULL},
    {"--out", DMX_OPT_TEXT, A(out), 0, 0, false, NULL},
    {"--resume", DMX_OPT_TEXT, A(resume), 0, 0, false, NULL},
    {"--json", DMX_OPT_TEXT, A(json), 0, 0, false, NULL},
    {"--max-steps", DMX_OPT_INT, A(max_steps), 0, 1ll << 40, false, NULL},
    {"--eval-batches", DMX_OPT_INT, A(eval_batches), 0, 1ll << 40, false, NULL},
    {"--no-prefetch", DMX_OPT_FLAG, A(no_prefetch), 0, 0, false, NULL},
    {"--extend", DMX_OPT_FLAG, A(extend), 0, 0, false, NULL},
    {"--dist-check", DMX_OPT_INT, A(dist_check), 0, 1ll << 40, false, NULL},
    {"--allreduce-overlap", DMX_OPT_TEXT, A(overlap), 0, 0, false, NULL},
    {"--allreduce-bucket", DMX_OPT_INT, A(bucket), 1, 1ll << 40, false, NULL},
    {"--optimizer", DMX_OPT_TEXT, A(optimizer), 0, 0, true, NULL},
    {"--lr", DMX_OPT_REAL, A(lr), 0, 10, true, NULL},
    {"--min-lr", DMX_OPT_REAL, A(min_lr), 0, 10, true, NULL},
    {"--weight-decay", DMX_OPT_REAL, A(weight_decay), 0, 10, true, NULL},
    {"--momentum", DMX_OPT_REAL, A(momentum), 0, 1, true, NULL},
    {"--nesterov", DMX_OPT_FLAG, A(nesterov), 0, 0, true, NULL},
    {"--schedule", DMX_OPT_TEXT, A(schedule), 0, 0, true, NULL},
    {"--warmup", DMX_OPT_INT, A(warmup), 0, 1ll << 40, true, NULL},
    {"--epochs", DMX_OPT_INT, A(epochs), 1, 1000000, true, NULL},
    {"--batch", DMX_OPT_INT, A(batch), 1, 1 << 20, true, "--batch-size"},
    {"--label-smoothing", DMX_OPT_REAL, A(label_smoothing), 0, 1, true, NULL},
    {"--clip", DMX_OPT_REAL, A(clip), 0, 1e9, true, NULL},
    {"--seed", DMX_OPT_INT, A(seed), 0, DMX_OPT_NO_LIMIT, true, NULL},
    {"--augment", DMX_OPT_TEXT, A(augment), 0, 0, true, NULL},
};
#undef A
enum { N_OPTIONS = (int)(sizeof options / sizeof options[0]) };
_Static_assert(N_OPTIONS <= DMX_OPT_MAX, "raise DMX_OPT_MAX");

static void usage(FILE *out)
{
    fprintf(out,
            "usage: dimix train [--preset NAME | --model FAMILY] [KNOB=VALUE ...] [options]\n"
            "       dimix train --resume FILE [--out DIR] [--extend --epochs N] [options]\n\n"
            "Trains an image classifier and reports test accuracy after every epoch.\n\n"
            "model:\n"
            "  --preset NAME       a named configuration (default: fmnist-bmlp for 1x28x28 data,\n"
            "                      e1-butterfly-mlp for 3x32x32)\n"
            "  --model FAMILY      mixer | patchonly | vit | imixer with its defaults\n"
            "  KNOB=VALUE          change one knob, e.g. dim=96 depth=6 token_mix=dense\n"
            "                      (`dimix train --model mixer --help` lists a family's knobs)\n"
            "data and device:\n"
            "  --data DIR          CIFAR-10/100 binary or (Fashion-)MNIST IDX, detected; or\n"
            "                      synthetic[:C:H:classes:count] (default %s)\n"
            "  --device NAME       cpu | opencl:N | vulkan:N | auto (default: $DIMIX_DEVICE or auto)\n"
            "                      under mpirun: auto gives each rank on a machine its own GPU\n"
            "                      (else cpu); a list cpu,vulkan:0 gives rank r item r %% count\n"
            "  --augment MODE      none | flip | crop | crop+flip (default: crop+flip for 3-channel\n"
            "                      data, none otherwise)\n"
            "optimisation:\n"
            "  --epochs N (5)  --batch N (128; --batch-size is the same)\n"
            "  --optimizer adam|adamw|sgd (adam)  --lr X (1e-3)  --weight-decay X (0)\n"
            "  --momentum X (0.9, sgd)  --nesterov\n"
            "  --schedule cosine|linear|constant (cosine)  --warmup STEPS (0)  --min-lr X (0)\n"
            "  --label-smoothing X (0)  --clip NORM (0: off)  --seed N (1)\n"
            "  --max-steps N       stop after N steps in all (0: no limit); the schedule stays\n"
            "                      that of the full --epochs run, so resuming finishes it\n"
            "output:\n"
            "  --out DIR           log.csv, epochs.csv, curves.svg, checkpoint.safetensors\n"
            "                      (default runs/<preset>-<time>; with --resume, the checkpoint's\n"
            "                      folder). One run at a time: the folder is locked.\n"
            "  --resume FILE       continue from a checkpoint exactly where it stopped: the model,\n"
            "                      the data and every optimisation setting come from it; giving\n"
            "                      one with another value is an error (exit 2)\n"
            "  --extend            with --resume: --epochs N may raise the epochs (the schedule\n"
            "                      is then that of N epochs from the resume step on)\n"
            "  --eval-batches N    evaluate on at most N test batches per epoch (0: all)\n"
            "  --json FILE         a JSON summary of the run ('-': stdout, the text goes to\n"
            "                      stderr)\n"
            "  --no-prefetch       prepare batches on the calling thread\n"
            "  --dist-check N      under mpirun: compare every rank's parameters with rank 0's\n"
            "                      every N steps and report the largest difference (0: never)\n"
            "  --allreduce-overlap on|off  under mpirun: sum the gradients in buckets started\n"
            "                      during backward (on, the default) or in one sum after it\n"
            "  --allreduce-bucket N  floats per bucket (default %d)\n\n"
            "Ctrl-C writes a checkpoint and stops; --resume continues bit for bit.\n"
            "mpirun -np N dimix train ... trains data-parallel: each rank takes its slice of\n"
            "every --batch (the global batch), the gradients are summed, rank 0 alone writes\n"
            "the output (docs/distributed.md)%s.\n"
            "Exit status: 0 done, 1 a failure, 2 bad usage or a resume that contradicts the\n"
            "checkpoint, 130 stopped by Ctrl-C.\n",
            DMX_DEFAULT_DATA, DMX_DIST_BUCKET_FLOATS,
            dmx_app_dist_available() ? "" : "; this build has no MPI, so one process only");
}

static int opt_index(const char *name)
{
    for (int j = 0; j < N_OPTIONS; j++)
        if (strcmp(options[j].name, name) == 0)
            return j;
    return 0;
}

static int parse_args(int argc, char **argv, train_args *a, bool *given)
{
    *a = (train_args){.optimizer = "adam", .schedule = "cosine", .epochs = 5, .batch = 128,
                      .lr = 1e-3, .momentum = 0.9, .seed = 1, .overlap = "on"};
    for (int i = 1; i < argc; i++) {
        const char *k = argv[i];
        int ok = dmx_opt_parse("train", options, N_OPTIONS, argc, argv, &i, a, given);
        if (ok == 0)
            return 2;
        if (ok > 0)
            continue;
        if (strchr(k, '=') && k[0] != '-' && a->n_knobs < 64) {
            a->knobs[a->n_knobs++] = k;
        } else {
            fprintf(stderr, "dimix train: unknown option '%s' (try --help)\n", k);
            return 2;
        }
    }
    dmx_train_options check = {0};
    if (dmx_app_dist_sum_options("train", a->overlap, a->bucket, &check))
        return 2;
    if (a->resume && (a->preset || a->family || a->n_knobs)) {
        fprintf(stderr, "dimix train: --resume takes the model from the checkpoint; drop "
                "--preset, --model and KNOB=VALUE\n");
        return 2;
    }
    if (a->extend && (!a->resume || !given[opt_index("--epochs")])) {
        fprintf(stderr, "dimix train: --extend goes with --resume FILE and --epochs N\n");
        return 2;
    }
    return 0;
}

/* The model configuration: preset or family defaults, the data's geometry, then the knobs. */
static dmx_status build_config(const train_args *a, const dmx_image_dataset *ds,
                               dmx_model_config *cfg, const char **preset_used)
{
    const char *preset = a->preset;
    if (!preset && !a->family)
        preset = ds->channels == 1 && ds->height == 28 ? "fmnist-bmlp" : "e1-butterfly-mlp";
    *preset_used = preset ? preset : a->family;
    if (preset)
        DMX_TRY(dmx_model_preset(preset, cfg));
    else
        DMX_TRY(dmx_model_config_defaults(a->family, cfg));
    cfg->channels = ds->channels;
    cfg->classes = ds->num_classes;
    if (strcmp(cfg->family, "patchonly") != 0)
        cfg->image = ds->height; /* patchonly keeps k1 k2: the loader resizes to it */
    int image_given = 0;
    for (int i = 0; i < a->n_knobs; i++) {
        char key[64];
        const char *eq = strchr(a->knobs[i], '=');
        snprintf(key, sizeof key, "%.*s", (int)(eq - a->knobs[i]), a->knobs[i]);
        DMX_TRY(dmx_model_config_set(cfg, key, eq + 1));
        image_given |= strcmp(key, "image") == 0;
    }
    /* Patch-Only's image is k1 * k2 (the loader resizes to it): follow k1 and k2 unless the
       user set the image too, in which case the check below names any mismatch. */
    if (strcmp(cfg->family, "patchonly") == 0 && !image_given)
        cfg->image = cfg->k1 * cfg->k2;
    if (strcmp(cfg->family, "lra") == 0)
        return dmx_fail(DMX_ERR_INVALID_ARG,
                        "%s is a Long Range Arena model: train it with `dimix lra train`",
                        *preset_used);
    return dmx_model_config_check(cfg);
}

/* The augmentation actually used, as recorded: the default follows the channels. */
static const char *augment_of(const train_args *a, const dmx_image_dataset *ds)
{
    return a->augment ? a->augment : ds->channels == 3 ? "crop+flip" : "none";
}

static int augment_mode(const train_args *a, const dmx_image_dataset *ds, dmx_loader_options *o)
{
    const char *m = augment_of(a, ds);
    o->random_crop = strstr(m, "crop") != NULL;
    o->random_flip = strstr(m, "flip") != NULL;
    if (!o->random_crop && !o->random_flip && strcmp(m, "none") != 0) {
        fprintf(stderr, "dimix train: --augment %s is not none, flip, crop or crop+flip\n", m);
        return 2;
    }
    o->crop_padding = 4;
    return 0;
}

static dmx_status fill_options(const train_args *a, const char *settings, dmx_train_options *o)
{
    dmx_optim_kind kind = strcmp(a->optimizer, "adamw") == 0 ? DMX_OPTIM_ADAMW
                          : strcmp(a->optimizer, "sgd") == 0 ? DMX_OPTIM_SGD
                          : DMX_OPTIM_ADAM;
    if (strcmp(a->optimizer, "adam") && strcmp(a->optimizer, "adamw") && strcmp(a->optimizer, "sgd"))
        return dmx_fail(DMX_ERR_INVALID_ARG, "--optimizer %s is not adam, adamw or sgd",
                        a->optimizer);
    dmx_schedule_kind sk = strcmp(a->schedule, "linear") == 0     ? DMX_SCHEDULE_LINEAR
                           : strcmp(a->schedule, "constant") == 0 ? DMX_SCHEDULE_CONSTANT
                                                                  : DMX_SCHEDULE_COSINE;
    if (strcmp(a->schedule, "cosine") && strcmp(a->schedule, "linear") &&
        strcmp(a->schedule, "constant"))
        return dmx_fail(DMX_ERR_INVALID_ARG, "--schedule %s is not cosine, linear or constant",
                        a->schedule);
    *o = (dmx_train_options){
        .optim = {.kind = kind, .weight_decay = (float)a->weight_decay,
                  .momentum = kind == DMX_OPTIM_SGD ? (float)a->momentum : 0,
                  .nesterov = a->nesterov},
        .schedule = {.kind = sk, .lr = (float)a->lr, .min_lr = (float)a->min_lr,
                     .warmup_steps = a->warmup},
        .epochs = a->epochs, .max_steps = a->max_steps,
        .label_smoothing = (float)a->label_smoothing, .clip_norm = (float)a->clip,
        .seed = (uint64_t)a->seed, .out_dir = a->out, .eval_each_epoch = true,
        .eval_max_batches = a->eval_batches};
    snprintf(o->description, sizeof o->description, "%s", settings);
    return DMX_OK;
}

/* Everything the command opened, released in one place. */
typedef struct train_run {
    dmx_device *dev;
    dmx_ctx *ctx;
    dmx_model *model;
    dmx_checkpoint *ckpt; /* the resume checkpoint, opened once */
    dmx_train_state state;
    dmx_app_images train, test;
    dmx_image_dataset *train_ds, *test_ds;
    dmx_model_config cfg;
    const char *preset;
    char out_dir[512];
    char data[1024]; /* the data spec: --data, the checkpoint's, or the default */
    int lock_fd;
    FILE *json;
    dmx_dist dist;  /* one rank, or this process's place in an MPI job */
    char cmd[48];   /* "train", or "train (rank r/N)" in messages */
} train_run;

static void release(train_run *r)
{
    dmx_app_images_free(&r->train);
    dmx_app_images_free(&r->test);
    dmx_image_dataset_free(r->train_ds);
    dmx_image_dataset_free(r->test_ds);
    dmx_ctx_destroy(r->ctx);
    dmx_model_destroy(r->model);
    dmx_checkpoint_close(r->ckpt);
    dmx_device_close(r->dev);
    if (r->lock_fd >= 0)
        close(r->lock_fd);
    dmx_cli_json_close(r->json);
}

/* Resume: the checkpoint's model and settings replace the command line's; what contradicts
 * them is refused with exit 2. */
static int take_over(train_args *a, const bool *given, train_run *r)
{
    if (dmx_checkpoint_open(a->resume, &r->ckpt) != DMX_OK ||
        dmx_checkpoint_config(r->ckpt, &r->cfg) != DMX_OK ||
        dmx_checkpoint_state(r->ckpt, &r->state) != DMX_OK)
        return dmx_app_fail("train", "resuming");
    if (strcmp(r->cfg.family, "lra") == 0) {
        fprintf(stderr, "dimix train: %s holds an lra model: resume it with `dimix lra train`\n",
                a->resume);
        return 2;
    }
    char taken[DMX_CHECKPOINT_TEXT], missing[512];
    int rc = dmx_opt_take_over("train", options, N_OPTIONS, r->state.train, a, given, "--epochs",
                               a->extend, taken, sizeof taken, missing, sizeof missing);
    if (rc)
        return rc;
    char recorded[1024];
    if (!given[opt_index("--data")] && dmx_opt_recorded(r->state.train, "data", recorded,
                                                        sizeof recorded))
        snprintf(r->data, sizeof r->data, "%s", recorded);
    printf("resuming %s at step %lld (epoch %lld, batch %lld)\n  from the checkpoint: the model, "
           "%s%s%s\n", a->resume, (long long)r->state.step, (long long)r->state.epoch + 1,
           (long long)r->state.batch, taken, given[opt_index("--data")] ? "" : " data=",
           given[opt_index("--data")] ? "" : r->data);
    if (*missing)
        printf("  not recorded in the checkpoint (the command line's or the default): %s\n",
               missing);
    r->preset = "resumed";
    return 0;
}

/* The data must be what the model was built for and, on resume, what the checkpoint recorded:
 * anything else is refused (exit 2). */
static int check_data(const train_args *a, const train_run *r)
{
    const dmx_image_dataset *ds = r->train_ds;
    const dmx_model_config *cfg = &r->cfg;
    char shape[64], recorded[1024];
    snprintf(shape, sizeof shape, "%dx%dx%d", ds->channels, ds->height, ds->width);
    if (ds->channels != cfg->channels || ds->num_classes != cfg->classes ||
        (strcmp(cfg->family, "patchonly") != 0 && ds->height != cfg->image)) {
        fprintf(stderr, "dimix train: %s holds %s images of %d classes; the model takes "
                "%d channels, image %d, %d classes\n", r->data, shape, ds->num_classes,
                cfg->channels, cfg->image, cfg->classes);
        return 2;
    }
    if (!a->resume)
        return 0;
    if (dmx_opt_recorded(r->state.train, "images", recorded, sizeof recorded) &&
        strcmp(recorded, shape) != 0) {
        fprintf(stderr, "dimix train: %s holds %s images, the checkpoint was trained on %s\n",
                r->data, shape, recorded);
        return 2;
    }
    char count[32];
    snprintf(count, sizeof count, "%lld", (long long)ds->count);
    if (dmx_opt_recorded(r->state.train, "examples", recorded, sizeof recorded) &&
        strcmp(recorded, count) != 0) {
        fprintf(stderr, "dimix train: %s has %s training images, the checkpoint's run had %s: "
                "its position (epoch, batch) means nothing on other data\n", r->data, count,
                recorded);
        return 2;
    }
    return 0;
}

static int open_model_and_data(train_args *a, const bool *given, train_run *r)
{
    snprintf(r->data, sizeof r->data, "%s", a->data ? a->data : DMX_DEFAULT_DATA);
    if (a->resume) {
        int rc = take_over(a, given, r);
        if (rc)
            return rc;
    }
    if (dmx_app_open_images(r->data, DMX_SPLIT_TRAIN, &r->train_ds) != DMX_OK ||
        dmx_app_open_images(r->data, DMX_SPLIT_TEST, &r->test_ds) != DMX_OK)
        return dmx_app_fail("train", "reading the data");
    if (!a->resume && build_config(a, r->train_ds, &r->cfg, &r->preset) != DMX_OK)
        return dmx_app_fail("train", "model configuration");
    int rc = check_data(a, r);
    if (rc)
        return rc;
    char device[64];
    rc = dmx_app_dist_device("train", a->device, &r->dist, device, sizeof device);
    if (rc)
        return rc;
    if (dmx_app_open_device(r->cmd, device, &r->dev) != DMX_OK ||
        dmx_model_create(r->dev, &r->cfg, (uint64_t)a->seed, &r->model) != DMX_OK)
        return dmx_app_fail("train", "creating the model");
    return 0;
}

static int make_sources(const train_args *a, train_run *r)
{
    dmx_loader_options lo = dmx_loader_train_defaults((int)a->batch, (uint64_t)a->seed);
    lo.background = !a->no_prefetch;
    if (augment_mode(a, r->train_ds, &lo) != 0)
        return 2;
    dmx_loader_options eo = dmx_loader_eval_defaults((int)a->batch);
    eo.background = !a->no_prefetch;
    /* Data parallelism: this rank's slice of every training and test batch. */
    lo.part = eo.part = r->dist.rank;
    lo.parts = eo.parts = r->dist.size;
    if (r->cfg.image != r->train_ds->height)
        lo.resize = eo.resize = r->cfg.image;
    dmx_image_dataset *ds = r->train_ds;
    r->train_ds = NULL; /* the images own it now, even on failure */
    if (dmx_app_images_make(ds, &lo, &r->train) != DMX_OK)
        return dmx_app_fail("train", "preparing the training data");
    ds = r->test_ds;
    r->test_ds = NULL;
    if (dmx_app_images_make(ds, &eo, &r->test) != DMX_OK)
        return dmx_app_fail("train", "preparing the test data");
    return 0;
}

/* Whether a resumed run has nothing left to train: it printed why (and no file names). */
static bool already_done(const train_args *a, const train_run *r)
{
    if (!a->resume)
        return false;
    const int64_t bpe = r->train.source->batches_per_epoch(r->train.source->self);
    int64_t epoch = r->state.epoch, batch = r->state.batch;
    if (batch >= bpe)
        epoch++, batch = 0;
    const int64_t end = a->epochs * bpe;
    if (a->max_steps > 0 && r->state.step >= a->max_steps && r->state.step < end) {
        printf("nothing to train: %s is at step %lld, already at --max-steps %lld (the run "
               "has %lld steps: resume without --max-steps to finish it)\n", a->resume,
               (long long)r->state.step, a->max_steps, (long long)end);
        return true;
    }
    if (epoch >= a->epochs || r->state.step >= end) {
        printf("nothing to train: %s is at step %lld, the end of its %lld epochs; nothing was "
               "written (--extend --epochs N trains longer)\n", a->resume,
               (long long)r->state.step, a->epochs);
        return true;
    }
    return false;
}

static int choose_out_dir(const train_args *a, train_run *r)
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
        snprintf(r->out_dir, sizeof r->out_dir, "runs/%s-%s", r->preset, stamp);
    }
    if (dmx_make_dirs(r->out_dir) != DMX_OK)
        return dmx_app_fail("train", "output directory");
    return dmx_app_lock_run_dir("train", r->out_dir, &r->lock_fd);
}

static void write_json(const train_run *r, const dmx_train_result *res, dmx_status s)
{
    FILE *f = r->json;
    fprintf(f, "{\"command\": \"train\", \"status\": ");
    dmx_cli_json_string(f, s == DMX_OK ? "done" : s == DMX_ERR_INTERRUPTED ? "stopped"
                                                                          : "failed");
    fprintf(f, ", \"model\": ");
    dmx_cli_json_string(f, r->preset);
    fprintf(f, ", \"parameters\": %lld, \"data\": ",
            (long long)dmx_params_trainable_count(dmx_model_params(r->model)));
    dmx_cli_json_string(f, r->data);
    fprintf(f, ", \"first_step\": %lld, \"steps\": %lld, \"seconds\": %.3f",
            (long long)res->first_step, (long long)res->steps, res->seconds);
    if (res->test_accuracy >= 0)
        fprintf(f, ", \"test_accuracy\": %.6f", res->test_accuracy);
    else
        fprintf(f, ", \"test_accuracy\": null");
    if (isfinite(res->last_loss))
        fprintf(f, ", \"train_loss\": %.6f", res->last_loss);
    fprintf(f, ", \"out\": ");
    dmx_cli_json_string(f, r->out_dir);
    char path[600];
    snprintf(path, sizeof path, "%s/checkpoint.safetensors", r->out_dir);
    fprintf(f, ", \"checkpoint\": ");
    if (res->saved)
        dmx_cli_json_string(f, path);
    else
        fprintf(f, "null");
    snprintf(path, sizeof path, "%s/curves.svg", r->out_dir);
    fprintf(f, ", \"curves\": ");
    if (res->curves_saved)
        dmx_cli_json_string(f, path);
    else
        fprintf(f, "null");
    fprintf(f, ", \"ranks\": %d", r->dist.size);
    if (r->dist.size > 1) {
        fprintf(f, ", \"reduce_bytes_per_step\": %lld, \"reduce_seconds\": %.6f, "
                "\"reduce_wait_seconds\": %.6f, \"reduce_buckets\": %d, "
                "\"reduce_buckets_early\": %lld", (long long)res->reduce_bytes,
                res->reduce_seconds, res->reduce_wait_seconds, res->reduce_buckets,
                (long long)res->reduce_buckets_early);
        fprintf(f, ", \"dist_checks\": %lld, \"dist_max_diff\": %.9g",
                (long long)res->dist_checks, res->dist_max_diff);
    }
    fprintf(f, "}\n");
}

static int run(train_args *a, const bool *given, train_run *rp);

/* Under mpirun, every rank runs the command; rank 0 alone prints and writes files. A rank
 * that fails ends the job (the others would wait for it forever). */
static int run_ranks(train_args *a, const bool *given)
{
    train_run r = {.lock_fd = -1};
    if (dmx_app_dist_init("train", &r.dist) != 0)
        return 1;
    snprintf(r.cmd, sizeof r.cmd, "train");
    if (r.dist.size > 1) {
        snprintf(r.cmd, sizeof r.cmd, "train (rank %d/%d)", r.dist.rank, r.dist.size);
        if (r.dist.rank > 0 && !freopen("/dev/null", "w", stdout)) {
            fprintf(stderr, "dimix %s: cannot silence stdout\n", r.cmd);
            return 1;
        }
    }
    int rc = run(a, given, &r);
    if (rc != 0 && rc != 130 && r.dist.size > 1) {
        fprintf(stderr, "dimix %s: failed (status %d): ending every rank\n", r.cmd, rc);
        dmx_app_dist_abort(&r.dist, rc);
    }
    dmx_app_dist_finish(&r.dist);
    return rc;
}

static int run(train_args *a, const bool *given, train_run *rp)
{
    train_run r = *rp;
    int rc = 0;
    if (a->json && r.dist.rank == 0 && !(r.json = dmx_cli_json_open("train", a->json)))
        rc = 2;
    if (rc == 0)
        rc = open_model_and_data(a, given, &r);
    if (rc == 0)
        rc = make_sources(a, &r);
    if (rc == 0 && already_done(a, &r)) {
        if (r.json) /* the same in JSON: no step taken, no file written */
            fprintf(r.json, "{\"command\": \"train\", \"status\": \"nothing to train\", "
                    "\"first_step\": %lld, \"steps\": %lld, \"checkpoint\": null, "
                    "\"curves\": null}\n", (long long)r.state.step, (long long)r.state.step);
        release(&r);
        return 0;
    }
    if (rc == 0)
        rc = choose_out_dir(a, &r);
    if (rc) {
        release(&r);
        return rc;
    }
    char text[2048];
    dmx_model_config_format(&r.cfg, text, sizeof text);
    printf("model %s: %lld parameters\n  %s\n", r.preset,
           (long long)dmx_params_trainable_count(dmx_model_params(r.model)), text);
    printf("data %s: %lld training, %lld test images of %dx%dx%d, %d classes; output %s\n",
           r.data, (long long)r.train.ds->count, (long long)r.test.ds->count,
           r.train.ds->channels, r.train.ds->height, r.train.ds->width,
           r.train.ds->num_classes, r.out_dir);
    if (r.dist.size > 1)
        printf("data-parallel over %d ranks: each takes its slice of every batch of %lld "
               "(%lld to %lld images); rank 0 writes the output\n", r.dist.size, a->batch,
               a->batch / r.dist.size, (a->batch + r.dist.size - 1) / r.dist.size);
    const int64_t bpe = r.train.source->batches_per_epoch(r.train.source->self);
    if (a->max_steps > 0 && a->max_steps < a->epochs * bpe)
        printf("--max-steps %lld: stops at step %lld of the %lld the %s schedule spans (%lld "
               "epochs); the schedule is not shortened, resume to finish it\n", a->max_steps,
               a->max_steps, (long long)(a->epochs * bpe), a->schedule, a->epochs);
    fflush(stdout);
    /* What the checkpoint records: the settings, then the data (the path last: it may hold
       spaces). */
    train_args rec = *a;
    rec.augment = augment_of(a, r.train.ds);
    char settings[DMX_CHECKPOINT_TEXT], data_words[1400];
    dmx_opt_format_settings(options, N_OPTIONS, &rec, settings, sizeof settings);
    snprintf(data_words, sizeof data_words, " images=%dx%dx%d examples=%lld data=%s",
             r.train.ds->channels, r.train.ds->height, r.train.ds->width,
             (long long)r.train.ds->count, r.data);
    if (strlen(settings) + strlen(data_words) < sizeof settings)
        strcat(settings, data_words);
    dmx_train_options opts;
    train_args with_out = *a;
    with_out.out = r.dist.rank == 0 ? r.out_dir : NULL;
    if (fill_options(&with_out, settings, &opts) != DMX_OK ||
        dmx_ctx_create(r.dev, &r.ctx) != DMX_OK) {
        rc = dmx_app_fail("train", "options");
        release(&r);
        return rc;
    }
    opts.resume_from = r.ckpt;
    if (r.dist.size > 1) {
        opts.dist = &r.dist;
        opts.dist_check_every = a->dist_check;
        dmx_app_dist_sum_options("train", a->overlap, a->bucket, &opts);
    }
    dmx_checkpoint_input input;
    dmx_app_checkpoint_input(r.train.ds, &input);
    opts.input = &input;
    dmx_train_progress ps = {.epochs = a->epochs, .batch = a->batch, .unit = "img",
                             .examples = "images", .quiet = r.dist.rank > 0};
    dmx_train_result res;
    dmx_status s = dmx_train_with_progress(r.ctx, r.model, r.train.source, r.test.source, &opts,
                                           &ps, &res);
    if (s == DMX_ERR_INTERRUPTED) {
        printf("stopped at step %lld; resume with: dimix train --resume %s/checkpoint.safetensors\n",
               (long long)res.steps, r.out_dir);
        rc = 130;
    } else if (s != DMX_OK) {
        rc = dmx_app_fail("train", "training");
    } else {
        char acc[48] = "no test evaluation ran";
        if (res.test_accuracy >= 0)
            snprintf(acc, sizeof acc, "test accuracy %.2f%%", 100.0 * res.test_accuracy);
        printf("done: %lld steps in %.1f s; %s", (long long)res.steps, res.seconds, acc);
        if (res.saved)
            printf("; checkpoint %s/checkpoint.safetensors", r.out_dir);
        if (res.curves_saved)
            printf(", curves %s/curves.svg", r.out_dir);
        printf("\n");
        rc = 0;
    }
    if (r.dist.size > 1 && (s == DMX_OK || s == DMX_ERR_INTERRUPTED)) {
        dmx_app_dist_print_sums(&r.dist, &res);
        if (res.dist_checks)
            printf("; parameters compared %lld times, largest difference from rank 0: %.3g",
                   (long long)res.dist_checks, res.dist_max_diff);
        printf("\n");
    }
    if (r.json)
        write_json(&r, &res, s);
    release(&r);
    return rc;
}

int dmx_cmd_train(int argc, char **argv)
{
    for (int i = 1; i < argc; i++)
        if (dmx_cli_is_help(argv[i])) {
            usage(stdout);
            const char *family = NULL;
            for (int j = 1; j + 1 < argc; j++)
                if (strcmp(argv[j], "--model") == 0)
                    family = argv[j + 1];
            printf("\n");
            dmx_model_presets_help(stdout, false);
            printf("\n");
            dmx_model_config_help(stdout, family);
            return 0;
        }
    train_args a;
    bool given[N_OPTIONS] = {0};
    int rc = parse_args(argc, argv, &a, given);
    return rc ? rc : run_ranks(&a, given);
}
