/* mix_linear shapes the fast CPU device leaves to BLAS (dense layers and big groups with
 * R1 = R2 = 1, token mixing with R2 >= 16), without the reference's extra passes:
 *   - forward: y starts as the broadcast bias and the GEMM accumulates into it (beta = 1), so
 *     there is no separate bias pass and no zeroing pass inside BLAS;
 *   - bwd_w, wide R2: dW_g += sum_m dY_(m,g) X_(m,g)^T, one GEMM per (m, g) on the tensors in
 *     place, instead of gathering x and dy into transposed copies first;
 *   - the bias gradient is summed in vectors (the reference's loop is scalar).
 * Each dW / dc element is owned by one thread and summed over m in ascending order, so results
 * do not depend on the thread count. bwd_x already runs in place in the reference. */
#include <stdbool.h>
#include <stdint.h>

#include "cpu/cpu_blas.h"
#include "cpu/cpu_kernels.h"
#include "cpu/fast_kernels.h"

#if defined(__GNUC__) && defined(__x86_64__) && !defined(__clang__)
#define SIMD_CLONES __attribute__((target_clones("default", "avx2", "arch=x86-64-v4")))
#else
#define SIMD_CLONES
#endif

/* The reference's threshold for running token mixing in place (cpu_mix_linear.c). */
#define WIDE_R2 16

static bool strided(const dmx_p_mix_linear *p) { return p->R1 == 1 && p->R2 == 1; }

bool dmx_fast_blas_covers(const dmx_p_mix_linear *p)
{
    return p->Din > 0 && p->Dout > 0 && p->M > 0 && (strided(p) || p->R2 >= WIDE_R2);
}

/* y[m, j, :] = c[j, :] for every row (R1 = R2 = 1). */
static void fill_rows(const float *c, float *y, int64_t rows, int64_t width)
{
#pragma omp parallel for schedule(static) if (DMX_CPU_PARALLEL(rows * width))
    for (int64_t r = 0; r < rows; r++)
        for (int64_t i = 0; i < width; i++)
            y[r * width + i] = c ? c[i] : 0.0f;
}

int dmx_fast_blas_mix_linear(const dmx_p_mix_linear *p, const float *x, const float *W,
                             const float *c, float *y)
{
    if (!dmx_fast_blas_covers(p))
        return 0;
    const int64_t M = p->M, J = p->J, Din = p->Din, Dout = p->Dout, R1 = p->R1, R2 = p->R2;
    const float *bias = p->has_bias ? c : NULL;
    if (strided(p)) {
        float beta = 0.0f;
        if (bias) { /* c[j, o] is the row y[m, :] wants: J Dout contiguous */
            fill_rows(bias, y, M, J * Dout);
            beta = 1.0f;
        }
        if (J == 1) { /* no region around it: the GEMM spreads over the threads itself */
            dmx_cpu_sgemm(false, true, M, Dout, Din, 1.0f, x, Din, W, Din, beta, y, Dout);
            return 1;
        }
#pragma omp parallel for schedule(static) if (M * J * Din * Dout > 32768)
        for (int64_t j = 0; j < J; j++)
            dmx_cpu_sgemm(false, true, M, Dout, Din, 1.0f, x + j * Din, J * Din,
                          W + j * Dout * Din, Din, beta, y + j * Dout, J * Dout);
        return 1;
    }
    const int64_t ld = R1 * R2;
#pragma omp parallel for collapse(3) schedule(static) if (M * J * R1 > 1)
    for (int64_t m = 0; m < M; m++)
        for (int64_t j = 0; j < J; j++)
            for (int64_t r1 = 0; r1 < R1; r1++) {
                const int64_t g = j * R1 + r1;
                float *yb = y + ((m * J + j) * Dout * R1 + r1) * R2;
                if (bias)
                    for (int64_t o = 0; o < Dout; o++)
                        for (int64_t r2 = 0; r2 < R2; r2++)
                            yb[o * ld + r2] = bias[g * Dout + o];
                dmx_cpu_sgemm(false, false, Dout, R2, Din, 1.0f, W + g * Dout * Din, Din,
                              x + ((m * J + j) * Din * R1 + r1) * R2, ld, bias ? 1.0f : 0.0f, yb,
                              ld);
            }
    return 1;
}

