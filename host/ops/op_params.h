/* Parameter blocks of the device operators: the contract every backend implements.
 *
 * Each struct holds only 4-byte fields (int32_t, uint32_t, float) so it maps field for field
 * onto a Vulkan push-constant block and onto OpenCL kernel arguments. Sizes are bounded by
 * DMX_MAX_PARAMS_BYTES (static asserts below), which leaves room in the 128-byte push-constant
 * minimum for per-binding element offsets.
 *
 * Arguments are listed as `args[i]: name [shape] (role)`; inputs come first, then outputs.
 * Every buffer element is 4 bytes: F32, or I32 where marked. "acc" outputs are read and
 * written: with `accumulate = 1` the op adds to them, with 0 it overwrites them and must not
 * read them (an output pre-filled with NaN must not leak into the result).
 *
 * Shapes are row-major, outermost first. Every size and stride is below 2^31 elements.
 * dmx_op_run refuses a call with a negative size, or whose parameters reach past an argument's
 * element count (host/ops/op_extents.c), before a backend runs it. */
#ifndef DMX_OP_PARAMS_H
#define DMX_OP_PARAMS_H

#include <stdint.h>

#define DMX_MAX_DIMS_STRIDED 6
#define DMX_MAX_PARAMS_BYTES 96

/* An additive mask entry at or below this value removes the entry from the softmax entirely
 * (its probability is 0 and it does not enter the max or the sum), so -1e30 and -inf are safe.
 * A row whose entries are all removed is all zeros. */
#define DMX_MASK_REMOVED (-1e20f)

/* COPY_STRIDED: args[0] src (in), args[1] dst (acc).
 * For every index i in shape[0..ndim): dst[sum i_k dst_stride_k] (+)= src[sum i_k src_stride_k].
 * Element strides; dimensions past ndim are ignored. It is every permutation: transposes,
 * butterfly gathers/scatters, patch unfold/fold, head split/merge. With accumulate = 0 it copies
 * 4-byte words (F32 or I32); with 1 it adds floats. Destination views must not overlap
 * themselves (each dst element written once). Strides of dimensions longer than 1 are
 * non-negative: each view starts at its argument's first element. */
typedef struct dmx_p_copy_strided {
    int32_t ndim;
    int32_t shape[DMX_MAX_DIMS_STRIDED];
    int32_t src_stride[DMX_MAX_DIMS_STRIDED];
    int32_t dst_stride[DMX_MAX_DIMS_STRIDED];
    int32_t accumulate;
} dmx_p_copy_strided;

/* GEMM (strided batched, row-major): args[0] A, args[1] B (in), args[2] C (acc via beta).
 * For b in [0, batch): C_b = alpha op(A_b) op(B_b) + beta C_b, with A_b = A + b*stride_a, ...
 * op(A_b) is [M, K]: A_b[m*lda + k] (trans_a = 0) or A_b[k*lda + m] (trans_a = 1).
 * op(B_b) is [K, N]: B_b[k*ldb + n] (trans_b = 0) or B_b[n*ldb + k] (trans_b = 1).
 * C_b[m*ldc + n]. beta = 0 must not read C. As in BLAS, lda, ldb and ldc are at least the row
 * length of the stored matrix (K or M for A, N or K for B, N for C). */
typedef struct dmx_p_gemm {
    int32_t trans_a, trans_b;
    int32_t M, N, K;
    int32_t lda, ldb, ldc;
    int32_t batch;
    int32_t stride_a, stride_b, stride_c;
    float alpha, beta;
} dmx_p_gemm;

/* MIX_LINEAR and its two backward kernels (SPEC section 2). The input is viewed as
 * x[M, J, Din, R1, R2], weights W[J, R1, Dout, Din], optional bias c[J, R1, Dout],
 * output y[M, J, Dout, R1, R2].
 *
 * MIX_LINEAR:       args[0] x, args[1] W, args[2] c (in, NULL buffer when has_bias = 0),
 *                   args[3] y (out).  y = sum_d W x + c.  (accumulate unused, 0)
 * MIX_LINEAR_BWD_X: args[0] dy [M,J,Dout,R1,R2], args[1] W (in), args[2] dx [M,J,Din,R1,R2] (acc).
 *                   dx[m,j,d,r1,r2] (+)= sum_o W[j,r1,o,d] dy[m,j,o,r1,r2].
 * MIX_LINEAR_BWD_W: args[0] dy, args[1] x (in), args[2] dW (always +=),
 *                   args[3] dc (always +=, NULL buffer when has_bias = 0).
 *                   dW[j,r1,o,d] += sum_{m,r2} dy x;  dc[j,r1,o] += sum_{m,r2} dy. */
