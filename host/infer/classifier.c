/* dmx_classifier (dimix/infer.h): a frozen image model, its input normalisation and class
 * names, and a planned context, behind one lock. */
#include <math.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/error.h"
#include "core/log.h"
#include "device/backend.h"
#include "dimix/infer.h"
#include "infer/planned.h"
#include "models/model_internal.h"
#include "nn/nn_internal.h"

#define CLASSIFIER_MAGIC 0x646d7843u /* "dmxC": tells an open classifier from other memory */

struct dmx_classifier {
    uint32_t magic;
    pthread_mutex_t lock;
    dmx_device *dev;
    dmx_model *model;
    dmx_ctx *ctx;
    dmx_planned planned;
    dmx_classifier_info info;
    char **names;
    float *staging;       /* normalised NCHW images of the current run */
    size_t staging_elems;
    float *logits;        /* when the caller wants probs only */
    size_t logits_elems;
};

/* A note for the application, through the log callback (dimix/log.h). */
#define note(...) dmx_log(DMX_LOG_WARN, __VA_ARGS__)

static dmx_status check_classifier(const dmx_classifier *c, const char *what)
{
    if (!c)
        return dmx_fail(DMX_ERR_INVALID_ARG, "%s: the classifier is NULL", what);
    if (c->magic != CLASSIFIER_MAGIC)
        return dmx_fail(DMX_ERR_INVALID_ARG, "%s: not an open dmx_classifier (closed, or "
                        "another object)", what);
    return DMX_OK;
}

/* Normalisation and class names from the file, or the defaults with a note. */
static dmx_status take_input(dmx_classifier *c, const dmx_checkpoint *ck)
{
    const dmx_model_config *cfg = dmx_model_config_of(c->model);
    dmx_checkpoint_input in;
    DMX_TRY(dmx_checkpoint_input_read(ck, &in));
    dmx_status s = DMX_OK;
    if (in.channels && in.channels != cfg->channels)
        s = dmx_fail(DMX_ERR_FORMAT, "%s: normalization has %d channels, the model %d",
                     dmx_checkpoint_path(ck), in.channels, cfg->channels);
    else if (in.classes && in.classes != cfg->classes)
        s = dmx_fail(DMX_ERR_FORMAT, "%s: metadata classes names %d classes, the model has %d",
                     dmx_checkpoint_path(ck), in.classes, cfg->classes);
    if (s != DMX_OK) {
        dmx_checkpoint_input_free(&in);
        return s;
    }
    for (int ch = 0; ch < cfg->channels; ch++) {
        c->info.mean[ch] = in.channels ? in.mean[ch] : 0.0f;
        c->info.std[ch] = in.channels ? in.std[ch] : 1.0f;
    }
    if (!in.channels) {
        c->info.defaults |= DMX_INFER_DEFAULT_NORMALIZATION;
        note("%s records no input normalisation (written before dimix stored it): using mean 0, "
             "std 1; feed pixels the way the model was trained", dmx_checkpoint_path(ck));
    }
    if (in.classes) {
        c->names = in.class_names; /* taken over */
        in.class_names = NULL;
        in.classes = 0;
        return DMX_OK;
    }
    c->info.defaults |= DMX_INFER_DEFAULT_CLASSES;
    note("%s records no class names: naming classes 0 to %d", dmx_checkpoint_path(ck),
         cfg->classes - 1);
    c->names = calloc((size_t)cfg->classes, sizeof *c->names);
    if (!c->names)
        return dmx_fail(DMX_ERR_OUT_OF_MEMORY, "dmx_classifier_open: out of host memory");
    for (int k = 0; k < cfg->classes; k++) {
        char text[16];
        snprintf(text, sizeof text, "%d", k);
        c->names[k] = malloc(strlen(text) + 1);
        if (!c->names[k])
            return dmx_fail(DMX_ERR_OUT_OF_MEMORY, "dmx_classifier_open: out of host memory");
        strcpy(c->names[k], text);
    }
    return DMX_OK;
}

