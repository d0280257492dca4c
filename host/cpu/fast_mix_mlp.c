/* mix_mlp (a fused butterfly-MLP stage) for the fast CPU device.
 *
 * The stage runs on slices of rows small enough that the hidden activation stays in the
 * core's L2 cache: for a slice of mc consecutive m (x, y, dx, dy slices are contiguous,
 * m being the outermost axis) the fast mix_linear and GELU kernels run one after the other
 * on the slice, with the hidden activation in a scratch buffer reused by every slice. The
 * unfused stage wrote that activation (and its GELU, and their gradients) to memory in
 * full and read it back op by op; here it never leaves the cache, and the backward
 * recomputes it from x instead of keeping it from the forward.
 *
 * Per slice, forward:  U = W1 x + c1, A = GELU(U), y = W2 A + c2.
 *           backward:  U = W1 x + c1, D = W2^T dy, then one pass A = GELU(U) and
 *                      D <- du = D GELU'(U) (one normal CDF/PDF per element for both);
 *                      dW2, dc2 += dy A^T, dy; dW1, dc1 += du x^T, du; dx (+)= W1^T du.
 * Slices run in order and each kernel spreads its own work over the OpenMP threads, so the
 * weight-gradient sums run slice by slice in a fixed order: the same bits for any thread
 * count. The slice size depends only on the shape. */
#include <stdlib.h>

#include "core/error.h"
#include "cpu/cpu_scratch.h"
#include "cpu/cpu_kernels.h"
#include "cpu/fast_kernels.h"
#include "cpu/fast_simd.h"

/* Hidden elements per slice: U, A and D of this many floats, with the slice's x, y, dx, dy,
 * stay well inside a 1-2 MiB L2. */
#define SLICE_HIDDEN 65536

typedef struct stage_dims {
    int64_t M, J, Din, Dh, Dout, L;
} stage_dims;

/* Three hidden buffers per calling thread, grown once and reused: no allocation per step. */
static float *hidden_get(size_t floats)
{
    return dmx_cpu_scratch(DMX_SCRATCH_MIX_MLP, floats);
}

/* A host buffer viewed as one op argument, so a slice can go through the fast kernels'
 * own entry points (and their fallbacks). */
typedef struct host_view {
    dmx_buffer buf;
} host_view;

static dmx_arg view_of(host_view *v, dmx_device *dev, const float *p, int64_t n)
{
    v->buf = (dmx_buffer){.dev = dev, .size = (size_t)n * sizeof(float), .impl = (void *)p};
    return (dmx_arg){.buf = &v->buf, .offset = 0, .count = (size_t)n};
}

static dmx_status run2(dmx_device *dev, dmx_op_fn fn, dmx_op op, const void *params,
                       const dmx_arg *args, int n)
{
    dmx_op_call call = {.op = op, .params = params};
    for (int i = 0; i < n; i++)
        call.args[i] = args[i];
    return fn(dev, &call);
}

/* The mix_linear view of one layer of the stage on a slice of mc rows of m. */
static dmx_p_mix_linear layer(const dmx_p_mix_mlp *p, int64_t mc, int32_t din, int32_t dout,
                              int has_bias, int accumulate)
{
    return (dmx_p_mix_linear){.M = (int32_t)mc, .J = p->J, .Din = din, .Dout = dout,
                              .R1 = p->R1, .R2 = p->R2, .has_bias = has_bias,
                              .accumulate = accumulate};
}

static int64_t slice_rows(const stage_dims *d)
{
    const int64_t per_m = d->J * d->Dh * d->L;
    int64_t mc = per_m > 0 ? SLICE_HIDDEN / per_m : d->M;
    if (mc < 1)
        mc = 1;
    return mc < d->M ? mc : d->M;
}

/* ---- transposed stages ----
 * A stage with few lanes (R2 < 16: the channel-mixing stages, whose groups sit inside one row)
 * leaves the SIMD kernels half-empty vectors: 8 outputs of a group fill half of an AVX-512
 * register. Transposed, a slice of mc rows [mc][C] becomes [C][mc], the layout of the view
 * [1, J, D, R1, R2 mc] of the same groups (channel c = ((j D + d) R1 + r1) R2 + r2 becomes a
 * row; the slice's rows become columns). There the kernels run column-vectorised, as for
 * token mixing: every vector full, every weight a broadcast. The price is one transpose in
 * and one out per tensor, done in L2. */
