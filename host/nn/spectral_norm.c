/* Soft spectral normalisation (iMixer / invertible ResNet, papers.md 2.1):
 *   w' = w / max(1, sigma / coeff),  sigma = u^T w v,
 * with u, v persistent buffers that n_power power iterations refine in training mode.
 *
 * The power iteration runs on the device, on u and v in place: u and v carry no gradient, so
 * each round is a GEMM (matrix-vector), NORM2 and CLIP_SCALE (x *= 1 / |x| when |x| > eps)
 * with no tape and no host transfer. (It ran on the host in double until issue 13; u and v now
 * agree across devices within the parity tolerances instead of bit for bit.)
 *
 * sigma is computed on the device with matmul, so autograd sees it, and w' = clip_scale(w,
 * sigma, coeff, coeff): the device decides whether sigma > coeff and scales by coeff / sigma,
 * and the backward gives dW = (c/s) G - (c/s^2) <G, W> u v^T when it scaled (G when not), the
 * plain gradient of w / max(1, sigma / coeff). Nothing is read back unless the caller asks for
 * sigma's value; a non-finite sigma (from a non-finite weight) leaves the weight unscaled, and
 * the loss then shows it. */
#include <math.h>

#include "autograd/autograd.h"
#include "core/error.h"
#include "nn/nn_internal.h"
#include "ops/front.h"

#define SN_EPS 1e-12 /* torch.nn.functional.normalize's default */

/* out = normalize(op(W) in) on the device: W [rows, cols], transposed when `trans`; `norm` is
 * a one-element scratch tensor. */
static dmx_status normalized_mv(dmx_ctx *ctx, dmx_tensor *w, int trans, dmx_tensor *in,
                                dmx_tensor *out, dmx_tensor *norm)
{
    const int32_t rows = (int32_t)w->shape[0], cols = (int32_t)w->shape[1];
    const int32_t n_out = trans ? cols : rows, n_in = trans ? rows : cols;
    dmx_p_gemm g = {.trans_a = trans, .M = n_out, .N = 1, .K = n_in, .lda = cols, .ldb = 1,
                    .ldc = 1, .batch = 1, .stride_a = rows * cols, .stride_b = n_in,
                    .stride_c = n_out, .alpha = 1.0f, .beta = 0.0f};
    DMX_TRY(DMX_RUN(ctx, DMX_OP_GEMM, &g, dmx_arg_of(w), dmx_arg_of(in), dmx_arg_of(out)));
    dmx_p_reduce r = {.n = n_out};
    DMX_TRY(DMX_RUN(ctx, DMX_OP_NORM2, &r, dmx_arg_of(out), dmx_arg_of(norm)));
    dmx_p_clip_scale c = {.n = n_out, .threshold = (float)SN_EPS, .numerator = 1.0f};
    return DMX_RUN(ctx, DMX_OP_CLIP_SCALE, &c, dmx_arg_of(norm), dmx_arg_of(out));
}

/* n_power rounds of v = normalize(W^T u), u = normalize(W v), in place on the device. */
static dmx_status power_iterate(dmx_ctx *ctx, dmx_tensor *w, int n_power, dmx_tensor *u,
                                dmx_tensor *v)
{
    const int64_t one = 1;
    dmx_tensor *norm = NULL;
    DMX_TRY(dmx_tensor_new(ctx, DMX_F32, 1, &one, "spectral_norm.norm", &norm));
    for (int it = 0; it < n_power; it++) {
        DMX_TRY(normalized_mv(ctx, w, 1, u, v, norm));
        DMX_TRY(normalized_mv(ctx, w, 0, v, u, norm));
    }
    return DMX_OK;
}

/* A device copy of t in the context, shaped [numel, 1]. */
static dmx_status snapshot(dmx_ctx *ctx, const dmx_tensor *t, const char *name, dmx_tensor **out)
{
    const int64_t shape[2] = {dmx_tensor_numel(t), 1};
    DMX_TRY(dmx_tensor_new(ctx, DMX_F32, 2, shape, name, out));
    return dmx_buffer_copy(t->buf, t->offset * sizeof(float), (*out)->buf,
                           (*out)->offset * sizeof(float), dmx_tensor_bytes(t));
}

static dmx_status check_shapes(const dmx_tensor *w, const dmx_tensor *u, const dmx_tensor *v,
                               float coeff)
{
    char a[96], b[96], c[96];
    if (!w || !u || !v)
        return dmx_fail(DMX_ERR_INVALID_ARG, "spectral norm: NULL weight, u or v");
    if (w->ndim != 2 || dmx_tensor_numel(u) != w->shape[0] || dmx_tensor_numel(v) != w->shape[1])
        return dmx_fail(DMX_ERR_SHAPE, "spectral norm: weight %s %s needs u [out] and v [in]; "
                        "%s is %s, %s is %s", w->name, dmx_shape_str(w, a, sizeof a), u->name,
                        dmx_shape_str(u, b, sizeof b), v->name, dmx_shape_str(v, c, sizeof c));
    if (!(coeff > 0.0f))
        return dmx_fail(DMX_ERR_INVALID_ARG, "spectral norm of %s: coeff %g must be positive",
                        w->name, (double)coeff);
    return DMX_OK;
}

/* sigma = u^T (W v) as a [1, 1] tensor, from device snapshots of u and v (so a later update
 * of the buffers cannot change what backward reads). */
static dmx_status sigma_of(dmx_ctx *ctx, dmx_tensor *w, dmx_tensor *u, dmx_tensor *v,
                           dmx_tensor **sigma)
{
    dmx_tensor *ut = NULL, *vt = NULL, *wv = NULL;
    DMX_TRY(snapshot(ctx, u, "spectral_norm.u", &ut));
    DMX_TRY(snapshot(ctx, v, "spectral_norm.v", &vt));
    DMX_TRY(dmx_matmul(ctx, w, vt, 0, 0, 1.0f, &wv));
    return dmx_matmul(ctx, ut, wv, 1, 0, 1.0f, sigma);
}

dmx_status dmx_spectral_norm(dmx_ctx *ctx, dmx_tensor *w, dmx_tensor *u, dmx_tensor *v,
                             int n_power, float coeff, dmx_tensor **w_out, float *sigma_out)
{
    DMX_TRY(check_shapes(w, u, v, coeff));
    if (!ctx || !w_out)
        return dmx_fail(DMX_ERR_INVALID_ARG, "spectral norm of %s: NULL context or output",
                        w->name);
    dmx_status st = DMX_OK;
    if (dmx_ctx_training(ctx) && n_power > 0)
        st = power_iterate(ctx, w, n_power, u, v);
    dmx_tensor *sigma = NULL;
    if (st == DMX_OK)
        st = sigma_of(ctx, w, u, v, &sigma);
    if (st != DMX_OK)
        return dmx_fail_context(st, "spectral norm of %s: ", w->name);
    if (sigma_out) { /* the caller asked for the value: the one host read */
        DMX_TRY(dmx_tensor_to_host(sigma, sigma_out, sizeof *sigma_out));
        if (!isfinite(*sigma_out))
            return dmx_fail(DMX_ERR_INVALID_ARG, "spectral norm of %s: sigma is %g", w->name,
                            (double)*sigma_out);
    }
    return dmx_clip_scale(ctx, w, sigma, coeff, coeff, w_out);
}
