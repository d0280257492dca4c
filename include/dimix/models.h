/* Models of SPEC section 5, built from a configuration.
 *
 * A configuration is a family plus named knobs. Every knob can be set by name ("dim=128", as
 * the CLI does), printed as text (stored in checkpoints) and parsed back, and is listed with
 * its meaning by dmx_model_config_help. Named presets reproduce the papers' configurations.
 *
 * Families: mixer, patchonly, vit, imixer (images [B, C, H, W] -> logits [B, classes]) and
 * lra (token ids [B, S] with a key-padding mask -> logits). */
#ifndef DIMIX_MODELS_H
#define DIMIX_MODELS_H

#include <stdbool.h>
#include <stdio.h>

#include "dimix/nn.h"

#ifdef __cplusplus
extern "C" {
#endif

#define DMX_MODEL_TEXT 32

typedef struct dmx_model_config {
    char family[DMX_MODEL_TEXT]; /* mixer | patchonly | vit | imixer | lra */
    /* input and output */
    int channels, image, classes; /* image models: C, H = W, classes */
    int vocab, seq_len;           /* lra: token vocabulary (with padding id 0), sequence length */
    /* shared */
    int patch;        /* mixer, vit, imixer: patch size p */
    int dim;          /* D: patch embedding / model width */
    int depth;        /* blocks (patchonly: layers of (K1, K2) blocks) */
    float eps;        /* LayerNorm eps (mixer 1e-5, imixer 1e-6) */
    /* mixer */
    char token_mix[DMX_MODEL_TEXT], channel_mix[DMX_MODEL_TEXT]; /* dense | butterfly_mlp |
                                                                    butterfly_linear */
    int token_radix, channel_radix; /* 0: sqrt(N) */
    int expansion;                  /* e for token and channel mixing */
    /* vit and lra */
    char attention[DMX_MODEL_TEXT]; /* dense | butterfly */
    int heads, mlp_hidden;          /* mlp_hidden 0: 2 D (vit) */
    int attn_radix;                 /* butterfly radix; 0: 2^ceil(log2 sqrt S) */
    float dropout;                  /* lra: dropout on embeddings, attention output and MLP */
    int head_hidden;                /* lra: classifier hidden width */
    /* patchonly */
    int k1, k2; /* coprime patch sizes; the image is resized to k1 k2 */
    /* imixer */
    float token_ratio; /* T = token_ratio * D */
    float h_ratio;     /* H = h_ratio * T */
    int n_iter, n_power;
    int mlp_ratio; /* channel MLP hidden = mlp_ratio * D */
} dmx_model_config;

/* Defaults of a family (fills every knob). */
DMX_API dmx_status dmx_model_config_defaults(const char *family, dmx_model_config *cfg);

/* A named preset (see dmx_model_presets_help): e.g. "e1-dense", "e1-butterfly-mlp",
 * "e1-butterfly-linear", "fmnist-bmlp". */
DMX_API dmx_status dmx_model_preset(const char *name, dmx_model_config *cfg);

/* Sets one knob by name from text; errors name the knob and list the valid ones. */
DMX_API dmx_status dmx_model_config_set(dmx_model_config *cfg, const char *key, const char *value);

/* "family=mixer dim=121 ..." (every knob of the family) and back. */
DMX_API dmx_status dmx_model_config_format(const dmx_model_config *cfg, char *buf, size_t cap);
DMX_API dmx_status dmx_model_config_parse(const char *text, dmx_model_config *cfg);

/* Checks the knobs fit together (divisibility, radices); errors say which and why. */
DMX_API dmx_status dmx_model_config_check(const dmx_model_config *cfg);

/* Lists the knobs of a family (or every family for NULL) with their meaning and default. */
DMX_API void dmx_model_config_help(FILE *out, const char *family);
/* Lists the presets of the image families (lra false) or of the LRA family (lra true). */
DMX_API void dmx_model_presets_help(FILE *out, bool lra);

typedef struct dmx_model dmx_model;

/* What a model reads: images for the image families; ids and mask for lra. */
typedef struct dmx_model_input {
    dmx_tensor *images; /* [B, C, H, W] F32 */
    dmx_tensor *ids;    /* [B, S] I32 */
    dmx_tensor *mask;   /* [B, S] F32, 1 = token, 0 = padding */
} dmx_model_input;

/* Declares the model's parameters in a new store on `dev` and initialises them from `seed`. */
DMX_API dmx_status dmx_model_create(dmx_device *dev, const dmx_model_config *cfg, uint64_t seed,
                                    dmx_model **out);
DMX_API void dmx_model_destroy(dmx_model *m);
DMX_API dmx_params *dmx_model_params(dmx_model *m);
DMX_API const dmx_model_config *dmx_model_config_of(const dmx_model *m);

/* logits [B, classes]. Training behaviour (dropout, power iterations) follows the context's
 * training flag. */
DMX_API dmx_status dmx_model_forward(dmx_ctx *ctx, dmx_model *m, const dmx_model_input *in,
                                     dmx_tensor **logits);

#ifdef __cplusplus
}
#endif
#endif
