/* Butterfly-Linear MLP (Dimension Mixer's "Butterfly-Linear" baseline, papers.md 1.3): each of
 * an MLP's two dense layers becomes a 2-factor block-sparse linear (N = b^2, hidden e N), with
 * ELU between. On x viewed [outer, N, inner] the four factors are mix_linear views, so no
 * permute is needed:
 *
 *   fc1.stages.0  groups g (b), b -> e b, no bias     [outer, b(g), e b(j)]
 *   fc1.stages.1  per column j (e b), b -> b, bias    [outer, b(o), e b(j)]
 *   ELU
 *   fc2.stages.0  per column j, b -> b, no bias       [outer, b(o2), e b(j)]
 *   fc2.stages.1  groups o2 (b), e b -> b, bias       [outer, b(o2), b(o3)]  = flat o2 b + o3
 *
 * The paper's code stores the hidden units in another order (j b + o); ours is a fixed
 * permutation of it with the weights permuted alike: the same function class and the same
 * parameter count, 4 e b^3 + ... (E1: 140,961 parameters for the 7-block CIFAR Mixer). */
#include <math.h>
#include <stdio.h>

#include "core/error.h"
#include "nn/nn_internal.h"

static dmx_init block_init(int64_t fan_in)
{
    /* BlockLinear is a grouped 1x1 convolution: PyTorch's default U(+-1/sqrt(fan_in)). */
    return (dmx_init){DMX_INIT_UNIFORM, (float)(1.0 / sqrt((double)fan_in))};
}

dmx_status dmx_butterfly_linear_mlp_init(dmx_params *ps, const char *prefix, int64_t n,
                                         int64_t expansion, dmx_nn_butterfly_linear_mlp *m)
{
    if (!m)
        return dmx_fail(DMX_ERR_INVALID_ARG, "butterfly_linear_mlp %s: NULL module",
                        prefix ? prefix : "");
    *m = (dmx_nn_butterfly_linear_mlp){.n = n, .expansion = expansion};
    DMX_TRY(dmx_nn_set_prefix(m->name, prefix));
    int64_t b = (int64_t)llround(sqrt((double)n));
    if (n < 4 || b * b != n)
        return dmx_fail(DMX_ERR_INVALID_ARG, "butterfly_linear_mlp %s: N = %lld must be a square "
                        "b^2 with b >= 2", m->name, (long long)n);
    if (expansion < 1)
        return dmx_fail(DMX_ERR_INVALID_ARG, "butterfly_linear_mlp %s: expansion %lld must be "
                        ">= 1", m->name, (long long)expansion);
    m->radix = b;
    int64_t eb = expansion * b;
    DMX_TRY(dmx_nn_declare(ps, prefix, "fc1.stages.0.weight", 3, b, eb, b, block_init(b), true,
                           &m->w[0]));
    DMX_TRY(dmx_nn_declare(ps, prefix, "fc1.stages.1.weight", 3, eb, b, b, block_init(b), true,
                           &m->w[1]));
    DMX_TRY(dmx_nn_declare(ps, prefix, "fc1.stages.1.bias", 2, eb, b, 0, block_init(b), true,
                           &m->bias[0]));
    DMX_TRY(dmx_nn_declare(ps, prefix, "fc2.stages.0.weight", 3, eb, b, b, block_init(b), true,
                           &m->w[2]));
    DMX_TRY(dmx_nn_declare(ps, prefix, "fc2.stages.1.weight", 3, b, b, eb, block_init(eb), true,
                           &m->w[3]));
    return dmx_nn_declare(ps, prefix, "fc2.stages.1.bias", 2, b, b, 0, block_init(eb), true,
                          &m->bias[1]);
}

dmx_status dmx_butterfly_linear_mlp_forward(dmx_ctx *ctx, const dmx_nn_butterfly_linear_mlp *m,
                                            dmx_tensor *x, int axis, dmx_tensor **y)
{
    if (!m)
        return dmx_fail(DMX_ERR_INVALID_ARG, "butterfly_linear_mlp: NULL module");
    char what[DMX_NN_NAME + 32];
    snprintf(what, sizeof what, "butterfly_linear_mlp %s", m->name);
    dmx_nn_axis a;
    DMX_TRY(dmx_nn_axis_of(what, x, axis, m->n, &a));
    const int64_t b = m->radix, eb = m->expansion * b, M = a.outer, R2 = a.inner;
    dmx_tensor *h0 = NULL, *h1 = NULL, *h2 = NULL, *h3 = NULL, *out = NULL;
    DMX_TRY(dmx_mix_linear(ctx, x, m->w[0], NULL, M, b, b, 1, R2, &h0));
    DMX_TRY(dmx_mix_linear(ctx, h0, m->w[1], m->bias[0], M, 1, b, eb, R2, &h1));
    DMX_TRY(dmx_elu(ctx, h1, &h2));
    DMX_TRY(dmx_mix_linear(ctx, h2, m->w[2], NULL, M, 1, b, eb, R2, &h3));
    DMX_TRY(dmx_mix_linear(ctx, h3, m->w[3], m->bias[1], M, b, eb, 1, R2, &out));
    return dmx_nn_restore_shape(ctx, x, &a, out, y);
}