static int runs_transposed(const dmx_p_mix_mlp *p)
{
    return dmx_fast_simd_level() != DMX_SIMD_NONE && p->R2 < 16 && !(p->J == 1 && p->R1 == 1) &&
           (int64_t)p->Din * p->Dh < DMX_FAST_BLAS_GROUP &&
           (int64_t)p->Dh * p->Dout < DMX_FAST_BLAS_GROUP && p->M >= 16;
}

/* Equal slices of whole vectors of rows, each at most about mc_max. */
static int64_t even_slice(int64_t M, int64_t mc_max)
{
    const int64_t n = (M + mc_max - 1) / mc_max, mc = (M + n - 1) / n;
    return (mc + 15) / 16 * 16;
}

static dmx_p_mix_linear layer_t(const dmx_p_mix_mlp *p, int64_t mc, int32_t din, int32_t dout,
                                int has_bias)
{
    return (dmx_p_mix_linear){.M = 1, .J = p->J, .Din = din, .Dout = dout, .R1 = p->R1,
                              .R2 = (int32_t)(p->R2 * mc), .has_bias = has_bias};
}

static dmx_status mlp_transposed(dmx_device *dev, const dmx_p_mix_mlp *p, const stage_dims *d,
                                 const float *x, const float *W1, const float *c1,
                                 const float *W2, const float *c2, float *y)
{
    const int64_t G = d->J * (int64_t)p->R1;
    const int64_t cin = d->J * d->Din * d->L, ch = d->J * d->Dh * d->L, cout = d->J * d->Dout * d->L;
    const int64_t mc_max = even_slice(d->M, slice_rows(d));
    float *xT = hidden_get((size_t)(mc_max * (cin + 2 * ch + cout)));
    if (!xT)
        return dmx_fail(DMX_ERR_OUT_OF_MEMORY, "mix_mlp: no host memory for the hidden slice");
    float *U = xT + mc_max * cin, *A = U + mc_max * ch, *yT = A + mc_max * ch;
    host_view v[4];
    for (int64_t m0 = 0; m0 < d->M; m0 += mc_max) {
        const int64_t mc = d->M - m0 < mc_max ? d->M - m0 : mc_max;
        const dmx_p_mix_linear l1 = layer_t(p, mc, p->Din, p->Dh, 1);
        const dmx_p_mix_linear l2 = layer_t(p, mc, p->Dh, p->Dout, 1);
        const dmx_p_unary act = {.n = (int32_t)(mc * ch)};
        dmx_fast_transpose(x + m0 * cin, mc, cin, xT, 0);
        DMX_TRY(run2(dev, dmx_fast_mix_linear, DMX_OP_MIX_LINEAR, &l1,
                     (dmx_arg[]){view_of(&v[0], dev, xT, mc * cin),
                                 view_of(&v[1], dev, W1, G * d->Dh * d->Din),
                                 view_of(&v[2], dev, c1, G * d->Dh),
                                 view_of(&v[3], dev, U, mc * ch)},
                     4));
        DMX_TRY(run2(dev, dmx_fast_gelu, DMX_OP_GELU, &act,
                     (dmx_arg[]){view_of(&v[0], dev, U, mc * ch), view_of(&v[1], dev, A, mc * ch)},
                     2));
        DMX_TRY(run2(dev, dmx_fast_mix_linear, DMX_OP_MIX_LINEAR, &l2,
                     (dmx_arg[]){view_of(&v[0], dev, A, mc * ch),
                                 view_of(&v[1], dev, W2, G * d->Dout * d->Dh),
                                 view_of(&v[2], dev, c2, G * d->Dout),
                                 view_of(&v[3], dev, yT, mc * cout)},
                     4));
        dmx_fast_transpose(yT, cout, mc, y + m0 * cout, 0);
    }
    return DMX_OK;
}

