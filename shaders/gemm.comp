#version 450
#extension GL_GOOGLE_include_directive : require
#include "common.glsl"

// GEMM, strided batched, row-major: C_b = alpha op(A_b) op(B_b) + beta C_b (op_params.h).
// One workgroup per TILE_R x TILE_C tile of one batch; beta = 0 never reads C. The host splits
// long K into pieces (beta = 1 after the first) to bound the loop trips per invocation.
DMX_PUSH(int trans_a; int trans_b; int M; int N; int K; int lda; int ldb; int ldc; int batch;
         int stride_a; int stride_b; int stride_c; float alpha; float beta;)
DMX_BUFFER(0, readonly, float, A)
DMX_BUFFER(1, readonly, float, B)
DMX_BUFFER(2, , float, C)

uint a_start, b_start; // the batch's first element of A and B

// A(m, k): A[m * lda + k], or A[k * lda + m] transposed; B(k, n) likewise.
uint a_row(uint m) { return a_start + (pc.trans_a != 0 ? m : m * uint(pc.lda)); }
uint a_depth(uint k) { return pc.trans_a != 0 ? k * uint(pc.lda) : k; }
float a_load(uint i) { return A[i]; }
uint b_col(uint n) { return b_start + (pc.trans_b != 0 ? n * uint(pc.ldb) : n); }
uint b_depth(uint k) { return pc.trans_b != 0 ? k : k * uint(pc.ldb); }
float b_load(uint i) { return B[i]; }

#include "tile_gemm.glsl"

void main()
{
    uint M = uint(pc.M), N = uint(pc.N);
    uint tiles_m = (M + TILE_R - 1) / TILE_R, tiles_n = (N + TILE_C - 1) / TILE_C;
    uint g = dmx_group(), per_batch = tiles_m * tiles_n;
    if (per_batch == 0 || g >= uint(pc.batch) * per_batch)
        return; // the whole workgroup leaves together: no barrier is skipped by some
    uint b = g / per_batch, t = g % per_batch;
    uint m0 = (t / tiles_n) * TILE_R, n0 = (t % tiles_n) * TILE_C;
    a_start = pc.off[0] + b * uint(pc.stride_a);
    b_start = pc.off[1] + b * uint(pc.stride_b);
    tile_gemm(m0, n0, M, N, 0, uint(pc.K), pc.trans_a == 0, pc.trans_b != 0);
    uint c_base = pc.off[2] + b * uint(pc.stride_c);
    for (uint i = 0; i < THREAD_R; i++)
        for (uint j = 0; j < THREAD_C; j++) {
            uint m = m0 + tile_row(i), n = n0 + tile_col(j);
            if (m >= M || n >= N)
                continue;
            uint at = c_base + m * uint(pc.ldc) + n;
            float v = pc.alpha * acc[i][j];
            C[at] = pc.beta == 0.0 ? v : v + pc.beta * C[at];
        }
}
