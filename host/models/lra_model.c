/* The LRA classifier (SPEC 5 "lra", papers.md 1.10, the Nystromformer LRA code base the
 * Dimension Mixer paper used):
 *   x = Dropout(embed[ids] + pos_embed)                            [B, S, D]
 *   L pre-LN blocks x += Dropout(MHA(LN1(x))); x += MLP(LN2(x))    (dense or butterfly attention;
 *                                                                   layer l = stage l mod K)
 *   pooled = masked mean of LN(x) over the real tokens             [B, D]
 *   logits = head.fc2(ReLU(head.fc1(pooled)))                      [B, classes]
 * Token id 0 is padding: padded keys are removed from every softmax and padded positions are
 * left out of the mean, so they never reach the logits.
 * Init: embed.weight and pos_embed N(0, 0.02) (Nystromformer's Embeddings); every Linear
 * PyTorch's default U(+-1/sqrt(fan_in)), LayerNorm (1, 0). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/error.h"
#include "models/model_internal.h"

/* Additive key-mask value of a padded position: removed from the softmax (DMX_MASK_REMOVED). */
#define PAD_KEY (-1e30f)

typedef struct lra_impl {
    dmx_tensor *embed, *pos_embed;
    dmx_nn_layernorm norm;
    dmx_nn_linear head_fc1, head_fc2;
    int64_t seq_len;
    int depth;
    bool butterfly;
    float dropout;
    dmx_nn_butterfly_attention blocks[]; /* dense: radix S, stage 0 = the plain block */
} lra_impl;

/* The butterfly radix of cfg (0 picks 2^ceil(log2 sqrt S), as for the ViT). */
static int64_t lra_radix(const dmx_model_config *c)
{
    return c->attn_radix ? c->attn_radix : dmx_vit_radix(c->seq_len);
}

dmx_status dmx_lra_config_check(const dmx_model_config *c)
{
    if (c->vocab < 2 || c->seq_len < 1 || c->dim < 1 || c->heads < 1 || c->head_hidden < 1)
        return dmx_fail(DMX_ERR_INVALID_ARG, "model lra: vocab (%d) must be >= 2 (id 0 pads), "
                        "seq_len (%d), dim (%d), heads (%d) and head_hidden (%d) >= 1", c->vocab,
                        c->seq_len, c->dim, c->heads, c->head_hidden);
    if (c->dim % c->heads != 0)
        return dmx_fail(DMX_ERR_SHAPE, "model lra: dim %d is not a multiple of heads %d", c->dim,
                        c->heads);
    if (!(c->dropout < 1.0f))
        return dmx_fail(DMX_ERR_INVALID_ARG, "model lra: dropout %g must be below 1",
                        (double)c->dropout);
    if (strcmp(c->attention, "dense") == 0)
        return DMX_OK;
    if (strcmp(c->attention, "butterfly") != 0)
        return dmx_fail(DMX_ERR_INVALID_ARG, "model lra: attention '%s' is not dense or "
                        "butterfly", c->attention);
    int K = 0;
    dmx_status s = dmx_butterfly_stages(c->seq_len, lra_radix(c), &K);
    return s == DMX_OK ? s : dmx_fail_context(s, "model lra (seq_len %d, attn_radix %d): ",
                                              c->seq_len, c->attn_radix);
}

static dmx_status lra_init(dmx_model *m)
{
    const dmx_model_config *c = &m->cfg;
    const int64_t S = c->seq_len, D = c->dim;
    bool butterfly = strcmp(c->attention, "butterfly") == 0;
    int64_t a = butterfly ? lra_radix(c) : S;
    int K = 1;
    if (butterfly)
        DMX_TRY(dmx_butterfly_stages(S, a, &K));
    lra_impl *im = calloc(1, sizeof *im + (size_t)c->depth * sizeof im->blocks[0]);
    if (!im)
        return dmx_fail(DMX_ERR_OUT_OF_MEMORY, "model lra: out of host memory");
    m->impl = im;
    *im = (lra_impl){.seq_len = S, .depth = c->depth, .butterfly = butterfly,
                     .dropout = c->dropout};
    const dmx_init embed_init = {DMX_INIT_NORMAL, 0.02f};
    const int64_t embed_shape[2] = {c->vocab, D}, pos_shape[2] = {S, D};
    DMX_TRY(dmx_params_declare(m->params, "embed.weight", 2, embed_shape, embed_init, true,
                               &im->embed));
    DMX_TRY(dmx_params_declare(m->params, "pos_embed", 2, pos_shape, embed_init, true,
                               &im->pos_embed));
    dmx_block_config bc = {.dim = D, .heads = c->heads,
                           .hidden = c->mlp_hidden ? c->mlp_hidden : 2 * D, .pre_norm = true,
                           .eps = c->eps, .dropout = c->dropout};
    for (int l = 0; l < c->depth; l++) {
        char name[32];
        snprintf(name, sizeof name, "blocks.%d", l);
        DMX_TRY(dmx_butterfly_attention_init(m->params, name, &bc, a, l % K, &im->blocks[l]));
    }
    DMX_TRY(dmx_layernorm_init(m->params, "norm", D, c->eps, &im->norm));
    DMX_TRY(dmx_linear_init(m->params, "head.fc1", D, c->head_hidden, true, &im->head_fc1));
    return dmx_linear_init(m->params, "head.fc2", c->head_hidden, c->classes, true,
                           &im->head_fc2);
}