static dmx_status open_model(dmx_classifier *c, const dmx_checkpoint *ck)
{
    dmx_model_config cfg;
    DMX_TRY(dmx_checkpoint_config(ck, &cfg));
    if (strcmp(cfg.family, "lra") == 0)
        return dmx_fail(DMX_ERR_UNSUPPORTED, "%s holds an LRA model (token sequences); a "
                        "classifier takes images (use `dimix lra eval`)", dmx_checkpoint_path(ck));
    if (cfg.channels > DMX_INFER_MAX_CHANNELS)
        return dmx_fail(DMX_ERR_UNSUPPORTED, "%s: %d input channels, a classifier takes at most "
                        "%d", dmx_checkpoint_path(ck), cfg.channels, DMX_INFER_MAX_CHANNELS);
    DMX_TRY(dmx_infer_build_model(ck, c->dev, &c->model));
    DMX_TRY(take_input(c, ck));
    dmx_classifier_info *i = &c->info;
    snprintf(i->family, sizeof i->family, "%s", cfg.family);
    i->channels = cfg.channels;
    i->height = i->width = cfg.image;
    i->classes = cfg.classes;
    dmx_params *ps = dmx_model_params(c->model);
    for (int k = 0; k < dmx_params_count(ps); k++)
        i->parameters += dmx_tensor_numel(dmx_params_at(ps, k));
    i->weight_bytes = dmx_params_values_bytes(ps) + dmx_params_grads_bytes(ps);
    DMX_TRY(dmx_ctx_create(c->dev, &c->ctx));
    return dmx_planned_init(&c->planned, c->ctx);
}

dmx_status dmx_classifier_open(const char *path, dmx_device *dev, dmx_classifier **out)
{
    if (out)
        *out = NULL;
    if (!path || !dev || !out)
        return dmx_fail(DMX_ERR_INVALID_ARG, "dmx_classifier_open: NULL path, device or out");
    dmx_classifier *c = calloc(1, sizeof *c);
    if (!c)
        return dmx_fail(DMX_ERR_OUT_OF_MEMORY, "dmx_classifier_open: out of host memory");
    if (pthread_mutex_init(&c->lock, NULL) != 0) {
        free(c);
        return dmx_fail(DMX_ERR_BACKEND, "dmx_classifier_open: cannot create a mutex");
    }
    c->magic = CLASSIFIER_MAGIC;
    c->dev = dev;
    dmx_checkpoint *ck = NULL;
    dmx_status s = dmx_checkpoint_open(path, &ck);
    if (s == DMX_OK)
        s = open_model(c, ck);
    dmx_checkpoint_close(ck);
    if (s != DMX_OK) {
        dmx_classifier_close(c);
        return dmx_fail_context(s, "opening classifier %s on %s: ", path, dev->info.name);
    }
    *out = c;
    return DMX_OK;
}

void dmx_classifier_close(dmx_classifier *c)
{
    if (!c || c->magic != CLASSIFIER_MAGIC)
        return;
    c->magic = 0;
    dmx_planned_free(&c->planned);
    dmx_ctx_destroy(c->ctx);
    for (int k = 0; c->names && k < c->info.classes; k++)
        free(c->names[k]);
    free(c->names);
    dmx_model_destroy(c->model);
    free(c->staging);
    free(c->logits);
    pthread_mutex_destroy(&c->lock);
    free(c);
}

dmx_status dmx_classifier_info_get(dmx_classifier *c, dmx_classifier_info *out)
{
    DMX_TRY(check_classifier(c, "dmx_classifier_info_get"));
    if (!out)
        return dmx_fail(DMX_ERR_INVALID_ARG, "dmx_classifier_info_get: NULL out");
    pthread_mutex_lock(&c->lock);
    *out = c->info;
    pthread_mutex_unlock(&c->lock);
    return DMX_OK;
}

const char *dmx_classifier_class_name(const dmx_classifier *c, int k)
{
    if (!c || c->magic != CLASSIFIER_MAGIC || k < 0 || k >= c->info.classes)
        return NULL;
    return c->names[k];
}