/* dc[j, o] += sum_m dy[m, j, o] for o in [o0, o1): rows in order, vectorised over o. */
SIMD_CLONES static void bias_rows(const float *restrict dy, float *restrict dc, int64_t M,
                                  int64_t width, int64_t o0, int64_t o1)
{
    for (int64_t m = 0; m < M; m++) {
        const float *row = dy + m * width;
        for (int64_t o = o0; o < o1; o++)
            dc[o] += row[o];
    }
}

/* sum of v[0, n) in 16 interleaved partial sums, then those in order. */
SIMD_CLONES static float sum_span(const float *restrict v, int64_t n)
{
    float part[16] = {0};
    int64_t i = 0;
    for (; i + 16 <= n; i += 16)
        for (int q = 0; q < 16; q++)
            part[q] += v[i + q];
    float s = 0.0f;
    for (int q = 0; q < 16; q++)
        s += part[q];
    for (; i < n; i++)
        s += v[i];
    return s;
}

int dmx_fast_blas_mix_linear_bwd_w(const dmx_p_mix_linear *p, const float *dy, const float *x,
                                   float *dW, float *dc)
{
    if (!dmx_fast_blas_covers(p))
        return 0;
    const int64_t M = p->M, J = p->J, Din = p->Din, Dout = p->Dout, R1 = p->R1, R2 = p->R2;
    float *db = p->has_bias ? dc : NULL;
    if (strided(p)) {
        /* dW_j [Dout, Din] += dY_j^T X_j, the rows read in place (strides J Dout, J Din);
         * with one group, dW is split into blocks of 128 columns for the threads
         * (fixed blocks: the split never depends on the thread count). */
        const int64_t cw = J > 1 ? Din : 128, nc = (Din + cw - 1) / cw;
#pragma omp parallel for collapse(2) schedule(static) if (M * J * Din * Dout > 32768)
        for (int64_t j = 0; j < J; j++)
            for (int64_t cb = 0; cb < nc; cb++) {
                const int64_t k0 = cb * cw, nk = Din - k0 < cw ? Din - k0 : cw;
                dmx_cpu_sgemm(true, false, Dout, nk, M, 1.0f, dy + j * Dout, J * Dout,
                              x + j * Din + k0, J * Din, 1.0f, dW + j * Dout * Din + k0, Din);
            }
        if (db) {
            const int64_t width = J * Dout, chunk = 256;
#pragma omp parallel for schedule(static) if (DMX_CPU_PARALLEL(M * width))
            for (int64_t o0 = 0; o0 < width; o0 += chunk)
                bias_rows(dy, db, M, width, o0, o0 + chunk < width ? o0 + chunk : width);
        }
        return 1;
    }
    /* Wide R2: per group g = (j, r1) and block of OB rows of dW_g, m ascending:
     * dW_g[o0:o1] += dY_(m,g)[o0:o1] [., R2] X_(m,g)^T. The row blocks give the threads work
     * when there is one group (a dense token MLP) without splitting each small GEMM again;
     * they are fixed, so the sums do not depend on the thread count. */
    const int64_t ld = R1 * R2, G = J * R1, OB = 32, nob = (Dout + OB - 1) / OB;
#pragma omp parallel for collapse(2) schedule(static) if (G * nob > 1 && M * G * Din * Dout * R2 > 32768)
    for (int64_t g = 0; g < G; g++)
        for (int64_t ob = 0; ob < nob; ob++) {
            const int64_t j = g / R1, r1 = g % R1, o0 = ob * OB;
            const int64_t no = Dout - o0 < OB ? Dout - o0 : OB;
            for (int64_t m = 0; m < M; m++)
                dmx_cpu_sgemm(false, true, no, Din, R2, 1.0f,
                              dy + (((m * J + j) * Dout + o0) * R1 + r1) * R2, ld,
                              x + ((m * J + j) * Din * R1 + r1) * R2, ld, 1.0f,
                              dW + (g * Dout + o0) * Din, Din);
        }
    if (db) {
#pragma omp parallel for schedule(static) if (DMX_CPU_PARALLEL(M * G * Dout * R2))
        for (int64_t go = 0; go < G * Dout; go++) {
            const int64_t g = go / Dout, o = go % Dout, j = g / R1, r1 = g % R1;
            float s = 0.0f;
            for (int64_t m = 0; m < M; m++)
                s += sum_span(dy + (((m * J + j) * Dout + o) * R1 + r1) * R2, R2);
            db[go] += s;
        }
    }
    return 1;
}