typedef struct dmx_p_mix_linear {
    int32_t M, J, Din, Dout, R1, R2;
    int32_t has_bias;
    int32_t accumulate;
} dmx_p_mix_linear;

/* MIX_MLP and its backward: one butterfly-MLP stage, two mix_linears on the same view with
 * GELU (exact, erf) between, fused so the hidden activation is never stored:
 *   u[m,j,h,r1,r2] = c1[j,r1,h] + sum_d W1[j,r1,h,d] x[m,j,d,r1,r2]    (h < Dh)
 *   y[m,j,o,r1,r2] = c2[j,r1,o] + sum_h W2[j,r1,o,h] GELU(u[m,j,h,r1,r2])   (o < Dout)
 * MIX_MLP:     args[0] x [M,J,Din,R1,R2], args[1] W1 [J,R1,Dh,Din], args[2] c1 [J,R1,Dh],
 *              args[3] W2 [J,R1,Dout,Dh], args[4] c2 [J,R1,Dout] (in), args[5] y (out).
 * MIX_MLP_BWD: args[0] dy [M,J,Dout,R1,R2], args[1] x, args[2] W1, args[3] c1, args[4] W2 (in),
 *              args[5] dx (acc), args[6] dW1, args[7] dc1, args[8] dW2, args[9] dc2 (always +=).
 *              u is recomputed from x; with a = GELU(u), da = W2^T dy, du = da GELU'(u):
 *              dx (+)= W1^T du, dW1 += du x^T, dc1 += du, dW2 += dy a^T, dc2 += dy
 *              (the weight sums over m and r2). */
typedef struct dmx_p_mix_mlp {
    int32_t M, J, Din, Dh, Dout, R1, R2;
    int32_t accumulate;
} dmx_p_mix_mlp;

/* FILL: args[0] y (out). y[i] = bits for i < n (bits is the 4-byte pattern: a float's bits,
 * or an integer). */
typedef struct dmx_p_fill {
    int32_t n;
    uint32_t bits;
} dmx_p_fill;

/* ADD: args[0] a, args[1] b (in), args[2] y (out). y = a + b. y may alias a or b exactly. */
typedef struct dmx_p_add {
    int32_t n;
} dmx_p_add;

/* MUL: args[0] a, args[1] b (in), args[2] y (acc). y (+)= a * b. */
typedef struct dmx_p_mul {
    int32_t n;
    int32_t accumulate;
} dmx_p_mul;

/* SCALE: args[0] x (in), args[1] y (out). y = alpha * x. y may alias x exactly. */
typedef struct dmx_p_scale {
    int32_t n;
    float alpha;
} dmx_p_scale;

/* CLIP_SCALE: args[0] norm [1] (in), args[1] x [n] (in/out). With g = norm[0]: when
 * g > threshold, x *= numerator / g (the factor computed once, in float); otherwise (g within
 * the threshold, or NaN) x is left as it is. With the norm left on the device: gradient-norm
 * clipping (threshold = numerator = max_norm), normalisation to unit length (threshold a
 * tiny eps, numerator 1: the spectral norm's power iteration) and the spectral norm's
 * w / max(1, sigma / c) (threshold = numerator = c). accumulate is unused.
 * CLIP_SCALE_BWD, the derivative by g of x numerator / g: args[0] norm [1], args[1] dot [1]
 * (in: <dy, x> of the unscaled x), args[2] dnorm [1] (acc). When g > threshold,
 * dnorm (+)= (-(numerator / g) / g) dot, rounded in that order; otherwise dnorm (+)= 0.
 * n is unused. */
typedef struct dmx_p_clip_scale {
    int32_t n;
    float threshold, numerator;
    int32_t accumulate;
} dmx_p_clip_scale;

/* AXPY: args[0] x (in), args[1] y (in/out). y += alpha * x. */
typedef struct dmx_p_axpy {
    int32_t n;
    float alpha;
} dmx_p_axpy;

/* ADD_ROW (row-broadcast add): args[0] x [rows, cols], args[1] b [cols] (in),
 * args[2] y [rows, cols] (out). y[r, c] = x[r, c] + b[c]. y may alias x exactly. */
typedef struct dmx_p_add_row {
    int32_t rows, cols;
} dmx_p_add_row;

/* SUM_ROWS: args[0] x [rows, cols] (in), args[1] y [cols] (acc).
 * y[c] (+)= scale * sum_r x[r, c]   (scale = 1/rows gives the mean). */
typedef struct dmx_p_sum_rows {
    int32_t rows, cols;
    float scale;
    int32_t accumulate;
} dmx_p_sum_rows;

