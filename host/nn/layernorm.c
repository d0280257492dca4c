/* LayerNorm over the last axis with a learned affine map (ones and zeros at start). */
#include "core/error.h"
#include "nn/nn_internal.h"

dmx_status dmx_layernorm_init(dmx_params *ps, const char *prefix, int64_t dim, float eps,
                              dmx_nn_layernorm *m)
{
    if (!m || dim < 1 || !(eps > 0.0f))
        return dmx_fail(DMX_ERR_INVALID_ARG, "layernorm %s: dim %lld, eps %g (or NULL module)",
                        prefix ? prefix : "", (long long)dim, (double)eps);
    *m = (dmx_nn_layernorm){.dim = dim, .eps = eps};
    DMX_TRY(dmx_nn_set_prefix(m->name, prefix));
    DMX_TRY(dmx_nn_declare(ps, prefix, "weight", 1, dim, 0, 0, (dmx_init){DMX_INIT_ONES, 0}, true,
                           &m->weight));
    return dmx_nn_declare(ps, prefix, "bias", 1, dim, 0, 0, (dmx_init){DMX_INIT_ZEROS, 0}, true,
                          &m->bias);
}

dmx_status dmx_layernorm_forward(dmx_ctx *ctx, const dmx_nn_layernorm *m, dmx_tensor *x,
                                 dmx_tensor **y)
{
    if (!m)
        return dmx_fail(DMX_ERR_INVALID_ARG, "layernorm: NULL module");
    return dmx_layernorm(ctx, x, m->weight, m->bias, m->eps, y);
}
