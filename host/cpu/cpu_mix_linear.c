/* mix_linear on the CPU (SPEC section 2): x[M, J, Din, R1, R2], W[J, R1, Dout, Din],
 * c[J, R1, Dout] -> y[M, J, Dout, R1, R2]. The dense case (J = R1 = R2 = 1) goes to BLAS;
 * every other view runs the loops below, parallel over independent outputs. */
#include <cblas.h>
#include <stdbool.h>

#include "cpu/cpu_kernels.h"

static bool is_dense(const dmx_p_mix_linear *p) { return p->J == 1 && p->R1 == 1 && p->R2 == 1; }

dmx_status dmx_cpu_mix_linear(dmx_device *dev, const dmx_op_call *call)
{
    (void)dev;
    const dmx_p_mix_linear *p = call->params;
    const float *x = dmx_cpu_f32(call, 0), *W = dmx_cpu_f32(call, 1), *c = dmx_cpu_f32(call, 2);
    float *y = dmx_cpu_f32(call, 3);
    const int64_t J = p->J, Din = p->Din, Dout = p->Dout, R1 = p->R1, R2 = p->R2;
    const int64_t macs = p->M * J * R1 * R2 * Dout * Din; /* multiply-adds */
    const bool bias = p->has_bias && c;
    if (is_dense(p) && p->M > 0 && Din > 0) {
        cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, p->M, (int)Dout, (int)Din, 1.0f, x,
                    (int)Din, W, (int)Din, 0.0f, y, (int)Dout);
        if (bias)
#pragma omp parallel for schedule(static) if (DMX_CPU_PARALLEL(p->M * Dout))
            for (int64_t m = 0; m < p->M; m++)
                for (int64_t o = 0; o < Dout; o++)
                    y[m * Dout + o] += c[o];
        return DMX_OK;
    }
#pragma omp parallel for collapse(2) schedule(static) if (DMX_CPU_PARALLEL(macs))
    for (int64_t m = 0; m < p->M; m++)
        for (int64_t j = 0; j < J; j++)
            for (int64_t r1 = 0; r1 < R1; r1++) {
                const float *Wg = W + (j * R1 + r1) * Dout * Din;
                const float *xg = x + ((m * J + j) * Din * R1 + r1) * R2;  /* + d*R1*R2 + r2 */
                float *yg = y + ((m * J + j) * Dout * R1 + r1) * R2;       /* + o*R1*R2 + r2 */
                for (int64_t o = 0; o < Dout; o++) {
                    float *yo = yg + o * R1 * R2;
                    float b0 = bias ? c[(j * R1 + r1) * Dout + o] : 0.0f;
                    for (int64_t r2 = 0; r2 < R2; r2++)
                        yo[r2] = b0;
                    for (int64_t d = 0; d < Din; d++) {
                        float w = Wg[o * Din + d];
                        const float *xd = xg + d * R1 * R2;
                        for (int64_t r2 = 0; r2 < R2; r2++)
                            yo[r2] += w * xd[r2];
                    }
                }
            }
    return DMX_OK;
}

dmx_status dmx_cpu_mix_linear_bwd_x(dmx_device *dev, const dmx_op_call *call)
{
    (void)dev;
    const dmx_p_mix_linear *p = call->params;
    const float *dy = dmx_cpu_f32(call, 0), *W = dmx_cpu_f32(call, 1);
    float *dx = dmx_cpu_f32(call, 2);
    const int64_t J = p->J, Din = p->Din, Dout = p->Dout, R1 = p->R1, R2 = p->R2;
    const int64_t macs = p->M * J * R1 * R2 * Dout * Din; /* multiply-adds */
    if (is_dense(p) && p->M > 0 && Din > 0) {
        if (!p->accumulate)
            for (int64_t i = 0; i < p->M * Din; i++)
                dx[i] = 0.0f;
        if (Dout > 0)
            cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, p->M, (int)Din, (int)Dout, 1.0f,
                        dy, (int)Dout, W, (int)Din, 1.0f, dx, (int)Din);
        return DMX_OK;
    }
#pragma omp parallel for collapse(2) schedule(static) if (DMX_CPU_PARALLEL(macs))
    for (int64_t m = 0; m < p->M; m++)
        for (int64_t j = 0; j < J; j++)
            for (int64_t r1 = 0; r1 < R1; r1++) {
                const float *Wg = W + (j * R1 + r1) * Dout * Din;
                const float *dyg = dy + ((m * J + j) * Dout * R1 + r1) * R2;
                float *dxg = dx + ((m * J + j) * Din * R1 + r1) * R2;
                for (int64_t d = 0; d < Din; d++) {
                    float *dxd = dxg + d * R1 * R2;
                    if (!p->accumulate)
                        for (int64_t r2 = 0; r2 < R2; r2++)
                            dxd[r2] = 0.0f;
                    for (int64_t o = 0; o < Dout; o++) {
                        float w = Wg[o * Din + d];
                        const float *dyo = dyg + o * R1 * R2;
                        for (int64_t r2 = 0; r2 < R2; r2++)
                            dxd[r2] += w * dyo[r2];
                    }
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
    const int64_t M = p->M, J = p->J, Din = p->Din, Dout = p->Dout, R1 = p->R1, R2 = p->R2;
    const int64_t dy_reads = M * J * R1 * R2 * Dout, macs = dy_reads * Din;
    const bool bias = p->has_bias && dc;
    if (is_dense(p) && M > 0 && Din > 0 && Dout > 0) {
        cblas_sgemm(CblasRowMajor, CblasTrans, CblasNoTrans, (int)Dout, (int)Din, (int)M, 1.0f, dy,
                    (int)Dout, x, (int)Din, 1.0f, dW, (int)Din);
    } else {
#pragma omp parallel for collapse(2) schedule(static) if (DMX_CPU_PARALLEL(macs))
        for (int64_t j = 0; j < J; j++)
            for (int64_t r1 = 0; r1 < R1; r1++)
                for (int64_t o = 0; o < Dout; o++)
                    for (int64_t d = 0; d < Din; d++) {
                        float acc = 0.0f;
                        for (int64_t m = 0; m < M; m++) {
                            const float *dyo = dy + (((m * J + j) * Dout + o) * R1 + r1) * R2;
                            const float *xd = x + (((m * J + j) * Din + d) * R1 + r1) * R2;
                            for (int64_t r2 = 0; r2 < R2; r2++)
                                acc += dyo[r2] * xd[r2];
                        }
                        dW[((j * R1 + r1) * Dout + o) * Din + d] += acc;
                    }
    }
    if (bias)
#pragma omp parallel for collapse(2) schedule(static) if (DMX_CPU_PARALLEL(dy_reads))
        for (int64_t j = 0; j < J; j++)
            for (int64_t r1 = 0; r1 < R1; r1++)
                for (int64_t o = 0; o < Dout; o++) {
                    float acc = 0.0f;
                    for (int64_t m = 0; m < M; m++) {
                        const float *dyo = dy + (((m * J + j) * Dout + o) * R1 + r1) * R2;
                        for (int64_t r2 = 0; r2 < R2; r2++)
                            acc += dyo[r2];
                    }
                    dc[(j * R1 + r1) * Dout + o] += acc;
                }
    return DMX_OK;
}
