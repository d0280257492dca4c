/* iMixer (SPEC 5 "imixer", papers.md 2.1): patch embed -> L pre-LN blocks
 * x += iMLP(LN1(x)) along tokens; x += MLP(LN2(x)) (D -> mlp_ratio D -> D, GELU)
 * -> final LN -> mean over tokens -> head. Init as the official code: linear weights
 * xavier-uniform, biases zero except N(0, 1e-6) inside MLPs, head zeros, LayerNorm (1, 0). */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/error.h"
#include "models/model_internal.h"

typedef struct imixer_block {
    dmx_nn_layernorm norm1, norm2;
    dmx_nn_imlp token_mix;
    dmx_nn_mlp channel_mix;
} imixer_block;

typedef struct imixer_impl {
    dmx_nn_linear patch_embed, head;
    dmx_nn_layernorm norm;
    int depth;
    imixer_block blocks[];
} imixer_impl;

/* The official initialisation, applied by name after the modules declared their tensors. */
static dmx_status apply_init(dmx_params *ps)
{
    for (int i = 0; i < dmx_params_count(ps); i++) {
        const dmx_tensor *t = dmx_params_at(ps, i);
        const char *n = t->name;
        size_t len = strlen(n);
        bool is_weight = len > 7 && strcmp(n + len - 7, ".weight") == 0;
        bool is_bias = len > 5 && strcmp(n + len - 5, ".bias") == 0;
        bool in_norm = strstr(n, "norm") != NULL;
        if (!(t->flags & DMX_TENSOR_PARAM) || in_norm || (!is_weight && !is_bias))
            continue;
        dmx_init init = {DMX_INIT_ZEROS, 0};
        if (strncmp(n, "head.", 5) == 0)
            init = (dmx_init){DMX_INIT_ZEROS, 0};
        else if (is_weight)
            init = (dmx_init){DMX_INIT_XAVIER_UNIFORM, 1.0f};
        else if (strstr(n, "channel_mix") || strstr(n, "token_mix"))
            init = (dmx_init){DMX_INIT_NORMAL, 1e-6f};
        DMX_TRY(dmx_params_set_init(ps, n, init));
    }
    return DMX_OK;
}

static dmx_status imixer_init(dmx_model *m)
{
    const dmx_model_config *c = &m->cfg;
    const int64_t S = dmx_model_tokens(c), D = c->dim, P = (int64_t)c->patch * c->patch * c->channels;
    imixer_impl *im = calloc(1, sizeof *im + (size_t)c->depth * sizeof im->blocks[0]);
    if (!im)
        return dmx_fail(DMX_ERR_OUT_OF_MEMORY, "model imixer: out of host memory");
    m->impl = im;
    im->depth = c->depth;
    int64_t T = (int64_t)lround(c->token_ratio * (double)D);
    int64_t H = (int64_t)lround(c->h_ratio * (double)T);
    if (T < 1 || H < 1)
        return dmx_fail(DMX_ERR_INVALID_ARG, "model imixer: iMLP width T = %lld and inner H = "
                        "%lld must be >= 1", (long long)T, (long long)H);
    DMX_TRY(dmx_linear_init(m->params, "patch_embed", P, D, true, &im->patch_embed));
    dmx_imlp_config ic = {.tokens = S, .width = T, .inner = H, .n_iter = c->n_iter,
                          .n_power = c->n_power, .coeff = 0.9f};
    for (int l = 0; l < c->depth; l++) {
        imixer_block *b = &im->blocks[l];
        char name[48];
        snprintf(name, sizeof name, "blocks.%d.norm1", l);
        DMX_TRY(dmx_layernorm_init(m->params, name, D, c->eps, &b->norm1));
        snprintf(name, sizeof name, "blocks.%d.token_mix", l);
        DMX_TRY(dmx_imlp_init(m->params, name, &ic, &b->token_mix));
        snprintf(name, sizeof name, "blocks.%d.norm2", l);
        DMX_TRY(dmx_layernorm_init(m->params, name, D, c->eps, &b->norm2));
        snprintf(name, sizeof name, "blocks.%d.channel_mix", l);
        DMX_TRY(dmx_mlp_init(m->params, name, D, (int64_t)c->mlp_ratio * D, D, DMX_ACT_GELU,
                             &b->channel_mix));
    }
    DMX_TRY(dmx_layernorm_init(m->params, "norm", D, c->eps, &im->norm));
    DMX_TRY(dmx_linear_init(m->params, "head", D, c->classes, true, &im->head));
    return apply_init(m->params);
}

/* [B, S, D] -> [B, D]: the mean over tokens as a mix along the token axis with weights 1/S. */
static dmx_status mean_tokens(dmx_ctx *ctx, dmx_tensor *x, dmx_tensor **y)
{
    const int64_t B = x->shape[0], S = x->shape[1], D = x->shape[2];
    dmx_tensor *w = NULL, *m = NULL;
    DMX_TRY(dmx_tensor_new(ctx, DMX_F32, 1, &S, "mean_weights", &w));
    float inv = 1.0f / (float)S;
    uint32_t bits;
    memcpy(&bits, &inv, 4);
    DMX_TRY(dmx_buffer_fill(w->buf, w->offset * 4, dmx_tensor_bytes(w), bits));
    DMX_TRY(dmx_mix_linear(ctx, x, w, NULL, B, 1, S, 1, D, &m));
    int64_t shape[2] = {B, D};
    return dmx_reshape(ctx, m, 2, shape, y);
}

static dmx_status imixer_forward(dmx_ctx *ctx, dmx_model *m, const dmx_model_input *in,
                                 dmx_tensor **logits)
{
    const imixer_impl *im = m->impl;
    DMX_TRY(dmx_model_check_images(&m->cfg, in->images));
    dmx_tensor *x = NULL;
    DMX_TRY(dmx_model_patch_embed(ctx, &im->patch_embed, in->images, m->cfg.patch, &x));
    for (int l = 0; l < im->depth; l++) {
        const imixer_block *b = &im->blocks[l];
        dmx_tensor *t = NULL, *tm = NULL, *c = NULL, *cm = NULL;
        DMX_TRY(dmx_layernorm_forward(ctx, &b->norm1, x, &t));
        DMX_TRY(dmx_imlp_forward(ctx, &b->token_mix, t, 1, &tm));
        DMX_TRY(dmx_add(ctx, x, tm, &x));
        DMX_TRY(dmx_layernorm_forward(ctx, &b->norm2, x, &c));
        DMX_TRY(dmx_mlp_forward(ctx, &b->channel_mix, c, -1, &cm));
        DMX_TRY(dmx_add(ctx, x, cm, &x));
    }
    dmx_tensor *n = NULL, *pooled = NULL;
    DMX_TRY(dmx_layernorm_forward(ctx, &im->norm, x, &n));
    DMX_TRY(mean_tokens(ctx, n, &pooled));
    return dmx_linear_forward(ctx, &im->head, pooled, -1, logits);
}

const dmx_model_family dmx_family_imixer = {"imixer", imixer_init, imixer_forward, NULL};
