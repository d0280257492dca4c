/* mix_linear on the CPU (SPEC section 2): x[M, J, Din, R1, R2], W[J, R1, Dout, Din],
 * c[J, R1, Dout] -> y[M, J, Dout, R1, R2].
 *
 * For a fixed group g = (j, r1) the op is a matrix product over the rows (m, r2):
 *     Y_g[(m, r2), o] = sum_d X_g[(m, r2), d] W_g[o, d]
 * so every case is GEMMs through BLAS, in one of two layouts:
 *   - wide R2 (token mixing): per (m, j, r1) the block x[m, j, :, r1, :] is already a
 *     [Din, R2] matrix with row stride R1 R2, so Y = W_g X runs in place;
 *   - otherwise (butterfly stages, block-diagonal factors): gather X_g into a contiguous
 *     [M R2, Din] matrix, one GEMM per group, scatter the result back (papers.md section 5:
 *     "permute + batched small GEMM + inverse permute").
 * Each output element is produced by one GEMM in a fixed order: results are repeatable. */
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "core/error.h"
#include "cpu/cpu_scratch.h"
#include "cpu/cpu_blas.h"
#include "cpu/cpu_kernels.h"

/* At least this many columns per block make the in-place layout worth its many small GEMMs. */
#define WIDE_R2 16

typedef struct mix_dims {
    int64_t M, J, Din, Dout, R1, R2;
} mix_dims;

static mix_dims dims_of(const dmx_p_mix_linear *p)
{
    return (mix_dims){p->M, p->J, p->Din, p->Dout, p->R1, p->R2};
}

/* R1 = R2 = 1 (dense layers, butterfly stage 0, block-diagonal factors): group j's rows are
 * x[m, j, :], a [M, Din] matrix with row stride J Din that BLAS reads in place. */
static bool strided_groups(const mix_dims *d) { return d->R1 == 1 && d->R2 == 1; }

/* Scratch for gathered groups, grown as needed and reused (no allocation per call once warm). */
static float *scratch_bias(int64_t floats)
{
    return dmx_cpu_scratch(DMX_SCRATCH_MIX_BIAS, (size_t)floats);
}

static float *scratch_get(size_t floats)
{
    return dmx_cpu_scratch(DMX_SCRATCH_MIX_GROUPS, floats);
}

/* dst[g][(m, r2)][k] = src[m, j, k, r1, r2] for g = j R1 + r1, k < K (K = Din or Dout).
 * Rows m outermost, then each group's K contiguous outputs per (r1, r2): the reads jump
 * R1 R2 apart inside one (m, j) block, which sits in L1, and the writes run in order (the
 * other way round, k outermost, each write landed R1 far-apart pages away from the last:
 * 30% of a 4096-wide butterfly-MLP layer's time). */
static void gather_groups(const float *src, float *dst, const mix_dims *d, int64_t K)
{
    const int64_t rows = d->M * d->R2, R1 = d->R1, R2 = d->R2, L = R1 * R2;
#pragma omp parallel for schedule(static) if (DMX_CPU_PARALLEL(d->M * d->J * K * R1 * R2))
    for (int64_t m = 0; m < d->M; m++)
        for (int64_t j = 0; j < d->J; j++) {
            const float *s = src + (m * d->J + j) * K * L;
            for (int64_t r1 = 0; r1 < R1; r1++)
                for (int64_t r2 = 0; r2 < R2; r2++) {
                    float *t = dst + ((j * R1 + r1) * rows + m * R2 + r2) * K;
                    const float *sq = s + r1 * R2 + r2;
                    for (int64_t k = 0; k < K; k++)
                        t[k] = sq[k * L];
                }
        }
}

/* The inverse: dst[m, j, k, r1, r2] (+)= src[g][(m, r2)][k], in the same order (reads in
 * order, writes inside the L1-resident (m, j) block of dst). */
