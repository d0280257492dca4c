/* Checkpoints on top of safetensors: parameters, buffers, optimizer state and metadata. */
#include <errno.h>
#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/error.h"
#include "dimix/checkpoint.h"
#include "dimix/safetensors.h"

#define FORMAT "dimix-checkpoint-1"
#define FORMAT_WEIGHTS "dimix-weights-1"
#define KEY_NORM "normalization"
#define KEY_CLASSES "classes"

/* "mean=a,b std=c,d" with %.9g: a float printed with 9 significant digits reads back exactly. */
static dmx_status set_input(dmx_st_writer *w, const dmx_checkpoint_input *in)
{
    if (!in)
        return DMX_OK;
    if (in->channels < 0 || in->channels > DMX_CHECKPOINT_MAX_CHANNELS)
        return dmx_fail(DMX_ERR_INVALID_ARG, "checkpoint: %d input channels to record, at most %d",
                        in->channels, DMX_CHECKPOINT_MAX_CHANNELS);
    if (in->channels > 0) {
        char text[512];
        size_t len = 0;
        for (int part = 0; part < 2; part++) {
            const float *v = part ? in->std : in->mean;
            len += (size_t)snprintf(text + len, sizeof text - len, "%s", part ? " std=" : "mean=");
            for (int c = 0; c < in->channels; c++) {
                if (part && !(v[c] > 0.0f))
                    return dmx_fail(DMX_ERR_INVALID_ARG, "checkpoint: std %g of channel %d is not "
                                    "positive", (double)v[c], c);
                len += (size_t)snprintf(text + len, sizeof text - len, "%s%.9g", c ? "," : "",
                                        (double)v[c]);
            }
        }
        DMX_TRY(dmx_st_writer_set_metadata(w, KEY_NORM, text));
    }
    if (in->classes > 0 && in->class_names) {
        size_t total = 1;
        for (int k = 0; k < in->classes; k++) {
            const char *name = in->class_names[k] ? in->class_names[k] : "";
            if (strchr(name, '\n'))
                return dmx_fail(DMX_ERR_INVALID_ARG, "checkpoint: class name %d holds a newline",
                                k);
            total += strlen(name) + 1;
        }
        char *text = malloc(total);
        if (!text)
            return dmx_fail(DMX_ERR_OUT_OF_MEMORY, "checkpoint: out of host memory");
        size_t len = 0;
        for (int k = 0; k < in->classes; k++)
            len += (size_t)snprintf(text + len, total - len, "%s%s", k ? "\n" : "",
                                    in->class_names[k] ? in->class_names[k] : "");
        dmx_status s = dmx_st_writer_set_metadata(w, KEY_CLASSES, text);
        free(text);
        DMX_TRY(s);
    }
    return DMX_OK;
}

/* Reads a device tensor to the host and adds a copy to the writer. */
static dmx_status add_tensor(dmx_st_writer *w, const dmx_tensor *t)
{
    size_t bytes = dmx_tensor_bytes(t);
    float *host = malloc(bytes ? bytes : 4);
    if (!host)
        return dmx_fail(DMX_ERR_OUT_OF_MEMORY, "checkpoint: out of host memory for %s", t->name);
    dmx_status s = dmx_tensor_to_host(t, host, bytes);
    if (s == DMX_OK)
        s = dmx_st_writer_add_copy(w, t->name, DMX_ST_F32, t->ndim, t->shape, host);
    free(host);
    return s;
}

static dmx_status set_int(dmx_st_writer *w, const char *key, int64_t v)
{
    char text[32];
    snprintf(text, sizeof text, "%" PRId64, v);
    return dmx_st_writer_set_metadata(w, key, text);
}

