/* Tensor operations with autograd (the op front door).
 *
 * Each function checks its arguments (device, dtype, shapes; errors name the tensors and
 * shapes), allocates its output from the context's arena, runs the device operator, and, when
 * an input needs a gradient, records its backward on the tape. Outputs are contiguous. */
#ifndef DIMIX_OPS_H
#define DIMIX_OPS_H

#include "dimix/tensor.h"

#ifdef __cplusplus
extern "C" {
#endif

/* ---- data movement ---- */

/* y = x with its axes permuted: y.shape[k] = x.shape[perm[k]]. */
DMX_API dmx_status dmx_permute(dmx_ctx *ctx, dmx_tensor *x, const int *perm, dmx_tensor **y);

/* y[i_0..i_n] = x[offset + sum_k i_k stride_k]: a strided gather into a new contiguous
 * tensor of `shape`. The view must not reach the same element of x twice. */
DMX_API dmx_status dmx_gather_view(dmx_ctx *ctx, dmx_tensor *x, int ndim, const int64_t *shape,
                                   const int64_t *stride, int64_t offset, dmx_tensor **y);

/* ---- linear maps ---- */

/* The mixing primitive (SPEC section 2): x viewed as [M, J, Din, R1, R2], w with
 * J*R1*Dout*Din elements (layout [J, R1, Dout, Din]), optional bias with J*R1*Dout elements.
 * y has shape [M, J, Dout, R1, R2]. */
DMX_API dmx_status dmx_mix_linear(dmx_ctx *ctx, dmx_tensor *x, dmx_tensor *w, dmx_tensor *bias,
                                  int64_t M, int64_t J, int64_t Din, int64_t R1, int64_t R2,
                                  dmx_tensor **y);

/* One butterfly-MLP stage on the mix_linear view: h = mix_linear(x, w1, b1), then
 * y = mix_linear(GELU(h), w2, b2), computed as one op that never stores h (its backward
 * recomputes it). w1 [J, R1, Dh, Din], b1 [J, R1, Dh], w2 [J, R1, Dout, Dh], b2 [J, R1, Dout]
 * (Dh and Dout read from the sizes); y has shape [M, J, Dout, R1, R2]. */
DMX_API dmx_status dmx_mix_mlp(dmx_ctx *ctx, dmx_tensor *x, dmx_tensor *w1, dmx_tensor *b1,
                               dmx_tensor *w2, dmx_tensor *b2, int64_t M, int64_t J,
                               int64_t Din, int64_t R1, int64_t R2, dmx_tensor **y);

/* y = x w^T + bias on the last axis: x [..., K], w [N, K], bias [N] or NULL -> y [..., N]. */
DMX_API dmx_status dmx_linear(dmx_ctx *ctx, dmx_tensor *x, dmx_tensor *w, dmx_tensor *bias,
                              dmx_tensor **y);

/* Batched matrix product: a [..., M, K] (or [..., K, M] with trans_a), b [..., K, N] (or
 * [..., N, K] with trans_b) with the same leading dimensions, or b of rank 2 shared by every
 * batch. y = alpha op(a) op(b): [..., M, N]. */
DMX_API dmx_status dmx_matmul(dmx_ctx *ctx, dmx_tensor *a, dmx_tensor *b, int trans_a,
                              int trans_b, float alpha, dmx_tensor **y);

/* ---- elementwise ---- */

DMX_API dmx_status dmx_add(dmx_ctx *ctx, dmx_tensor *a, dmx_tensor *b, dmx_tensor **y);
DMX_API dmx_status dmx_mul(dmx_ctx *ctx, dmx_tensor *a, dmx_tensor *b, dmx_tensor **y);
DMX_API dmx_status dmx_scale(dmx_ctx *ctx, dmx_tensor *x, float alpha, dmx_tensor **y);
/* y = x * numerator / g when g > threshold, else x, with g = norm's one element, decided on the
 * device (no host read); gradients flow to x and norm. w / max(1, sigma / c) is
 * dmx_clip_scale(w, sigma, c, c). */
DMX_API dmx_status dmx_clip_scale(dmx_ctx *ctx, dmx_tensor *x, dmx_tensor *norm, float threshold,
                                  float numerator, dmx_tensor **y);
/* y = x + b broadcast over rows: b's element count divides x's; x is viewed [rows, numel(b)]. */
DMX_API dmx_status dmx_add_row(dmx_ctx *ctx, dmx_tensor *x, dmx_tensor *b, dmx_tensor **y);
/* x viewed [rows, cols] -> y [cols] = scale * sum over rows (scale 1/rows: the mean). */
DMX_API dmx_status dmx_sum_rows(dmx_ctx *ctx, dmx_tensor *x, int64_t rows, float scale,
                                dmx_tensor **y);

DMX_API dmx_status dmx_gelu(dmx_ctx *ctx, dmx_tensor *x, dmx_tensor **y);
DMX_API dmx_status dmx_elu(dmx_ctx *ctx, dmx_tensor *x, dmx_tensor **y);
DMX_API dmx_status dmx_relu(dmx_ctx *ctx, dmx_tensor *x, dmx_tensor **y);

/* Dropout with probability p, active only in training mode (identity otherwise); the mask
 * comes from the context's seed (dmx_ctx_set_seed) and a per-step counter. */
DMX_API dmx_status dmx_dropout(dmx_ctx *ctx, dmx_tensor *x, float p, dmx_tensor **y);

/* ---- normalisation, attention pieces, losses ---- */

/* LayerNorm over the last axis; gamma, beta [last]. */
DMX_API dmx_status dmx_layernorm(dmx_ctx *ctx, dmx_tensor *x, dmx_tensor *gamma, dmx_tensor *beta,
                                 float eps, dmx_tensor **y);

/* Softmax over the last axis of scale * x + mask. mask (or NULL) has rows / mask_group rows of
 * the last axis' length; row r of x uses mask row r / mask_group. Entries with mask at or below
 * -1e20 are removed; a fully removed row is zeros. The mask needs no gradient. */
DMX_API dmx_status dmx_softmax(dmx_ctx *ctx, dmx_tensor *x, dmx_tensor *mask, float scale,
                               int64_t mask_group, dmx_tensor **y);

/* Multi-head softmax attention in one op: q, k, v [B, S, heads * d] (head h is columns
 * h*d .. (h+1)*d - 1), y [B, S, heads * d] with y_i = sum_j softmax_j(scale q_i . k_j + mask_j)
 * v_j per batch row and head; mask [B, S] (or NULL) masks keys as in dmx_softmax. The S x S
 * scores are never stored (the backward recomputes them). d is at most 64. */
DMX_API dmx_status dmx_attention_fused(dmx_ctx *ctx, dmx_tensor *q, dmx_tensor *k, dmx_tensor *v,
                                       dmx_tensor *mask, int64_t heads, float scale,
                                       dmx_tensor **y);

/* Mean cross-entropy over the batch: logits [B, K], labels [B] (I32), label smoothing eps.
 * loss has shape [1]. */
DMX_API dmx_status dmx_cross_entropy(dmx_ctx *ctx, dmx_tensor *logits, dmx_tensor *labels,
                                     float smoothing, dmx_tensor **loss);

/* y [..., D] = table[ids]: ids (I32, any shape), table [V, D]. */
DMX_API dmx_status dmx_embedding(dmx_ctx *ctx, dmx_tensor *ids, dmx_tensor *table,
                                 dmx_tensor **y);

#ifdef __cplusplus
}
#endif
#endif
