/* GEMM helpers. The GEMMs themselves go through CLBlast; these kernels cover what CLBlast does
 * not: C = beta C when K = 0 (CLBlast rejects K = 0), and a
 * tiled strided-batched GEMM used when CLBlast is switched off (DIMIX_OPENCL_CLBLAST=0, e.g.
 * under oclgrind) with the same semantics: row-major, C_b = alpha op(A_b) op(B_b) + beta C_b. */

/* C_b[m, n] = beta C_b[m, n], or 0 when beta = 0 (C not read). Batches must not overlap. */
DMX_KERNEL void gemm_scale_c(__global float *C, ulong c_off, int M, int N, int ldc, int stride_c,
                             int batch, float beta)
{
    C += c_off;
    const long i = get_global_id(0);
    const long per_batch = (long)M * N;
    if (i >= per_batch * batch)
        return;
    long mn, n;
    const long b = dmx_split_long(i, per_batch, &mn);
    const long at = b * stride_c + dmx_split_long(mn, N, &n) * ldc + n;
    C[at] = beta == 0.0f ? 0.0f : beta * C[at];
}

/* A T x T tile of C per work-group (T = 16 rb), K in steps of 16 through local memory;
 * work-item (tx, ty) = (lid % 16, lid / 16) computes rows ty + 16 i and columns tx + 16 j
 * (i, j < rb), so neighbouring work-items touch neighbouring columns. Tiles are loaded along
 * the contiguous axis of A and B (which depends on the transposes). Two instances: 64 x 64
 * tiles (4 x 4 outputs per work-item) for large matrices, 32 x 32 (2 x 2) when M or N is at
 * most 32, where a 64-wide tile would be mostly padding. rb is a constant at both call sites,
 * so the loops over it unroll and acc stays in registers. */
#define DMX_GK 16
#define DMX_GT_MAX 64

inline void dmx_gemm_tile(__global const float *A, __global const float *B, __global float *C,
                          int M, int N, int K, int lda, int ldb, int ldc, int trans_a,
                          int trans_b, float alpha, float beta, const int rb,
                          __local float (*As)[DMX_GT_MAX + 1], __local float (*Bs)[DMX_GT_MAX + 1])
{
    const int T = 16 * rb;
    int tx, tn, tm;
    const int lid = get_local_id(0), ty = dmx_split(lid, 16, &tx);
    const int tiles_m = (M + T - 1) / T, tiles_n = (N + T - 1) / T;
    dmx_split(dmx_split(get_group_id(0), tiles_n, &tn), tiles_m, &tm);
    const int m0 = tm * T, n0 = tn * T;

    float acc[4][4];
    for (int i = 0; i < rb; i++)
        for (int j = 0; j < rb; j++)
            acc[i][j] = 0.0f;
    for (int k0 = 0; k0 < K; k0 += DMX_GK) {
        for (int e = lid; e < DMX_GK * T; e += DMX_WG) {
            /* op(A)[m, k]: k contiguous without transpose, m contiguous with. */
            int am, ak;
            if (trans_a)
                ak = dmx_split(e, T, &am);
            else
                am = dmx_split(e, DMX_GK, &ak);
            const int m = m0 + am, k = k0 + ak;
            As[ak][am] = m < M && k < K ? A[trans_a ? (long)k * lda + m : (long)m * lda + k] : 0.0f;
            /* op(B)[k, n]: n contiguous without transpose, k contiguous with. */
            int bn, bk;
            if (trans_b)
                bn = dmx_split(e, DMX_GK, &bk);
            else
                bk = dmx_split(e, T, &bn);
            const int n = n0 + bn, kb = k0 + bk;
            Bs[bk][bn] = n < N && kb < K ? B[trans_b ? (long)n * ldb + kb : (long)kb * ldb + n]
                                         : 0.0f;
        }
        barrier(CLK_LOCAL_MEM_FENCE);
        for (int k = 0; k < DMX_GK; k++) {
            float a[4], bv[4];
            for (int i = 0; i < rb; i++) {
                a[i] = As[k][ty + 16 * i];
                bv[i] = Bs[k][tx + 16 * i];
            }
            for (int i = 0; i < rb; i++)
                for (int j = 0; j < rb; j++)
                    acc[i][j] += a[i] * bv[j];
        }
        barrier(CLK_LOCAL_MEM_FENCE);
    }
    for (int i = 0; i < rb; i++)
        for (int j = 0; j < rb; j++) {
            const int m = m0 + ty + 16 * i, n = n0 + tx + 16 * j;
            if (m < M && n < N) {
                __global float *c = C + (long)m * ldc + n;
                *c = beta == 0.0f ? alpha * acc[i][j] : alpha * acc[i][j] + beta * *c;
            }
        }
}

/* Group g of the launch: batch g / (tiles of one C), tile g % (tiles of one C). */
#define DMX_GEMM_TILED(name, rb)                                                            \
    DMX_KERNEL void name(__global const float *A, ulong a_off, __global const float *B,      \
                         ulong b_off, __global float *C, ulong c_off, int M, int N, int K,   \
                         int lda, int ldb, int ldc, int stride_a, int stride_b, int stride_c, \
                         int trans_a, int trans_b, float alpha, float beta)                  \
    {                                                                                       \
        __local float As[DMX_GK][DMX_GT_MAX + 1];                                           \
        __local float Bs[DMX_GK][DMX_GT_MAX + 1];                                           \
        const int T = 16 * (rb), tiles = ((M + T - 1) / T) * ((N + T - 1) / T);              \
        const long b = get_group_id(0) / tiles;                                             \
        dmx_gemm_tile(A + a_off + b * stride_a, B + b_off + b * stride_b,                   \
                      C + c_off + b * stride_c, M, N, K, lda, ldb, ldc, trans_a, trans_b,   \
                      alpha, beta, (rb), As, Bs);                                           \
    }

DMX_GEMM_TILED(gemm_tiled_64, 4)
DMX_GEMM_TILED(gemm_tiled_32, 2)