static dmx_status check_input(const dmx_model_config *c, const dmx_model_input *in)
{
    char s[96], t[96];
    if (!in->ids || !in->mask)
        return dmx_fail(DMX_ERR_INVALID_ARG, "model lra: needs ids and mask (%s missing)",
                        in->ids ? "mask" : "ids");
    if (in->ids->dtype != DMX_I32 || in->ids->ndim != 2 || in->ids->shape[1] != c->seq_len)
        return dmx_fail(DMX_ERR_SHAPE, "model lra: ids (%s) of shape %s, expected [B, %d] I32 "
                        "(sequences are padded to the model's seq_len)", in->ids->name,
                        dmx_shape_str(in->ids, s, sizeof s), c->seq_len);
    if (in->mask->dtype != DMX_F32 || in->mask->ndim != 2 ||
        in->mask->shape[0] != in->ids->shape[0] || in->mask->shape[1] != c->seq_len)
        return dmx_fail(DMX_ERR_SHAPE, "model lra: mask (%s) of shape %s, expected %s F32 like "
                        "the ids", in->mask->name, dmx_shape_str(in->mask, s, sizeof s),
                        dmx_shape_str(in->ids, t, sizeof t));
    return DMX_OK;
}

/* A one-element constant tensor of the context. */
static dmx_status constant(dmx_ctx *ctx, float value, const char *name, dmx_tensor **out)
{
    const int64_t one = 1;
    return dmx_tensor_from_host(ctx, DMX_F32, 1, &one, &value, name, out);
}

/* The 1/0 token mask [B, S] as the additive key mask of attention: 0 keeps a key, PAD_KEY
 * removes it (1 * 1e30 - 1e30 and 0 * 1e30 - 1e30 are exact in float). */
static dmx_status key_mask(dmx_ctx *ctx, dmx_tensor *mask, dmx_tensor **out)
{
    dmx_tensor *scaled = NULL, *shift = NULL;
    DMX_TRY(dmx_scale(ctx, mask, -PAD_KEY, &scaled));
    DMX_TRY(constant(ctx, PAD_KEY, "pad_key", &shift));
    return dmx_add_row(ctx, scaled, shift, out);
}

/* Masked mean over tokens: x [B, S, D] -> [B, D] with weights mask / count per example. The
 * weights are a softmax with scale 0 under the key mask: every kept position gets
 * exp(0) / count, every padded one 0, and a sequence without tokens all zeros (no division by
 * zero). They need no gradient; the gradient into x flows through the batched product. */
static dmx_status masked_mean(dmx_ctx *ctx, dmx_tensor *x, dmx_tensor *mask,
                              dmx_tensor *additive, dmx_tensor **pooled)
{
    const int64_t B = x->shape[0], S = x->shape[1], D = x->shape[2];
    const int64_t row_shape[3] = {B, 1, S}, out_shape[2] = {B, D};
    dmx_tensor *w = NULL, *w3 = NULL, *p = NULL;
    DMX_TRY(dmx_softmax(ctx, mask, additive, 0.0f, 1, &w));
    DMX_TRY(dmx_reshape(ctx, w, 3, row_shape, &w3));
    DMX_TRY(dmx_matmul(ctx, w3, x, 0, 0, 1.0f, &p)); /* [B, 1, D] */
    return dmx_reshape(ctx, p, 2, out_shape, pooled);
}

static dmx_status lra_forward(dmx_ctx *ctx, dmx_model *m, const dmx_model_input *in,
                              dmx_tensor **logits)
{
    const lra_impl *im = m->impl;
    DMX_TRY(check_input(&m->cfg, in));
    dmx_tensor *additive = NULL, *tok = NULL, *x = NULL;
    DMX_TRY(key_mask(ctx, in->mask, &additive));
    DMX_TRY(dmx_embedding(ctx, in->ids, im->embed, &tok)); /* [B, S, D] */
    DMX_TRY(dmx_add_row(ctx, tok, im->pos_embed, &x));
    DMX_TRY(dmx_dropout(ctx, x, im->dropout, &x));
    for (int l = 0; l < im->depth; l++) {
        if (im->butterfly)
            DMX_TRY(dmx_butterfly_attention_forward(ctx, &im->blocks[l], x, additive, &x));
        else
            DMX_TRY(dmx_transformer_block_forward(ctx, &im->blocks[l].block, x, additive, &x));
    }
    dmx_tensor *n = NULL, *pooled = NULL, *h = NULL, *r = NULL;
    DMX_TRY(dmx_layernorm_forward(ctx, &im->norm, x, &n));
    DMX_TRY(masked_mean(ctx, n, in->mask, additive, &pooled));
    DMX_TRY(dmx_linear_forward(ctx, &im->head_fc1, pooled, -1, &h));
    DMX_TRY(dmx_relu(ctx, h, &r));
    return dmx_linear_forward(ctx, &im->head_fc2, r, -1, logits);
}

const dmx_model_family dmx_family_lra = {"lra", lra_init, lra_forward, NULL};