static dmx_status write_all(dmx_st_writer *w, const char *path, dmx_model *model,
                            dmx_optimizer *opt, const dmx_train_state *st,
                            const dmx_checkpoint_input *input)
{
    char cfg[DMX_CHECKPOINT_TEXT];
    DMX_TRY(dmx_model_config_format(dmx_model_config_of(model), cfg, sizeof cfg));
    DMX_TRY(dmx_st_writer_set_metadata(w, "format", FORMAT));
    DMX_TRY(dmx_st_writer_set_metadata(w, "model", cfg));
    DMX_TRY(set_input(w, input));
    if (st) {
        DMX_TRY(set_int(w, "step", st->step));
        DMX_TRY(set_int(w, "epoch", st->epoch));
        DMX_TRY(set_int(w, "batch", st->batch));
        char seed[32];
        snprintf(seed, sizeof seed, "%" PRIu64, st->seed);
        DMX_TRY(dmx_st_writer_set_metadata(w, "seed", seed));
        DMX_TRY(dmx_st_writer_set_metadata(w, "train", st->train));
    }
    dmx_params *ps = dmx_model_params(model);
    for (int i = 0; i < dmx_params_count(ps); i++)
        DMX_TRY(add_tensor(w, dmx_params_at(ps, i)));
    for (int i = 0; opt && i < dmx_optim_state_count(opt); i++)
        DMX_TRY(add_tensor(w, dmx_optim_state(opt, i)));
    return dmx_st_writer_save(w, path);
}

dmx_status dmx_checkpoint_save(const char *path, dmx_model *model, dmx_optimizer *opt,
                               const dmx_train_state *state)
{
    return dmx_checkpoint_save_with(path, model, opt, state, NULL);
}

dmx_status dmx_checkpoint_save_with(const char *path, dmx_model *model, dmx_optimizer *opt,
                                    const dmx_train_state *state,
                                    const dmx_checkpoint_input *input)
{
    if (!path || !model)
        return dmx_fail(DMX_ERR_INVALID_ARG, "checkpoint save: NULL path or model");
    dmx_st_writer *w = NULL;
    DMX_TRY(dmx_st_writer_create(&w));
    dmx_status s = write_all(w, path, model, opt, state, input);
    dmx_st_writer_destroy(w);
    return s == DMX_OK ? s : dmx_fail_context(s, "saving checkpoint %s: ", path);
}

/* Reads tensor t's values from the file into the device tensor, checking the shape. */
static dmx_status load_tensor(const dmx_st_file *f, dmx_tensor *t)
{
    if (!dmx_st_find(f, t->name))
        return dmx_fail(DMX_ERR_NOT_FOUND, "%s has no tensor '%s'", dmx_st_path(f), t->name);
    DMX_TRY(dmx_st_check_shape(f, t->name, t->ndim, t->shape));
    size_t bytes = dmx_tensor_bytes(t);
    float *host = malloc(bytes ? bytes : 4);
    if (!host)
        return dmx_fail(DMX_ERR_OUT_OF_MEMORY, "checkpoint: out of host memory for %s", t->name);
    dmx_status s = dmx_st_read(f, t->name, DMX_ST_F32, host, bytes);
    if (s == DMX_OK)
        s = dmx_tensor_write(t, host, bytes);
    free(host);
    return s;
}

static dmx_status check_no_strangers(const dmx_st_file *f, dmx_params *ps)
{
    for (int64_t i = 0; i < dmx_st_count(f); i++) {
        const char *name = dmx_st_info_at(f, i)->name;
        if (strncmp(name, "optim.", 6) != 0 && !dmx_params_find(ps, name))
            return dmx_fail(DMX_ERR_FORMAT, "%s: tensor '%s' is not a parameter of this model "
                            "(parameter names follow SPEC section 6)", dmx_st_path(f), name);
    }
    return DMX_OK;
}

static dmx_status load_weights_from(const dmx_st_file *f, dmx_model *model)
{
    dmx_params *ps = dmx_model_params(model);
    DMX_TRY(check_no_strangers(f, ps));
    for (int i = 0; i < dmx_params_count(ps); i++)
        DMX_TRY(load_tensor(f, dmx_params_at(ps, i)));
    return DMX_OK;
}

dmx_status dmx_checkpoint_load_weights(const char *path, dmx_model *model)
{
    if (!path || !model)
        return dmx_fail(DMX_ERR_INVALID_ARG, "checkpoint load: NULL path or model");
    dmx_st_file *f = NULL;
    DMX_TRY(dmx_st_open(path, &f));
    dmx_status s = load_weights_from(f, model);
    dmx_st_close(f);
    return s == DMX_OK ? s : dmx_fail_context(s, "loading weights from %s: ", path);
}

