/* mix_linear for the fast CPU device: the grouped cases (butterfly stages,
 * block-diagonal factors, token butterflies with R2 < 16) without the
 * reference's gather / GEMM / scatter.
 *
 * View x as x[m, j, d, q] with q = r1 R2 + r2 in [0, L), L = R1 R2: for fixed
 * (m, j) the input block is [Din, L] and the output block [Dout, L], both
 * contiguous, and lane q uses the weights of group (j, q / R2). With those
 * weights laid out once per call as Wf[j][o][d][q] = W[j, q / R2, o, d], a
 * block is y[m, j, o, :] = cf[j][o][:] + sum_d Wf[j][o][d][:] * x[m, j, d, :]
 * a stream of lane-wise multiply-adds over contiguous memory the compiler
 * vectorises, bias fused into the first term. L = 1 (stage 0, block-diagonal)
 * is a small matrix-vector product per row instead, vectorised over the output
 * index.
 *
 * Dense layers (R1 = R2 = 1) and wide R2 (token mixing) the SIMD kernels do not
 * take go to BLAS (fast_mix_blas.c); shapes whose per-task accumulators would
 * not fit the stack go to the reference.
 *
 * Determinism: forward and bwd_x give each (m, j) block to one thread, bwd_w
 * each (j, o) row of dW (L > 1) or each group j (L = 1); every sum runs in a
 * fixed order (d or o ascending, then m ascending), so results do not depend on
 * the thread count. */
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "core/error.h"
#include "cpu/cpu_scratch.h"
#include "cpu/cpu_kernels.h"
#include "cpu/fast_kernels.h"
#include "cpu/fast_simd.h"

#if defined(__GNUC__) && defined(__x86_64__) && !defined(__clang__)
#define SIMD_CLONES __attribute__((target_clones("default", "avx2", "arch=x86-64-v4")))
#else
#define SIMD_CLONES
#endif

/* Largest lane count and per-task accumulator (floats) the fast path keeps on
 * the stack. */
#define MAX_LANES 256
#define MAX_ACC 8192

typedef struct mix_dims {
    int64_t M, J, Din, Dout, R1, R2, L;
} mix_dims;

static mix_dims dims_of(const dmx_p_mix_linear *p)
{
    return (mix_dims){p->M, p->J, p->Din, p->Dout, p->R1, p->R2, (int64_t)p->R1 * p->R2};
}

static bool fast_shape(const mix_dims *d)
{
    if (d->R2 >= 16 || (d->J == 1 && d->R1 == 1) || d->Din == 0 || d->Dout == 0 ||
        d->Din * d->Dout >= DMX_FAST_BLAS_GROUP)
        return false;
    if (d->L == 1)
        return d->Din <= MAX_ACC && d->Dout <= MAX_ACC && d->Din * d->Dout <= MAX_ACC;
    return d->L <= MAX_LANES && d->Din * d->L <= MAX_ACC;
}

/* Weights (and bias) rearranged per call, grown once and reused: no allocation
 * per step. */
static float *scratch_get(size_t floats)
{
    return dmx_cpu_scratch(DMX_SCRATCH_FAST_WEIGHTS, floats);
}

/* out[o][:L] (+)= init[o][:L] + sum_k w[o][k][:L] * in[k][:L] for o < kout
 * (init may be NULL). */
SIMD_CLONES static void block_lanes(const float *restrict w, const float *restrict in,
                                    const float *restrict init, float *restrict out, int64_t kout,
                                    int64_t kin, int64_t L, int accumulate)
{
    float t[MAX_LANES];
    for (int64_t o = 0; o < kout; o++) {
        const float *wo = w + o * kin * L;
        for (int64_t q = 0; q < L; q++)
            t[q] = init ? init[o * L + q] : 0.0f;
        for (int64_t k = 0; k < kin; k++)
            for (int64_t q = 0; q < L; q++)
                t[q] += wo[k * L + q] * in[k * L + q];
        float *yo = out + o * L;
        if (accumulate)
            for (int64_t q = 0; q < L; q++)
                yo[q] += t[q];
        else
            for (int64_t q = 0; q < L; q++)
                yo[q] = t[q];
    }
}

/* out[:kout] (+)= init[:kout] + sum_k in[k] * wt[k][:kout] (init may be NULL).
 */
SIMD_CLONES static void block_vec(const float *restrict wt, const float *restrict in,
                                  const float *restrict init, float *restrict out, int64_t kout,
                                  int64_t kin, int accumulate)
{
    float t[MAX_ACC];
    for (int64_t o = 0; o < kout; o++)
        t[o] = init ? init[o] : 0.0f;
    for (int64_t k = 0; k < kin; k++) {
        const float a = in[k], *wk = wt + k * kout;
        for (int64_t o = 0; o < kout; o++)
            t[o] += a * wk[o];
    }
    if (accumulate)
        for (int64_t o = 0; o < kout; o++)
            out[o] += t[o];
    else
        for (int64_t o = 0; o < kout; o++)
            out[o] = t[o];
}

