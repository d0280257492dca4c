#include "cpu/cpu_blas.h"

#include <cblas.h> /* types only: the library is opened at run time */
#include <dlfcn.h>
#include <pthread.h>
#include <stdlib.h>

#include "core/log.h"

#ifdef _OPENMP
#include <omp.h>
#endif

/* Below this many multiply-adds one call does it all: threads would cost more than they save. */
#define PARALLEL_WORK (1 << 22)

/* BLAS is opened with dlopen (DIMIX_BLAS_LIBRARY, else OpenBLAS), so libdimix starts without
 * it; when it is absent GEMM runs plain_sgemm below, correct but several times slower. */
typedef __typeof__(cblas_sgemm) sgemm_fn;
static sgemm_fn *blas_sgemm;
static pthread_once_t blas_once = PTHREAD_ONCE_INIT;

static void load_blas(void)
{
    const char *env = getenv("DIMIX_BLAS_LIBRARY");
    const char *name = env && *env ? env : "libopenblas.so.0";
    void *lib = dlopen(name, RTLD_NOW | RTLD_LOCAL);
    if (lib)
        blas_sgemm = (sgemm_fn *)dlsym(lib, "cblas_sgemm");
    if (!blas_sgemm) {
        dmx_log(DMX_LOG_WARN, "%s: %s: GEMM on the CPU uses dimix's plain loops (install "
                "libopenblas0 for speed)", name, lib ? "no cblas_sgemm" : dlerror());
        if (lib)
            dlclose(lib);
        return;
    }
    void (*set_threads)(int) = (void (*)(int))dlsym(lib, "openblas_set_num_threads");
    if (set_threads && !getenv("OPENBLAS_NUM_THREADS"))
        set_threads(1);
}

void dmx_cpu_blas_init(void)
{
    pthread_once(&blas_once, load_blas);
}

bool dmx_cpu_blas_present(void)
{
    dmx_cpu_blas_init();
    return blas_sgemm != NULL;
}

/* Row-major C[M, N] = alpha op(A) op(B) + beta C, rows of C accumulated in double-free float
 * order k = 0..K-1 (the same order for any block split, like the BLAS path's blocks). */
static void plain_sgemm(bool ta, bool tb, int64_t M, int64_t N, int64_t K, float alpha,
                        const float *A, int64_t lda, const float *B, int64_t ldb, float beta,
                        float *C, int64_t ldc)
{
    for (int64_t i = 0; i < M; i++) {
        float *c = C + i * ldc;
        for (int64_t j = 0; j < N; j++)
            c[j] = beta == 0.0f ? 0.0f : beta * c[j];
        for (int64_t k = 0; k < K; k++) {
            const float a = alpha * (ta ? A[k * lda + i] : A[i * lda + k]);
            if (tb)
                for (int64_t j = 0; j < N; j++)
                    c[j] += a * B[j * ldb + k];
            else
                for (int64_t j = 0; j < N; j++)
                    c[j] += a * B[k * ldb + j];
        }
    }
}

static void sgemm_block(bool ta, bool tb, int64_t m0, int64_t m1, int64_t n0, int64_t n1,
                        int64_t K, float alpha, const float *A, int64_t lda, const float *B,
                        int64_t ldb, float beta, float *C, int64_t ldc)
{
    const float *a = ta ? A + m0 : A + m0 * lda;
    const float *b = tb ? B + n0 * ldb : B + n0;
    if (!blas_sgemm) {
        plain_sgemm(ta, tb, m1 - m0, n1 - n0, K, alpha, a, lda, b, ldb, beta, C + m0 * ldc + n0,
                    ldc);
        return;
    }
    blas_sgemm(CblasRowMajor, ta ? CblasTrans : CblasNoTrans, tb ? CblasTrans : CblasNoTrans,
                (int)(m1 - m0), (int)(n1 - n0), (int)K, alpha, a, (int)lda, b, (int)ldb, beta,
                C + m0 * ldc + n0, (int)ldc);
}

void dmx_cpu_sgemm(bool ta, bool tb, int64_t M, int64_t N, int64_t K, float alpha,
                   const float *A, int64_t lda, const float *B, int64_t ldb, float beta, float *C,
                   int64_t ldc)
{
    if (M <= 0 || N <= 0)
        return;
    dmx_cpu_blas_init();
    int threads = 1;
#ifdef _OPENMP
    /* Only outside every parallel region: inside one, even a one-thread region (a `parallel
     * if (false)`), libgomp would start a nested team on new threads that fight the idle,
     * spinning pool threads for the cores (measured: e1-dense training at 2 threads 6x slower
     * than at 1). */
    if (M * N * K >= PARALLEL_WORK && omp_get_level() == 0)
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
