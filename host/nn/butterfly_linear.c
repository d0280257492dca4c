/* Butterfly linear (SPEC section 4): stages of per-group b x b matrices, each stage one
 * mix_linear on the stage view, no permutes. Monarch is the 2-stage case with N = b^2. */
#include <math.h>
#include <stdio.h>

#include "core/error.h"
#include "nn/nn_internal.h"

static dmx_init weight_init(dmx_butterfly_init init, int64_t b)
{
    switch (init) {
    case DMX_BUTTERFLY_IDENTITY:
        return (dmx_init){DMX_INIT_IDENTITY, 0};
    case DMX_BUTTERFLY_ORTHO:
        return (dmx_init){DMX_INIT_ORTHO_2X2, 0};
    case DMX_BUTTERFLY_UNIFORM:
        break;
    }
    /* PyTorch default for a block of fan_in b (BlockLinear as grouped 1x1 conv). */
    return (dmx_init){DMX_INIT_UNIFORM, (float)(1.0 / sqrt((double)b))};
}

dmx_status dmx_butterfly_linear_init(dmx_params *ps, const char *prefix, int64_t n,
                                     int64_t radix, int n_stages, dmx_butterfly_init init,
                                     bool bias, dmx_nn_butterfly_linear *m)
{
    if (!m)
        return dmx_fail(DMX_ERR_INVALID_ARG, "butterfly_linear %s: NULL module",
                        prefix ? prefix : "");
    *m = (dmx_nn_butterfly_linear){.n = n, .radix = radix};
    DMX_TRY(dmx_nn_set_prefix(m->name, prefix));
    DMX_TRY(dmx_butterfly_stages(n, radix, &m->K));
    m->n_stages = n_stages ? n_stages : m->K;
    if (m->n_stages < 0 || m->n_stages > DMX_NN_MAX_STAGES)
        return dmx_fail(DMX_ERR_INVALID_ARG, "butterfly_linear %s: %d stages outside [1, %d]",
                        m->name, m->n_stages, DMX_NN_MAX_STAGES);
    if (init == DMX_BUTTERFLY_ORTHO && radix != 2)
        return dmx_fail(DMX_ERR_INVALID_ARG, "butterfly_linear %s: orthogonal 2x2 init needs "
                        "radix 2, radix is %lld", m->name, (long long)radix);
    dmx_init w_init = weight_init(init, radix);
    for (int i = 0; i < m->n_stages; i++) {
        char suffix[48];
        snprintf(suffix, sizeof suffix, "stages.%d.weight", i);
        DMX_TRY(dmx_nn_declare(ps, prefix, suffix, 3, n / radix, radix, radix, w_init, true,
                               &m->weight[i]));
    }
    if (!bias)
        return DMX_OK;
    /* Monarch's MonarchLinear draws its bias with the bias length as fan_in. */
    dmx_init b_init = init == DMX_BUTTERFLY_UNIFORM
                          ? (dmx_init){DMX_INIT_UNIFORM, (float)(1.0 / sqrt((double)n))}
                          : (dmx_init){DMX_INIT_ZEROS, 0};
    return dmx_nn_declare(ps, prefix, "bias", 1, n, 0, 0, b_init, true, &m->bias);
}

dmx_status dmx_monarch_init(dmx_params *ps, const char *prefix, int64_t n,
                            dmx_butterfly_init init, bool bias, dmx_nn_butterfly_linear *m)
{
    int64_t b = 1;
    while ((b + 1) * (b + 1) <= n)
        b++;
    if (n < 4 || b * b != n)
        return dmx_fail(DMX_ERR_SHAPE, "monarch %s: N = %lld is not b^2 for an integer b >= 2",
                        prefix ? prefix : "", (long long)n);
    return dmx_butterfly_linear_init(ps, prefix, n, b, 2, init, bias, m);
}

/* The output bias [N] laid out as the last stage's c[J, R1, Dout]: element j*b*s + o*s + r. */
static dmx_status bias_in_stage_layout(dmx_ctx *ctx, dmx_tensor *bias, const dmx_mix_view *v,
                                       dmx_tensor **c)
{
    const int64_t b = v->Din, s = v->R1;
    const int64_t shape[3] = {v->J, s, b}, stride[3] = {b * s, 1, s};
    return dmx_gather_view(ctx, bias, 3, shape, stride, 0, c);
}

dmx_status dmx_butterfly_linear_forward(dmx_ctx *ctx, const dmx_nn_butterfly_linear *m,
                                        dmx_tensor *x, int axis, dmx_tensor **y)
{
    if (!m)
        return dmx_fail(DMX_ERR_INVALID_ARG, "butterfly_linear: NULL module");
    char what[DMX_NN_NAME + 24];
    snprintf(what, sizeof what, "butterfly_linear %s", m->name);
    dmx_nn_axis a;
    DMX_TRY(dmx_nn_axis_of(what, x, axis, m->n, &a));
    dmx_tensor *cur = x;
    for (int i = 0; i < m->n_stages; i++) {
        dmx_mix_view v;
        DMX_TRY(dmx_butterfly_stage_view(m->n, m->radix, i % m->K, a.outer, a.inner, &v));
        dmx_tensor *c = NULL, *next = NULL;
        if (m->bias && i == m->n_stages - 1)
            DMX_TRY(bias_in_stage_layout(ctx, m->bias, &v, &c));
        DMX_TRY(dmx_mix_linear(ctx, cur, m->weight[i], c, v.M, v.J, v.Din, v.R1, v.R2, &next));
        cur = next;
    }
    return dmx_nn_restore_shape(ctx, x, &a, cur, y);
}
