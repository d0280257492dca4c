/* Patch-Only MLP-Mixer (SPEC 5 "patchonly", papers.md 1.5): the image (resized to
 * I = k1 k2 by the data loader) goes through `depth` layers; each layer, for K in (k1, k2):
 * unfold K x K patches -> LayerNorm -> MLP d -> 2d -> d (GELU) -> fold -> add to the image.
 * Head: Linear(C I^2 -> classes) on the flattened image. */
#include <stdio.h>
#include <stdlib.h>

#include "core/error.h"
#include "models/model_internal.h"

typedef struct patch_block {
    int k;
    dmx_nn_layernorm norm;
    dmx_nn_mlp mlp;
} patch_block;

typedef struct patchonly_impl {
    dmx_nn_linear head;
    int n_blocks;
    patch_block blocks[];
} patchonly_impl;

static dmx_status patchonly_init(dmx_model *m)
{
    const dmx_model_config *c = &m->cfg;
    int n = 2 * c->depth;
    patchonly_impl *im = calloc(1, sizeof *im + (size_t)n * sizeof im->blocks[0]);
    if (!im)
        return dmx_fail(DMX_ERR_OUT_OF_MEMORY, "model patchonly: out of host memory");
    m->impl = im;
    im->n_blocks = n;
    for (int b = 0; b < n; b++) {
        patch_block *pb = &im->blocks[b];
        pb->k = b % 2 ? c->k2 : c->k1;
        int64_t d = (int64_t)c->channels * pb->k * pb->k;
        char name[48];
        snprintf(name, sizeof name, "blocks.%d.norm", b);
        DMX_TRY(dmx_layernorm_init(m->params, name, d, c->eps, &pb->norm));
        snprintf(name, sizeof name, "blocks.%d.mlp", b);
        DMX_TRY(dmx_mlp_init(m->params, name, d, 2 * d, d, DMX_ACT_GELU, &pb->mlp));
    }
    return dmx_linear_init(m->params, "head", (int64_t)c->channels * c->image * c->image,
                           c->classes, true, &im->head);
}

static dmx_status patchonly_forward(dmx_ctx *ctx, dmx_model *m, const dmx_model_input *in,
                                    dmx_tensor **logits)
{
    const patchonly_impl *im = m->impl;
    const dmx_model_config *c = &m->cfg;
    DMX_TRY(dmx_model_check_images(c, in->images));
    dmx_tensor *x = in->images;
    for (int b = 0; b < im->n_blocks; b++) {
        const patch_block *pb = &im->blocks[b];
        dmx_tensor *t = NULL, *n = NULL, *h = NULL, *f = NULL;
        DMX_TRY(dmx_unfold(ctx, x, pb->k, &t));
        DMX_TRY(dmx_layernorm_forward(ctx, &pb->norm, t, &n));
        DMX_TRY(dmx_mlp_forward(ctx, &pb->mlp, n, -1, &h));
        DMX_TRY(dmx_fold(ctx, h, c->channels, c->image, c->image, pb->k, &f));
        DMX_TRY(dmx_add(ctx, x, f, &x));
    }
    return dmx_model_flatten_head(ctx, &im->head, x, logits);
}

const dmx_model_family dmx_family_patchonly = {"patchonly", patchonly_init, patchonly_forward,
                                               NULL};
