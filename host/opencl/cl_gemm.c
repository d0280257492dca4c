/* gemm on OpenCL: strided batched, row-major, through CLBlast on the device's queue (or
 * cl/gemm.cl's tiled kernel when DIMIX_OPENCL_CLBLAST=0). Also serves mix_linear's dense cases.
 *
 * Around CLBlast: beta = 0 must not read C (C may hold NaN). CLBlast's GEMM kernels, direct
 * and indirect, compute alpha AB without reading C when beta is 0 (its IsZero(beta) branch;
 * checked on 1.5.3 with C full of NaN at 7x5x9 and 300x260x270, and the parity suite pre-fills
 * outputs with NaN, so a CLBlast that changed this would fail there). K = 0 is C = beta C
 * (CLBlast rejects K = 0); batches whose C views overlap, c_stride = 0 included (CLBlast issue
 * #346), run one after another as the op's sequential definition says. */
#include <stdio.h>

#include "opencl/cl_ops.h"

static long extent(int rows, int cols, int ld) { return (long)(rows - 1) * ld + cols; }

/* Whether the batches' C views share no element: one after another, or side by side within
 * the rows (mix_linear's block-diagonal case: C_j = columns [j N, (j + 1) N) of one matrix). */
static bool batches_disjoint(int M, int N, int ldc, long stride, int batch)
{
    if (batch <= 1 || stride >= extent(M, N, ldc))
        return true;
    return stride >= N && (long)(batch - 1) * stride + N <= ldc;
}

static dmx_status scale_c(dmx_device *dev, const dmx_op_call *call, int M, int N,
                          dmx_cl_matrix C, int batch, float beta)
{
    dmx_cl_launch L;
    DMX_TRY(dmx_cl_begin(dev, call, DMX_CL_PROG_GEMM, "gemm_scale_c", &L));
    dmx_cl_arg_mem(&L, C.mem, C.offset);
    dmx_cl_arg_i32(&L, M);
    dmx_cl_arg_i32(&L, N);
    dmx_cl_arg_i32(&L, C.ld);
    dmx_cl_arg_i32(&L, (int)C.stride);
    dmx_cl_arg_i32(&L, batch);
    dmx_cl_arg_f32(&L, beta);
    return dmx_cl_run_1d(&L, (size_t)M * N * batch);
}

static dmx_status tiled(dmx_device *dev, const dmx_op_call *call, bool ta, bool tb, int M, int N,
                        int K, float alpha, dmx_cl_matrix A, dmx_cl_matrix B, float beta,
                        dmx_cl_matrix C, int batch)
{
    /* 32-wide tiles when a 64-wide one would be mostly padding (cl/gemm.cl). */
    const int tile = M <= 32 || N <= 32 ? 32 : 64;
    const char *kernel = tile == 32 ? "gemm_tiled_32" : "gemm_tiled_64";
    dmx_cl_launch L;
    DMX_TRY(dmx_cl_begin(dev, call, DMX_CL_PROG_GEMM, kernel, &L));
    dmx_cl_arg_mem(&L, A.mem, A.offset);
    dmx_cl_arg_mem(&L, B.mem, B.offset);
    dmx_cl_arg_mem(&L, C.mem, C.offset);
    const int32_t ints[] = {M, N, K, A.ld, B.ld, C.ld, (int)A.stride, (int)B.stride,
                            (int)C.stride, ta, tb};
    for (size_t i = 0; i < sizeof ints / sizeof *ints; i++)
        dmx_cl_arg_i32(&L, ints[i]);
    dmx_cl_arg_f32(&L, alpha);
    dmx_cl_arg_f32(&L, beta);
    const size_t tiles = (size_t)((M + tile - 1) / tile) * ((N + tile - 1) / tile) * batch;
    return dmx_cl_run(&L, tiles, 1, 1);
}

