/* The inference API on one device (argv[1]): a model created and saved with normalisation and
 * class names, opened frozen (device memory = weights) and classified; logits equal the
 * training-path forward exactly; uint8 / float / NHWC agree; export round trip; an old-format
 * file opens with defaults; bad input fails; two threads on one classifier. Exit 77: the device
 * is absent. */
#include <math.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "dimix/dimix.h"
#include "infer/planned.h"
#include "nn/nn_internal.h"

static int failures;
#define CHECK(cond, ...)                                                            \
    do {                                                                            \
        if (!(cond)) {                                                              \
            failures++;                                                             \
            fprintf(stderr, "FAIL %s:%d: ", __FILE__, __LINE__);                    \
            fprintf(stderr, __VA_ARGS__);                                           \
            fprintf(stderr, " (last error: %s)\n", dmx_last_error());               \
        }                                                                           \
    } while (0)

enum { B = 5, C = 1, S = 28, K = 10 };
static uint8_t pixels[B * C * S * S];
static float logits_u8[B * K], logits_b2[2 * K]; /* batch 5 and batch 2 */

static long long file_size(const char *p)
{
    struct stat st;
    return stat(p, &st) == 0 ? (long long)st.st_size : -1;
}

/* The training path: dmx_checkpoint_load_model (gradients, random init first) + forward. */
static void training_logits(dmx_device *dev, const char *path, const float *mean,
                            const float *std, float *out)
{
    dmx_model *m = NULL;
    dmx_ctx *ctx = NULL;
    CHECK(dmx_checkpoint_load_model(path, dev, &m, NULL) == DMX_OK, "load model");
    CHECK(dmx_ctx_create(dev, &ctx) == DMX_OK, "ctx");
    if (!m || !ctx)
        return;
    dmx_ctx_set_grad(ctx, false);
    dmx_ctx_set_training(ctx, false);
    float *x = malloc(sizeof pixels * sizeof(float));
    for (size_t i = 0; i < sizeof pixels; i++)
        x[i] = ((float)pixels[i] / 255.0f - mean[0]) / std[0];
    const int64_t shape[4] = {B, C, S, S};
    dmx_tensor *images = NULL, *logits = NULL;
    CHECK(dmx_tensor_from_host(ctx, DMX_F32, 4, shape, x, "images", &images) == DMX_OK, "in");
    dmx_model_input in = {.images = images};
    CHECK(dmx_model_forward(ctx, m, &in, &logits) == DMX_OK, "forward");
    if (logits)
        CHECK(dmx_tensor_to_host(logits, out, B * K * sizeof(float)) == DMX_OK, "read");
    free(x);
    dmx_ctx_destroy(ctx);
    dmx_model_destroy(m);
}

typedef struct worker {
    dmx_classifier *c;
    int ok;
} worker;

static void *work(void *p)
{
    worker *w = p;
    w->ok = 1;
    for (int it = 0; it < 24; it++) {
        float z[B * K];
        int batch = it % 2 ? B : 2; /* two batch sizes: two plans, replayed in turn */
        if (dmx_classifier_run(w->c, batch, DMX_PIXELS_U8, DMX_LAYOUT_NCHW, pixels, z, NULL) !=
                DMX_OK ||
            memcmp(z, batch == B ? logits_u8 : logits_b2, (size_t)batch * K * sizeof(float)) != 0)
            w->ok = 0;
    }
    return NULL;
}

