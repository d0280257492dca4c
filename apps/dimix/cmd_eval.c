/* dimix eval: a checkpoint's accuracy, loss, confusion matrix and throughput on image data;
 * optionally every logit written as safetensors. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "app_data.h"
#include "commands.h"
#include "core/error.h"

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

typedef struct logit_dump {
    float *logits;
    int32_t *labels;
    int64_t rows, cap, classes;
} logit_dump;

static dmx_status keep_logits(void *user, int64_t index, dmx_tensor *logits, dmx_tensor *labels)
{
    (void)index;
    logit_dump *d = user;
    int64_t B = logits->shape[0];
    if (d->rows + B > d->cap) {
        int64_t cap = (d->rows + B) * 2;
        float *l = realloc(d->logits, (size_t)(cap * d->classes) * sizeof *l);
        int32_t *y = l ? realloc(d->labels, (size_t)cap * sizeof *y) : NULL;
        if (l)
            d->logits = l;
        if (!l || !y)
            return dmx_fail(DMX_ERR_OUT_OF_MEMORY, "eval: out of memory keeping logits");
        d->labels = y;
        d->cap = cap;
    }
    DMX_TRY(dmx_tensor_to_host(logits, d->logits + d->rows * d->classes,
                               (size_t)(B * d->classes) * sizeof(float)));
    DMX_TRY(dmx_tensor_to_host(labels, d->labels + d->rows, (size_t)B * sizeof(int32_t)));
    d->rows += B;
    return DMX_OK;
}

static dmx_status write_dump(const char *path, const logit_dump *d)
{
    dmx_st_writer *w = NULL;
    DMX_TRY(dmx_st_writer_create(&w));
    const int64_t lshape[2] = {d->rows, d->classes}, yshape[1] = {d->rows};
    dmx_status s = dmx_st_writer_add(w, "logits", DMX_ST_F32, 2, lshape, d->logits);
    if (s == DMX_OK)
        s = dmx_st_writer_add(w, "labels", DMX_ST_I32, 1, yshape, d->labels);
    if (s == DMX_OK)
        s = dmx_st_writer_save(w, path);
    dmx_st_writer_destroy(w);
    return s;
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
    logit_dump dumped = {0};
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
    dmx_eval_options eo = {.on_logits = dump ? keep_logits : NULL, .user = &dumped};
    if (dmx_evaluate(ctx, model, im.source, &eo, &r) != DMX_OK) {
        rc = dmx_app_fail("eval", "evaluating");
        goto out;
    }
    printf("%s on %s (%s, %lld images): accuracy %.2f%%, loss %.4f, %.0f images/s\n", ckpt,
           data, split, (long long)r.examples, 100.0 * r.accuracy, r.loss,
           r.seconds > 0 ? (double)r.examples / r.seconds : 0.0);
    print_confusion(&r);
    if (dump && write_dump(dump, &dumped) != DMX_OK) {
        rc = dmx_app_fail("eval", "writing the logits");
        goto out;
    }
    rc = 0;
out:
    dmx_eval_result_free(&r);
    free(dumped.logits);
    free(dumped.labels);
    dmx_app_images_free(&im);
    dmx_image_dataset_free(ds);
    dmx_ctx_destroy(ctx);
    dmx_model_destroy(model);
    dmx_device_close(dev);
    return rc;
}