static dmx_status clblast(dmx_device *dev, const dmx_op_call *call, bool ta, bool tb, int M,
                          int N, int K, float alpha, dmx_cl_matrix A, dmx_cl_matrix B, float beta,
                          dmx_cl_matrix C, int batch)
{
    dmx_cl_device *cd = dmx_cl_dev(dev);
    /* One batch: any non-zero stride will do (never 0, see above). */
    size_t c_stride = batch == 1 ? (size_t)extent(M, N, C.ld) : (size_t)C.stride;
    cl_event ev = NULL;
    CLBlastStatusCode st = CLBlastSgemmStridedBatched(
        CLBlastLayoutRowMajor, ta ? CLBlastTransposeYes : CLBlastTransposeNo,
        tb ? CLBlastTransposeYes : CLBlastTransposeNo, (size_t)M, (size_t)N, (size_t)K, alpha,
        A.mem, A.offset, (size_t)A.ld, (size_t)A.stride, B.mem, B.offset, (size_t)B.ld,
        (size_t)B.stride, beta, C.mem, C.offset, (size_t)C.ld, c_stride, (size_t)batch,
        &cd->queue, cd->profile ? &ev : NULL);
    if (st != CLBlastSuccess)
        return dmx_fail(st == CLBlastTempBufferAllocFailure ? DMX_ERR_OUT_OF_MEMORY
                                                            : DMX_ERR_BACKEND,
                        "%s: CLBlastSgemmStridedBatched (M %d, N %d, K %d, batch %d) failed "
                        "with CLBlast status %d%s", cd->label, M, N, K, batch, (int)st,
                        " (DIMIX_OPENCL_CLBLAST=0 uses dimix's own GEMM kernel instead)");
    cd->last_op = dmx_op_name(call->op);
    if (ev)
        DMX_TRY(dmx_cl_profile_event(cd, call->op, ev));
    if (cd->sync_each_op) {
        cl_int err = clFinish(cd->queue);
        if (err != CL_SUCCESS)
            return dmx_cl_fail(cd, err, "CLBlast's GEMM failed while running");
    }
    return DMX_OK;
}

static dmx_cl_matrix advance(dmx_cl_matrix X, int b)
{
    X.offset += (size_t)b * (size_t)X.stride;
    return X;
}

dmx_status dmx_cl_sgemm(dmx_device *dev, const dmx_op_call *call, bool trans_a, bool trans_b,
                        int M, int N, int K, float alpha, dmx_cl_matrix A, dmx_cl_matrix B,
                        float beta, dmx_cl_matrix C, int batch)
{
    if (M == 0 || N == 0 || batch == 0)
        return DMX_OK;
    if (!batches_disjoint(M, N, C.ld, C.stride, batch)) {
        for (int b = 0; b < batch; b++)
            DMX_TRY(dmx_cl_sgemm(dev, call, trans_a, trans_b, M, N, K, alpha, advance(A, b),
                                 advance(B, b), beta, advance(C, b), 1));
        return DMX_OK;
    }
    if (K == 0)
        return beta == 1.0f ? DMX_OK : scale_c(dev, call, M, N, C, batch, beta);
    if (dmx_cl_dev(dev)->use_clblast)
        return clblast(dev, call, trans_a, trans_b, M, N, K, alpha, A, B, beta, C, batch);
    return tiled(dev, call, trans_a, trans_b, M, N, K, alpha, A, B, beta, C, batch);
}

dmx_status dmx_cl_gemm(dmx_device *dev, const dmx_op_call *call)
{
    const dmx_p_gemm *p = call->params;
    dmx_cl_matrix A = {dmx_cl_mem_of(call, 0), call->args[0].offset, p->lda, p->stride_a};
    dmx_cl_matrix B = {dmx_cl_mem_of(call, 1), call->args[1].offset, p->ldb, p->stride_b};
    dmx_cl_matrix C = {dmx_cl_mem_of(call, 2), call->args[2].offset, p->ldc, p->stride_c};
    return dmx_cl_sgemm(dev, call, p->trans_a, p->trans_b, p->M, p->N, p->K, p->alpha, A, B,
                        p->beta, C, p->batch);
}