/* Elementwise activations, n elements.
 * GELU: args[0] x (in), args[1] y (out). y = x * 0.5 * (1 + erf(x / sqrt 2))   (exact).
 * ELU:  y = x > 0 ? x : exp(x) - 1.      RELU: y = max(x, 0).
 * *_BWD: args[0] x, args[1] dy (in), args[2] dx (acc). dx (+)= dy * f'(x), with
 *   gelu' = Phi(x) + x phi(x), elu' = x > 0 ? 1 : exp(x), relu' = x > 0 ? 1 : 0. */
typedef struct dmx_p_unary {
    int32_t n;
    int32_t accumulate;
} dmx_p_unary;

/* LAYERNORM over the last axis of x [rows, cols], biased variance.
 * Forward: args[0] x, args[1] gamma [cols], args[2] beta [cols] (in),
 *   args[3] y [rows, cols], args[4] mean [rows], args[5] rstd [rows] (out).
 *   mean = sum x / cols; var = sum (x - mean)^2 / cols; rstd = 1 / sqrt(var + eps);
 *   y = (x - mean) * rstd * gamma + beta.
 * Backward: args[0] dy, args[1] x, args[2] gamma, args[3] mean, args[4] rstd (in),
 *   args[5] dx (acc), args[6] dgamma (always +=), args[7] dbeta (always +=).
 *   xhat = (x - mean) rstd; g = dy gamma;
 *   dx (+)= rstd (g - mean_c(g) - xhat mean_c(g xhat)); dgamma += sum_r dy xhat; dbeta += sum_r dy. */
typedef struct dmx_p_layernorm {
    int32_t rows, cols;
    float eps;
    int32_t accumulate;
} dmx_p_layernorm;

/* SOFTMAX, row-wise over x [rows, cols].
 * Forward: args[0] x, args[1] mask [rows / mask_group, cols] (in, NULL buffer when has_mask = 0),
 *   args[2] y (out). Row r uses mask row r / mask_group (>= 1). z_c = scale * x_c + mask_c;
 *   entries with mask_c <= DMX_MASK_REMOVED are removed (y = 0); the rest get
 *   exp(z_c - max z) / sum exp(z - max z). A row with every entry removed is all zeros.
 * Backward: args[0] y, args[1] dy (in), args[2] dx (acc).
 *   dx (+)= scale * y * (dy - sum_c dy_c y_c).  (has_mask, mask_group unused.) */
typedef struct dmx_p_softmax {
    int32_t rows, cols;
    float scale;
    int32_t has_mask;
    int32_t mask_group;
    int32_t accumulate;
} dmx_p_softmax;

/* CROSS_ENTROPY with label smoothing over logits z [rows, cols] (cols = classes K).
 * Targets t = (1 - smoothing) onehot(label) + smoothing / K.
 * Forward: args[0] z, args[1] labels [rows] I32 (in), args[2] loss [rows] (out).
 *   loss_r = -sum_k t_k log softmax(z_r)_k. A label outside [0, K) gives loss_r = NaN.
 * Backward: args[0] z, args[1] labels, args[2] dloss [1] (in), args[3] dz (acc).
 *   dz_r (+)= dloss[0] * scale * (softmax(z_r) - t_r)  (scale = 1/rows for the batch mean;
 *   a row with an out-of-range label gets NaN). */
typedef struct dmx_p_cross_entropy {
    int32_t rows, cols;
    float smoothing;
    float scale;
    int32_t accumulate;
} dmx_p_cross_entropy;

/* EMBEDDING: table E [vocab, dim], ids [n] I32.
 * Forward: args[0] ids, args[1] E (in), args[2] y [n, dim] (out). y[i] = E[ids[i]];
 *   an id outside [0, vocab) gives a row of zeros.
 * Backward: args[0] ids, args[1] dy [n, dim] (in), args[2] dE (always +=).
 *   dE[ids[i]] += dy[i] (out-of-range ids contribute nothing). Summation order over i must
 *   be deterministic (no float atomics), so repeated runs are bitwise equal. */
typedef struct dmx_p_embedding {
    int32_t n, dim, vocab;
} dmx_p_embedding;

/* DROPOUT: args[0] x (in), args[1] y (acc).
 * Element i draws u_i from Philox4x32-10 (host/core/philox.h): counter (offset + i, 0, 0, 0)
 * as 32-bit words, key (seed_lo, seed_hi); u_i = (first output word >> 8) * 2^-24.
 * keep_i = u_i >= p; y_i (+)= keep_i ? x_i / (1 - p) : 0. Backward is the same op on dy with
 * the same seed and offset. p = 0 copies. */
