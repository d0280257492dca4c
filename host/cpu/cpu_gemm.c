/* gemm on the CPU: strided batched, row-major, through CBLAS. */
#include "cpu/cpu_blas.h"
#include "cpu/cpu_kernels.h"

dmx_status dmx_cpu_gemm(dmx_device *dev, const dmx_op_call *call)
{
    (void)dev;
    const dmx_p_gemm *p = call->params;
    const float *A = dmx_cpu_f32(call, 0), *B = dmx_cpu_f32(call, 1);
    float *C = dmx_cpu_f32(call, 2);
    for (int64_t b = 0; b < p->batch; b++) {
        float *Cb = C + b * p->stride_c;
        if (p->beta == 0.0f) /* BLAS may compute 0 * C; C can hold NaN here */
            for (int64_t m = 0; m < p->M; m++)
                for (int64_t n = 0; n < p->N; n++)
                    Cb[m * p->ldc + n] = 0.0f;
        if (p->K == 0) {
            if (p->beta != 0.0f && p->beta != 1.0f)
                for (int64_t m = 0; m < p->M; m++)
                    for (int64_t n = 0; n < p->N; n++)
                        Cb[m * p->ldc + n] *= p->beta;
            continue;
        }
        if (p->M == 0 || p->N == 0)
            continue;
        dmx_cpu_sgemm(p->trans_a, p->trans_b, p->M, p->N, p->K, p->alpha, A + b * p->stride_a,
                      p->lda, B + b * p->stride_b, p->ldb, p->beta, Cb, p->ldc);
    }
    return DMX_OK;
}
