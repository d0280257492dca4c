/* dimix eval: a checkpoint's accuracy, loss, confusion matrix and throughput on image data;
 * optionally every logit written as safetensors. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "app_data.h"
#include "cli_options.h"
#include "commands.h"
#include "infer/planned.h" /* internal: frozen models (the CLI links the library statically) */
#include "logit_dump.h"
#include "nn/nn_internal.h"

static void usage(FILE *out)
{
    fprintf(out,
            "usage: dimix eval --ckpt FILE [--data DIR] [--split test|train] [--device NAME]\n"
            "                  [--batch N] [--dump-logits FILE] [--json FILE] [--no-plan]\n\n"
            "Evaluates a checkpoint written by dimix train (or weights from dimix export):\n"
            "accuracy, mean cross-entropy, the confusion matrix (rows: true class, columns:\n"
            "predicted), images per second and the activation memory. The model is opened for\n"
            "inference (no gradients) and its activations are planned: tensors share memory\n"
            "once nothing reads them (docs/inference.md).\n"
            "  --data DIR          as for dimix train (default %s)\n"
            "  --batch N           images per forward pass (256; --batch-size is the same)\n"
            "  --dump-logits FILE  write logits [N, classes] and labels [N] as safetensors\n"
            "  --json FILE         a JSON summary ('-': stdout, the text goes to stderr)\n"
            "  --no-plan           the training path instead: model with gradients, activations\n"
            "                      from the bump arena (for comparison; same logits)\n"
            "Exit status: 0 done, 1 a failure, 2 bad usage or data that does not fit the model.\n",
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
    const char *split = "test", *json = NULL;
    long long batch = 256;
    int planned = 1;
    for (int i = 1; i < argc; i++) {
        const char *k = argv[i];
        int ok = 1;
        if (dmx_cli_is_help(k)) {
            usage(stdout);
            return 0;
        } else if (strcmp(k, "--ckpt") == 0) {
            ok = dmx_cli_text("eval", argc, argv, &i, &ckpt);
        } else if (strcmp(k, "--data") == 0) {
            ok = dmx_cli_text("eval", argc, argv, &i, &data);
        } else if (strcmp(k, "--device") == 0) {
            ok = dmx_cli_text("eval", argc, argv, &i, &device);
        } else if (strcmp(k, "--dump-logits") == 0) {
            ok = dmx_cli_text("eval", argc, argv, &i, &dump);
        } else if (strcmp(k, "--split") == 0) {
            ok = dmx_cli_text("eval", argc, argv, &i, &split);
        } else if (strcmp(k, "--json") == 0) {
            ok = dmx_cli_text("eval", argc, argv, &i, &json);
        } else if (strcmp(k, "--no-plan") == 0) {
            planned = 0;
        } else if (strcmp(k, "--batch") == 0 || strcmp(k, "--batch-size") == 0) {
            ok = dmx_cli_int("eval", argc, argv, &i, 1, 1 << 20, &batch);
        } else {
            fprintf(stderr, "dimix eval: unknown option '%s' (try --help)\n", k);
            return 2;
        }
        if (!ok)
            return 2;
    }
    if (!ckpt || (strcmp(split, "test") && strcmp(split, "train"))) {
        fprintf(stderr, "dimix eval: --ckpt FILE is required; --split test|train\n");
        return 2;
    }
    FILE *js = NULL;
    if (json && !(js = dmx_cli_json_open("eval", json)))
        return 2;
    int rc = 1;
    dmx_device *dev = NULL;
    dmx_model *model = NULL;
    dmx_ctx *ctx = NULL;
    dmx_image_dataset *ds = NULL;
    dmx_app_images im = {0};
    dmx_logit_dump dumped = {0};
    dmx_eval_result r = {0};
    dmx_checkpoint *ck = NULL;
    if (dmx_app_open_device("eval", device, &dev) != DMX_OK ||
        dmx_checkpoint_open(ckpt, &ck) != DMX_OK ||
        (planned ? dmx_infer_build_model(ck, dev, &model)
                 : dmx_checkpoint_build_model(ck, dev, &model)) != DMX_OK) {
        dmx_checkpoint_close(ck);
        rc = dmx_app_fail("eval", "loading the checkpoint");
        goto out;
    }
    dmx_checkpoint_close(ck);
    const dmx_model_config *cfg = dmx_model_config_of(model);
    if (dmx_app_open_images(data, strcmp(split, "test") ? DMX_SPLIT_TRAIN : DMX_SPLIT_TEST,
                            &ds) != DMX_OK) {
        rc = dmx_app_fail("eval", "reading the data");
        goto out;
    }
    if (ds->channels != cfg->channels || ds->num_classes != cfg->classes) {
        fprintf(stderr, "dimix eval: the data has %d channels and %d classes, the model %d and "
                "%d\n", ds->channels, ds->num_classes, cfg->channels, cfg->classes);
        rc = 2;
        goto out;
    }
    dmx_loader_options lo = dmx_loader_eval_defaults((int)batch);
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
    dmx_eval_options eo = {.on_logits = dump ? dmx_logit_dump_keep : NULL, .user = &dumped,
                           .planned = planned};
    if (dmx_evaluate(ctx, model, im.source, &eo, &r) != DMX_OK) {
        rc = dmx_app_fail("eval", "evaluating");
        goto out;
    }
    printf("%s on %s (%s, %lld images): accuracy %.2f%%, loss %.4f, %.0f images/s\n", ckpt,
           data, split, (long long)r.examples, 100.0 * r.accuracy, r.loss,
           r.seconds > 0 ? (double)r.examples / r.seconds : 0.0);
    const double mib = 1024.0 * 1024.0;
    size_t weights = dmx_params_values_bytes(dmx_model_params(model)) +
                     dmx_params_grads_bytes(dmx_model_params(model));
    size_t act = planned ? r.planned_bytes : dmx_ctx_peak_bytes(ctx);
    printf("memory: weights %.2f MiB (%s), activations %.1f MiB (%s", (double)weights / mib,
           planned ? "values only" : "values and gradients", (double)act / mib,
           planned ? "planned" : "bump arena, peak");
    if (planned)
        printf("; the bump arena takes %.1f MiB for the same batch", (double)r.unplanned_bytes / mib);
    printf(")\n");
    print_confusion(&r);
    if (js) {
        fprintf(js, "{\"command\": \"eval\", \"checkpoint\": ");
        dmx_cli_json_string(js, ckpt);
        fprintf(js, ", \"data\": ");
        dmx_cli_json_string(js, data);
        fprintf(js, ", \"split\": ");
        dmx_cli_json_string(js, split);
        fprintf(js, ", \"examples\": %lld, \"correct\": %lld, \"accuracy\": %.6f, "
                "\"loss\": %.6f, \"seconds\": %.3f, \"images_per_second\": %.1f, "
                "\"planned\": %s, \"weight_bytes\": %zu, \"activation_bytes\": %zu, "
                "\"confusion\": [", (long long)r.examples, (long long)r.correct, r.accuracy,
                r.loss, r.seconds, r.seconds > 0 ? (double)r.examples / r.seconds : 0.0,
                planned ? "true" : "false", weights, act);
        for (int t = 0; t < r.classes; t++) {
            fprintf(js, "%s[", t ? ", " : "");
            for (int k = 0; k < r.classes; k++)
                fprintf(js, "%s%lld", k ? ", " : "", (long long)r.confusion[t * r.classes + k]);
            fprintf(js, "]");
        }
        fprintf(js, "]}\n");
    }
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
    dmx_cli_json_close(js);
    return rc;
}