static dmx_status mlp_bwd_transposed(dmx_device *dev, const dmx_p_mix_mlp *p,
                                     const stage_dims *d, const float *dy, const float *x,
                                     const float *W1, const float *c1, const float *W2,
                                     float *dx, float *dW1, float *dc1, float *dW2, float *dc2)
{
    const int64_t G = d->J * (int64_t)p->R1;
    const int64_t cin = d->J * d->Din * d->L, ch = d->J * d->Dh * d->L, cout = d->J * d->Dout * d->L;
    const int64_t nw1 = G * d->Dh * d->Din, nw2 = G * d->Dout * d->Dh;
    const int64_t mc_max = even_slice(d->M, slice_rows(d));
    float *xT = hidden_get((size_t)(mc_max * (2 * cin + 3 * ch + cout)));
    if (!xT)
        return dmx_fail(DMX_ERR_OUT_OF_MEMORY, "mix_mlp_bwd: no host memory for the hidden slice");
    float *dxT = xT + mc_max * cin, *U = dxT + mc_max * cin, *A = U + mc_max * ch;
    float *D = A + mc_max * ch, *dyT = D + mc_max * ch;
    host_view v[4];
    for (int64_t m0 = 0; m0 < d->M; m0 += mc_max) {
        const int64_t mc = d->M - m0 < mc_max ? d->M - m0 : mc_max;
        const int64_t nh = mc * ch, nin = mc * cin, nout = mc * cout;
        const dmx_p_mix_linear l1 = layer_t(p, mc, p->Din, p->Dh, 1);
        const dmx_p_mix_linear l2 = layer_t(p, mc, p->Dh, p->Dout, 1);
        const dmx_p_mix_linear l1_dx = layer_t(p, mc, p->Din, p->Dh, 0);
        dmx_fast_transpose(x + m0 * cin, mc, cin, xT, 0);
        dmx_fast_transpose(dy + m0 * cout, mc, cout, dyT, 0);
        DMX_TRY(run2(dev, dmx_fast_mix_linear, DMX_OP_MIX_LINEAR, &l1,
                     (dmx_arg[]){view_of(&v[0], dev, xT, nin), view_of(&v[1], dev, W1, nw1),
                                 view_of(&v[2], dev, c1, G * d->Dh), view_of(&v[3], dev, U, nh)},
                     4));
        DMX_TRY(run2(dev, dmx_fast_mix_linear_bwd_x, DMX_OP_MIX_LINEAR_BWD_X, &l2,
                     (dmx_arg[]){view_of(&v[0], dev, dyT, nout), view_of(&v[1], dev, W2, nw2),
                                 view_of(&v[2], dev, D, nh)},
                     3));
        dmx_fast_gelu_pair(U, A, D, nh);
        DMX_TRY(run2(dev, dmx_fast_mix_linear_bwd_w, DMX_OP_MIX_LINEAR_BWD_W, &l2,
                     (dmx_arg[]){view_of(&v[0], dev, dyT, nout), view_of(&v[1], dev, A, nh),
                                 view_of(&v[2], dev, dW2, nw2),
                                 view_of(&v[3], dev, dc2, G * d->Dout)},
                     4));
        DMX_TRY(run2(dev, dmx_fast_mix_linear_bwd_w, DMX_OP_MIX_LINEAR_BWD_W, &l1,
                     (dmx_arg[]){view_of(&v[0], dev, D, nh), view_of(&v[1], dev, xT, nin),
                                 view_of(&v[2], dev, dW1, nw1),
                                 view_of(&v[3], dev, dc1, G * d->Dh)},
                     4));
        DMX_TRY(run2(dev, dmx_fast_mix_linear_bwd_x, DMX_OP_MIX_LINEAR_BWD_X, &l1_dx,
                     (dmx_arg[]){view_of(&v[0], dev, D, nh), view_of(&v[1], dev, W1, nw1),
                                 view_of(&v[2], dev, dxT, nin)},
                     3));
        dmx_fast_transpose(dxT, cin, mc, dx + m0 * cin, p->accumulate);
    }
    return DMX_OK;
}

