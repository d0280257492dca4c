/* Soft spectral normalisation (iMixer / invertible ResNet, papers.md 2.1):
 *   w' = w / max(1, sigma / coeff),  sigma = u^T w v,
 * with u, v persistent buffers that n_power power iterations refine in training mode.
 *
 * The power iteration runs on the host: u and v carry no gradient, the loop is n_power tiny
 * matrix-vector products, and one read of w keeps the device queue free of 2 n_power scalar
 * round trips (and makes u, v bitwise identical on every device).
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

#define SN_EPS 1e-12 /* torch.nn.functional.normalize's default */

/* out = normalize(op(W) in): W [rows, cols], transposed when `trans`; acc is scratch. */
static void normalized_mv(const float *W, int64_t rows, int64_t cols, int trans, const float *in,
                          double *acc, float *out)
{
    int64_t n_out = trans ? cols : rows, n_in = trans ? rows : cols;
    double norm2 = 0.0;
    for (int64_t o = 0; o < n_out; o++) {
        acc[o] = 0.0;
        for (int64_t i = 0; i < n_in; i++)
            acc[o] += (double)(trans ? W[i * cols + o] : W[o * cols + i]) * in[i];
        norm2 += acc[o] * acc[o];
    }
    double norm = sqrt(norm2);
    double inv = 1.0 / (norm > SN_EPS ? norm : SN_EPS);
    for (int64_t o = 0; o < n_out; o++)
        out[o] = (float)(acc[o] * inv);
}

/* n_power rounds of v = normalize(W^T u), u = normalize(W v) on host copies (in the
 * context's host arena: reused every step, no allocation once warm). */
static dmx_status power_iterate(dmx_ctx *ctx, dmx_tensor *w, int n_power, float *u, float *v)
{
    const int64_t rows = w->shape[0], cols = w->shape[1];
    float *W = dmx_ctx_host_alloc(ctx, dmx_tensor_bytes(w));
    double *acc = dmx_ctx_host_alloc(ctx, (size_t)(rows > cols ? rows : cols) * sizeof *acc);
    if (!W || !acc)
        return dmx_fail(DMX_ERR_OUT_OF_MEMORY, "spectral norm of %s: out of host memory",
                        w->name);
    dmx_status s = dmx_tensor_to_host(w, W, dmx_tensor_bytes(w));
    for (int it = 0; s == DMX_OK && it < n_power; it++) {
        normalized_mv(W, rows, cols, 1, u, acc, v);
        normalized_mv(W, rows, cols, 0, v, acc, u);
    }
    return s;
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

/* sigma = u^T (W v) as a [1, 1] tensor, from snapshots of u and v (so a later update of the
 * buffers cannot change what backward reads). */
static dmx_status sigma_of(dmx_ctx *ctx, dmx_tensor *w, const float *u, const float *v,
                           dmx_tensor **sigma)
{
    const int64_t ushape[2] = {w->shape[0], 1}, vshape[2] = {w->shape[1], 1};
    dmx_tensor *ut = NULL, *vt = NULL, *wv = NULL;
    DMX_TRY(dmx_tensor_from_host(ctx, DMX_F32, 2, ushape, u, "spectral_norm.u", &ut));
    DMX_TRY(dmx_tensor_from_host(ctx, DMX_F32, 2, vshape, v, "spectral_norm.v", &vt));
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
    float *uh = dmx_ctx_host_alloc(ctx, dmx_tensor_bytes(u));
    float *vh = dmx_ctx_host_alloc(ctx, dmx_tensor_bytes(v));
    if (!uh || !vh)
        return dmx_fail(DMX_ERR_OUT_OF_MEMORY, "spectral norm of %s: out of host memory",
                        w->name);
    dmx_status st = dmx_tensor_to_host(u, uh, dmx_tensor_bytes(u));
    if (st == DMX_OK)
        st = dmx_tensor_to_host(v, vh, dmx_tensor_bytes(v));
    if (st == DMX_OK && dmx_ctx_training(ctx) && n_power > 0) {
        st = power_iterate(ctx, w, n_power, uh, vh);
        if (st == DMX_OK)
            st = dmx_tensor_write(u, uh, dmx_tensor_bytes(u));
        if (st == DMX_OK)
            st = dmx_tensor_write(v, vh, dmx_tensor_bytes(v));
    }
    dmx_tensor *sigma = NULL;
    if (st == DMX_OK)
        st = sigma_of(ctx, w, uh, vh, &sigma);
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
