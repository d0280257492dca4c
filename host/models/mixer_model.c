/* MLP-Mixer (SPEC 5 "mixer"): patchify -> patch_embed -> L pre-LN Mixer blocks (token and
 * channel mixing each dense, butterfly MLP or butterfly linear) -> flatten -> head. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/error.h"
#include "models/model_internal.h"

typedef struct mixer_impl {
    dmx_nn_linear patch_embed, head;
    int depth;
    dmx_nn_mixer_block blocks[];
} mixer_impl;

/* "butterfly_mlp" and a radix (0: sqrt N) -> an nn mixer config. */
static dmx_status mix_config(const char *kind, int radix, int expansion, int64_t n,
                             const char *axis, dmx_mix_config *out)
{
    *out = (dmx_mix_config){.expansion = expansion};
    if (strcmp(kind, "dense") == 0)
        out->kind = DMX_MIX_DENSE;
    else if (strcmp(kind, "butterfly_mlp") == 0)
        out->kind = DMX_MIX_BUTTERFLY_MLP;
    else if (strcmp(kind, "butterfly_linear") == 0)
        out->kind = DMX_MIX_BUTTERFLY_LINEAR;
    else
        return dmx_fail(DMX_ERR_INVALID_ARG, "model mixer: %s mixing '%s' is not dense, "
                        "butterfly_mlp or butterfly_linear", axis, kind);
    int64_t root = (int64_t)llround(sqrt((double)n));
    out->radix = radix ? radix : root;
    if (out->kind == DMX_MIX_BUTTERFLY_MLP && !radix && root * root != n)
        return dmx_fail(DMX_ERR_INVALID_ARG, "model mixer: %s size %lld is not a square; set "
                        "%s_radix", axis, (long long)n, axis);
    return DMX_OK;
}

static dmx_status mixer_init(dmx_model *m)
{
    const dmx_model_config *c = &m->cfg;
    const int64_t S = dmx_model_tokens(c), D = c->dim, P = (int64_t)c->patch * c->patch * c->channels;
    dmx_mix_config tok, ch;
    DMX_TRY(mix_config(c->token_mix, c->token_radix, c->expansion, S, "token", &tok));
    DMX_TRY(mix_config(c->channel_mix, c->channel_radix, c->expansion, D, "channel", &ch));
    mixer_impl *im = calloc(1, sizeof *im + (size_t)c->depth * sizeof im->blocks[0]);
    if (!im)
        return dmx_fail(DMX_ERR_OUT_OF_MEMORY, "model mixer: out of host memory");
    m->impl = im;
    im->depth = c->depth;
    DMX_TRY(dmx_linear_init(m->params, "patch_embed", P, D, true, &im->patch_embed));
    for (int l = 0; l < c->depth; l++) {
        char name[32];
        snprintf(name, sizeof name, "blocks.%d", l);
        DMX_TRY(dmx_mixer_block_init(m->params, name, S, D, &tok, &ch, c->eps, &im->blocks[l]));
    }
    return dmx_linear_init(m->params, "head", S * D, c->classes, true, &im->head);
}

static dmx_status mixer_forward(dmx_ctx *ctx, dmx_model *m, const dmx_model_input *in,
                                dmx_tensor **logits)
{
    const mixer_impl *im = m->impl;
    DMX_TRY(dmx_model_check_images(&m->cfg, in->images));
    dmx_tensor *x = NULL;
    DMX_TRY(dmx_model_patch_embed(ctx, &im->patch_embed, in->images, m->cfg.patch, &x));
    for (int l = 0; l < im->depth; l++)
        DMX_TRY(dmx_mixer_block_forward(ctx, &im->blocks[l], x, &x));
    return dmx_model_flatten_head(ctx, &im->head, x, logits);
}

const dmx_model_family dmx_family_mixer = {"mixer", mixer_init, mixer_forward, NULL};