static void scatter_groups(const float *src, float *dst, const mix_dims *d, int64_t K,
                           bool accumulate)
{
    const int64_t rows = d->M * d->R2, R1 = d->R1, R2 = d->R2, L = R1 * R2;
#pragma omp parallel for schedule(static) if (DMX_CPU_PARALLEL(d->M * d->J * K * R1 * R2))
    for (int64_t m = 0; m < d->M; m++)
        for (int64_t j = 0; j < d->J; j++) {
            float *t = dst + (m * d->J + j) * K * L;
            for (int64_t r1 = 0; r1 < R1; r1++)
                for (int64_t r2 = 0; r2 < R2; r2++) {
                    const float *s = src + ((j * R1 + r1) * rows + m * R2 + r2) * K;
                    float *tq = t + r1 * R2 + r2;
                    if (accumulate)
                        for (int64_t k = 0; k < K; k++)
                            tq[k * L] += s[k];
                    else
                        for (int64_t k = 0; k < K; k++)
                            tq[k * L] = s[k];
                }
        }
}

/* out[g] (+)= in[g] op(W_g) for every group: in [rows, Kin], W_g [Dout, Din], out [rows, Kout]. */
static void group_gemms(const float *in, const float *W, float *out, const mix_dims *d,
                        bool transpose_w, bool accumulate)
{
    const int64_t rows = d->M * d->R2, G = d->J * d->R1;
    const int64_t kin = transpose_w ? d->Din : d->Dout, kout = transpose_w ? d->Dout : d->Din;
    if (G == 1) { /* no region around it: the GEMM spreads over the threads itself */
        dmx_cpu_sgemm(false, transpose_w, rows, kout, kin, 1.0f, in, kin, W, d->Din,
                      accumulate ? 1.0f : 0.0f, out, kout);
        return;
    }
#pragma omp parallel for schedule(static) if (G * rows * kin * kout > 32768)
    for (int64_t g = 0; g < G; g++)
        dmx_cpu_sgemm(false, transpose_w, rows, kout, kin, 1.0f, in + g * rows * kin, kin,
                      W + g * d->Dout * d->Din, d->Din, accumulate ? 1.0f : 0.0f,
                      out + g * rows * kout, kout);
}

/* y[m, j, o, r1, r2] += c[j, r1, o]: the bias of block j laid out in y's (o, r1) order once,
 * then added to each row's block with contiguous loads. */
static dmx_status add_bias(const float *c, float *y, const mix_dims *d)
{
    const int64_t block = d->Dout * d->R1, J = d->J, R2 = d->R2;
    float *bt = scratch_bias(J * block);
    if (!bt)
        return dmx_fail(DMX_ERR_OUT_OF_MEMORY, "mix_linear: no host memory for the bias");
    for (int64_t j = 0; j < J; j++)
        for (int64_t o = 0; o < d->Dout; o++)
            for (int64_t r1 = 0; r1 < d->R1; r1++)
                bt[j * block + o * d->R1 + r1] = c[(j * d->R1 + r1) * d->Dout + o];
#pragma omp parallel for schedule(static) if (DMX_CPU_PARALLEL(d->M * J * block * R2))
    for (int64_t mj = 0; mj < d->M * J; mj++) {
        const float *b = bt + (mj % J) * block;
        float *yb = y + mj * block * R2;
        for (int64_t e = 0; e < block; e++)
            for (int64_t r2 = 0; r2 < R2; r2++)
                yb[e * R2 + r2] += b[e];
    }
    return DMX_OK;
}

