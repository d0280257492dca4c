/* Dense modules: linear, the two-layer MLP, and the activation switch they share. */
#include <math.h>
#include <stdio.h>

#include "core/error.h"
#include "nn/nn_internal.h"

dmx_status dmx_activate(dmx_ctx *ctx, dmx_activation act, dmx_tensor *x, dmx_tensor **y)
{
    switch (act) {
    case DMX_ACT_GELU:
        return dmx_gelu(ctx, x, y);
    case DMX_ACT_ELU:
        return dmx_elu(ctx, x, y);
    case DMX_ACT_RELU:
        return dmx_relu(ctx, x, y);
    }
    return dmx_fail(DMX_ERR_INVALID_ARG, "unknown activation %d", (int)act);
}

dmx_status dmx_linear_init(dmx_params *ps, const char *prefix, int64_t in, int64_t out, bool bias,
                           dmx_nn_linear *m)
{
    if (!m || in < 1 || out < 1)
        return dmx_fail(DMX_ERR_INVALID_ARG, "linear %s: sizes in %lld, out %lld (or NULL module)",
                        prefix ? prefix : "", (long long)in, (long long)out);
    *m = (dmx_nn_linear){.in = in, .out = out};
    DMX_TRY(dmx_nn_set_prefix(m->name, prefix));
    /* PyTorch nn.Linear: kaiming_uniform(a = sqrt 5) gives U(+-1/sqrt(in)); bias the same. */
    dmx_init u = {DMX_INIT_UNIFORM, (float)(1.0 / sqrt((double)in))};
    DMX_TRY(dmx_nn_declare(ps, prefix, "weight", 2, out, in, 0, u, true, &m->weight));
    if (bias)
        DMX_TRY(dmx_nn_declare(ps, prefix, "bias", 1, out, 0, 0, u, true, &m->bias));
    return DMX_OK;
}

dmx_status dmx_linear_forward(dmx_ctx *ctx, const dmx_nn_linear *m, dmx_tensor *x, int axis,
                              dmx_tensor **y)
{
    if (!m)
        return dmx_fail(DMX_ERR_INVALID_ARG, "linear: NULL module");
    dmx_nn_axis a;
    char what[DMX_NN_NAME + 16];
    snprintf(what, sizeof what, "linear %s", m->name);
    DMX_TRY(dmx_nn_axis_of(what, x, axis, m->in, &a));
    return dmx_nn_dense_along(ctx, x, &a, m->weight, m->bias, y);
}

dmx_status dmx_mlp_init(dmx_params *ps, const char *prefix, int64_t in, int64_t hidden,
                        int64_t out, dmx_activation act, dmx_nn_mlp *m)
{
    if (!m)
        return dmx_fail(DMX_ERR_INVALID_ARG, "mlp %s: NULL module", prefix ? prefix : "");
    char name[256];
    m->act = act;
    DMX_TRY(dmx_nn_name(name, sizeof name, prefix, "fc1"));
    DMX_TRY(dmx_linear_init(ps, name, in, hidden, true, &m->fc1));
    DMX_TRY(dmx_nn_name(name, sizeof name, prefix, "fc2"));
    return dmx_linear_init(ps, name, hidden, out, true, &m->fc2);
}

/* A GELU MLP is a butterfly-MLP stage with one group spanning the axis, so on the fast CPU
 * device it runs as one mix_mlp: slices of rows whose hidden activation, its GELU and their
 * gradients stay in the cache and are never stored; the backward recomputes the activation
 * (a GEMM), which costs about what storing it and reading it back did (measured: keeping it
 * was 2% faster on e1-dense training for 26 MiB more, not worth a second op contract).
 * GPUs keep the two GEMMs (their mix_mlp kernels are written for small groups), and so does
 * the reference, the arbiter. The op's slices hold 64 Ki hidden floats, so a hidden layer
 * wider than FUSED_MAX_HIDDEN leaves each slice's GEMMs too few rows to amortise reading the
 * weights (measured, fwd+bwd at 4096 rows: hidden 256 and 512 2-6% faster fused, 1024 and 2048
 * 30-90% slower, 4096 4x slower). DIMIX_FUSED_MLP=0/1 overrides. */
#define FUSED_MAX_HIDDEN 512

static bool use_fused(dmx_ctx *ctx, const dmx_nn_mlp *m)
{
    if (m->act != DMX_ACT_GELU || !m->fc1.bias || !m->fc2.bias)
        return false;
    if (m->fc1.out > FUSED_MAX_HIDDEN)
        return dmx_nn_switch("DIMIX_FUSED_MLP", false);
    return dmx_nn_switch("DIMIX_FUSED_MLP", dmx_nn_device_is(ctx, "cpu"));
}

dmx_status dmx_mlp_forward(dmx_ctx *ctx, const dmx_nn_mlp *m, dmx_tensor *x, int axis,
                           dmx_tensor **y)
{
    if (!m)
        return dmx_fail(DMX_ERR_INVALID_ARG, "mlp: NULL module");
    dmx_tensor *h = NULL, *a = NULL;
    if (use_fused(ctx, m)) {
        dmx_nn_axis ax;
        char what[DMX_NN_NAME + 16];
        snprintf(what, sizeof what, "mlp %s", m->fc1.name);
        DMX_TRY(dmx_nn_axis_of(what, x, axis, m->fc1.in, &ax));
        DMX_TRY(dmx_mix_mlp(ctx, x, m->fc1.weight, m->fc1.bias, m->fc2.weight, m->fc2.bias,
                            ax.outer, 1, ax.n, 1, ax.inner, &h));
        return dmx_nn_restore_shape(ctx, x, &ax, h, y);
    }
    DMX_TRY(dmx_linear_forward(ctx, &m->fc1, x, axis, &h));
    DMX_TRY(dmx_activate(ctx, m->act, h, &a));
    return dmx_linear_forward(ctx, &m->fc2, a, axis, y);
}
