/* mix_linear on OpenCL, forward and backward (kernels in cl/mix_linear.cl).
 *
 * Views that are plain (batched) matrix products go to CLBlast through dmx_cl_sgemm:
 *   dense        J = R1 = R2 = 1      one GEMM
 *   token mixing J = R1 = 1, R2 > 1   W shared by a batch over m (weights stride 0)
 *   block-diag   R1 = R2 = 1, J > 1   a batch over j with interleaved rows
 * and every other view (butterfly stages: R1 > 1) runs the tiled kernels. The weight gradient
 * of token mixing sums over m, which a strided batch cannot do (c_stride = 0 is CLBlast issue
 * #346), so it runs the tiled kernel too. */
#include "opencl/cl_ops.h"

typedef struct ml_dims {
    int M, J, Din, Dout, R1, R2;
} ml_dims;

static ml_dims dims_of(const dmx_p_mix_linear *p)
{
    return (ml_dims){p->M, p->J, p->Din, p->Dout, p->R1, p->R2};
}

static int64_t volume(const ml_dims *d, int D) { return (int64_t)d->M * d->J * D * d->R1 * d->R2; }

/* The kernels index a view's tensors with 32-bit products: refuse views of 2^31 elements or
 * more (dmx_op_run has already checked sizes and extents). */
static dmx_status check(const ml_dims *d)
{
    const int64_t limit = INT32_MAX;
    if (volume(d, d->Din) > limit || volume(d, d->Dout) > limit ||
        (int64_t)d->J * d->R1 * d->Dout * d->Din > limit)
        return dmx_fail(DMX_ERR_UNSUPPORTED,
                        "a tensor of the view [M %d, J %d, Din %d, Dout %d, R1 %d, R2 %d] has 2^31 "
                        "elements or more", d->M, d->J, d->Din, d->Dout, d->R1, d->R2);
    return DMX_OK;
}

static bool all_positive(const ml_dims *d)
{
    return d->M > 0 && d->J > 0 && d->Din > 0 && d->Dout > 0 && d->R1 > 0 && d->R2 > 0;
}

static dmx_cl_matrix mat(const dmx_op_call *call, int arg, size_t extra, int ld, long stride)
{
    return (dmx_cl_matrix){dmx_cl_mem_of(call, arg), call->args[arg].offset + extra, ld, stride};
}

/* ---- the tiled kernel (forward, and backward for x with transposed weights) ---- */

/* Q columns per tile: wide tiles when R2 is wide (a few r1 per tile, coalesced along q); when
 * R2 is narrow every column has its own r1, so at most 8 columns (8 weight slices) and 8 values
 * of m share each slice. */
static int columns_per_tile(const ml_dims *d)
{
    int Q = d->R1 * d->R2;
    int tq = dmx_cl_pow2_ceil(Q > 0 ? Q : 1);
    if (tq > 64)
        tq = 64;
    if (d->R2 < 8 && tq > 8)
        tq = 8;
    return tq;
}

static dmx_status run_tiled(dmx_device *dev, const dmx_op_call *call, const ml_dims *d,
                            bool backward_x, int accumulate)
{
    const int K = backward_x ? d->Dout : d->Din, N = backward_x ? d->Din : d->Dout;
    const int tq = columns_per_tile(d), tm = 64 / tq, Q = d->R1 * d->R2;
    const size_t groups = (size_t)d->J * ((Q + tq - 1) / tq) * ((N + 15) / 16) *
                          ((d->M + tm - 1) / tm);
    dmx_cl_launch L;
    DMX_TRY(dmx_cl_begin(dev, call, DMX_CL_PROG_MIX_LINEAR, "mix_linear_tiled", &L));
    if (backward_x) {
        dmx_cl_arg_call(&L, call, 0); /* dy */
        dmx_cl_arg_call(&L, call, 1); /* W */
        dmx_cl_arg_mem(&L, NULL, 0);
        dmx_cl_arg_call(&L, call, 2); /* dx */
    } else {
        const dmx_p_mix_linear *p = call->params;
        dmx_cl_arg_call(&L, call, 0);
        dmx_cl_arg_call(&L, call, 1);
        if (p->has_bias && call->args[2].buf)
            dmx_cl_arg_call(&L, call, 2);
        else
            dmx_cl_arg_mem(&L, NULL, 0);
        dmx_cl_arg_call(&L, call, 3);
    }
    const int32_t ints[] = {d->M, d->J, K, N, d->R1, d->R2, backward_x, tq, accumulate};
    for (size_t i = 0; i < sizeof ints / sizeof *ints; i++)
        dmx_cl_arg_i32(&L, ints[i]);
    return dmx_cl_run(&L, groups, 1, 1);
}

