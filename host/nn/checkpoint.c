/* Checkpoints on top of safetensors: parameters, buffers, optimizer state and metadata. */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/error.h"
#include "dimix/checkpoint.h"
#include "dimix/safetensors.h"

#define FORMAT "dimix-checkpoint-1"

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
                            dmx_optimizer *opt, const dmx_train_state *st)
{
    char cfg[DMX_CHECKPOINT_TEXT];
    DMX_TRY(dmx_model_config_format(dmx_model_config_of(model), cfg, sizeof cfg));
    DMX_TRY(dmx_st_writer_set_metadata(w, "format", FORMAT));
    DMX_TRY(dmx_st_writer_set_metadata(w, "model", cfg));
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
    if (!path || !model)
        return dmx_fail(DMX_ERR_INVALID_ARG, "checkpoint save: NULL path or model");
    dmx_st_writer *w = NULL;
    DMX_TRY(dmx_st_writer_create(&w));
    dmx_status s = write_all(w, path, model, opt, state);
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