/* Wf[j][o][d][q] = W[j, q / R2, o, d] (forward), or Wb[j][d][o][q] (bwd_x,
 * transposed). */
static void expand_weights(const float *W, float *out, const mix_dims *d, bool transpose)
{
    const int64_t R1 = d->R1, R2 = d->R2, L = d->L;
    for (int64_t j = 0; j < d->J; j++)
        for (int64_t o = 0; o < d->Dout; o++)
            for (int64_t k = 0; k < d->Din; k++) {
                float *t = transpose ? out + ((j * d->Din + k) * d->Dout + o) * L
                                     : out + ((j * d->Dout + o) * d->Din + k) * L;
                for (int64_t r1 = 0; r1 < R1; r1++) {
                    const float w = W[((j * R1 + r1) * d->Dout + o) * d->Din + k];
                    for (int64_t r2 = 0; r2 < R2; r2++)
                        t[r1 * R2 + r2] = w;
                }
            }
}

dmx_status dmx_fast_mix_linear(dmx_device *dev, const dmx_op_call *call)
{
    const dmx_p_mix_linear *p = call->params;
    const mix_dims d = dims_of(p);
    const float *x = dmx_cpu_f32(call, 0), *W = dmx_cpu_f32(call, 1), *c = dmx_cpu_f32(call, 2);
    float *y = dmx_cpu_f32(call, 3);
    const int simd = dmx_fast_simd_mix_linear(p, x, W, c, y);
    if (simd != 0)
        return simd > 0 ? DMX_OK : dmx_fail(DMX_ERR_OUT_OF_MEMORY, "mix_linear: no host memory");
    if (dmx_fast_blas_mix_linear(p, x, W, c, y))
        return DMX_OK;
    if (!fast_shape(&d))
        return dmx_cpu_mix_linear(dev, call);
    const bool bias = p->has_bias && c;
    const int64_t nw = d.J * d.Dout * d.Din * d.L, nb = d.J * d.Dout * d.L;
    float *wf = scratch_get((size_t)(nw + nb));
    if (!wf)
        return dmx_fail(DMX_ERR_OUT_OF_MEMORY, "mix_linear: no host memory for the weights");
    float *cf = wf + nw;
    if (d.L == 1) { /* wf[j][d][o] = W[j, o, d]: rows of the transposed weight are
                       contiguous */
        for (int64_t j = 0; j < d.J; j++)
            for (int64_t o = 0; o < d.Dout; o++)
                for (int64_t k = 0; k < d.Din; k++)
                    wf[(j * d.Din + k) * d.Dout + o] = W[(j * d.Dout + o) * d.Din + k];
    } else {
        expand_weights(W, wf, &d, false);
    }
    if (bias)
        for (int64_t j = 0; j < d.J; j++)
            for (int64_t o = 0; o < d.Dout; o++)
                for (int64_t q = 0; q < d.L; q++)
                    cf[(j * d.Dout + o) * d.L + q] = c[(j * d.R1 + q / d.R2) * d.Dout + o];
#pragma omp parallel for schedule(static) if (DMX_CPU_PARALLEL(d.M * d.J * d.Dout * d.Din * d.L))
    for (int64_t mj = 0; mj < d.M * d.J; mj++) {
        const int64_t j = mj % d.J;
        const float *xb = x + mj * d.Din * d.L, *init = bias ? cf + j * d.Dout * d.L : NULL;
        float *yb = y + mj * d.Dout * d.L;
        if (d.L == 1)
            block_vec(wf + j * d.Din * d.Dout, xb, init, yb, d.Dout, d.Din, 0);
        else
            block_lanes(wf + j * d.Dout * d.Din * d.L, xb, init, yb, d.Dout, d.Din, d.L, 0);
    }
    return DMX_OK;
}

dmx_status dmx_fast_mix_linear_bwd_x(dmx_device *dev, const dmx_op_call *call)
{
    const dmx_p_mix_linear *p = call->params;
    const mix_dims d = dims_of(p);
    const float *dy = dmx_cpu_f32(call, 0), *W = dmx_cpu_f32(call, 1);
    float *dx = dmx_cpu_f32(call, 2);
    const int simd = dmx_fast_simd_mix_linear_bwd_x(p, dy, W, dx);
    if (simd != 0)
        return simd > 0 ? DMX_OK
                        : dmx_fail(DMX_ERR_OUT_OF_MEMORY, "mix_linear_bwd_x: no host memory");
    if (!fast_shape(&d))
        return dmx_cpu_mix_linear_bwd_x(dev, call);
    const float *wb = W; /* L = 1: W[j] is [Dout, Din], the rows block_vec wants */
    if (d.L > 1) {
        float *t = scratch_get((size_t)(d.J * d.Dout * d.Din * d.L));
        if (!t)
            return dmx_fail(DMX_ERR_OUT_OF_MEMORY, "mix_linear_bwd_x: no host memory");
        expand_weights(W, t, &d, true);
        wb = t;
    }
#pragma omp parallel for schedule(static) if (DMX_CPU_PARALLEL(d.M * d.J * d.Dout * d.Din * d.L))
    for (int64_t mj = 0; mj < d.M * d.J; mj++) {
        const int64_t j = mj % d.J;
        const float *dyb = dy + mj * d.Dout * d.L;
        float *dxb = dx + mj * d.Din * d.L;
        if (d.L == 1)
            block_vec(wb + j * d.Dout * d.Din, dyb, NULL, dxb, d.Din, d.Dout, p->accumulate);
        else
            block_lanes(wb + j * d.Din * d.Dout * d.L, dyb, NULL, dxb, d.Din, d.Dout, d.L,
                        p->accumulate);
    }
    return DMX_OK;
}