dmx_status dmx_fast_mix_mlp(dmx_device *dev, const dmx_op_call *call)
{
    const dmx_p_mix_mlp *p = call->params;
    const stage_dims d = {p->M, p->J, p->Din, p->Dh, p->Dout, (int64_t)p->R1 * p->R2};
    if (d.M == 0 || d.J * d.L == 0 || d.Dout == 0)
        return DMX_OK;
    if (d.Din == 0 || d.Dh == 0) /* y = c2 on every row: nothing to fuse */
        return dmx_cpu_mix_mlp(dev, call);
    const float *x = dmx_cpu_f32(call, 0), *W1 = dmx_cpu_f32(call, 1), *c1 = dmx_cpu_f32(call, 2);
    const float *W2 = dmx_cpu_f32(call, 3), *c2 = dmx_cpu_f32(call, 4);
    float *y = dmx_cpu_f32(call, 5);
    if (runs_transposed(p))
        return mlp_transposed(dev, p, &d, x, W1, c1, W2, c2, y);
    const int64_t G = d.J * (int64_t)p->R1, mc_max = slice_rows(&d);
    const int64_t per_m_in = d.J * d.Din * d.L, per_m_h = d.J * d.Dh * d.L;
    const int64_t per_m_out = d.J * d.Dout * d.L;
    float *U = hidden_get((size_t)(2 * mc_max * per_m_h));
    if (!U)
        return dmx_fail(DMX_ERR_OUT_OF_MEMORY, "mix_mlp: no host memory for the hidden slice");
    float *A = U + mc_max * per_m_h;
    host_view v[4];
    for (int64_t m0 = 0; m0 < d.M; m0 += mc_max) {
        const int64_t mc = d.M - m0 < mc_max ? d.M - m0 : mc_max;
        const float *xs = x + m0 * per_m_in;
        float *ys = y + m0 * per_m_out;
        const dmx_p_mix_linear l1 = layer(p, mc, p->Din, p->Dh, 1, 0);
        const dmx_p_mix_linear l2 = layer(p, mc, p->Dh, p->Dout, 1, 0);
        const dmx_p_unary act = {.n = (int32_t)(mc * per_m_h)};
        DMX_TRY(run2(dev, dmx_fast_mix_linear, DMX_OP_MIX_LINEAR, &l1,
                     (dmx_arg[]){view_of(&v[0], dev, xs, mc * per_m_in),
                                 view_of(&v[1], dev, W1, G * d.Dh * d.Din),
                                 view_of(&v[2], dev, c1, G * d.Dh),
                                 view_of(&v[3], dev, U, mc * per_m_h)},
                     4));
        DMX_TRY(run2(dev, dmx_fast_gelu, DMX_OP_GELU, &act,
                     (dmx_arg[]){view_of(&v[0], dev, U, mc * per_m_h),
                                 view_of(&v[1], dev, A, mc * per_m_h)},
                     2));
        DMX_TRY(run2(dev, dmx_fast_mix_linear, DMX_OP_MIX_LINEAR, &l2,
                     (dmx_arg[]){view_of(&v[0], dev, A, mc * per_m_h),
                                 view_of(&v[1], dev, W2, G * d.Dout * d.Dh),
                                 view_of(&v[2], dev, c2, G * d.Dout),
                                 view_of(&v[3], dev, ys, mc * per_m_out)},
                     4));
    }
    return DMX_OK;
}

