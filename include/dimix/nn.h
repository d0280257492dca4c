/* Neural-network modules with named parameters (SPEC sections 1, 4, 6).
 *
 * A parameter store (dmx_params) holds every parameter of a model: modules first *declare*
 * their parameters (full dotted name as in SPEC section 6, shape, initialiser, trainable or
 * buffer); dmx_params_allocate then places all of them in one values buffer and one gradients
 * buffer, initialises them on the host from a seed (so every device starts from the same
 * weights) and uploads them. Declared tensor pointers stay valid for the store's lifetime.
 *
 * Modules are plain structs: dmx_<module>_init(ps, prefix, config..., &m) declares the
 * parameters, dmx_<module>_forward(ctx, &m, x, ..., &y) computes with the tensor ops of
 * dimix/ops.h (so autograd and every device come for free).
 *
 * Mixers take an `axis`: the axis of x they mix (negative counts from the end). x is viewed as
 * [outer, N, inner] around that axis, which is how the token mixing of [B, S, C] runs without
 * transposes (SPEC section 2: R2 = C). */
#ifndef DIMIX_NN_H
#define DIMIX_NN_H

#include <stdbool.h>
#include <stdint.h>

#include "dimix/ops.h"
#include "dimix/tensor.h"

#ifdef __cplusplus
extern "C" {
#endif

/* ================================ parameter store ================================ */

typedef struct dmx_params dmx_params;

typedef enum dmx_init_kind {
    DMX_INIT_ZEROS = 0,
    DMX_INIT_ONES,
    DMX_INIT_UNIFORM,        /* U(-scale, scale) */
    DMX_INIT_NORMAL,         /* N(0, scale^2) */
    DMX_INIT_XAVIER_UNIFORM, /* U(+-scale sqrt(6 / (fan_in + fan_out))), fans = last two dims */
    DMX_INIT_IDENTITY,       /* each trailing [rows, cols] matrix has ones on its diagonal */
    DMX_INIT_ORTHO_2X2,      /* each trailing [2, 2] matrix [[d cos t, sin t], [-d sin t, cos t]],
                              * t ~ U[0, 2 pi), d = +-1: a random rotation or reflection */
    DMX_INIT_UNIT_NORMAL,    /* N(0, 1) per element, then the whole tensor scaled to norm 1 */
} dmx_init_kind;

typedef struct dmx_init {
    dmx_init_kind kind;
    float scale; /* bound, standard deviation or gain, as the kind says (gain 0 means 1) */
} dmx_init;

DMX_API dmx_status dmx_params_create(dmx_device *dev, dmx_params **out);
DMX_API void dmx_params_destroy(dmx_params *ps);
DMX_API dmx_device *dmx_params_device(const dmx_params *ps);

/* Declares a parameter (trainable: flags DMX_TENSOR_PARAM | DMX_TENSOR_REQUIRES_GRAD and a
 * gradient) or a buffer (trainable = false: saved with the model, no gradient, such as the
 * spectral-norm vectors `fa.u`). The returned tensor has no storage until dmx_params_allocate.
 * Names are unique; the store keeps its own copy. */
DMX_API dmx_status dmx_params_declare(dmx_params *ps, const char *name, int ndim,
                                      const int64_t *shape, dmx_init init, bool trainable,
                                      dmx_tensor **out);

/* Changes the initialiser of a declared parameter (before dmx_params_allocate). */
DMX_API dmx_status dmx_params_set_init(dmx_params *ps, const char *name, dmx_init init);

/* Places every declared tensor (trainable ones first, in declaration order, then buffers) at a
 * 64-element aligned offset of one values buffer, the gradients at the same offsets of one
 * gradients buffer, initialises the values on the host from `seed` (each tensor from its own
 * Philox stream keyed by its name, so declaration order does not change any value), uploads
 * them and zeroes the gradients. Once only. */
DMX_API dmx_status dmx_params_allocate(dmx_params *ps, uint64_t seed);

/* Iteration in declaration order; the name is the tensor's `name`. */
DMX_API int dmx_params_count(const dmx_params *ps);
DMX_API dmx_tensor *dmx_params_at(const dmx_params *ps, int index);
/* NULL when absent. */
DMX_API dmx_tensor *dmx_params_find(const dmx_params *ps, const char *name);
/* DMX_ERR_NOT_FOUND, naming the parameter, when absent. */
DMX_API dmx_status dmx_params_get(const dmx_params *ps, const char *name, dmx_tensor **out);

/* Writes up to `cap` trainable tensors, in declaration order, to out (for dmx_optim_create)
 * and returns how many the store has (cap 0 just counts). */
DMX_API int dmx_params_trainable(const dmx_params *ps, dmx_tensor **out, int cap);

/* Number of trainable scalars (buffers and alignment padding excluded). */
DMX_API int64_t dmx_params_trainable_count(const dmx_params *ps);

/* Zeroes every gradient (one fill of the gradients buffer). */
DMX_API dmx_status dmx_params_zero_grad(dmx_params *ps);

/* Copies a parameter's values to or from the host; `count` must be its element count. */
DMX_API dmx_status dmx_params_read(const dmx_params *ps, const char *name, float *dst,
                                   size_t count);
DMX_API dmx_status dmx_params_write(dmx_params *ps, const char *name, const float *src,
                                    size_t count);

/* The trainable region as two flat tensors of equal length: values[i] and grads[i] belong to
 * the same parameter element (padding is zero in both), so an optimizer can update every
 * parameter in one call. */
DMX_API dmx_status dmx_params_flat(dmx_params *ps, dmx_tensor *values, dmx_tensor *grads);

/* ============================ butterfly stages (SPEC 1) ============================ */

/* The 5-D view of mix_linear: x[M, J, Din, R1, R2] (SPEC section 2). */
typedef struct dmx_mix_view {
    int64_t M, J, Din, R1, R2;
} dmx_mix_view;

/* Number of stages K: the smallest integer with b^K >= N (integer arithmetic). Fails, naming
 * N, b, the stage and its stride, unless N >= 2, b >= 2 and N % (b * s_i) == 0 for every
 * stage. */
DMX_API dmx_status dmx_butterfly_stages(int64_t N, int64_t b, int *K);

/* Stride of stage i: b^i if b^(i+1) <= N, else ceil(N / b). Fails unless i is in [0, K) and
 * N % (b * s) == 0. */
DMX_API dmx_status dmx_butterfly_stride(int64_t N, int64_t b, int i, int64_t *stride);

/* The mix_linear view of stage i on the middle axis of x viewed [outer, N, inner]:
 * M = outer, J = N / (b s), Din = b, R1 = s, R2 = inner. Group g = j*s + r holds elements
 * j*b*s + d*s + r, d = 0..b-1, which is the weight block g of a [G, b_out, b_in] tensor. */
DMX_API dmx_status dmx_butterfly_stage_view(int64_t N, int64_t b, int i, int64_t outer,
                                            int64_t inner, dmx_mix_view *view);

/* Butterfly-attention radix for a ViT of S tokens: 2^ceil(log2 sqrt S), i.e. the smallest
 * power of two a with a * a >= S (0 for S < 1). */
DMX_API int64_t dmx_vit_radix(int64_t S);

/* ===================================== modules ===================================== */

#define DMX_NN_MAX_STAGES 32
#define DMX_NN_NAME 96

typedef enum dmx_activation {
    DMX_ACT_GELU = 0,
    DMX_ACT_ELU,
    DMX_ACT_RELU,
} dmx_activation;

/* y = act(x) with the exact definitions of SPEC section 3. */
DMX_API dmx_status dmx_activate(dmx_ctx *ctx, dmx_activation act, dmx_tensor *x, dmx_tensor **y);

/* ---- linear: `{prefix}.weight [out, in]`, `{prefix}.bias [out]` ----
 * PyTorch default init: weight and bias U(+-1/sqrt(in)). */
typedef struct dmx_nn_linear {
    char name[DMX_NN_NAME];
    int64_t in, out;
    dmx_tensor *weight, *bias; /* bias NULL when declared without */
} dmx_nn_linear;

DMX_API dmx_status dmx_linear_init(dmx_params *ps, const char *prefix, int64_t in, int64_t out,
                                   bool bias, dmx_nn_linear *m);
/* y = x W^T + b along `axis`: the axis' size changes from in to out. */
DMX_API dmx_status dmx_linear_forward(dmx_ctx *ctx, const dmx_nn_linear *m, dmx_tensor *x,
                                      int axis, dmx_tensor **y);

/* ---- mlp: `{prefix}.fc1 [hidden, in]`, `{prefix}.fc2 [out, hidden]`, act between ---- */
typedef struct dmx_nn_mlp {
    dmx_nn_linear fc1, fc2;
    dmx_activation act;
} dmx_nn_mlp;

DMX_API dmx_status dmx_mlp_init(dmx_params *ps, const char *prefix, int64_t in, int64_t hidden,
                                int64_t out, dmx_activation act, dmx_nn_mlp *m);
DMX_API dmx_status dmx_mlp_forward(dmx_ctx *ctx, const dmx_nn_mlp *m, dmx_tensor *x, int axis,
                                   dmx_tensor **y);

/* ---- layernorm over the last axis: `{prefix}.weight` (ones), `{prefix}.bias` (zeros) ---- */
typedef struct dmx_nn_layernorm {
    char name[DMX_NN_NAME];
    int64_t dim;
    float eps;
    dmx_tensor *weight, *bias;
} dmx_nn_layernorm;

DMX_API dmx_status dmx_layernorm_init(dmx_params *ps, const char *prefix, int64_t dim, float eps,
                                      dmx_nn_layernorm *m);
DMX_API dmx_status dmx_layernorm_forward(dmx_ctx *ctx, const dmx_nn_layernorm *m, dmx_tensor *x,
                                         dmx_tensor **y);

/* ---- butterfly linear (SPEC 4): `{prefix}.stages.{i}.weight [N/b, b, b]` ----
 * Stage i mixes with the stage-(i mod K) view; K stages by default. Optional output bias
 * `{prefix}.bias [N]` (added in the last stage). Init: DMX_BUTTERFLY_UNIFORM (PyTorch default,
 * U(+-1/sqrt(b)); bias U(+-1/sqrt(N)) as Monarch's code), DMX_BUTTERFLY_IDENTITY (bias zero),
 * DMX_BUTTERFLY_ORTHO (b = 2 only: random 2x2 rotations/reflections, bias zero). */
typedef enum dmx_butterfly_init {
    DMX_BUTTERFLY_UNIFORM = 0,
    DMX_BUTTERFLY_IDENTITY,
    DMX_BUTTERFLY_ORTHO,
} dmx_butterfly_init;

typedef struct dmx_nn_butterfly_linear {
    char name[DMX_NN_NAME];
    int64_t n, radix;
    int n_stages, K;
    dmx_tensor *weight[DMX_NN_MAX_STAGES];
    dmx_tensor *bias; /* NULL without bias */
} dmx_nn_butterfly_linear;

/* n_stages = 0 means K (one full butterfly). */
DMX_API dmx_status dmx_butterfly_linear_init(dmx_params *ps, const char *prefix, int64_t n,
                                             int64_t radix, int n_stages, dmx_butterfly_init init,
                                             bool bias, dmx_nn_butterfly_linear *m);
DMX_API dmx_status dmx_butterfly_linear_forward(dmx_ctx *ctx, const dmx_nn_butterfly_linear *m,
                                                dmx_tensor *x, int axis, dmx_tensor **y);

/* ---- Monarch (Dao et al.): N = b^2, a 2-stage radix-b butterfly linear (same names, same
 * forward: dmx_butterfly_linear_forward). Fails unless n is a perfect square >= 4. ---- */
DMX_API dmx_status dmx_monarch_init(dmx_params *ps, const char *prefix, int64_t n,
                                    dmx_butterfly_init init, bool bias,
                                    dmx_nn_butterfly_linear *m);

/* ---- butterfly MLP (SPEC 4): K stages, each a per-group MLP b -> e b -> b with GELU:
 * `{prefix}.stages.{i}.w1 [G, e b, b]`, `b1 [G, e b]`, `w2 [G, b, e b]`, `b2 [G, b]`.
 * PyTorch default init (fan_in b for w1, b1; e b for w2, b2). ---- */
typedef struct dmx_nn_butterfly_mlp {
    char name[DMX_NN_NAME];
    int64_t n, radix, expansion;
    int K;
    struct {
        dmx_tensor *w1, *b1, *w2, *b2;
    } stage[DMX_NN_MAX_STAGES];
} dmx_nn_butterfly_mlp;

DMX_API dmx_status dmx_butterfly_mlp_init(dmx_params *ps, const char *prefix, int64_t n,
                                          int64_t radix, int64_t expansion,
                                          dmx_nn_butterfly_mlp *m);
DMX_API dmx_status dmx_butterfly_mlp_forward(dmx_ctx *ctx, const dmx_nn_butterfly_mlp *m,
                                             dmx_tensor *x, int axis, dmx_tensor **y);

/* ---- butterfly-linear MLP (SPEC 5 "butterfly_linear", papers.md 1.3): the two layers of an
 * MLP N -> e N -> N each a 2-factor radix-b butterfly linear (N = b^2), ELU between:
 * `{prefix}.fc1.stages.0.weight [b, e b, b]`, `fc1.stages.1.weight [e b, b, b]`,
 * `fc1.stages.1.bias [e b, b]`, `fc2.stages.0.weight [e b, b, b]`,
 * `fc2.stages.1.weight [b, b, e b]`, `fc2.stages.1.bias [b, b]`. PyTorch default init per
 * block (fan_in = the block's input size). ---- */
typedef struct dmx_nn_butterfly_linear_mlp {
    char name[DMX_NN_NAME];
    int64_t n, radix, expansion;
    dmx_tensor *w[4], *bias[2];
} dmx_nn_butterfly_linear_mlp;

DMX_API dmx_status dmx_butterfly_linear_mlp_init(dmx_params *ps, const char *prefix, int64_t n,
                                                 int64_t expansion,
                                                 dmx_nn_butterfly_linear_mlp *m);
DMX_API dmx_status dmx_butterfly_linear_mlp_forward(dmx_ctx *ctx,
                                                    const dmx_nn_butterfly_linear_mlp *m,
                                                    dmx_tensor *x, int axis, dmx_tensor **y);

/* ---- a token or channel mixer of SPEC section 5: dense MLP (N -> e N -> N, GELU), butterfly
 * MLP (radix b, expansion e) or butterfly-linear MLP (N = b^2, expansion e, ELU), under the
 * same prefix ---- */
typedef enum dmx_mix_kind {
    DMX_MIX_DENSE = 0,
    DMX_MIX_BUTTERFLY_MLP,
    DMX_MIX_BUTTERFLY_LINEAR,
} dmx_mix_kind;

typedef struct dmx_mix_config {
    dmx_mix_kind kind;
    int64_t radix;     /* butterfly only */
    int64_t expansion; /* e */
} dmx_mix_config;

typedef struct dmx_nn_mixer {
    dmx_mix_kind kind;
    dmx_nn_mlp dense;
    dmx_nn_butterfly_mlp butterfly;
    dmx_nn_butterfly_linear_mlp butterfly_linear;
} dmx_nn_mixer;

DMX_API dmx_status dmx_mixer_init(dmx_params *ps, const char *prefix, int64_t n,
                                  const dmx_mix_config *cfg, dmx_nn_mixer *m);
DMX_API dmx_status dmx_mixer_forward(dmx_ctx *ctx, const dmx_nn_mixer *m, dmx_tensor *x,
                                     int axis, dmx_tensor **y);

/* ---- MLP-Mixer block (SPEC 5, pre-LN): on x [B, S, C]
 * x += TokenMix(LN(x)) along S; x += ChannelMix(LN(x)) along C.
 * `{prefix}.norm1`, `{prefix}.token_mix`, `{prefix}.norm2`, `{prefix}.channel_mix`. ---- */
typedef struct dmx_nn_mixer_block {
    dmx_nn_layernorm norm1, norm2;
    dmx_nn_mixer token_mix, channel_mix;
} dmx_nn_mixer_block;

DMX_API dmx_status dmx_mixer_block_init(dmx_params *ps, const char *prefix, int64_t tokens,
                                        int64_t channels, const dmx_mix_config *token_cfg,
                                        const dmx_mix_config *channel_cfg, float eps,
                                        dmx_nn_mixer_block *m);
DMX_API dmx_status dmx_mixer_block_forward(dmx_ctx *ctx, const dmx_nn_mixer_block *m,
                                           dmx_tensor *x, dmx_tensor **y);

/* ---- multi-head attention: `{prefix}.q|k|v|o.weight [D, D]`, `.bias [D]` ----
 * On x [B, S, D]: softmax(Q K^T / sqrt(D/h) + mask) V per head, then the o projection.
 * mask (or NULL) is an additive key mask [B, S]: 0 keeps a key, a value at or below -1e20
 * (-1e30, -inf) removes it; a query whose keys are all removed attends to nothing (zeros). */
typedef struct dmx_nn_attention {
    int64_t dim, heads;
    dmx_nn_linear q, k, v, o;
} dmx_nn_attention;

DMX_API dmx_status dmx_attention_init(dmx_params *ps, const char *prefix, int64_t dim,
                                      int64_t heads, dmx_nn_attention *m);
DMX_API dmx_status dmx_attention_forward(dmx_ctx *ctx, const dmx_nn_attention *m, dmx_tensor *x,
                                         dmx_tensor *mask, dmx_tensor **y);

/* ---- transformer block: `{prefix}.attn`, `{prefix}.norm1`, `{prefix}.mlp.fc1|fc2`,
 * `{prefix}.norm2`. Post-norm (DimMixer CIFAR / ViT, papers.md 1.4):
 *   x1 = LN1(x + Attn(x)); y = LN2(x1 + MLP(x1)).
 * Pre-norm (LRA): x1 = x + Attn(LN1(x)); y = x1 + MLP(LN2(x1)). MLP: D -> hidden -> D, GELU.
 * `dropout` (pre-norm only; the post-norm block has none) is applied, in training mode, as the
 * Nystromformer LRA block does: to the attention output before the residual add, after the
 * MLP's GELU and to the MLP output before the residual add. */
typedef struct dmx_block_config {
    int64_t dim, heads, hidden;
    bool pre_norm;
    float eps;
    float dropout; /* probability in [0, 1); 0: none */
} dmx_block_config;

typedef struct dmx_nn_transformer_block {
    bool pre_norm;
    float dropout;
    dmx_nn_attention attn;
    dmx_nn_layernorm norm1, norm2;
    dmx_nn_mlp mlp;
} dmx_nn_transformer_block;

DMX_API dmx_status dmx_transformer_block_init(dmx_params *ps, const char *prefix,
                                              const dmx_block_config *cfg,
                                              dmx_nn_transformer_block *m);
/* x [B, S, D], mask [B, S] additive or NULL. */
DMX_API dmx_status dmx_transformer_block_forward(dmx_ctx *ctx, const dmx_nn_transformer_block *m,
                                                 dmx_tensor *x, dmx_tensor *mask,
                                                 dmx_tensor **y);

/* ---- butterfly attention (SPEC 4): stage `stage` of radix a along the sequence of
 * x [B, S, D]: gather the groups to [B * S/a, a, D], run one transformer block (weights shared
 * by every group), scatter back. The key mask [B, S] is gathered the same way. With a = S it
 * is the dense block. ---- */
typedef struct dmx_nn_butterfly_attention {
    int64_t radix;
    int stage;
    dmx_nn_transformer_block block;
} dmx_nn_butterfly_attention;

DMX_API dmx_status dmx_butterfly_attention_init(dmx_params *ps, const char *prefix,
                                                const dmx_block_config *cfg, int64_t radix,
                                                int stage, dmx_nn_butterfly_attention *m);
DMX_API dmx_status dmx_butterfly_attention_forward(dmx_ctx *ctx,
                                                   const dmx_nn_butterfly_attention *m,
                                                   dmx_tensor *x, dmx_tensor *mask,
                                                   dmx_tensor **y);

/* ---- iMLP, the iMixer token mixer (SPEC 4, papers.md 2.1) along `axis` (N = tokens):
 *   y = fc1(x); z = y; n_iter times z = fb'(GELU(fa'(GELU(z)))) + y; out = fc2(GELU(z))
 * `{prefix}.fc1 [T, N]`, `fc2 [N, T]`, `fa [H, T]`, `fb [T, H]` (all with bias), buffers
 * `fa.u [H]`, `fa.v [T]`, `fb.u [T]`, `fb.v [H]` (random unit vectors).
 * fa' = fa.weight / max(1, sigma / coeff) with sigma = u^T W v; in training mode n_power
 * power iterations (v = normalize(W^T u), u = normalize(W v)) first update u, v, with no
 * gradient through them. The gradient flows through sigma into W. */
typedef struct dmx_imlp_config {
    int64_t tokens; /* N, the mixed axis' size */
    int64_t width;  /* T */
    int64_t inner;  /* H = T * h_ratio */
    int n_iter, n_power;
    float coeff; /* 0 means 0.9 */
} dmx_imlp_config;

typedef struct dmx_nn_imlp {
    dmx_imlp_config cfg;
    dmx_nn_linear fc1, fc2, fa, fb;
    dmx_tensor *fa_u, *fa_v, *fb_u, *fb_v;
} dmx_nn_imlp;

DMX_API dmx_status dmx_imlp_init(dmx_params *ps, const char *prefix, const dmx_imlp_config *cfg,
                                 dmx_nn_imlp *m);
DMX_API dmx_status dmx_imlp_forward(dmx_ctx *ctx, const dmx_nn_imlp *m, dmx_tensor *x, int axis,
                                    dmx_tensor **y);

/* The soft spectral normalisation on its own: w' = w / max(1, sigma / coeff), u and v as
 * above (updated in place by n_power iterations when the context is in training mode).
 * *sigma (may be NULL) receives the sigma used: reading it is the only host transfer (with
 * NULL the scaling is decided on the device), and a non-finite sigma is then an error. */
DMX_API dmx_status dmx_spectral_norm(dmx_ctx *ctx, dmx_tensor *w, dmx_tensor *u, dmx_tensor *v,
                                     int n_power, float coeff, dmx_tensor **w_out, float *sigma);

/* ---- patches: unfold/fold with stride = kernel (SPEC 5; patchify(p) is dmx_unfold with
 * k = p). x [B, C, H, W] <-> y [B, (H/k)(W/k), C k k], patches in row-major order, a patch
 * vector ordered (c, ky, kx). Pure permutations: gradients flow back unchanged. ---- */
DMX_API dmx_status dmx_unfold(dmx_ctx *ctx, dmx_tensor *x, int64_t k, dmx_tensor **y);
DMX_API dmx_status dmx_fold(dmx_ctx *ctx, dmx_tensor *y, int64_t channels, int64_t height,
                            int64_t width, int64_t k, dmx_tensor **x);

#ifdef __cplusplus
}
#endif
#endif