static dmx_status add_bias(dmx_device *dev, const dmx_op_call *call, const ml_dims *d)
{
    dmx_cl_launch L;
    DMX_TRY(dmx_cl_begin(dev, call, DMX_CL_PROG_MIX_LINEAR, "mix_linear_add_bias", &L));
    dmx_cl_arg_call(&L, call, 2);
    dmx_cl_arg_call(&L, call, 3);
    cl_long total = volume(d, d->Dout);
    dmx_cl_arg_raw(&L, sizeof total, &total);
    const int32_t ints[] = {d->J, d->Dout, d->R1, d->R2};
    for (size_t i = 0; i < 4; i++)
        dmx_cl_arg_i32(&L, ints[i]);
    return dmx_cl_run_1d(&L, (size_t)total);
}

/* ---- forward ---- */

dmx_status dmx_cl_mix_linear(dmx_device *dev, const dmx_op_call *call)
{
    const dmx_p_mix_linear *p = call->params;
    const ml_dims d = dims_of(p);
    DMX_TRY(check(&d));
    const bool bias = p->has_bias && call->args[2].buf;
    if (!all_positive(&d) || d.R1 != 1 || (d.J != 1 && d.R2 != 1))
        return run_tiled(dev, call, &d, false, 0);
    if (d.R2 == 1) {
        /* Dense or block-diagonal: y[:, j, :] = x[:, j, :] W_j^T for every j. */
        DMX_TRY(dmx_cl_sgemm(dev, call, false, true, d.M, d.Dout, d.Din, 1.0f,
                             mat(call, 0, 0, d.J * d.Din, d.Din),
                             mat(call, 1, 0, d.Din, (long)d.Dout * d.Din), 0.0f,
                             mat(call, 3, 0, d.J * d.Dout, d.Dout), d.J));
    } else {
        /* Token mixing: y[m] = W x[m], W [Dout, Din] shared, x[m] [Din, R2]. */
        DMX_TRY(dmx_cl_sgemm(dev, call, false, false, d.Dout, d.R2, d.Din, 1.0f,
                             mat(call, 1, 0, d.Din, 0),
                             mat(call, 0, 0, d.R2, (long)d.Din * d.R2), 0.0f,
                             mat(call, 3, 0, d.R2, (long)d.Dout * d.R2), d.M));
    }
    return bias ? add_bias(dev, call, &d) : DMX_OK;
}

/* ---- backward for x ---- */

dmx_status dmx_cl_mix_linear_bwd_x(dmx_device *dev, const dmx_op_call *call)
{
    const dmx_p_mix_linear *p = call->params;
    const ml_dims d = dims_of(p);
    DMX_TRY(check(&d));
    const float beta = p->accumulate ? 1.0f : 0.0f;
    if (!all_positive(&d) || d.R1 != 1 || (d.J != 1 && d.R2 != 1))
        return run_tiled(dev, call, &d, true, p->accumulate);
    if (d.R2 == 1) /* dx[:, j, :] (+)= dy[:, j, :] W_j */
        return dmx_cl_sgemm(dev, call, false, false, d.M, d.Din, d.Dout, 1.0f,
                            mat(call, 0, 0, d.J * d.Dout, d.Dout),
                            mat(call, 1, 0, d.Din, (long)d.Dout * d.Din), beta,
                            mat(call, 2, 0, d.J * d.Din, d.Din), d.J);
    /* dx[m] (+)= W^T dy[m] */
    return dmx_cl_sgemm(dev, call, true, false, d.Din, d.R2, d.Dout, 1.0f,
                        mat(call, 1, 0, d.Din, 0), mat(call, 0, 0, d.R2, (long)d.Dout * d.R2),
                        beta, mat(call, 2, 0, d.R2, (long)d.Din * d.R2), d.M);
}

/* ---- backward for the weights (and bias) ---- */

typedef struct wgrad_plan {
    int tr1, to, td, tk2;
    int chunks, m_per_chunk;
    size_t tiles;
} wgrad_plan;

static wgrad_plan plan_wgrad(const ml_dims *d, int has_bias)
{
    wgrad_plan w;
    w.tk2 = dmx_cl_pow2_floor(d->R2 > 0 ? d->R2 : 1);
    if (w.tk2 > 16)
        w.tk2 = 16;
    w.tr1 = dmx_cl_pow2_ceil(d->R1 > 0 ? d->R1 : 1);
    if (w.tr1 > 16 / w.tk2)
        w.tr1 = 16 / w.tk2;
    /* TO x TD = DMX_WG / TR1 with TO * TR1 <= 64 and TD * TR1 <= 64 (the local tiles). */
    static const int to_of[5] = {16, 16, 8, 8, 4}, td_of[5] = {16, 8, 8, 4, 4};
    int level = 0;
    while ((1 << level) < w.tr1)
        level++;
    w.to = to_of[level];
    w.td = td_of[level];
    const int Dext = d->Din + has_bias;
    w.tiles = (size_t)d->J * ((d->R1 + w.tr1 - 1) / w.tr1) * ((d->Dout + w.to - 1) / w.to) *
              ((Dext + w.td - 1) / w.td);
    /* Split the reduction over m when there are few tiles: about 256 groups in all, each chunk
     * at least 256 (m, r2) pairs; at most 64 chunks. Depends on the shape only. */
    int64_t chunks = w.tiles ? (256 + (int64_t)w.tiles - 1) / (int64_t)w.tiles : 1;
    int64_t by_work = (int64_t)d->M * d->R2 / 256;
    if (chunks > by_work)
        chunks = by_work;
    if (chunks > 64)
        chunks = 64;
    if (chunks > d->M)
        chunks = d->M;
    if (chunks < 1)
        chunks = 1;
    w.m_per_chunk = d->M > 0 ? (int)((d->M + chunks - 1) / chunks) : 1;
    w.chunks = d->M > 0 ? (d->M + w.m_per_chunk - 1) / w.m_per_chunk : 1;
    return w;
}

