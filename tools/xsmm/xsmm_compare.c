/* dimix's register-blocked mix_linear kernel against LIBXSMM's JIT small GEMMs on the
 * butterfly stage-0 shape (block-diagonal: M rows of J groups, each group a [b_out x b_in]
 * matrix applied to b_in contiguous elements of the row) - the one shape both can run in
 * place. Later stages (lanes strided by s) LIBXSMM cannot run without a gather.
 *
 *   cmake -S . -B build -DDIMIX_XSMM_COMPARE=ON && cmake --build build --target xsmm_compare
 *   OMP_NUM_THREADS=1 build/tools/xsmm/xsmm_compare
 *
 * One thread; prints the median of 21 runs of each and the ratio. Results are checked to agree
 * (max abs difference) so both compute the same thing. */
#include <libxsmm.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "cpu/fast_simd.h"

#define RUNS 21

static double now(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + 1e-9 * (double)t.tv_nsec;
}

static int cmp(const void *a, const void *b)
{
    const double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

static void fill(float *p, size_t n, unsigned seed)
{
    for (size_t i = 0; i < n; i++) {
        seed = seed * 1664525u + 1013904223u;
        p[i] = (float)((seed >> 8) & 0xFFFF) / 65536.0f - 0.5f;
    }
}

/* One shape: M rows, J groups, Din -> Dout per group. */
static void compare(int M, int J, int Din, int Dout)
{
    const size_t nx = (size_t)M * J * Din, ny = (size_t)M * J * Dout, nw = (size_t)J * Dout * Din;
    float *x = malloc(nx * 4), *W = malloc(nw * 4), *WT = malloc(nw * 4), *y1 = malloc(ny * 4),
          *y2 = malloc(ny * 4);
    fill(x, nx, 1);
    fill(W, nw, 2);
    /* LIBXSMM is column-major: per group, y_j^T [Dout x M] = W_j [Dout x Din] x_j^T [Din x M].
     * W_j row-major is W_j^T column-major, so the group's A is laid out transposed once. */
    for (int j = 0; j < J; j++)
        for (int o = 0; o < Dout; o++)
            for (int k = 0; k < Din; k++)
                WT[(size_t)j * Dout * Din + (size_t)k * Dout + o] = W[((size_t)j * Dout + o) * Din + k];
    const int chunk = 64; /* rows per LIBXSMM call: its kernels are for small n */
    const libxsmm_blasint m = Dout, n = chunk, k = Din, lda = Dout, ldb = (libxsmm_blasint)J * Din,
                          ldc = (libxsmm_blasint)J * Dout;
    const float alpha = 1.0f, beta = 0.0f;
    libxsmm_smmfunction kern = libxsmm_smmdispatch(m, n, k, &lda, &ldb, &ldc, &alpha, &beta, NULL, NULL);
    if (!kern) {
        printf("M %d J %d %dx%d: LIBXSMM has no kernel for this shape\n", M, J, Dout, Din);
        return;
    }
    const dmx_p_mix_linear p = {.M = M, .J = J, .Din = Din, .Dout = Dout, .R1 = 1, .R2 = 1};
    double t_dmx[RUNS], t_xsmm[RUNS];
    for (int r = 0; r < RUNS; r++) {
        double t0 = now();
        if (dmx_fast_simd_mix_linear(&p, x, W, NULL, y1) != 1) {
            printf("dimix's SIMD kernel does not take this shape\n");
            return;
        }
        t_dmx[r] = now() - t0;
        t0 = now();
        for (int j = 0; j < J; j++)
            for (int r0 = 0; r0 < M; r0 += chunk)
                kern(WT + (size_t)j * Dout * Din, x + (size_t)r0 * J * Din + (size_t)j * Din,
                     y2 + (size_t)r0 * J * Dout + (size_t)j * Dout);
        t_xsmm[r] = now() - t0;
    }
    double diff = 0;
    for (size_t i = 0; i < ny; i++)
        diff = fmax(diff, fabs((double)y1[i] - y2[i]));
    qsort(t_dmx, RUNS, sizeof *t_dmx, cmp);
    qsort(t_xsmm, RUNS, sizeof *t_xsmm, cmp);
    const double gflop = 2e-9 * (double)M * J * Din * Dout;
    printf("M %5d J %3d %3dx%-3d  dimix %8.3f ms %6.1f GFLOP/s   libxsmm %8.3f ms %6.1f GFLOP/s"
           "   libxsmm/dimix time %.2f   max |diff| %.1e\n",
           M, J, Dout, Din, 1e3 * t_dmx[RUNS / 2], gflop / t_dmx[RUNS / 2], 1e3 * t_xsmm[RUNS / 2],
           gflop / t_xsmm[RUNS / 2], t_xsmm[RUNS / 2] / t_dmx[RUNS / 2], diff);
    free(x);
    free(W);
    free(WT);
    free(y1);
    free(y2);
}

int main(void)
{
    libxsmm_init();
    printf("dimix SIMD level: %s\n", dmx_fast_simd_name(dmx_fast_simd_level()));
    compare(4096, 11, 11, 11); /* e1 channel stage 0, e = 1 */
    compare(4096, 11, 11, 22); /* e = 2, first linear */
    compare(4096, 16, 16, 16); /* N 256 */
    compare(4096, 32, 32, 32); /* N 1024 */
    compare(4096, 64, 64, 64); /* N 4096 */
    compare(4096, 8, 8, 8);    /* fmnist channel radix 8 */
    libxsmm_finalize();
    return 0;
}