dmx_device *dmx_classifier_device(const dmx_classifier *c)
{
    return c && c->magic == CLASSIFIER_MAGIC ? c->dev : NULL;
}

/* Host buffer of at least `elems` floats in *buf (grown, never shrunk). */
static dmx_status reserve(float **buf, size_t *cap, size_t elems)
{
    if (elems <= *cap)
        return DMX_OK;
    float *p = realloc(*buf, elems * sizeof *p);
    if (!p)
        return dmx_fail(DMX_ERR_OUT_OF_MEMORY, "dmx_classifier_run: %zu floats of host memory",
                        elems);
    *buf = p;
    *cap = elems;
    return DMX_OK;
}

/* pixels -> (x - mean) / std as [B, C, H, W] floats, x = pixel / 255 for U8 (the same float
 * operations as the training loader, host/data/image_augment.c, so the values are identical). */
static void normalize(const dmx_classifier *c, int batch, dmx_pixel_type type,
                      dmx_pixel_layout layout, const void *pixels, float *dst)
{
    const int C = c->info.channels;
    const size_t plane = (size_t)c->info.height * (size_t)c->info.width;
    const uint8_t *u8 = pixels;
    const float *f32 = pixels;
    for (int b = 0; b < batch; b++)
        for (int ch = 0; ch < C; ch++) {
            const float mean = c->info.mean[ch], std = c->info.std[ch];
            float *out = dst + ((size_t)b * (size_t)C + (size_t)ch) * plane;
            for (size_t k = 0; k < plane; k++) {
                size_t at = layout == DMX_LAYOUT_NCHW
                                ? ((size_t)b * (size_t)C + (size_t)ch) * plane + k
                                : ((size_t)b * plane + k) * (size_t)C + (size_t)ch;
                float x = type == DMX_PIXELS_U8 ? (float)u8[at] / 255.0f : f32[at];
                out[k] = (x - mean) / std;
            }
        }
}

typedef struct classify_pass {
    dmx_classifier *c;
    int batch;
} classify_pass;

static dmx_status classify_pass_fn(dmx_ctx *ctx, void *user, dmx_tensor **kept, int *n_kept)
{
    classify_pass *p = user;
    const dmx_classifier_info *i = &p->c->info;
    const int64_t shape[4] = {p->batch, i->channels, i->height, i->width};
    dmx_tensor *images = NULL, *logits = NULL;
    DMX_TRY(dmx_tensor_from_host(ctx, DMX_F32, 4, shape, p->c->staging, "images", &images));
    dmx_model_input in = {.images = images};
    DMX_TRY(dmx_model_forward(ctx, p->c->model, &in, &logits));
    kept[0] = logits;
    *n_kept = 1;
    return DMX_OK;
}

/* Softmax of each row in double precision (max subtracted first). */
static void softmax_rows(const float *z, int rows, int classes, float *p)
{
    for (int r = 0; r < rows; r++) {
        const float *zr = z + (size_t)r * (size_t)classes;
        float *pr = p + (size_t)r * (size_t)classes;
        float mx = zr[0];
        for (int k = 1; k < classes; k++)
            mx = zr[k] > mx ? zr[k] : mx;
        double sum = 0.0;
        for (int k = 0; k < classes; k++)
            sum += exp((double)zr[k] - (double)mx);
        for (int k = 0; k < classes; k++)
            pr[k] = (float)(exp((double)zr[k] - (double)mx) / sum);
    }
}