static dmx_status wgrad_tiled(dmx_device *dev, const dmx_op_call *call, const ml_dims *d,
                              int has_bias)
{
    const wgrad_plan w = plan_wgrad(d, has_bias);
    const bool direct = w.chunks == 1;
    const int64_t per_chunk = (int64_t)d->J * d->R1 * d->Dout * (d->Din + has_bias);
    cl_mem partial = NULL;
    if (!direct)
        DMX_TRY(dmx_cl_scratch(dmx_cl_dev(dev), (size_t)(per_chunk * w.chunks) * sizeof(float),
                               &partial));
    dmx_cl_launch L;
    DMX_TRY(dmx_cl_begin(dev, call, DMX_CL_PROG_MIX_LINEAR, "mix_linear_bwd_w_tiled", &L));
    for (int i = 0; i < 3; i++)
        dmx_cl_arg_call(&L, call, i); /* dy, x, dW */
    if (has_bias)
        dmx_cl_arg_call(&L, call, 3);
    else
        dmx_cl_arg_mem(&L, NULL, 0);
    dmx_cl_arg_mem(&L, partial, 0);
    const int32_t ints[] = {d->M, d->J, d->Din, d->Dout, d->R1, d->R2, has_bias, w.tr1, w.to,
                            w.td, w.tk2, w.m_per_chunk, direct};
    for (size_t i = 0; i < sizeof ints / sizeof *ints; i++)
        dmx_cl_arg_i32(&L, ints[i]);
    DMX_TRY(dmx_cl_run(&L, w.tiles * (size_t)w.chunks, 1, 1));
    if (direct)
        return DMX_OK;
    DMX_TRY(dmx_cl_begin(dev, call, DMX_CL_PROG_MIX_LINEAR, "mix_linear_bwd_w_finish", &L));
    dmx_cl_arg_mem(&L, partial, 0);
    dmx_cl_arg_call(&L, call, 2);
    if (has_bias)
        dmx_cl_arg_call(&L, call, 3);
    else
        dmx_cl_arg_mem(&L, NULL, 0);
    cl_long n = per_chunk;
    dmx_cl_arg_raw(&L, sizeof n, &n);
    dmx_cl_arg_i32(&L, w.chunks);
    dmx_cl_arg_i32(&L, d->Din);
    dmx_cl_arg_i32(&L, has_bias);
    return dmx_cl_run_1d(&L, (size_t)per_chunk);
}

/* dc[j, o] += sum over the M rows of dy viewed [M, J * Dout]. */
static dmx_status bias_grad_rows(dmx_device *dev, const dmx_op_call *call, const ml_dims *d)
{
    dmx_p_sum_rows s = {.rows = d->M, .cols = d->J * d->Dout, .scale = 1.0f, .accumulate = 1};
    dmx_op_call sub = {.op = call->op, .params = &s};
    sub.args[0] = call->args[0];
    sub.args[1] = call->args[3];
    return dmx_cl_sum_rows(dev, &sub);
}

dmx_status dmx_cl_mix_linear_bwd_w(dmx_device *dev, const dmx_op_call *call)
{
    const dmx_p_mix_linear *p = call->params;
    const ml_dims d = dims_of(p);
    DMX_TRY(check(&d));
    const int has_bias = p->has_bias && call->args[3].buf;
    if (!all_positive(&d) || d.R1 != 1 || d.R2 != 1)
        return wgrad_tiled(dev, call, &d, has_bias);
    /* Dense or block-diagonal: dW_j += dy[:, j, :]^T x[:, j, :]. */
    DMX_TRY(dmx_cl_sgemm(dev, call, true, false, d.Dout, d.Din, d.M, 1.0f,
                         mat(call, 0, 0, d.J * d.Dout, d.Dout), mat(call, 1, 0, d.J * d.Din, d.Din),
                         1.0f, mat(call, 2, 0, d.Din, (long)d.Dout * d.Din), d.J));
    return has_bias ? bias_grad_rows(dev, call, &d) : DMX_OK;
}
