/* A transformer block: attention and a GELU MLP, post-norm (DimMixer's CIFAR block, ViT) or
 * pre-norm (LRA). Dropout is not part of the block (the papers' CIFAR runs use none). */
#include "core/error.h"
#include "nn/nn_internal.h"

dmx_status dmx_transformer_block_init(dmx_params *ps, const char *prefix,
                                      const dmx_block_config *cfg, dmx_nn_transformer_block *m)
{
    if (!m || !cfg)
        return dmx_fail(DMX_ERR_INVALID_ARG, "transformer block %s: NULL module or config",
                        prefix ? prefix : "");
    *m = (dmx_nn_transformer_block){.pre_norm = cfg->pre_norm};
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

static dmx_status pre_norm(dmx_ctx *ctx, const dmx_nn_transformer_block *m, dmx_tensor *x,
                           dmx_tensor *mask, dmx_tensor **y)
{
    dmx_tensor *n1, *a, *x1, *n2, *f;
    DMX_TRY(dmx_layernorm_forward(ctx, &m->norm1, x, &n1));
    DMX_TRY(dmx_attention_forward(ctx, &m->attn, n1, mask, &a));
    DMX_TRY(dmx_add(ctx, x, a, &x1));
    DMX_TRY(dmx_layernorm_forward(ctx, &m->norm2, x1, &n2));
    DMX_TRY(dmx_mlp_forward(ctx, &m->mlp, n2, -1, &f));
    return dmx_add(ctx, x1, f, y);
}

dmx_status dmx_transformer_block_forward(dmx_ctx *ctx, const dmx_nn_transformer_block *m,
                                         dmx_tensor *x, dmx_tensor *mask, dmx_tensor **y)
{
    if (!m)
        return dmx_fail(DMX_ERR_INVALID_ARG, "transformer block: NULL module");
    return m->pre_norm ? pre_norm(ctx, m, x, mask, y) : post_norm(ctx, m, x, mask, y);
}
