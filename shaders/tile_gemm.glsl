// A tiled matrix product through shared memory, shared by gemm and the mix_linear kernels:
//   acc(r, c) = sum_{k in [k_begin, k_end)} A(r, k) B(k, c)
// for one TILE_R x TILE_C tile of the output, TILE_K columns of A (rows of B) at a time. Each
// invocation owns THREAD_R x THREAD_C outputs, strided across the tile so that neighbouring
// invocations touch neighbouring columns. The including shader defines, before the include,
//   float load_a(uint r, uint k);   float load_b(uint k, uint c);
// (called only inside the bounds) and may define TILE_AFTER_LOAD() to read the loaded tiles.
// Tile sizes are specialization constants 1-4; the workgroup (constant 0) must be
// (TILE_R / THREAD_R) * (TILE_C / THREAD_C) invocations, and THREAD_R, THREAD_C at most 4.
//
// Loop trips per invocation: one per TILE_K step of k (the inner loops have constant trip
// counts of at most 16, which lavapipe unrolls); the host bounds k_end - k_begin accordingly.

layout(constant_id = 1) const uint TILE_R = 64;
layout(constant_id = 2) const uint TILE_C = 64;
layout(constant_id = 3) const uint THREAD_R = 4;
layout(constant_id = 4) const uint THREAD_C = 4;
const uint TILE_K = 16;

shared float tile_a[TILE_K * TILE_R]; // [k][r]
shared float tile_b[TILE_K * TILE_C]; // [k][c]
float acc[16];                        // [i][j], i < THREAD_R, j < THREAD_C

#ifndef TILE_AFTER_LOAD
#define TILE_AFTER_LOAD()
#endif

uint tile_thread_r() { return gl_LocalInvocationID.x / (TILE_C / THREAD_C); }
uint tile_thread_c() { return gl_LocalInvocationID.x % (TILE_C / THREAD_C); }
// The tile row and column of acc[i * 4 + j].
uint tile_row(uint i) { return tile_thread_r() + i * (TILE_R / THREAD_R); }
uint tile_col(uint j) { return tile_thread_c() + j * (TILE_C / THREAD_C); }

// a_k_fast / b_k_fast: whether A(r, k) / B(k, c) is contiguous along k, so that neighbouring
// invocations load neighbouring addresses.
void tile_gemm(uint row0, uint col0, uint rows, uint cols, uint k_begin, uint k_end,
               bool a_k_fast, bool b_k_fast)
{
    uint tid = gl_LocalInvocationID.x;
    for (uint i = 0; i < 16; i++)
        acc[i] = 0.0;
    for (uint k0 = k_begin; k0 < k_end; k0 += TILE_K) {
        for (uint l = 0; l < (TILE_R * TILE_K + WG - 1) / WG; l++) {
            uint e = tid + l * WG;
            if (e < TILE_R * TILE_K) {
                uint r = a_k_fast ? e / TILE_K : e % TILE_R;
                uint k = a_k_fast ? e % TILE_K : e / TILE_R;
                float v = 0.0;
                if (row0 + r < rows && k0 + k < k_end)
                    v = load_a(row0 + r, k0 + k);
                tile_a[k * TILE_R + r] = v;
            }
        }
        for (uint l = 0; l < (TILE_C * TILE_K + WG - 1) / WG; l++) {
            uint e = tid + l * WG;
            if (e < TILE_C * TILE_K) {
                uint c = b_k_fast ? e / TILE_K : e % TILE_C;
                uint k = b_k_fast ? e % TILE_K : e / TILE_C;
                float v = 0.0;
                if (col0 + c < cols && k0 + k < k_end)
                    v = load_b(k0 + k, col0 + c);
                tile_b[k * TILE_C + c] = v;
            }
        }
        barrier();
        TILE_AFTER_LOAD();
        for (uint k = 0; k < TILE_K; k++) {
            float a[4], b[4];
            for (uint i = 0; i < THREAD_R; i++)
                a[i] = tile_a[k * TILE_R + tile_row(i)];
            for (uint j = 0; j < THREAD_C; j++)
                b[j] = tile_b[k * TILE_C + tile_col(j)];
            for (uint i = 0; i < THREAD_R; i++)
                for (uint j = 0; j < THREAD_C; j++)
                    acc[i * 4 + j] += a[i] * b[j];
        }
        barrier();
    }
}
