/* MLP-Mixer pieces (SPEC section 5): a token or channel mixer (dense MLP or butterfly MLP)
 * and the pre-LN Mixer block. Token mixing runs along axis 1 of [B, S, C] directly (mix_linear
 * with R2 = C), which equals PyTorch's TokenMix(LN(x)^T)^T without the two transposes. */
#include <stdio.h>

#include "core/error.h"
#include "nn/nn_internal.h"
#include "ops/front.h"

dmx_status dmx_mixer_init(dmx_params *ps, const char *prefix, int64_t n,
                          const dmx_mix_config *cfg, dmx_nn_mixer *m)
{
    if (!m || !cfg)
        return dmx_fail(DMX_ERR_INVALID_ARG, "mixer %s: NULL module or config",
                        prefix ? prefix : "");
    *m = (dmx_nn_mixer){.kind = cfg->kind};
    if (cfg->expansion < 1)
        return dmx_fail(DMX_ERR_INVALID_ARG, "mixer %s: expansion %lld must be >= 1",
                        prefix ? prefix : "", (long long)cfg->expansion);
    switch (cfg->kind) {
    case DMX_MIX_DENSE:
        return dmx_mlp_init(ps, prefix, n, cfg->expansion * n, n, DMX_ACT_GELU, &m->dense);
    case DMX_MIX_BUTTERFLY_MLP:
        return dmx_butterfly_mlp_init(ps, prefix, n, cfg->radix, cfg->expansion, &m->butterfly);
    case DMX_MIX_BUTTERFLY_LINEAR:
        return dmx_butterfly_linear_mlp_init(ps, prefix, n, cfg->expansion, &m->butterfly_linear);
    }
    return dmx_fail(DMX_ERR_INVALID_ARG, "mixer %s: unknown kind %d", prefix ? prefix : "",
                    (int)cfg->kind);
}

dmx_status dmx_mixer_forward(dmx_ctx *ctx, const dmx_nn_mixer *m, dmx_tensor *x, int axis,
                             dmx_tensor **y)
{
    if (!m)
        return dmx_fail(DMX_ERR_INVALID_ARG, "mixer: NULL module");
    if (m->kind == DMX_MIX_BUTTERFLY_MLP)
        return dmx_butterfly_mlp_forward(ctx, &m->butterfly, x, axis, y);
    if (m->kind == DMX_MIX_BUTTERFLY_LINEAR)
        return dmx_butterfly_linear_mlp_forward(ctx, &m->butterfly_linear, x, axis, y);
    return dmx_mlp_forward(ctx, &m->dense, x, axis, y);
}

dmx_status dmx_mixer_block_init(dmx_params *ps, const char *prefix, int64_t tokens,
                                int64_t channels, const dmx_mix_config *token_cfg,
                                const dmx_mix_config *channel_cfg, float eps,
                                dmx_nn_mixer_block *m)
{
    if (!m)
        return dmx_fail(DMX_ERR_INVALID_ARG, "mixer block %s: NULL module", prefix ? prefix : "");
    char name[256];
    DMX_TRY(dmx_nn_name(name, sizeof name, prefix, "norm1"));
    DMX_TRY(dmx_layernorm_init(ps, name, channels, eps, &m->norm1));
    DMX_TRY(dmx_nn_name(name, sizeof name, prefix, "token_mix"));
    DMX_TRY(dmx_mixer_init(ps, name, tokens, token_cfg, &m->token_mix));
    DMX_TRY(dmx_nn_name(name, sizeof name, prefix, "norm2"));
    DMX_TRY(dmx_layernorm_init(ps, name, channels, eps, &m->norm2));
    DMX_TRY(dmx_nn_name(name, sizeof name, prefix, "channel_mix"));
    return dmx_mixer_init(ps, name, channels, channel_cfg, &m->channel_mix);
}

dmx_status dmx_mixer_block_forward(dmx_ctx *ctx, const dmx_nn_mixer_block *m, dmx_tensor *x,
                                   dmx_tensor **y)
{
    if (!m || !x)
        return dmx_fail(DMX_ERR_INVALID_ARG, "mixer block: NULL module or x");
    if (x->ndim != 3) {
        char s[96];
        return dmx_fail(DMX_ERR_SHAPE, "mixer block %s: x (%s) of shape %s must be [B, S, C]",
                        m->norm1.name, x->name, dmx_shape_str(x, s, sizeof s));
    }
    dmx_tensor *t = NULL, *tm = NULL, *x1 = NULL, *c = NULL, *cm = NULL;
    DMX_TRY(dmx_layernorm_forward(ctx, &m->norm1, x, &t));
    DMX_TRY(dmx_mixer_forward(ctx, &m->token_mix, t, 1, &tm));
    /* tm and cm come from mixers of layernorms of x and x1, read by these adds alone */
    DMX_TRY(dmx_add_residual(ctx, x, tm, &x1));
    DMX_TRY(dmx_layernorm_forward(ctx, &m->norm2, x1, &c));
    DMX_TRY(dmx_mixer_forward(ctx, &m->channel_mix, c, 2, &cm));
    return dmx_add_residual(ctx, x1, cm, y);
}