dmx_status dmx_cpu_mix_linear(dmx_device *dev, const dmx_op_call *call)
{
    (void)dev;
    const dmx_p_mix_linear *p = call->params;
    const float *x = dmx_cpu_f32(call, 0), *W = dmx_cpu_f32(call, 1), *c = dmx_cpu_f32(call, 2);
    float *y = dmx_cpu_f32(call, 3);
    const mix_dims d = dims_of(p);
    const int64_t ld = d.R1 * d.R2, ny = d.M * d.J * d.Dout * ld;
    if (d.Din == 0) {
        memset(y, 0, (size_t)ny * sizeof *y);
    } else if (d.R2 >= WIDE_R2) {
#pragma omp parallel for collapse(2) schedule(static) if (d.M * d.J * d.R1 > 1)
        for (int64_t m = 0; m < d.M; m++)
            for (int64_t j = 0; j < d.J; j++)
                for (int64_t r1 = 0; r1 < d.R1; r1++)
                    dmx_cpu_sgemm(false, false, d.Dout, d.R2, d.Din, 1.0f,
                                  W + (j * d.R1 + r1) * d.Dout * d.Din, d.Din,
                                  x + ((m * d.J + j) * d.Din * d.R1 + r1) * d.R2, ld, 0.0f,
                                  y + ((m * d.J + j) * d.Dout * d.R1 + r1) * d.R2, ld);
    } else {
        const int64_t rows = d.M * d.R2, G = d.J * d.R1;
        float *xg = scratch_get((size_t)(G * rows * (d.Din + d.Dout)));
        if (!xg)
            return dmx_fail(DMX_ERR_OUT_OF_MEMORY, "mix_linear: no host memory for groups");
        float *yg = xg + G * rows * d.Din;
        if (strided_groups(&d) && d.J == 1) { /* the GEMM spreads over the threads itself */
            dmx_cpu_sgemm(false, true, d.M, d.Dout, d.Din, 1.0f, x, d.Din, W, d.Din, 0.0f, y,
                          d.Dout);
        } else if (strided_groups(&d)) {
#pragma omp parallel for schedule(static) if (d.M * d.J * d.Din * d.Dout > 32768)
            for (int64_t j = 0; j < d.J; j++)
                dmx_cpu_sgemm(false, true, d.M, d.Dout, d.Din, 1.0f, x + j * d.Din, d.J * d.Din,
                              W + j * d.Dout * d.Din, d.Din, 0.0f, y + j * d.Dout, d.J * d.Dout);
        } else {
            gather_groups(x, xg, &d, d.Din);
            group_gemms(xg, W, yg, &d, true, false);
            scatter_groups(yg, y, &d, d.Dout, false);
        }
    }
    if (p->has_bias && c)
        DMX_TRY(add_bias(c, y, &d));
    return DMX_OK;
}

dmx_status dmx_cpu_mix_linear_bwd_x(dmx_device *dev, const dmx_op_call *call)
{
    (void)dev;
    const dmx_p_mix_linear *p = call->params;
    const float *dy = dmx_cpu_f32(call, 0), *W = dmx_cpu_f32(call, 1);
    float *dx = dmx_cpu_f32(call, 2);
    const mix_dims d = dims_of(p);
    const int64_t ld = d.R1 * d.R2, nx = d.M * d.J * d.Din * ld;
    if (d.Dout == 0) {
        if (!p->accumulate)
            memset(dx, 0, (size_t)nx * sizeof *dx);
    } else if (d.R2 >= WIDE_R2) {
#pragma omp parallel for collapse(2) schedule(static) if (d.M * d.J * d.R1 > 1)
        for (int64_t m = 0; m < d.M; m++)
            for (int64_t j = 0; j < d.J; j++)
                for (int64_t r1 = 0; r1 < d.R1; r1++)
                    dmx_cpu_sgemm(true, false, d.Din, d.R2, d.Dout, 1.0f,
                                  W + (j * d.R1 + r1) * d.Dout * d.Din, d.Din,
                                  dy + ((m * d.J + j) * d.Dout * d.R1 + r1) * d.R2, ld,
                                  p->accumulate ? 1.0f : 0.0f,
                                  dx + ((m * d.J + j) * d.Din * d.R1 + r1) * d.R2, ld);
    } else {
        const int64_t rows = d.M * d.R2, G = d.J * d.R1;
        float *dyg = scratch_get((size_t)(G * rows * (d.Din + d.Dout)));
        if (!dyg)
            return dmx_fail(DMX_ERR_OUT_OF_MEMORY, "mix_linear_bwd_x: no host memory for groups");
        float *dxg = dyg + G * rows * d.Dout;
        if (strided_groups(&d) && d.J == 1) { /* the GEMM spreads over the threads itself */
            dmx_cpu_sgemm(false, false, d.M, d.Din, d.Dout, 1.0f, dy, d.Dout, W, d.Din,
                          p->accumulate ? 1.0f : 0.0f, dx, d.Din);
        } else if (strided_groups(&d)) {
#pragma omp parallel for schedule(static) if (d.M * d.J * d.Din * d.Dout > 32768)
            for (int64_t j = 0; j < d.J; j++)
                dmx_cpu_sgemm(false, false, d.M, d.Din, d.Dout, 1.0f, dy + j * d.Dout,
                              d.J * d.Dout, W + j * d.Dout * d.Din, d.Din,
                              p->accumulate ? 1.0f : 0.0f, dx + j * d.Din, d.J * d.Din);
        } else {
            gather_groups(dy, dyg, &d, d.Dout);
            group_gemms(dyg, W, dxg, &d, false, false);
            scatter_groups(dxg, dx, &d, d.Din, p->accumulate);
        }
    }
    return DMX_OK;
}

