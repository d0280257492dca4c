/* dimix eval: a checkpoint's accuracy, loss, confusion matrix and throughput on image data;
 * optionally every logit written as safetensors. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "app_data.h"
#include "commands.h"
#include "logit_dump.h"

static void usage(FILE *out)
{
    fprintf(out,
            "usage: dimix eval --ckpt FILE [--data DIR] [--split test|train] [--device NAME]\n"
            "                  [--batch N] [--dump-logits FILE]\n\n"
            "Evaluates a checkpoint written by dimix train: accuracy, mean cross-entropy, the\n"
            "confusion matrix (rows: true class, columns: predicted) and images per second.\n"
            "  --data DIR          as for dimix train (default %s)\n"
            "  --dump-logits FILE  write logits [N, classes] and labels [N] as safetensors\n",
            DMX_DEFAULT_DATA);
}

static void print_confusion(const dmx_eval_result *r)
{
    printf("confusion matrix (rows true, columns predicted):\n     ");
    for (int k = 0; k < r->classes; k++)
        printf(" %6d", k);
    printf("\n");
    for (int t = 0; t < r->classes; t++) {
        printf("%4d ", t);
        for (int k = 0; k < r->classes; k++)
            printf(" %6lld", (long long)r->confusion[t * r->classes + k]);
        printf("\n");
    }
}

int dmx_cmd_eval(int argc, char **argv)
{
    const char *ckpt = NULL, *data = DMX_DEFAULT_DATA, *device = NULL, *dump = NULL;
    const char *split = "test";
    int batch = 256;
    for (int i = 1; i < argc; i++) {
        const char *k = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
        if (strcmp(k, "--help") == 0 || strcmp(k, "-h") == 0) {
            usage(stdout);
            return 0;
        } else if (strcmp(k, "--ckpt") == 0 && v) {
            ckpt = v, i++;
        } else if (strcmp(k, "--data") == 0 && v) {
            data = v, i++;
        } else if (strcmp(k, "--device") == 0 && v) {
            device = v, i++;
        } else if (strcmp(k, "--dump-logits") == 0 && v) {
            dump = v, i++;
        } else if (strcmp(k, "--split") == 0 && v) {
            split = v, i++;
        } else if (strcmp(k, "--batch") == 0 && v) {
            batch = atoi(v), i++;
        } else {
            fprintf(stderr, "dimix eval: unknown or incomplete option '%s' (try --help)\n", k);
            return 2;
        }
    }
    if (!ckpt || batch < 1 || (strcmp(split, "test") && strcmp(split, "train"))) {
        fprintf(stderr, "dimix eval: --ckpt FILE is required; --batch >= 1; --split test|train\n");
        return 2;
    }
    int rc = 1;
    dmx_device *dev = NULL;
    dmx_model *model = NULL;
    dmx_ctx *ctx = NULL;
    dmx_image_dataset *ds = NULL;
    dmx_app_images im = {0};
    dmx_logit_dump dumped = {0};
    dmx_eval_result r = {0};
    if (dmx_app_open_device("eval", device, &dev) != DMX_OK ||
        dmx_checkpoint_load_model(ckpt, dev, &model, NULL) != DMX_OK) {
        rc = dmx_app_fail("eval", "loading the checkpoint");
        goto out;
    }
    const dmx_model_config *cfg = dmx_model_config_of(model);
    if (dmx_app_open_images(data, strcmp(split, "test") ? DMX_SPLIT_TRAIN : DMX_SPLIT_TEST,
                            &ds) != DMX_OK) {
        rc = dmx_app_fail("eval", "reading the data");
        goto out;
    }
    if (ds->channels != cfg->channels || ds->num_classes != cfg->classes) {
        fprintf(stderr, "dimix eval: the data has %d channels and %d classes, the model %d and "
                "%d\n", ds->channels, ds->num_classes, cfg->channels, cfg->classes);
        goto out;
    }
    dmx_loader_options lo = dmx_loader_eval_defaults(batch);
    if (cfg->image != ds->height)
        lo.resize = cfg->image;
    if (dmx_app_images_make(ds, &lo, &im) != DMX_OK) {
        ds = NULL;
        rc = dmx_app_fail("eval", "preparing the data");
        goto out;
    }
    ds = NULL;
    if (dmx_ctx_create(dev, &ctx) != DMX_OK)
        goto out;
    dumped.classes = cfg->classes;
    dmx_eval_options eo = {.on_logits = dump ? dmx_logit_dump_keep : NULL, .user = &dumped};
    if (dmx_evaluate(ctx, model, im.source, &eo, &r) != DMX_OK) {
        rc = dmx_app_fail("eval", "evaluating");
        goto out;
    }
    printf("%s on %s (%s, %lld images): accuracy %.2f%%, loss %.4f, %.0f images/s\n", ckpt,
           data, split, (long long)r.examples, 100.0 * r.accuracy, r.loss,
           r.seconds > 0 ? (double)r.examples / r.seconds : 0.0);
    print_confusion(&r);
    if (dump && dmx_logit_dump_write(dump, &dumped) != DMX_OK) {
        rc = dmx_app_fail("eval", "writing the logits");
        goto out;
    }
    rc = 0;
out:
    dmx_eval_result_free(&r);
    dmx_logit_dump_free(&dumped);
    dmx_app_images_free(&im);
    dmx_image_dataset_free(ds);
    dmx_ctx_destroy(ctx);
    dmx_model_destroy(model);
    dmx_device_close(dev);
    return rc;
}