static dmx_status parse_int(const dmx_st_file *f, const char *key, int64_t *out)
{
    const char *text = dmx_st_metadata(f, key);
    if (!text) {
        *out = 0;
        return DMX_OK;
    }
    char *end = NULL;
    errno = 0;
    long long v = strtoll(text, &end, 10);
    if (!*text || *end || errno || v < 0)
        return dmx_fail(DMX_ERR_FORMAT, "%s: metadata %s = '%s' is not a count", dmx_st_path(f),
                        key, text);
    *out = v;
    return DMX_OK;
}

static dmx_status read_state(const dmx_st_file *f, dmx_train_state *st)
{
    memset(st, 0, sizeof *st);
    DMX_TRY(parse_int(f, "step", &st->step));
    DMX_TRY(parse_int(f, "epoch", &st->epoch));
    DMX_TRY(parse_int(f, "batch", &st->batch));
    const char *seed = dmx_st_metadata(f, "seed");
    if (seed) {
        char *end = NULL;
        errno = 0;
        st->seed = strtoull(seed, &end, 10);
        if (!*seed || *end || errno || *seed == '-')
            return dmx_fail(DMX_ERR_FORMAT, "%s: metadata seed = '%s' is not a seed",
                            dmx_st_path(f), seed);
    }
    const char *train = dmx_st_metadata(f, "train");
    snprintf(st->train, sizeof st->train, "%s", train ? train : "");
    return DMX_OK;
}

/* An open checkpoint: the safetensors file (its descriptor stays open, so every read comes
 * from the file that was opened, whatever happens to the path meanwhile). */
struct dmx_checkpoint {
    dmx_st_file *file;
};

dmx_status dmx_checkpoint_open(const char *path, dmx_checkpoint **out)
{
    if (!path || !out)
        return dmx_fail(DMX_ERR_INVALID_ARG, "checkpoint open: NULL argument");
    *out = NULL;
    dmx_checkpoint *ck = calloc(1, sizeof *ck);
    if (!ck)
        return dmx_fail(DMX_ERR_OUT_OF_MEMORY, "checkpoint open: out of host memory");
    dmx_status s = dmx_st_open(path, &ck->file);
    if (s != DMX_OK) {
        free(ck);
        return s;
    }
    *out = ck;
    return DMX_OK;
}

void dmx_checkpoint_close(dmx_checkpoint *ck)
{
    if (!ck)
        return;
    dmx_st_close(ck->file);
    free(ck);
}

const char *dmx_checkpoint_path(const dmx_checkpoint *ck) { return dmx_st_path(ck->file); }

dmx_status dmx_checkpoint_config(const dmx_checkpoint *ck, dmx_model_config *cfg)
{
    const char *text = dmx_st_metadata(ck->file, "model");
    if (!text)
        return dmx_fail(DMX_ERR_FORMAT, "%s is not a dimix checkpoint: its metadata has no 'model' "
                        "configuration", dmx_st_path(ck->file));
    dmx_status s = dmx_model_config_parse(text, cfg);
    return s == DMX_OK ? s : dmx_fail_context(s, "%s: ", dmx_st_path(ck->file));
}

dmx_status dmx_checkpoint_state(const dmx_checkpoint *ck, dmx_train_state *state)
{
    return read_state(ck->file, state);
}

dmx_status dmx_checkpoint_read_weights(const dmx_checkpoint *ck, dmx_model *model)
{
    dmx_status s = load_weights_from(ck->file, model);
    return s == DMX_OK ? s : dmx_fail_context(s, "loading weights from %s: ",
                                              dmx_st_path(ck->file));
}

dmx_status dmx_checkpoint_read_optimizer(const dmx_checkpoint *ck, dmx_optimizer *opt)
{
    dmx_status s = DMX_OK;
    for (int i = 0; s == DMX_OK && i < dmx_optim_state_count(opt); i++)
        s = load_tensor(ck->file, dmx_optim_state(opt, i));
    int64_t step = 0;
    if (s == DMX_OK)
        s = parse_int(ck->file, "step", &step);
    if (s == DMX_OK)
        dmx_optim_set_steps(opt, step);
    return s == DMX_OK ? s : dmx_fail_context(s, "loading optimizer state from %s: ",
                                              dmx_st_path(ck->file));
}

