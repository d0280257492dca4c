/* ViT (SPEC 5 "vit", Dimension Mixer Table 4): patchify -> Linear(p^2 C -> D), no position
 * embedding -> L post-norm transformer blocks (MLP D -> 2D -> D, GELU) -> flatten -> head.
 * With butterfly attention, layer l is stage l mod K of radix a = 2^ceil(log2 sqrt S). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/error.h"
#include "models/model_internal.h"

typedef struct vit_impl {
    dmx_nn_linear patch_embed, head;
    int depth;
    bool butterfly;
    dmx_nn_butterfly_attention blocks[]; /* dense: radix S, stage 0 = the plain block */
} vit_impl;

static dmx_status vit_init(dmx_model *m)
{
    const dmx_model_config *c = &m->cfg;
    const int64_t S = dmx_model_tokens(c), D = c->dim, P = (int64_t)c->patch * c->patch * c->channels;
    bool butterfly = strcmp(c->attention, "butterfly") == 0;
    if (!butterfly && strcmp(c->attention, "dense") != 0)
        return dmx_fail(DMX_ERR_INVALID_ARG, "model vit: attention '%s' is not dense or butterfly",
                        c->attention);
    int64_t a = butterfly ? (c->attn_radix ? c->attn_radix : dmx_vit_radix(S)) : S;
    int K = 1;
    if (butterfly)
        DMX_TRY(dmx_butterfly_stages(S, a, &K));
    vit_impl *im = calloc(1, sizeof *im + (size_t)c->depth * sizeof im->blocks[0]);
    if (!im)
        return dmx_fail(DMX_ERR_OUT_OF_MEMORY, "model vit: out of host memory");
    m->impl = im;
    im->depth = c->depth;
    im->butterfly = butterfly;
    DMX_TRY(dmx_linear_init(m->params, "patch_embed", P, D, true, &im->patch_embed));
    dmx_block_config bc = {.dim = D, .heads = c->heads,
                           .hidden = c->mlp_hidden ? c->mlp_hidden : 2 * D, .pre_norm = false,
                           .eps = c->eps};
    for (int l = 0; l < c->depth; l++) {
        char name[32];
        snprintf(name, sizeof name, "blocks.%d", l);
        DMX_TRY(dmx_butterfly_attention_init(m->params, name, &bc, a, l % K, &im->blocks[l]));
    }
    return dmx_linear_init(m->params, "head", S * D, c->classes, true, &im->head);
}

static dmx_status vit_forward(dmx_ctx *ctx, dmx_model *m, const dmx_model_input *in,
                              dmx_tensor **logits)
{
    const vit_impl *im = m->impl;
    DMX_TRY(dmx_model_check_images(&m->cfg, in->images));
    dmx_tensor *x = NULL;
    DMX_TRY(dmx_model_patch_embed(ctx, &im->patch_embed, in->images, m->cfg.patch, &x));
    for (int l = 0; l < im->depth; l++) {
        if (im->butterfly)
            DMX_TRY(dmx_butterfly_attention_forward(ctx, &im->blocks[l], x, NULL, &x));
        else
            DMX_TRY(dmx_transformer_block_forward(ctx, &im->blocks[l].block, x, NULL, &x));
    }
    return dmx_model_flatten_head(ctx, &im->head, x, logits);
}

const dmx_model_family dmx_family_vit = {"vit", vit_init, vit_forward, NULL};