int main(int argc, char **argv)
{
    const char *name = argc > 1 ? argv[1] : "cpu";
    dmx_device *dev = NULL;
    if (dmx_device_open(name, &dev) != DMX_OK) {
        printf("SKIP: device %s is absent here: %s\n", name, dmx_last_error());
        return 77;
    }
    char ckpt[256], old[256], exported[256];
    snprintf(ckpt, sizeof ckpt, "%s/infer_%s.safetensors", DIMIX_BINARY_DIR, name);
    snprintf(old, sizeof old, "%s/infer_old_%s.safetensors", DIMIX_BINARY_DIR, name);
    snprintf(exported, sizeof exported, "%s/infer_export_%s.safetensors", DIMIX_BINARY_DIR, name);
    for (char *p = strrchr(ckpt, '/'); *p; p++)
        *p = *p == ':' ? '_' : *p;
    for (char *p = strrchr(old, '/'); *p; p++)
        *p = *p == ':' ? '_' : *p;
    for (char *p = strrchr(exported, '/'); *p; p++)
        *p = *p == ':' ? '_' : *p;

    /* A created model (seeded weights) saved with an optimizer and metadata, and without. */
    dmx_model_config cfg;
    dmx_model_preset("fmnist-bmlp", &cfg);
    dmx_model *m = NULL;
    CHECK(dmx_model_create(dev, &cfg, 7, &m) == DMX_OK, "create");
    dmx_params *ps = dmx_model_params(m);
    int nt = dmx_params_trainable(ps, NULL, 0);
    dmx_tensor **list = malloc((size_t)nt * sizeof *list);
    dmx_params_trainable(ps, list, nt);
    dmx_optim_config oc = {.kind = DMX_OPTIM_ADAM};
    dmx_optimizer *opt = NULL;
    CHECK(dmx_optim_create(dev, &oc, list, nt, &opt) == DMX_OK, "optimizer");
    char *names[K];
    char buf[K][16];
    for (int k = 0; k < K; k++) {
        snprintf(buf[k], sizeof buf[k], "class %c", 'A' + k);
        names[k] = buf[k];
    }
    dmx_checkpoint_input meta = {.channels = 1, .mean = {0.2860406f}, .std = {0.3530242f},
                                 .classes = K, .class_names = names};
    dmx_train_state st = {.step = 3};
    CHECK(dmx_checkpoint_save_with(ckpt, m, opt, &st, &meta) == DMX_OK, "save");
    CHECK(dmx_checkpoint_save(old, m, NULL, NULL) == DMX_OK, "save old");
    dmx_optim_destroy(opt);
    free(list);
    dmx_model_destroy(m);

    for (size_t i = 0; i < sizeof pixels; i++)
        pixels[i] = (uint8_t)((i * 37u + (i / 28) * 11u) % 256u);

    /* Opening: device memory = the weights (values buffer only) + nothing else. */
    dmx_device_counters before, after;
    dmx_device_counters_get(dev, &before);
    dmx_classifier *c = NULL;
    CHECK(dmx_classifier_open(ckpt, dev, &c) == DMX_OK, "open");
    if (!c)
        return 1;
    dmx_device_counters_get(dev, &after);
    dmx_classifier_info info;
    CHECK(dmx_classifier_info_get(c, &info) == DMX_OK, "info");
    CHECK(after.buffers - before.buffers == 1, "%llu buffers allocated by open, want 1",
          (unsigned long long)(after.buffers - before.buffers));
    CHECK(after.buffer_bytes - before.buffer_bytes == info.weight_bytes &&
              info.weight_bytes < (uint64_t)info.parameters * 4 + 64 * 4 * 64,
          "open allocated %llu bytes, weights %llu for %lld scalars",
          (unsigned long long)(after.buffer_bytes - before.buffer_bytes),
          (unsigned long long)info.weight_bytes, (long long)info.parameters);
    CHECK(info.defaults == 0 && info.mean[0] == meta.mean[0] && info.std[0] == meta.std[0],
          "normalisation read back");
    CHECK(info.classes == K && strcmp(dmx_classifier_class_name(c, 3), "class D") == 0 &&
              !dmx_classifier_class_name(c, K),
          "class names");

    /* Logits equal the training path exactly on the same device. */
    float probs[B * K], want[B * K];
    CHECK(dmx_classifier_run(c, B, DMX_PIXELS_U8, DMX_LAYOUT_NCHW, pixels, logits_u8, probs) ==
              DMX_OK, "run");
    training_logits(dev, ckpt, meta.mean, meta.std, want);
    CHECK(memcmp(logits_u8, want, sizeof want) == 0, "planned logits differ from the training "
          "path (first %g vs %g)", (double)logits_u8[0], (double)want[0]);
    CHECK(dmx_classifier_info_get(c, &info) == DMX_OK && info.max_batch == B &&
              info.activation_peak_bytes > 0, "peak reported");
    printf("%s: weights %llu bytes, activations planned %llu bytes (batch %d)\n", name,
           (unsigned long long)info.weight_bytes, (unsigned long long)info.activation_peak_bytes,
           B);
    for (int b = 0; b < B; b++) {
        double sum = 0;
        for (int k = 0; k < K; k++)
            sum += probs[b * K + k];
        CHECK(fabs(sum - 1.0) < 1e-5, "probs row %d sums to %g", b, sum);
        int top[3];
        float val[3];
        CHECK(dmx_top_k(probs + b * K, K, 3, top, val) == 3 && val[0] >= val[1] &&
                  val[1] >= val[2], "top-k order");
    }

    /* Across devices: against the CPU reference within the model tolerance of
     * tests/models/test_models_devices.c (1e-4, here relative to the largest |logit|). */
    if (strcmp(name, "cpu-ref") != 0) {
        dmx_device *ref = NULL;
        dmx_classifier *rc = NULL;
        float zr[B * K];
        CHECK(dmx_device_open("cpu-ref", &ref) == DMX_OK &&
                  dmx_classifier_open(ckpt, ref, &rc) == DMX_OK &&
                  dmx_classifier_run(rc, B, DMX_PIXELS_U8, DMX_LAYOUT_NCHW, pixels, zr, NULL) ==
                      DMX_OK, "cpu-ref run");
        double scale = 0, worst = 0;
        for (int i = 0; i < B * K; i++) {
            scale = fmax(scale, fabs(zr[i]));
            worst = fmax(worst, fabs((double)zr[i] - logits_u8[i]));
        }
        CHECK(worst <= 1e-4 * scale, "%s vs cpu-ref: max |diff| %g, max |logit| %g", name, worst,
              scale);
        printf("%s vs cpu-ref: max |diff| %.3g (max |logit| %.3g)\n", name, worst, scale);
        dmx_classifier_close(rc);
        dmx_device_close(ref);
    }

    /* float and NHWC (C = 1: a transposed copy is the same bytes; still checked) */
    float f32[sizeof pixels], z[B * K];
    for (size_t i = 0; i < sizeof pixels; i++)
        f32[i] = (float)pixels[i] / 255.0f;
    CHECK(dmx_classifier_run(c, B, DMX_PIXELS_F32, DMX_LAYOUT_NCHW, f32, z, NULL) == DMX_OK &&
              memcmp(z, logits_u8, sizeof z) == 0, "f32 == u8");
    CHECK(dmx_classifier_run(c, B, DMX_PIXELS_U8, DMX_LAYOUT_NHWC, pixels, z, NULL) == DMX_OK &&
              memcmp(z, logits_u8, sizeof z) == 0, "nhwc == nchw");
    CHECK(dmx_classifier_run(c, B, DMX_PIXELS_F32, DMX_LAYOUT_NHWC, f32, NULL, probs) == DMX_OK,
          "probs only");

    /* Bad input. */
    CHECK(dmx_classifier_run(NULL, B, DMX_PIXELS_U8, DMX_LAYOUT_NCHW, pixels, z, NULL) ==
              DMX_ERR_INVALID_ARG, "NULL classifier");
    CHECK(dmx_classifier_run(c, 0, DMX_PIXELS_U8, DMX_LAYOUT_NCHW, pixels, z, NULL) ==
              DMX_ERR_INVALID_ARG && strstr(dmx_last_error(), "batch 0"), "batch 0");
    CHECK(dmx_classifier_run(c, B, DMX_PIXELS_U8, DMX_LAYOUT_NCHW, NULL, z, NULL) ==
              DMX_ERR_INVALID_ARG, "NULL pixels");
    CHECK(dmx_classifier_run(c, B, (dmx_pixel_type)7, DMX_LAYOUT_NCHW, pixels, z, NULL) ==
              DMX_ERR_INVALID_ARG, "bad type");
    CHECK(dmx_classifier_run(c, B, DMX_PIXELS_U8, DMX_LAYOUT_NCHW, pixels, NULL, NULL) ==
              DMX_ERR_INVALID_ARG, "no outputs");
    dmx_device_counters dummy_counters = {0};
    CHECK(dmx_classifier_run((dmx_classifier *)&dummy_counters, B, DMX_PIXELS_U8,
                             DMX_LAYOUT_NCHW, pixels, z, NULL) == DMX_ERR_INVALID_ARG,
          "wrong object");
    CHECK(dmx_classifier_open("/nonexistent/x.safetensors", dev, &(dmx_classifier *){0}) !=
              DMX_OK, "missing file");

    /* Two threads on one classifier (each batch size against its own single-thread run: a
     * kernel may block rows differently for another batch size). */
    CHECK(dmx_classifier_run(c, 2, DMX_PIXELS_U8, DMX_LAYOUT_NCHW, pixels, logits_b2, NULL) ==
              DMX_OK, "batch 2");
    worker w[2] = {{c, 0}, {c, 0}};
    pthread_t th[2];
    for (int i = 0; i < 2; i++)
        pthread_create(&th[i], NULL, work, &w[i]);
    for (int i = 0; i < 2; i++)
        pthread_join(th[i], NULL);
    CHECK(w[0].ok && w[1].ok, "threads got other logits or failed");

    /* Two classifiers on one device, one thread each: their calls interleave on the device's
     * queue and cached kernels, which the device's own lock serialises (OpenCL, Vulkan). */
    dmx_classifier *c2 = NULL;
    CHECK(dmx_classifier_open(ckpt, dev, &c2) == DMX_OK, "second classifier: %s",
          dmx_last_error());
    if (c2) {
        worker w2[2] = {{c, 0}, {c2, 0}};
        for (int i = 0; i < 2; i++)
            pthread_create(&th[i], NULL, work, &w2[i]);
        for (int i = 0; i < 2; i++)
            pthread_join(th[i], NULL);
        CHECK(w2[0].ok && w2[1].ok, "two classifiers on one device: other logits or failures");
        dmx_classifier_close(c2);
    }
    dmx_classifier_close(c);

    /* Export: smaller, same logits. */
    dmx_checkpoint *ck = NULL;
    CHECK(dmx_checkpoint_open(ckpt, &ck) == DMX_OK && dmx_checkpoint_export(ck, exported) ==
              DMX_OK, "export");
    dmx_checkpoint_close(ck);
    CHECK(file_size(exported) > 0 && file_size(exported) < file_size(ckpt),
          "export %lld bytes, checkpoint %lld", file_size(exported), file_size(ckpt));
    c = NULL;
    CHECK(dmx_classifier_open(exported, dev, &c) == DMX_OK, "open export");
    if (c) {
        CHECK(dmx_classifier_run(c, B, DMX_PIXELS_U8, DMX_LAYOUT_NCHW, pixels, z, NULL) ==
                  DMX_OK && memcmp(z, logits_u8, sizeof z) == 0, "export logits");
        dmx_classifier_close(c);
    }

    /* Old format: defaults and a warning. */
    c = NULL;
    CHECK(dmx_classifier_open(old, dev, &c) == DMX_OK, "open old");
    if (c) {
        CHECK(dmx_classifier_info_get(c, &info) == DMX_OK &&
                  info.defaults == (DMX_INFER_DEFAULT_NORMALIZATION | DMX_INFER_DEFAULT_CLASSES) &&
                  info.mean[0] == 0.0f && info.std[0] == 1.0f &&
                  strcmp(dmx_classifier_class_name(c, 9), "9") == 0, "old defaults");
        dmx_classifier_close(c);
    }
    dmx_device_close(dev);
    printf("%s: %s\n", name, failures ? "FAILED" : "ok");
    return failures ? 1 : 0;
}