dmx_status dmx_checkpoint_build_model(const dmx_checkpoint *ck, dmx_device *dev,
                                      dmx_model **model)
{
    *model = NULL;
    dmx_model_config cfg;
    DMX_TRY(dmx_checkpoint_config(ck, &cfg));
    DMX_TRY(dmx_model_create(dev, &cfg, 0, model));
    dmx_status s = load_weights_from(ck->file, *model);
    if (s != DMX_OK) {
        dmx_model_destroy(*model);
        *model = NULL;
        return dmx_fail_context(s, "loading weights from %s: ", dmx_st_path(ck->file));
    }
    return DMX_OK;
}

dmx_status dmx_checkpoint_load_model(const char *path, dmx_device *dev, dmx_model **model,
                                     dmx_train_state *state)
{
    if (!path || !dev || !model)
        return dmx_fail(DMX_ERR_INVALID_ARG, "checkpoint load: NULL argument");
    *model = NULL;
    dmx_checkpoint *ck = NULL;
    DMX_TRY(dmx_checkpoint_open(path, &ck));
    dmx_status s = dmx_checkpoint_build_model(ck, dev, model);
    if (s == DMX_OK && state)
        s = read_state(ck->file, state);
    dmx_checkpoint_close(ck);
    if (s != DMX_OK) {
        dmx_model_destroy(*model);
        *model = NULL;
        return dmx_fail_context(s, "loading checkpoint %s: ", path);
    }
    return DMX_OK;
}

dmx_status dmx_checkpoint_load_optimizer(const char *path, dmx_optimizer *opt)
{
    if (!path || !opt)
        return dmx_fail(DMX_ERR_INVALID_ARG, "checkpoint load: NULL path or optimizer");
    dmx_checkpoint *ck = NULL;
    DMX_TRY(dmx_checkpoint_open(path, &ck));
    dmx_status s = dmx_checkpoint_read_optimizer(ck, opt);
    dmx_checkpoint_close(ck);
    return s;
}

/* ---- normalisation and class names; exported weights ---- */

void dmx_checkpoint_input_free(dmx_checkpoint_input *in)
{
    if (!in)
        return;
    for (int k = 0; in->class_names && k < in->classes; k++)
        free(in->class_names[k]);
    free(in->class_names);
    in->class_names = NULL;
    in->classes = 0;
}

/* "a,b,c" into v (at most DMX_CHECKPOINT_MAX_CHANNELS); returns the count, -1 when malformed. */
static int parse_floats(const char *text, size_t len, float *v)
{
    int n = 0;
    const char *p = text, *end = text + len;
    while (p < end) {
        if (n == DMX_CHECKPOINT_MAX_CHANNELS)
            return -1;
        char num[64];
        size_t k = 0;
        while (p < end && *p != ',' && k + 1 < sizeof num)
            num[k++] = *p++;
        num[k] = 0;
        char *stop = NULL;
        errno = 0;
        v[n++] = strtof(num, &stop);
        if (!k || *stop || errno)
            return -1;
        if (p < end && *p == ',' && ++p == end)
            return -1;
    }
    return n;
}

static dmx_status read_normalization(const dmx_st_file *f, dmx_checkpoint_input *out)
{
    const char *text = dmx_st_metadata(f, KEY_NORM);
    if (!text)
        return DMX_OK;
    const char *sp = strstr(text, " std=");
    int nm = -1, ns = -1;
    if (strncmp(text, "mean=", 5) == 0 && sp) {
        nm = parse_floats(text + 5, (size_t)(sp - text - 5), out->mean);
        ns = parse_floats(sp + 5, strlen(sp + 5), out->std);
    }
    bool ok = nm > 0 && nm == ns;
    for (int c = 0; ok && c < ns; c++)
        ok = out->std[c] > 0.0f && isfinite(out->std[c]) && isfinite(out->mean[c]);
    if (!ok)
        return dmx_fail(DMX_ERR_FORMAT, "%s: metadata %s = '%s' is not \"mean=M0,... std=S0,...\" "
                        "with 1 to %d channels and positive stds", dmx_st_path(f), KEY_NORM, text,
                        DMX_CHECKPOINT_MAX_CHANNELS);
    out->channels = nm;
    return DMX_OK;
}