dmx_status dmx_cpu_mix_linear_bwd_w(dmx_device *dev, const dmx_op_call *call)
{
    (void)dev;
    const dmx_p_mix_linear *p = call->params;
    const float *dy = dmx_cpu_f32(call, 0), *x = dmx_cpu_f32(call, 1);
    float *dW = dmx_cpu_f32(call, 2), *dc = dmx_cpu_f32(call, 3);
    const mix_dims d = dims_of(p);
    const int64_t rows = d.M * d.R2, G = d.J * d.R1;
    if (rows > 0 && d.Din > 0 && d.Dout > 0) {
        float *xg = scratch_get((size_t)(G * rows * (d.Din + d.Dout)));
        if (!xg)
            return dmx_fail(DMX_ERR_OUT_OF_MEMORY, "mix_linear_bwd_w: no host memory for groups");
        float *dyg = xg + G * rows * d.Din;
        /* dW_g [Dout, Din] += dY_g^T [Dout, rows] X_g [rows, Din]; strided groups read the
         * tensors in place (row strides J Dout and J Din), the others their gathered copies. */
        const bool strided = strided_groups(&d);
        const int64_t ldy = strided ? d.J * d.Dout : d.Dout, ldx = strided ? d.J * d.Din : d.Din;
        const int64_t step_y = strided ? d.Dout : rows * d.Dout, step_x = strided ? d.Din : rows * d.Din;
        if (strided) {
            xg = (float *)x;
            dyg = (float *)dy;
        } else {
            gather_groups(x, xg, &d, d.Din);
            gather_groups(dy, dyg, &d, d.Dout);
        }
        if (G == 1) { /* no region around it: the GEMM spreads over the threads itself */
            dmx_cpu_sgemm(true, false, d.Dout, d.Din, rows, 1.0f, dyg, ldy, xg, ldx, 1.0f, dW,
                          d.Din);
        } else {
#pragma omp parallel for schedule(static) if (G * rows * d.Din * d.Dout > 32768)
            for (int64_t g = 0; g < G; g++)
                dmx_cpu_sgemm(true, false, d.Dout, d.Din, rows, 1.0f, dyg + g * step_y, ldy,
                              xg + g * step_x, ldx, 1.0f, dW + g * d.Dout * d.Din, d.Din);
        }
    }
    if (p->has_bias && dc) {
        /* dc[j, r1, o] += sum_{m, r2} dy: per block j, rows m in order (a fixed summation
         * order), reading dy contiguously. */
        const int64_t block = d.Dout * d.R1;
#pragma omp parallel for schedule(static) if (d.J > 1 && DMX_CPU_PARALLEL(d.M * d.J * block * d.R2))
        for (int64_t j = 0; j < d.J; j++)
            for (int64_t m = 0; m < d.M; m++) {
                const float *dyb = dy + (m * d.J + j) * block * d.R2;
                for (int64_t o = 0; o < d.Dout; o++)
                    for (int64_t r1 = 0; r1 < d.R1; r1++) {
                        float acc = 0.0f;
                        for (int64_t r2 = 0; r2 < d.R2; r2++)
                            acc += dyb[(o * d.R1 + r1) * d.R2 + r2];
                        dc[(j * d.R1 + r1) * d.Dout + o] += acc;
                    }
            }
    }
    return DMX_OK;
}
