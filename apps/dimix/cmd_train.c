/* dimix train: a model (preset, family, knobs) on image data, with a progress bar, per-epoch
 * test accuracy, log.csv / epochs.csv / curves.svg, atomic checkpoints, exact resume, and a
 * checkpoint on Ctrl-C. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "app_data.h"
#include "core/error.h"
#include "io/make_dirs.h"
#include "commands.h"
#include "progress.h"
#include "train_progress.h"

typedef struct train_args {
    const char *preset, *family, *data, *device, *out, *resume, *optimizer, *schedule, *augment;
    const char *knobs[64];
    int n_knobs;
    int64_t epochs, batch, max_steps, warmup, eval_batches;
    float lr, min_lr, weight_decay, momentum, label_smoothing, clip;
    int nesterov, background;
    uint64_t seed;
} train_args;

static void usage(FILE *out)
{
    fprintf(out,
            "usage: dimix train [--preset NAME | --model FAMILY] [KNOB=VALUE ...] [options]\n\n"
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
            "  --augment MODE      none | flip | crop | crop+flip (default: crop+flip for 3-channel\n"
            "                      data, none otherwise)\n"
            "optimisation:\n"
            "  --epochs N (5)  --batch N (128)  --max-steps N (0: no limit)\n"
            "  --optimizer adam|adamw|sgd (adam)  --lr X (1e-3)  --weight-decay X (0)\n"
            "  --momentum X (0.9, sgd)  --nesterov\n"
            "  --schedule cosine|linear|constant (cosine)  --warmup STEPS (0)  --min-lr X (0)\n"
            "  --label-smoothing X (0)  --clip NORM (0: off)  --seed N (1)\n"
            "output:\n"
            "  --out DIR           log.csv, epochs.csv, curves.svg, checkpoint.safetensors\n"
            "                      (default runs/<preset>-<time>)\n"
            "  --resume FILE       continue from a checkpoint exactly where it stopped\n"
            "  --eval-batches N    evaluate on at most N test batches per epoch (0: all)\n"
            "  --no-prefetch       prepare batches on the calling thread\n\n"
            "Ctrl-C writes a checkpoint and stops; --resume continues bit for bit.\n",
            DMX_DEFAULT_DATA);
}

static unsigned long long strtoull_10(const char *s) { return strtoull(s, NULL, 10); }

static int parse_args(int argc, char **argv, train_args *a)
{
    *a = (train_args){.data = DMX_DEFAULT_DATA, .optimizer = "adam", .schedule = "cosine",
                      .epochs = 5, .batch = 128, .lr = 1e-3f, .momentum = 0.9f, .seed = 1,
                      .background = 1};
    for (int i = 1; i < argc; i++) {
        const char *k = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
#define TEXT(flag, field) if (strcmp(k, flag) == 0 && v) { a->field = v; i++; continue; }
#define NUM(flag, field, conv) if (strcmp(k, flag) == 0 && v) { a->field = conv(v); i++; continue; }
        TEXT("--preset", preset) TEXT("--model", family) TEXT("--data", data)
        TEXT("--device", device) TEXT("--out", out) TEXT("--resume", resume)
        TEXT("--optimizer", optimizer) TEXT("--schedule", schedule) TEXT("--augment", augment)
        NUM("--epochs", epochs, atoll) NUM("--batch", batch, atoll)
        NUM("--max-steps", max_steps, atoll) NUM("--warmup", warmup, atoll)
        NUM("--eval-batches", eval_batches, atoll) NUM("--lr", lr, (float)atof)
        NUM("--min-lr", min_lr, (float)atof) NUM("--weight-decay", weight_decay, (float)atof)
        NUM("--momentum", momentum, (float)atof)
        NUM("--label-smoothing", label_smoothing, (float)atof) NUM("--clip", clip, (float)atof)
        NUM("--seed", seed, strtoull_10)
#undef TEXT
#undef NUM
        if (strcmp(k, "--nesterov") == 0) {
            a->nesterov = 1;
        } else if (strcmp(k, "--no-prefetch") == 0) {
            a->background = 0;
        } else if (strchr(k, '=') && k[0] != '-' && a->n_knobs < 64) {
            a->knobs[a->n_knobs++] = k;
        } else {
            fprintf(stderr, "dimix train: unknown or incomplete option '%s' (try --help)\n", k);
            return 2;
        }
    }
    if (a->epochs < 1 || a->batch < 1 || !(a->lr >= 0)) {
        fprintf(stderr, "dimix train: --epochs and --batch must be >= 1, --lr >= 0\n");
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

static int augment_mode(const train_args *a, const dmx_image_dataset *ds, dmx_loader_options *o)
{
    const char *m = a->augment ? a->augment : ds->channels == 3 ? "crop+flip" : "none";
    o->random_crop = strstr(m, "crop") != NULL;
    o->random_flip = strstr(m, "flip") != NULL;
    if (!o->random_crop && !o->random_flip && strcmp(m, "none") != 0) {
        fprintf(stderr, "dimix train: --augment %s is not none, flip, crop or crop+flip\n", m);
        return 2;
    }
    o->crop_padding = 4;
    return 0;
}

static dmx_status fill_options(const train_args *a, dmx_train_options *o)
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
        .optim = {.kind = kind, .weight_decay = a->weight_decay,
                  .momentum = kind == DMX_OPTIM_SGD ? a->momentum : 0, .nesterov = a->nesterov},
        .schedule = {.kind = sk, .lr = a->lr, .min_lr = a->min_lr, .warmup_steps = a->warmup},
        .epochs = a->epochs, .max_steps = a->max_steps, .label_smoothing = a->label_smoothing,
        .clip_norm = a->clip, .seed = a->seed, .out_dir = a->out, .resume = a->resume,
        .eval_each_epoch = true, .eval_max_batches = a->eval_batches};
    snprintf(o->description, sizeof o->description,
             "optimizer=%s lr=%g weight_decay=%g schedule=%s warmup=%lld epochs=%lld batch=%lld "
             "label_smoothing=%g clip=%g seed=%llu", a->optimizer, (double)a->lr,
             (double)a->weight_decay, a->schedule, (long long)a->warmup, (long long)a->epochs,
             (long long)a->batch, (double)a->label_smoothing, (double)a->clip,
             (unsigned long long)a->seed);
    return DMX_OK;
}

static int run(const train_args *a)
{
    dmx_device *dev = NULL;
    dmx_ctx *ctx = NULL;
    dmx_model *model = NULL;
    dmx_app_images train = {0}, test = {0};
    dmx_image_dataset *train_ds = NULL, *test_ds = NULL;
    dmx_model_config cfg;
    const char *preset = NULL;
    int rc = 1;
    char out_dir[512];
    if (dmx_app_open_images(a->data, DMX_SPLIT_TRAIN, &train_ds) != DMX_OK ||
        dmx_app_open_images(a->data, DMX_SPLIT_TEST, &test_ds) != DMX_OK) {
        rc = dmx_app_fail("train", "reading the data");
        goto out;
    }
    if (a->resume) {
        if (dmx_app_open_device("train", a->device, &dev) != DMX_OK ||
            dmx_checkpoint_load_model(a->resume, dev, &model, NULL) != DMX_OK) {
            rc = dmx_app_fail("train", "resuming");
            goto out;
        }
        cfg = *dmx_model_config_of(model);
        preset = "resumed";
    } else {
        if (build_config(a, train_ds, &cfg, &preset) != DMX_OK) {
            rc = dmx_app_fail("train", "model configuration");
            goto out;
        }
        if (dmx_app_open_device("train", a->device, &dev) != DMX_OK ||
            dmx_model_create(dev, &cfg, a->seed, &model) != DMX_OK) {
            rc = dmx_app_fail("train", "creating the model");
            goto out;
        }
    }
    if (a->out) {
        snprintf(out_dir, sizeof out_dir, "%s", a->out);
    } else {
        char stamp[32];
        time_t now = time(NULL);
        strftime(stamp, sizeof stamp, "%Y%m%d-%H%M%S", localtime(&now));
        snprintf(out_dir, sizeof out_dir, "runs/%s-%s", preset, stamp);
    }
    if (dmx_make_dirs(out_dir) != DMX_OK) {
        dmx_app_fail("train", "output directory");
        goto out;
    }
    dmx_loader_options lo = dmx_loader_train_defaults((int)a->batch, a->seed);
    lo.background = a->background;
    if (augment_mode(a, train_ds, &lo) != 0) {
        rc = 2;
        goto out;
    }
    dmx_loader_options eo = dmx_loader_eval_defaults((int)a->batch);
    eo.background = a->background;
    if (cfg.image != train_ds->height)
        lo.resize = eo.resize = cfg.image;
    if (dmx_app_images_make(train_ds, &lo, &train) != DMX_OK) {
        train_ds = NULL;
        rc = dmx_app_fail("train", "preparing the training data");
        goto out;
    }
    train_ds = NULL;
    if (dmx_app_images_make(test_ds, &eo, &test) != DMX_OK) {
        test_ds = NULL;
        rc = dmx_app_fail("train", "preparing the test data");
        goto out;
    }
    test_ds = NULL;
    char text[2048];
    dmx_model_config_format(&cfg, text, sizeof text);
    printf("model %s: %lld parameters\n  %s\n", preset,
           (long long)dmx_params_trainable_count(dmx_model_params(model)), text);
    printf("data %s: %lld training, %lld test images of %dx%dx%d, %d classes; output %s\n",
           a->data, (long long)train.ds->count, (long long)test.ds->count, train.ds->channels,
           train.ds->height, train.ds->width, train.ds->num_classes, out_dir);
    fflush(stdout);
    dmx_train_options opts;
    train_args copy = *a;
    copy.out = out_dir;
    if (fill_options(&copy, &opts) != DMX_OK || dmx_ctx_create(dev, &ctx) != DMX_OK) {
        rc = dmx_app_fail("train", "options");
        goto out;
    }
    dmx_train_progress ps = {.epochs = a->epochs, .batch = a->batch, .unit = "img",
                             .examples = "images"};
    dmx_train_result res;
    dmx_status s =
        dmx_train_with_progress(ctx, model, train.source, test.source, &opts, &ps, &res);
    if (s == DMX_ERR_INTERRUPTED) {
        printf("stopped at step %lld; resume with: dimix train --resume %s/checkpoint.safetensors "
               "--out %s\n", (long long)res.steps, out_dir, out_dir);
        rc = 130;
    } else if (s != DMX_OK) {
        rc = dmx_app_fail("train", "training");
    } else {
        char acc[48] = "no test evaluation ran";
        if (res.test_accuracy >= 0)
            snprintf(acc, sizeof acc, "test accuracy %.2f%%", 100.0 * res.test_accuracy);
        printf("done: %lld steps in %.1f s; %s; checkpoint %s/checkpoint.safetensors, curves "
               "%s/curves.svg\n", (long long)res.steps, res.seconds, acc, out_dir, out_dir);
        rc = 0;
    }
out:
    dmx_app_images_free(&train);
    dmx_app_images_free(&test);
    dmx_image_dataset_free(train_ds);
    dmx_image_dataset_free(test_ds);
    dmx_ctx_destroy(ctx);
    dmx_model_destroy(model);
    dmx_device_close(dev);
    return rc;
}

int dmx_cmd_train(int argc, char **argv)
{
    train_args a;
    for (int i = 1; i < argc; i++)
        if (strcmp(argv[i], "--help") == 0 || strcmp(argv[i], "-h") == 0) {
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
    int rc = parse_args(argc, argv, &a);
    return rc ? rc : run(&a);
}
