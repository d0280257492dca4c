/* Butterfly MLP (SPEC section 4, Dimension Mixer): per stage, every group of b elements goes
 * through its own MLP b -> e b -> b with GELU. A stage is one mix_mlp on the stage view (both
 * layers and the GELU fused; the hidden activation [M, J, e b, s, inner] is never stored), so
 * no permute is ever needed. */
#include <math.h>
#include <stdio.h>

#include "core/error.h"
#include "nn/nn_internal.h"

static dmx_status declare_stage(dmx_params *ps, const char *prefix, int i, int64_t G, int64_t b,
                                int64_t eb, dmx_nn_butterfly_mlp *m)
{
    /* PyTorch default init of BlockLinear (grouped 1x1 conv): U(+-1/sqrt(fan_in)). */
    dmx_init in1 = {DMX_INIT_UNIFORM, (float)(1.0 / sqrt((double)b))};
    dmx_init in2 = {DMX_INIT_UNIFORM, (float)(1.0 / sqrt((double)eb))};
    char suffix[48];
    snprintf(suffix, sizeof suffix, "stages.%d.w1", i);
    DMX_TRY(dmx_nn_declare(ps, prefix, suffix, 3, G, eb, b, in1, true, &m->stage[i].w1));
    snprintf(suffix, sizeof suffix, "stages.%d.b1", i);
    DMX_TRY(dmx_nn_declare(ps, prefix, suffix, 2, G, eb, 0, in1, true, &m->stage[i].b1));
    snprintf(suffix, sizeof suffix, "stages.%d.w2", i);
    DMX_TRY(dmx_nn_declare(ps, prefix, suffix, 3, G, b, eb, in2, true, &m->stage[i].w2));
    snprintf(suffix, sizeof suffix, "stages.%d.b2", i);
    return dmx_nn_declare(ps, prefix, suffix, 2, G, b, 0, in2, true, &m->stage[i].b2);
}

dmx_status dmx_butterfly_mlp_init(dmx_params *ps, const char *prefix, int64_t n, int64_t radix,
                                  int64_t expansion, dmx_nn_butterfly_mlp *m)
{
    if (!m)
        return dmx_fail(DMX_ERR_INVALID_ARG, "butterfly_mlp %s: NULL module",
                        prefix ? prefix : "");
    *m = (dmx_nn_butterfly_mlp){.n = n, .radix = radix, .expansion = expansion};
    DMX_TRY(dmx_nn_set_prefix(m->name, prefix));
    if (expansion < 1)
        return dmx_fail(DMX_ERR_INVALID_ARG, "butterfly_mlp %s: expansion %lld must be >= 1",
                        m->name, (long long)expansion);
    DMX_TRY(dmx_butterfly_stages(n, radix, &m->K));
    if (m->K > DMX_NN_MAX_STAGES)
        return dmx_fail(DMX_ERR_INVALID_ARG, "butterfly_mlp %s: %d stages, at most %d", m->name,
                        m->K, DMX_NN_MAX_STAGES);
    for (int i = 0; i < m->K; i++)
        DMX_TRY(declare_stage(ps, prefix, i, n / radix, radix, expansion * radix, m));
    return DMX_OK;
}

dmx_status dmx_butterfly_mlp_forward(dmx_ctx *ctx, const dmx_nn_butterfly_mlp *m, dmx_tensor *x,
                                     int axis, dmx_tensor **y)
{
    if (!m)
        return dmx_fail(DMX_ERR_INVALID_ARG, "butterfly_mlp: NULL module");
    char what[DMX_NN_NAME + 24];
    snprintf(what, sizeof what, "butterfly_mlp %s", m->name);
    dmx_nn_axis a;
    DMX_TRY(dmx_nn_axis_of(what, x, axis, m->n, &a));
    dmx_tensor *cur = x;
    for (int i = 0; i < m->K; i++) {
        dmx_mix_view v;
        DMX_TRY(dmx_butterfly_stage_view(m->n, m->radix, i, a.outer, a.inner, &v));
        /* [M, J, b, s, inner] -> [M, J, e b, s, inner] -> GELU -> [M, J, b, s, inner] */
        DMX_TRY(dmx_mix_mlp(ctx, cur, m->stage[i].w1, m->stage[i].b1, m->stage[i].w2,
                            m->stage[i].b2, v.M, v.J, v.Din, v.R1, v.R2, &cur));
    }
    return dmx_nn_restore_shape(ctx, x, &a, cur, y);
}
