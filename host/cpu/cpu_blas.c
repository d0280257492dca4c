#include "cpu/cpu_blas.h"

#include <cblas.h>
#include <stdlib.h>

#ifdef _OPENMP
#include <omp.h>
#endif

/* Below this many multiply-adds one call does it all: threads would cost more than they save. */
#define PARALLEL_WORK (1 << 22)

void dmx_cpu_blas_init(void)
{
    if (!getenv("OPENBLAS_NUM_THREADS"))
        openblas_set_num_threads(1);
}

static void sgemm_block(bool ta, bool tb, int64_t m0, int64_t m1, int64_t n0, int64_t n1,
                        int64_t K, float alpha, const float *A, int64_t lda, const float *B,
                        int64_t ldb, float beta, float *C, int64_t ldc)
{
    const float *a = ta ? A + m0 : A + m0 * lda;
    const float *b = tb ? B + n0 * ldb : B + n0;
    cblas_sgemm(CblasRowMajor, ta ? CblasTrans : CblasNoTrans, tb ? CblasTrans : CblasNoTrans,
                (int)(m1 - m0), (int)(n1 - n0), (int)K, alpha, a, (int)lda, b, (int)ldb, beta,
                C + m0 * ldc + n0, (int)ldc);
}

void dmx_cpu_sgemm(bool ta, bool tb, int64_t M, int64_t N, int64_t K, float alpha,
                   const float *A, int64_t lda, const float *B, int64_t ldb, float beta, float *C,
                   int64_t ldc)
{
    if (M <= 0 || N <= 0)
        return;
    int threads = 1;
#ifdef _OPENMP
    if (M * N * K >= PARALLEL_WORK && !omp_in_parallel())
        threads = omp_get_max_threads();
#endif
    if (threads <= 1) {
        sgemm_block(ta, tb, 0, M, 0, N, K, alpha, A, lda, B, ldb, beta, C, ldc);
        return;
    }
    /* Split the longer side of C into one block per thread. */
    const bool by_rows = M >= N;
    const int64_t len = by_rows ? M : N;
#pragma omp parallel for schedule(static) num_threads(threads)
    for (int t = 0; t < threads; t++) {
        int64_t lo = len * t / threads, hi = len * (t + 1) / threads;
        if (lo == hi)
            continue;
        if (by_rows)
            sgemm_block(ta, tb, lo, hi, 0, N, K, alpha, A, lda, B, ldb, beta, C, ldc);
        else
            sgemm_block(ta, tb, 0, M, lo, hi, K, alpha, A, lda, B, ldb, beta, C, ldc);
    }
}
