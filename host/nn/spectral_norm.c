/* Soft spectral normalisation (iMixer / invertible ResNet, papers.md 2.1):
 *   w' = w / max(1, sigma / coeff),  sigma = u^T w v,
 * with u, v persistent buffers that n_power power iterations refine in training mode.
 *
 * The power iteration runs on the device, on u and v in place: u and v carry no gradient, so
 * each round is a GEMM (matrix-vector), NORM2 and CLIP_SCALE (x *= 1 / |x| when |x| > eps)
 * with no tape and no host transfer. (It ran on the host in double until issue 13; u and v now
 * agree across devices within the parity tolerances instead of bit for bit.)
 *
 * sigma is computed on the device with matmul, so autograd sees it. Whether the weight is
 * scaled at all (sigma / coeff > 1) is decided on the host from sigma's value (one 4-byte
 * read per call). When it is, w' = w f with f = coeff / sigma, and f is built as its tangent
 * line at the current sigma s:
 *   f = coeff/s - (coeff/s^2) (sigma - s),
 * whose value is exactly coeff/s (sigma - s is exactly 0) and whose derivative is
 * d(coeff/sigma)/d sigma, so backprop gives dW = (c/s) G - (c/s^2) <G, W> u v^T, the plain
 * gradient of w / (sigma / coeff). (There is no reciprocal op; this needs none.) */
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

/* w' = w * f, f = coeff/s - (coeff/s^2) (sigma - s): see the top of the file. */
static dmx_status scale_by_tangent(dmx_ctx *ctx, dmx_tensor *w, dmx_tensor *sigma, float s,
                                   float coeff, dmx_tensor **w_out)
{
    const int64_t one[2] = {1, 1}, flat[2] = {dmx_tensor_numel(w), 1};
    const float minus_s = -s, value = coeff / s;
    dmx_tensor *neg = NULL, *base = NULL, *diff = NULL, *slope = NULL, *f = NULL, *wf = NULL;
    dmx_tensor *prod = NULL;
    DMX_TRY(dmx_tensor_from_host(ctx, DMX_F32, 2, one, &minus_s, "spectral_norm.-sigma", &neg));
    DMX_TRY(dmx_tensor_from_host(ctx, DMX_F32, 2, one, &value, "spectral_norm.c/sigma", &base));
    DMX_TRY(dmx_add(ctx, sigma, neg, &diff));
    DMX_TRY(dmx_scale(ctx, diff, -coeff / (s * s), &slope));
    DMX_TRY(dmx_add(ctx, slope, base, &f));
    DMX_TRY(dmx_reshape(ctx, w, 2, flat, &wf));
    DMX_TRY(dmx_matmul(ctx, wf, f, 0, 0, 1.0f, &prod));
    return dmx_reshape(ctx, prod, 2, w->shape, w_out);
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
    float s = 0.0f;
    DMX_TRY(dmx_tensor_to_host(sigma, &s, sizeof s));
    if (!isfinite(s))
        return dmx_fail(DMX_ERR_INVALID_ARG, "spectral norm of %s: sigma is %g", w->name,
                        (double)s);
    if (sigma_out)
        *sigma_out = s;
    if (!(s / coeff > 1.0f)) {
        *w_out = w; /* max(1, sigma/coeff) = 1: the weight is used as it is */
        return DMX_OK;
    }
    if (!dmx_ctx_grad_enabled(ctx) || !(w->flags & DMX_TENSOR_REQUIRES_GRAD))
        return dmx_scale(ctx, w, coeff / s, w_out); /* no backward: the value is all we need */
    return scale_by_tangent(ctx, w, sigma, s, coeff, w_out);
}
