/* A transformer block: attention and a GELU MLP, post-norm (DimMixer's CIFAR block, ViT) or
 * pre-norm (LRA). Only the pre-norm block has dropout (LRA's Nystromformer code uses 0.1; the
 * papers' CIFAR runs use none). */
#include "core/error.h"
#include "nn/nn_internal.h"

dmx_status dmx_transformer_block_init(dmx_params *ps, const char *prefix,
                                      const dmx_block_config *cfg, dmx_nn_transformer_block *m)
{
    if (!m || !cfg)
        return dmx_fail(DMX_ERR_INVALID_ARG, "transformer block %s: NULL module or config",
                        prefix ? prefix : "");
    if (!(cfg->dropout >= 0.0f && cfg->dropout < 1.0f) || (cfg->dropout > 0 && !cfg->pre_norm))
        return dmx_fail(DMX_ERR_INVALID_ARG, "transformer block %s: dropout %g must be in [0, 1)"
                        " and is only part of the pre-norm block", prefix ? prefix : "",
                        (double)cfg->dropout);
    *m = (dmx_nn_transformer_block){.pre_norm = cfg->pre_norm, .dropout = cfg->dropout};
    char name[256];
    DMX_TRY(dmx_nn_name(name, sizeof name, prefix, "attn"));
    DMX_TRY(dmx_attention_init(ps, name, cfg->dim, cfg->heads, &m->attn));
    DMX_TRY(dmx_nn_name(name, sizeof name, prefix, "norm1"));
    DMX_TRY(dmx_layernorm_init(ps, name, cfg->dim, cfg->eps, &m->norm1));
    DMX_TRY(dmx_nn_name(name, sizeof name, prefix, "mlp"));
    DMX_TRY(dmx_mlp_init(ps, name, cfg->dim, cfg->hidden, cfg->dim, DMX_ACT_GELU, &m->mlp));
    DMX_TRY(dmx_nn_name(name, sizeof name, prefix, "norm2"));
    return dmx_layernorm_init(ps, name, cfg->dim, cfg->eps, &m->norm2);
}

static dmx_status post_norm(dmx_ctx *ctx, const dmx_nn_transformer_block *m, dmx_tensor *x,
                            dmx_tensor *mask, dmx_tensor **y)
{
    dmx_tensor *a, *r1, *x1, *f, *r2;
    DMX_TRY(dmx_attention_forward(ctx, &m->attn, x, mask, &a));
    DMX_TRY(dmx_add(ctx, x, a, &r1));
    DMX_TRY(dmx_layernorm_forward(ctx, &m->norm1, r1, &x1));
    DMX_TRY(dmx_mlp_forward(ctx, &m->mlp, x1, -1, &f));
    DMX_TRY(dmx_add(ctx, x1, f, &r2));
    return dmx_layernorm_forward(ctx, &m->norm2, r2, y);
}

/* dmx_dropout is the identity outside training mode and for p = 0, so this is the plain
 * x1 = x + Attn(LN1(x)); y = x1 + fc2(GELU(fc1(LN2(x1)))) then. */
static dmx_status pre_norm(dmx_ctx *ctx, const dmx_nn_transformer_block *m, dmx_tensor *x,
                           dmx_tensor *mask, dmx_tensor **y)
{
    dmx_tensor *n1, *a, *ad, *x1, *n2, *h, *g, *gd, *f, *fd;
    DMX_TRY(dmx_layernorm_forward(ctx, &m->norm1, x, &n1));
    DMX_TRY(dmx_attention_forward(ctx, &m->attn, n1, mask, &a));
    DMX_TRY(dmx_dropout(ctx, a, m->dropout, &ad));
    DMX_TRY(dmx_add(ctx, x, ad, &x1));
    DMX_TRY(dmx_layernorm_forward(ctx, &m->norm2, x1, &n2));
    DMX_TRY(dmx_linear_forward(ctx, &m->mlp.fc1, n2, -1, &h));
    DMX_TRY(dmx_activate(ctx, m->mlp.act, h, &g));
    DMX_TRY(dmx_dropout(ctx, g, m->dropout, &gd));
    DMX_TRY(dmx_linear_forward(ctx, &m->mlp.fc2, gd, -1, &f));
    DMX_TRY(dmx_dropout(ctx, f, m->dropout, &fd));
    return dmx_add(ctx, x1, fd, y);
}

dmx_status dmx_transformer_block_forward(dmx_ctx *ctx, const dmx_nn_transformer_block *m,
                                         dmx_tensor *x, dmx_tensor *mask, dmx_tensor **y)
{
    if (!m)
        return dmx_fail(DMX_ERR_INVALID_ARG, "transformer block: NULL module");
    return m->pre_norm ? pre_norm(ctx, m, x, mask, y) : post_norm(ctx, m, x, mask, y);
}
