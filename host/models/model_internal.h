/* Internals of host/models: the model object and the per-family table. */
#ifndef DMX_MODEL_INTERNAL_H
#define DMX_MODEL_INTERNAL_H

#include "dimix/models.h"

typedef struct dmx_model_family {
    const char *name;
    /* Declares the parameters in m->params from m->cfg and sets m->impl. */
    dmx_status (*init)(dmx_model *m);
    dmx_status (*forward)(dmx_ctx *ctx, dmx_model *m, const dmx_model_input *in,
                          dmx_tensor **logits);
    void (*destroy)(dmx_model *m); /* frees m->impl */
} dmx_model_family;

struct dmx_model {
    dmx_model_config cfg;
    dmx_params *params;
    const dmx_model_family *family;
    void *impl;
};

extern const dmx_model_family dmx_family_mixer, dmx_family_patchonly, dmx_family_vit,
    dmx_family_imixer, dmx_family_lra;

/* The model for inference: parameters declared as dmx_model_create does, placed in one values
 * buffer with no gradients and no initialisation (dmx_params_allocate_frozen); the caller loads
 * every tensor from a file before the first forward. Forward with gradients off. */
dmx_status dmx_model_create_frozen(dmx_device *dev, const dmx_model_config *cfg, dmx_model **out);

/* The lra family's own checks (sequence length, heads, attention kind and radix). */
dmx_status dmx_lra_config_check(const dmx_model_config *cfg);

/* Number of patch tokens of an image model: (image / patch)^2. */
int64_t dmx_model_tokens(const dmx_model_config *cfg);

/* [B, C, H, W] -> unfold(p) -> patch_embed -> [B, S, D]. */
dmx_status dmx_model_patch_embed(dmx_ctx *ctx, const dmx_nn_linear *embed, dmx_tensor *images,
                                 int64_t patch, dmx_tensor **tokens);

/* [B, S, D] -> flatten -> head -> [B, classes]. */
dmx_status dmx_model_flatten_head(dmx_ctx *ctx, const dmx_nn_linear *head, dmx_tensor *x,
                                  dmx_tensor **logits);

/* Checks images is [B, channels, image, image] F32 for cfg. */
dmx_status dmx_model_check_images(const dmx_model_config *cfg, const dmx_tensor *images);

#endif