/* L > 1, one (j, o): acc[k][q] = sum_m dy[m, j, o, q] x[m, j, k, q], accb[q] =
 * sum_m dy, then each group's r2 lanes summed into dW[j, r1, o, :] and dc[j,
 * r1, o]. */
SIMD_CLONES static void bwd_w_lanes(const float *restrict dy, const float *restrict x,
                                    float *restrict dW, float *restrict dc, const mix_dims *d,
                                    int64_t j, int64_t o)
{
    float acc[MAX_ACC], accb[MAX_LANES];
    const int64_t L = d->L, K = d->Din;
    memset(acc, 0, (size_t)(K * L) * sizeof *acc);
    memset(accb, 0, (size_t)L * sizeof *accb);
    for (int64_t m = 0; m < d->M; m++) {
        const float *g = dy + ((m * d->J + j) * d->Dout + o) * L;
        const float *xb = x + (m * d->J + j) * K * L;
        for (int64_t k = 0; k < K; k++)
            for (int64_t q = 0; q < L; q++)
                acc[k * L + q] += g[q] * xb[k * L + q];
        for (int64_t q = 0; q < L; q++)
            accb[q] += g[q];
    }
    for (int64_t r1 = 0; r1 < d->R1; r1++) {
        float *dw = dW + ((j * d->R1 + r1) * d->Dout + o) * K;
        for (int64_t k = 0; k < K; k++) {
            float s = 0.0f;
            for (int64_t r2 = 0; r2 < d->R2; r2++)
                s += acc[k * L + r1 * d->R2 + r2];
            dw[k] += s;
        }
        if (dc) {
            float s = 0.0f;
            for (int64_t r2 = 0; r2 < d->R2; r2++)
                s += accb[r1 * d->R2 + r2];
            dc[(j * d->R1 + r1) * d->Dout + o] += s;
        }
    }
}

/* L = 1, one group j: acc[o][k] = sum_m dy[m, j, o] x[m, j, k], accb[o] = sum_m
 * dy[m, j, o]. */
SIMD_CLONES static void bwd_w_vec(const float *restrict dy, const float *restrict x,
                                  float *restrict dW, float *restrict dc, const mix_dims *d,
                                  int64_t j)
{
    float acc[MAX_ACC], accb[MAX_ACC];
    const int64_t K = d->Din, O = d->Dout;
    memset(acc, 0, (size_t)(K * O) * sizeof *acc);
    memset(accb, 0, (size_t)O * sizeof *accb);
    for (int64_t m = 0; m < d->M; m++) {
        const float *g = dy + (m * d->J + j) * O, *xr = x + (m * d->J + j) * K;
        for (int64_t o = 0; o < O; o++) {
            const float go = g[o];
            for (int64_t k = 0; k < K; k++)
                acc[o * K + k] += go * xr[k];
            accb[o] += go;
        }
    }
    float *dw = dW + j * O * K;
    for (int64_t e = 0; e < O * K; e++)
        dw[e] += acc[e];
    if (dc)
        for (int64_t o = 0; o < O; o++)
            dc[j * O + o] += accb[o];
}

dmx_status dmx_fast_mix_linear_bwd_w(dmx_device *dev, const dmx_op_call *call)
{
    const dmx_p_mix_linear *p = call->params;
    const mix_dims d = dims_of(p);
    const float *dy = dmx_cpu_f32(call, 0), *x = dmx_cpu_f32(call, 1);
    float *dW = dmx_cpu_f32(call, 2), *dc = p->has_bias ? dmx_cpu_f32(call, 3) : NULL;
    if (dmx_fast_simd_mix_linear_bwd_w(p, dy, x, dW, dc) ||
        dmx_fast_blas_mix_linear_bwd_w(p, dy, x, dW, dc))
        return DMX_OK;
    if (!fast_shape(&d))
        return dmx_cpu_mix_linear_bwd_w(dev, call);
    const int64_t work = d.M * d.J * d.Dout * d.Din * d.L;
    if (d.L == 1) {
#pragma omp parallel for schedule(static) if (d.J > 1 && DMX_CPU_PARALLEL(work))
        for (int64_t j = 0; j < d.J; j++)
            bwd_w_vec(dy, x, dW, dc, &d, j);
    } else {
#pragma omp parallel for schedule(static) if (DMX_CPU_PARALLEL(work))
        for (int64_t jo = 0; jo < d.J * d.Dout; jo++)
            bwd_w_lanes(dy, x, dW, dc, &d, jo / d.Dout, jo % d.Dout);
    }
    return DMX_OK;
}