static dmx_status read_classes(const dmx_st_file *f, dmx_checkpoint_input *out)
{
    const char *text = dmx_st_metadata(f, KEY_CLASSES);
    if (!text)
        return DMX_OK;
    int n = 1;
    for (const char *p = text; *p; p++)
        n += *p == '\n';
    out->class_names = calloc((size_t)n, sizeof *out->class_names);
    if (!out->class_names)
        return dmx_fail(DMX_ERR_OUT_OF_MEMORY, "%s: out of host memory", dmx_st_path(f));
    out->classes = n;
    const char *p = text;
    for (int k = 0; k < n; k++) {
        const char *e = strchr(p, '\n');
        size_t len = e ? (size_t)(e - p) : strlen(p);
        out->class_names[k] = malloc(len + 1);
        if (!out->class_names[k])
            return dmx_fail(DMX_ERR_OUT_OF_MEMORY, "%s: out of host memory", dmx_st_path(f));
        memcpy(out->class_names[k], p, len);
        out->class_names[k][len] = 0;
        p += len + (e ? 1 : 0);
    }
    return DMX_OK;
}

dmx_status dmx_checkpoint_input_read(const dmx_checkpoint *ck, dmx_checkpoint_input *out)
{
    if (!ck || !out)
        return dmx_fail(DMX_ERR_INVALID_ARG, "dmx_checkpoint_input_read: NULL argument");
    memset(out, 0, sizeof *out);
    dmx_status s = read_normalization(ck->file, out);
    if (s == DMX_OK)
        s = read_classes(ck->file, out);
    if (s != DMX_OK)
        dmx_checkpoint_input_free(out);
    return s;
}

static dmx_status export_all(const dmx_st_file *f, dmx_st_writer *w, const char *path)
{
    const char *model = dmx_st_metadata(f, "model");
    if (!model)
        return dmx_fail(DMX_ERR_FORMAT, "%s is not a dimix checkpoint: its metadata has no 'model' "
                        "configuration", dmx_st_path(f));
    DMX_TRY(dmx_st_writer_set_metadata(w, "format", FORMAT_WEIGHTS));
    DMX_TRY(dmx_st_writer_set_metadata(w, "model", model));
    const char *keys[] = {KEY_NORM, KEY_CLASSES};
    for (int i = 0; i < 2; i++)
        if (dmx_st_metadata(f, keys[i]))
            DMX_TRY(dmx_st_writer_set_metadata(w, keys[i], dmx_st_metadata(f, keys[i])));
    for (int64_t i = 0; i < dmx_st_count(f); i++) {
        const dmx_st_tensor_info *t = dmx_st_info_at(f, i);
        if (strncmp(t->name, "optim.", 6) == 0)
            continue;
        size_t bytes = (size_t)t->numel * 4;
        float *host = malloc(bytes ? bytes : 4);
        if (!host)
            return dmx_fail(DMX_ERR_OUT_OF_MEMORY, "export: out of host memory for %s", t->name);
        dmx_status s = dmx_st_read(f, t->name, DMX_ST_F32, host, bytes);
        if (s == DMX_OK)
            s = dmx_st_writer_add_copy(w, t->name, DMX_ST_F32, t->ndim, t->shape, host);
        free(host);
        DMX_TRY(s);
    }
    return dmx_st_writer_save(w, path);
}

dmx_status dmx_checkpoint_export(const dmx_checkpoint *ck, const char *path)
{
    if (!ck || !path)
        return dmx_fail(DMX_ERR_INVALID_ARG, "dmx_checkpoint_export: NULL checkpoint or path");
    dmx_st_writer *w = NULL;
    DMX_TRY(dmx_st_writer_create(&w));
    dmx_status s = export_all(ck->file, w, path);
    dmx_st_writer_destroy(w);
    return s == DMX_OK ? s : dmx_fail_context(s, "exporting %s to %s: ", dmx_st_path(ck->file),
                                              path);
}