typedef struct dmx_p_dropout {
    int32_t n;
    float p;
    uint32_t seed_lo, seed_hi;
    uint32_t offset;
    int32_t accumulate;
} dmx_p_dropout;

/* ADAMW (PyTorch AdamW; adam = weight_decay 0): args[0] g (in), args[1] p, args[2] m,
 * args[3] v (in/out). Per element:
 *   p -= lr * weight_decay * p;  m = beta1 m + (1 - beta1) g;  v = beta2 v + (1 - beta2) g^2;
 *   p -= step_size * m / (sqrt(v) / bc2_sqrt + eps)
 * with step_size = lr / (1 - beta1^t) and bc2_sqrt = sqrt(1 - beta2^t), t the 1-based step. */
typedef struct dmx_p_adamw {
    int32_t n;
    float lr, beta1, beta2, eps, weight_decay;
    float step_size, bc2_sqrt;
} dmx_p_adamw;

/* SGD (PyTorch SGD): args[0] g (in), args[1] p, args[2] buf (momentum buffer, in/out).
 *   d = g + weight_decay p;
 *   if momentum != 0: buf = first_step ? d : momentum buf + (1 - dampening) d;
 *                     d = nesterov ? d + momentum buf : buf
 *   p -= lr d.  (buf is untouched when momentum == 0.) */
typedef struct dmx_p_sgd {
    int32_t n;
    float lr, momentum, dampening, weight_decay;
    int32_t nesterov, first_step;
} dmx_p_sgd;

/* Reductions to one float, accumulated in at least float precision with a fixed order per
 * backend. DOT: args[0] x, args[1] y (in), args[2] out [1]: out = sum x y.
 * NORM2: args[0] x (in), args[1] out [1]: out = sqrt(sum x^2). */
typedef struct dmx_p_reduce {
    int32_t n;
} dmx_p_reduce;

/* ATTENTION: softmax attention of every head in one op (the scores never reach memory).
 * q, k, v, o are [batch, seq, heads * head_dim]: head h owns columns h*head_dim ..
 * (h+1)*head_dim - 1 of every row, so the head split and merge are index arithmetic.
 * mask [batch, seq] (optional) is an additive key mask: batch row b's key j gets mask[b, j]
 * for every query and head, removed when <= DMX_MASK_REMOVED (as in SOFTMAX).
 * stats [batch, heads, seq, 2] holds two floats per query row.
 * For batch b, head h, query i: z_j = scale q_i . k_j + mask_j over the keys j not removed,
 *   o_i = sum_j softmax(z)_j v_j; o_i = 0 when every key is removed.
 * Forward: args[0] q, args[1] k, args[2] v, args[3] mask (in; NULL when has_mask = 0),
 *   args[4] o, args[5] stats (out): stats[.., 0] = log sum_j exp(z_j) (0 for a row with every
 *   key removed), stats[.., 1] = 0.
 * Backward: args[0] q, args[1] k, args[2] v, args[3] mask, args[4] o, args[5] do (in),
 *   args[6] stats (in/out: reads [.., 0], overwrites [.., 1] with do_i . o_i, the backward's
 *   working row sums), args[7] dq, args[8] dk, args[9] dv (acc, each by its own flag).
 *   With P_ij = exp(z_ij - stats_i0) and dS_ij = P_ij (do_i . v_j - do_i . o_i):
 *   dq_i (+)= scale sum_j dS_ij k_j, dk_j (+)= scale sum_i dS_ij q_i, dv_j (+)= sum_i P_ij do_i
 *   (a removed key gets dk_j = dv_j = 0). The mask gets no gradient.
 * 1 <= head_dim <= DMX_ATTENTION_MAX_HEAD_DIM: device kernels keep a row of o (or dq, dk, dv)
 * in registers. */
#define DMX_ATTENTION_MAX_HEAD_DIM 64
typedef struct dmx_p_attention {
    int32_t batch, seq, heads, head_dim;
    float scale;
    int32_t has_mask;
    int32_t accumulate_q, accumulate_k, accumulate_v;
} dmx_p_attention;

#define DMX_CHECK_PARAMS_SIZE(T) \
    _Static_assert(sizeof(T) <= DMX_MAX_PARAMS_BYTES && sizeof(T) % 4 == 0, #T " too large")
/* Every op's parameter struct, from the one list of ops: a new op cannot skip the check. */
#define DMX_OP(ID, name, n_in, n_out, optional, ptype) DMX_CHECK_PARAMS_SIZE(ptype);
#include "ops/ops.def"
#undef DMX_OP

#endif
