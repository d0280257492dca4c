/* Multi-head softmax attention (SPEC section 3): Q, K, V projections, then per head the masked
 * softmax of Q K^T / sqrt(d_h) times V, then the output projection.
 *
 * The middle runs one of two ways. Composed from tensor ops: head split (reshape + permute),
 * scores by batched GEMM, softmax, P V, head merge; seven ops and an S x S score tensor per
 * head. Fused: one ATTENTION op over the projections as they are (dmx_attention_fused), the
 * scores recomputed in the backward instead of stored. OpenCL and Vulkan take the fused op for
 * short sequences (butterfly attention's groups, small ViTs), where launch count dominates;
 * the CPU devices keep the composed path, whose GEMMs run on BLAS. DIMIX_FUSED_ATTENTION=0 or
 * 1 overrides the choice (the fused op still needs S and d_h within its limits). */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>

#include "core/error.h"
#include "dimix/device.h"
#include "dimix/ops.h"
#include "ops/op_params.h"
#include "nn/nn_internal.h"

dmx_status dmx_attention_init(dmx_params *ps, const char *prefix, int64_t dim, int64_t heads,
                              dmx_nn_attention *m)
{
    if (!m || dim < 1 || heads < 1 || dim % heads != 0)
        return dmx_fail(DMX_ERR_INVALID_ARG, "attention %s: width %lld does not split into %lld "
                        "heads (or NULL module)", prefix ? prefix : "", (long long)dim,
                        (long long)heads);
    *m = (dmx_nn_attention){.dim = dim, .heads = heads};
    dmx_nn_linear *proj[4] = {&m->q, &m->k, &m->v, &m->o};
    const char *names[4] = {"q", "k", "v", "o"};
    for (int i = 0; i < 4; i++) {
        char name[256];
        DMX_TRY(dmx_nn_name(name, sizeof name, prefix, names[i]));
        DMX_TRY(dmx_linear_init(ps, name, dim, dim, true, proj[i]));
    }
    return DMX_OK;
}

/* [B, S, D] -> [B, h, S, D/h] */
static dmx_status split_heads(dmx_ctx *ctx, dmx_tensor *t, int64_t heads, dmx_tensor **out)
{
    const int64_t B = t->shape[0], S = t->shape[1], D = t->shape[2];
    const int64_t shape[4] = {B, S, heads, D / heads};
    const int perm[4] = {0, 2, 1, 3};
    dmx_tensor *r = NULL;
    DMX_TRY(dmx_reshape(ctx, t, 4, shape, &r));
    return dmx_permute(ctx, r, perm, out);
}

/* [B, h, S, D/h] -> [B, S, D] */
static dmx_status merge_heads(dmx_ctx *ctx, dmx_tensor *t, dmx_tensor **out)
{
    const int perm[4] = {0, 2, 1, 3};
    const int64_t shape[3] = {t->shape[0], t->shape[2], t->shape[1] * t->shape[3]};
    dmx_tensor *p = NULL;
    DMX_TRY(dmx_permute(ctx, t, perm, &p));
    return dmx_reshape(ctx, p, 3, shape, out);
}

static dmx_status check_input(const dmx_nn_attention *m, const dmx_tensor *x,
                              const dmx_tensor *mask)
{
    char s[96], t[96];
    if (x->ndim != 3 || x->shape[2] != m->dim)
        return dmx_fail(DMX_ERR_SHAPE, "attention %s: x (%s) of shape %s must be [B, S, %lld]",
                        m->q.name, x->name, dmx_shape_str(x, s, sizeof s), (long long)m->dim);
    if (mask && dmx_tensor_numel(mask) != x->shape[0] * x->shape[1])
        return dmx_fail(DMX_ERR_SHAPE, "attention %s: key mask (%s) of shape %s must be [B, S] "
                        "for x of shape %s", m->q.name, mask->name,
                        dmx_shape_str(mask, t, sizeof t), dmx_shape_str(x, s, sizeof s));
    return DMX_OK;
}

/* The sequences the fused op handles on every device: lavapipe's loop limiter bounds the
 * keys one invocation walks (host/vulkan/vk_ops_attention.c). */
#define FUSED_MAX_SEQ 128

static bool use_fused(dmx_ctx *ctx, int64_t S, int64_t dh)
{
    if (S > FUSED_MAX_SEQ || dh > DMX_ATTENTION_MAX_HEAD_DIM)
        return false;
    const dmx_device_info *info = dmx_device_info_of(dmx_ctx_device(ctx));
    return dmx_nn_switch("DIMIX_FUSED_ATTENTION", info && info->backend != DMX_BACKEND_CPU);
}

dmx_status dmx_attention_forward(dmx_ctx *ctx, const dmx_nn_attention *m, dmx_tensor *x,
                                 dmx_tensor *mask, dmx_tensor **y)
{
    if (!m || !x)
        return dmx_fail(DMX_ERR_INVALID_ARG, "attention: NULL module or x");
    DMX_TRY(check_input(m, x, mask));
    const int64_t S = x->shape[1], dh = m->dim / m->heads;
    dmx_tensor *q, *k, *v, *qh, *kh, *vh, *scores, *p, *o, *merged;
    DMX_TRY(dmx_linear_forward(ctx, &m->q, x, -1, &q));
    DMX_TRY(dmx_linear_forward(ctx, &m->k, x, -1, &k));
    DMX_TRY(dmx_linear_forward(ctx, &m->v, x, -1, &v));
    const float scale = (float)(1.0 / sqrt((double)dh));
    if (use_fused(ctx, S, dh)) {
        DMX_TRY(dmx_attention_fused(ctx, q, k, v, mask, m->heads, scale, &merged));
        return dmx_linear_forward(ctx, &m->o, merged, -1, y);
    }
    DMX_TRY(split_heads(ctx, q, m->heads, &qh));
    DMX_TRY(split_heads(ctx, k, m->heads, &kh));
    DMX_TRY(split_heads(ctx, v, m->heads, &vh));
    DMX_TRY(dmx_matmul(ctx, qh, kh, 0, 1, 1.0f, &scores)); /* [B, h, S, S] */
    /* Every row of batch b (h heads x S queries) uses mask row b. */
    DMX_TRY(dmx_softmax(ctx, scores, mask, scale, m->heads * S, &p));
    DMX_TRY(dmx_matmul(ctx, p, vh, 0, 0, 1.0f, &o)); /* [B, h, S, dh] */
    DMX_TRY(merge_heads(ctx, o, &merged));
    return dmx_linear_forward(ctx, &m->o, merged, -1, y);
}