dmx_status dmx_fast_mix_mlp_bwd(dmx_device *dev, const dmx_op_call *call)
{
    const dmx_p_mix_mlp *p = call->params;
    const stage_dims d = {p->M, p->J, p->Din, p->Dh, p->Dout, (int64_t)p->R1 * p->R2};
    if (d.M == 0 || d.J * d.L == 0 || d.Din == 0 || d.Dh == 0 || d.Dout == 0)
        return dmx_cpu_mix_mlp_bwd(dev, call);
    const float *dy = dmx_cpu_f32(call, 0), *x = dmx_cpu_f32(call, 1), *W1 = dmx_cpu_f32(call, 2);
    const float *c1 = dmx_cpu_f32(call, 3), *W2 = dmx_cpu_f32(call, 4);
    float *dx = dmx_cpu_f32(call, 5), *dW1 = dmx_cpu_f32(call, 6), *dc1 = dmx_cpu_f32(call, 7);
    float *dW2 = dmx_cpu_f32(call, 8), *dc2 = dmx_cpu_f32(call, 9);
    if (runs_transposed(p))
        return mlp_bwd_transposed(dev, p, &d, dy, x, W1, c1, W2, dx, dW1, dc1, dW2, dc2);
    const int64_t G = d.J * (int64_t)p->R1, mc_max = slice_rows(&d);
    const int64_t per_m_in = d.J * d.Din * d.L, per_m_h = d.J * d.Dh * d.L;
    const int64_t per_m_out = d.J * d.Dout * d.L;
    const int64_t nw1 = G * d.Dh * d.Din, nw2 = G * d.Dout * d.Dh;
    float *U = hidden_get((size_t)(3 * mc_max * per_m_h));
    if (!U)
        return dmx_fail(DMX_ERR_OUT_OF_MEMORY, "mix_mlp_bwd: no host memory for the hidden slice");
    float *A = U + mc_max * per_m_h, *D = A + mc_max * per_m_h;
    host_view v[4];
    for (int64_t m0 = 0; m0 < d.M; m0 += mc_max) {
        const int64_t mc = d.M - m0 < mc_max ? d.M - m0 : mc_max;
        const int64_t nh = mc * per_m_h, nin = mc * per_m_in, nout = mc * per_m_out;
        const float *xs = x + m0 * per_m_in, *dys = dy + m0 * per_m_out;
        float *dxs = dx + m0 * per_m_in;
        const dmx_p_mix_linear l1 = layer(p, mc, p->Din, p->Dh, 1, 0);
        const dmx_p_mix_linear l2 = layer(p, mc, p->Dh, p->Dout, 1, 0);
        const dmx_p_mix_linear l1_dx = layer(p, mc, p->Din, p->Dh, 0, p->accumulate);
        /* U = W1 x + c1; D = W2^T dy; then one pass: A = GELU(U), D <- du = D GELU'(U) */
        DMX_TRY(run2(dev, dmx_fast_mix_linear, DMX_OP_MIX_LINEAR, &l1,
                     (dmx_arg[]){view_of(&v[0], dev, xs, nin), view_of(&v[1], dev, W1, nw1),
                                 view_of(&v[2], dev, c1, G * d.Dh), view_of(&v[3], dev, U, nh)},
                     4));
        DMX_TRY(run2(dev, dmx_fast_mix_linear_bwd_x, DMX_OP_MIX_LINEAR_BWD_X, &l2,
                     (dmx_arg[]){view_of(&v[0], dev, dys, nout), view_of(&v[1], dev, W2, nw2),
                                 view_of(&v[2], dev, D, nh)},
                     3));
        dmx_fast_gelu_pair(U, A, D, nh);
        /* dW2 += dy A^T, dc2 += dy; dW1 += du x^T, dc1 += du; dx (+)= W1^T du */
        DMX_TRY(run2(dev, dmx_fast_mix_linear_bwd_w, DMX_OP_MIX_LINEAR_BWD_W, &l2,
                     (dmx_arg[]){view_of(&v[0], dev, dys, nout), view_of(&v[1], dev, A, nh),
                                 view_of(&v[2], dev, dW2, nw2),
                                 view_of(&v[3], dev, dc2, G * d.Dout)},
                     4));
        DMX_TRY(run2(dev, dmx_fast_mix_linear_bwd_w, DMX_OP_MIX_LINEAR_BWD_W, &l1,
                     (dmx_arg[]){view_of(&v[0], dev, D, nh), view_of(&v[1], dev, xs, nin),
                                 view_of(&v[2], dev, dW1, nw1),
                                 view_of(&v[3], dev, dc1, G * d.Dh)},
                     4));
        DMX_TRY(run2(dev, dmx_fast_mix_linear_bwd_x, DMX_OP_MIX_LINEAR_BWD_X, &l1_dx,
                     (dmx_arg[]){view_of(&v[0], dev, D, nh), view_of(&v[1], dev, W1, nw1),
                                 view_of(&v[2], dev, dxs, nin)},
                     3));
    }
    return DMX_OK;
}
