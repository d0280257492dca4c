/* The model object: a configuration, a parameter store and a family's forward. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/error.h"
#include "models/model_internal.h"
#include "nn/nn_internal.h"

static const dmx_model_family *const family_table[] = {
    &dmx_family_mixer, &dmx_family_patchonly, &dmx_family_vit, &dmx_family_imixer,
    &dmx_family_lra,
};

static const dmx_model_family *find_family(const char *name)
{
    for (size_t i = 0; i < sizeof family_table / sizeof family_table[0]; i++)
        if (strcmp(family_table[i]->name, name) == 0)
            return family_table[i];
    return NULL;
}

int64_t dmx_model_tokens(const dmx_model_config *cfg)
{
    int64_t side = cfg->patch > 0 ? cfg->image / cfg->patch : 0;
    return side * side;
}

dmx_status dmx_model_config_check(const dmx_model_config *cfg)
{
    if (!cfg)
        return dmx_fail(DMX_ERR_INVALID_ARG, "model config: NULL");
    if (!find_family(cfg->family))
        return dmx_fail(DMX_ERR_UNSUPPORTED, "model family '%s' is not built into this dimix",
                        cfg->family);
    if (cfg->classes < 1 || cfg->depth < 1)
        return dmx_fail(DMX_ERR_INVALID_ARG, "model %s: classes (%d) and depth (%d) must be >= 1",
                        cfg->family, cfg->classes, cfg->depth);
    if (strcmp(cfg->family, "lra") == 0)
        return dmx_lra_config_check(cfg);
    if (cfg->channels < 1 || cfg->image < 1)
        return dmx_fail(DMX_ERR_INVALID_ARG, "model %s: channels (%d) and image (%d) must be >= 1",
                        cfg->family, cfg->channels, cfg->image);
    if (strcmp(cfg->family, "patchonly") == 0) {
        if (cfg->k1 < 1 || cfg->k2 < 1 || cfg->image != cfg->k1 * cfg->k2)
            return dmx_fail(DMX_ERR_SHAPE, "model patchonly: image %d must equal k1 * k2 = %d * "
                            "%d (resize the input to it)", cfg->image, cfg->k1, cfg->k2);
        return DMX_OK;
    }
    if (cfg->patch < 1 || cfg->image % cfg->patch != 0)
        return dmx_fail(DMX_ERR_SHAPE, "model %s: image %d is not a multiple of patch %d",
                        cfg->family, cfg->image, cfg->patch);
    if (cfg->dim < 1)
        return dmx_fail(DMX_ERR_INVALID_ARG, "model %s: dim must be >= 1", cfg->family);
    if (strcmp(cfg->family, "vit") == 0 && (cfg->heads < 1 || cfg->dim % cfg->heads != 0))
        return dmx_fail(DMX_ERR_SHAPE, "model vit: dim %d is not a multiple of heads %d",
                        cfg->dim, cfg->heads);
    return DMX_OK;
}

/* Declares the family's parameters; then either initialises them from `seed` with
 * gradients (training) or places them frozen (inference: values only, loaded afterwards). */
static dmx_status create_model(dmx_device *dev, const dmx_model_config *cfg, uint64_t seed,
                               bool frozen, dmx_model **out)
{
    if (!dev || !cfg || !out)
        return dmx_fail(DMX_ERR_INVALID_ARG, "dmx_model_create: NULL argument");
    *out = NULL;
    DMX_TRY(dmx_model_config_check(cfg));
    dmx_model *m = calloc(1, sizeof *m);
    if (!m)
        return dmx_fail(DMX_ERR_OUT_OF_MEMORY, "dmx_model_create: out of host memory");
    m->cfg = *cfg;
    m->family = find_family(cfg->family);
    dmx_status s = dmx_params_create(dev, &m->params);
    if (s == DMX_OK)
        s = m->family->init(m);
    if (s == DMX_OK)
        s = frozen ? dmx_params_allocate_frozen(m->params) : dmx_params_allocate(m->params, seed);
    if (s != DMX_OK) {
        dmx_model_destroy(m);
        return dmx_fail_context(s, "model %s: ", cfg->family);
    }
    *out = m;
    return DMX_OK;
}

dmx_status dmx_model_create(dmx_device *dev, const dmx_model_config *cfg, uint64_t seed,
                            dmx_model **out)
{
    return create_model(dev, cfg, seed, false, out);
}

dmx_status dmx_model_create_frozen(dmx_device *dev, const dmx_model_config *cfg, dmx_model **out)
{
    return create_model(dev, cfg, 0, true, out);
}

void dmx_model_destroy(dmx_model *m)
{
    if (!m)
        return;
    if (m->family && m->family->destroy)
        m->family->destroy(m);
    else
        free(m->impl);
    dmx_params_destroy(m->params);
    free(m);
}

dmx_params *dmx_model_params(dmx_model *m) { return m ? m->params : NULL; }
const dmx_model_config *dmx_model_config_of(const dmx_model *m) { return m ? &m->cfg : NULL; }

dmx_status dmx_model_forward(dmx_ctx *ctx, dmx_model *m, const dmx_model_input *in,
                             dmx_tensor **logits)
{
    if (!ctx || !m || !in || !logits)
        return dmx_fail(DMX_ERR_INVALID_ARG, "dmx_model_forward: NULL argument");
    return m->family->forward(ctx, m, in, logits);
}

dmx_status dmx_model_check_images(const dmx_model_config *cfg, const dmx_tensor *images)
{
    char s[96];
    if (!images)
        return dmx_fail(DMX_ERR_INVALID_ARG, "model %s: no images given", cfg->family);
    if (images->dtype != DMX_F32 || images->ndim != 4 || images->shape[1] != cfg->channels ||
        images->shape[2] != cfg->image || images->shape[3] != cfg->image)
        return dmx_fail(DMX_ERR_SHAPE, "model %s: images of shape %s, expected [B, %d, %d, %d] F32",
                        cfg->family, dmx_shape_str(images, s, sizeof s), cfg->channels,
                        cfg->image, cfg->image);
    return DMX_OK;
}

dmx_status dmx_model_patch_embed(dmx_ctx *ctx, const dmx_nn_linear *embed, dmx_tensor *images,
                                 int64_t patch, dmx_tensor **tokens)
{
    dmx_tensor *patches = NULL;
    DMX_TRY(dmx_unfold(ctx, images, patch, &patches)); /* [B, S, C p p] */
    return dmx_linear_forward(ctx, embed, patches, -1, tokens);
}

dmx_status dmx_model_flatten_head(dmx_ctx *ctx, const dmx_nn_linear *head, dmx_tensor *x,
                                  dmx_tensor **logits)
{
    int64_t shape[2] = {x->shape[0], dmx_tensor_numel(x) / x->shape[0]};
    dmx_tensor *flat = NULL;
    DMX_TRY(dmx_reshape(ctx, x, 2, shape, &flat));
    return dmx_linear_forward(ctx, head, flat, -1, logits);
}