static dmx_status run_locked(dmx_classifier *c, int batch, dmx_pixel_type type,
                             dmx_pixel_layout layout, const void *pixels, float *logits,
                             float *probs)
{
    const dmx_classifier_info *i = &c->info;
    size_t in_elems = (size_t)batch * (size_t)i->channels * (size_t)i->height * (size_t)i->width;
    size_t out_elems = (size_t)batch * (size_t)i->classes;
    DMX_TRY(reserve(&c->staging, &c->staging_elems, in_elems));
    float *z = logits;
    if (!z) {
        DMX_TRY(reserve(&c->logits, &c->logits_elems, out_elems));
        z = c->logits;
    }
    normalize(c, batch, type, layout, pixels, c->staging);
    classify_pass pass = {.c = c, .batch = batch};
    dmx_tensor *kept[DMX_PLANNED_MAX_KEPT] = {0};
    int n_kept = 0;
    DMX_TRY(dmx_planned_run(&c->planned, batch, classify_pass_fn, &pass, kept, &n_kept));
    DMX_TRY(dmx_tensor_to_host(kept[0], z, out_elems * sizeof *z));
    if (probs)
        softmax_rows(z, batch, i->classes, probs);
    if (batch > c->info.max_batch)
        c->info.max_batch = batch;
    c->info.activation_peak_bytes = c->planned.peak_bytes;
    return DMX_OK;
}

dmx_status dmx_classifier_run(dmx_classifier *c, int batch, dmx_pixel_type type,
                              dmx_pixel_layout layout, const void *pixels, float *logits,
                              float *probs)
{
    DMX_TRY(check_classifier(c, "dmx_classifier_run"));
    if (batch <= 0)
        return dmx_fail(DMX_ERR_INVALID_ARG, "dmx_classifier_run: batch %d (must be >= 1)",
                        batch);
    if (!pixels)
        return dmx_fail(DMX_ERR_INVALID_ARG, "dmx_classifier_run: pixels is NULL");
    if (!logits && !probs)
        return dmx_fail(DMX_ERR_INVALID_ARG, "dmx_classifier_run: logits and probs are both "
                        "NULL: nothing to return");
    if (type != DMX_PIXELS_U8 && type != DMX_PIXELS_F32)
        return dmx_fail(DMX_ERR_INVALID_ARG, "dmx_classifier_run: pixel type %d is neither "
                        "DMX_PIXELS_U8 nor DMX_PIXELS_F32", (int)type);
    if (layout != DMX_LAYOUT_NCHW && layout != DMX_LAYOUT_NHWC)
        return dmx_fail(DMX_ERR_INVALID_ARG, "dmx_classifier_run: layout %d is neither "
                        "DMX_LAYOUT_NCHW nor DMX_LAYOUT_NHWC", (int)layout);
    int64_t per_image = (int64_t)c->info.channels * c->info.height * c->info.width;
    if ((int64_t)batch * per_image > INT32_MAX ||
        (int64_t)batch * c->info.classes > INT32_MAX)
        return dmx_fail(DMX_ERR_INVALID_ARG, "dmx_classifier_run: batch %d is too large (more "
                        "than 2^31 input values); run it in parts", batch);
    pthread_mutex_lock(&c->lock);
    dmx_status s = run_locked(c, batch, type, layout, pixels, logits, probs);
    pthread_mutex_unlock(&c->lock);
    return s == DMX_OK ? s : dmx_fail_context(s, "classifying %d image(s) on %s: ", batch,
                                              c->dev->info.name);
}

int dmx_top_k(const float *row, int classes, int k, int *index, float *value)
{
    if (!row || classes <= 0 || k <= 0)
        return 0;
    if (k > classes)
        k = classes;
    /* Selection by insertion into the k best so far: k is small (a top 5). */
    int n = 0;
    int best_stack[64];
    int *best = k <= 64 ? best_stack : malloc((size_t)k * sizeof *best);
    if (!best)
        return 0;
    for (int j = 0; j < classes; j++) {
        int at = n;
        while (at > 0 && row[j] > row[best[at - 1]]) /* strictly: ties keep the lower index */
            at--;
        if (at >= k)
            continue;
        int last = n < k ? n : k - 1;
        memmove(best + at + 1, best + at, (size_t)(last - at) * sizeof *best);
        best[at] = j;
        if (n < k)
            n++;
    }
    for (int j = 0; j < n; j++) {
        if (index)
            index[j] = best[j];
        if (value)
            value[j] = row[best[j]];
    }
    if (best != best_stack)
        free(best);
    return n;
}
