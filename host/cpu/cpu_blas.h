/* GEMM for the CPU backend: one BLAS call per block of rows (or columns) of C, the blocks
 * spread over OpenMP threads. BLAS itself runs single-threaded inside (set at backend init),
 * so the backend has one thread pool, not two competing ones. */
#ifndef DMX_CPU_BLAS_H
#define DMX_CPU_BLAS_H

#include <stdbool.h>
#include <stdint.h>

/* Row-major C[M, N] = alpha op(A) op(B) + beta C, like cblas_sgemm. */
void dmx_cpu_sgemm(bool trans_a, bool trans_b, int64_t M, int64_t N, int64_t K, float alpha,
                   const float *A, int64_t lda, const float *B, int64_t ldb, float beta, float *C,
                   int64_t ldc);

/* Opens BLAS (once; thread-safe) and keeps it single-threaded unless the user set
 * OPENBLAS_NUM_THREADS. */
void dmx_cpu_blas_init(void);
/* Whether a BLAS library was found (else GEMM runs dimix's plain loops). */
bool dmx_cpu_blas_present(void);

#endif
