// A tiled matrix product through shared memory, shared by gemm and the mix_linear kernels:
//   acc(r, c) = sum_{k in [k_begin, k_end)} A(r, k) B(k, c)
// for one TILE_R x TILE_C tile of the output, TILE_K columns of A (rows of B) at a time. Each
// invocation owns THREAD_R x 4 outputs, strided across the tile so that neighbouring
// invocations touch neighbouring columns; they accumulate in vec4 registers (acc[i] holds row
// i), and THREAD_R is tested by constant conditions rather than loops, so that no private array
// is ever indexed by a variable (llvmpipe would keep such an array in memory: 4x slower).
// Addresses split into a part per output row (or column), computed once per invocation, plus a
// part per step of the depth, so the inner loop does no integer division. The including shader
// defines, before the include (called only inside the bounds):
//   uint a_row(uint r);  uint a_depth(uint k);  float a_load(uint i);  // A(r, k) = a_load(a_row(r) + a_depth(k))
//   uint b_col(uint c);  uint b_depth(uint k);  float b_load(uint i);  // B(k, c) = b_load(b_col(c) + b_depth(k))
// and may define TILE_AFTER_LOAD() to read the loaded tiles.
// Tile sizes are specialization constants 1-3; the workgroup (constant 0) must be
// (TILE_R / THREAD_R) * (TILE_C / 4) invocations, and THREAD_R 1, 2 or 4.
//
// Loop trips per invocation: one per TILE_K step of k (the inner loops have constant trip
// counts of at most 16, which lavapipe unrolls); the host bounds k_end - k_begin accordingly.
// A_LOADS and B_LOADS (tile elements per invocation) must stay at most 8.

layout(constant_id = 1) const uint TILE_R = 64;
layout(constant_id = 2) const uint TILE_C = 64;
layout(constant_id = 3) const uint THREAD_R = 4;
const uint THREAD_C = 4;
const uint TILE_K = 16;

// [k][r] and [k][c], as vec4s: an invocation's 4 columns (and 4 rows) are adjacent, one load.
shared vec4 tile_a[TILE_K * TILE_R / 4];
shared vec4 tile_b[TILE_K * TILE_C / 4];
vec4 acc[4];                          // acc[i][j]: tile row tile_row(i), column tile_col(j)

#ifndef TILE_AFTER_LOAD
#define TILE_AFTER_LOAD()
#endif

uint tile_thread_r() { return gl_LocalInvocationID.x / (TILE_C / THREAD_C); }
uint tile_thread_c() { return gl_LocalInvocationID.x % (TILE_C / THREAD_C); }
// The tile row and column of acc[i][j]: each invocation's rows and columns are adjacent.
uint tile_row(uint i) { return tile_thread_r() * THREAD_R + i; }
uint tile_col(uint j) { return tile_thread_c() * THREAD_C + j; }

// a_k_fast / b_k_fast: whether A(r, k) / B(k, c) is contiguous along k, so that neighbouring
// invocations load neighbouring addresses.
const uint A_LOADS = (TILE_R * TILE_K + WG - 1) / WG, B_LOADS = (TILE_C * TILE_K + WG - 1) / WG;
const uint NO_ROW = 0xffffffffu;

// The per-load steps, written out for l = 0..7 (TILE_APPLY) so that every index into the base
// arrays is a literal: a loop here would not always unroll, and llvmpipe keeps variably indexed
// private arrays in memory.
#define TILE_APPLY(STEP) STEP(0) STEP(1) STEP(2) STEP(3) STEP(4) STEP(5) STEP(6) STEP(7)

#define A_BASE(l)                                                                       \
    if (l < A_LOADS) {                                                                  \
        uint e = tid + l * WG, r = a_k_fast ? e / TILE_K : e % TILE_R;                  \
        a_base[l] = e < TILE_R * TILE_K && row0 + r < rows ? a_row(row0 + r) : NO_ROW;  \
    }
#define B_BASE(l)                                                                       \
    if (l < B_LOADS) {                                                                  \
        uint e = tid + l * WG, c = b_k_fast ? e / TILE_K : e % TILE_C;                  \
        b_base[l] = e < TILE_C * TILE_K && col0 + c < cols ? b_col(col0 + c) : NO_ROW;  \
    }
#define A_LOAD(l)                                                                       \
    if (l < A_LOADS) {                                                                  \
        uint e = tid + l * WG;                                                          \
        if (e < TILE_R * TILE_K) {                                                      \
            uint r = a_k_fast ? e / TILE_K : e % TILE_R;                                \
            uint k = a_k_fast ? e % TILE_K : e / TILE_R;                                \
            float v = 0.0;                                                              \
            if (a_base[l] != NO_ROW && k0 + k < k_end)                                  \
                v = a_load(a_base[l] + a_depth(k0 + k));                                \
            uint at = k * TILE_R + r;                                                   \
            tile_a[at / 4][at % 4] = v;                                                 \
        }                                                                               \
    }
#define B_LOAD(l)                                                                       \
    if (l < B_LOADS) {                                                                  \
        uint e = tid + l * WG;                                                          \
        if (e < TILE_C * TILE_K) {                                                      \
            uint c = b_k_fast ? e / TILE_K : e % TILE_C;                                \
            uint k = b_k_fast ? e % TILE_K : e / TILE_C;                                \
            float v = 0.0;                                                              \
            if (b_base[l] != NO_ROW && k0 + k < k_end)                                  \
                v = b_load(b_base[l] + b_depth(k0 + k));                                \
            uint at = k * TILE_C + c;                                                   \
            tile_b[at / 4][at % 4] = v;                                                 \
        }                                                                               \
    }

void tile_gemm(uint row0, uint col0, uint rows, uint cols, uint k_begin, uint k_end,
               bool a_k_fast, bool b_k_fast)
{
    uint tid = gl_LocalInvocationID.x;
    acc[0] = acc[1] = acc[2] = acc[3] = vec4(0.0);
    // Each invocation loads the same rows (columns) of A (B) at every step: their address parts
    // once, here (at most 8 each, in registers).
    uint a_base[8], b_base[8];
    TILE_APPLY(A_BASE)
    TILE_APPLY(B_BASE)
    for (uint k0 = k_begin; k0 < k_end; k0 += TILE_K) {
        TILE_APPLY(A_LOAD)
        TILE_APPLY(B_LOAD)
        barrier();
        TILE_AFTER_LOAD();
        for (uint k = 0; k < TILE_K; k++) {
            vec4 b = tile_b[(k * TILE_C) / 4 + tile_thread_c()];
            if (THREAD_R == 4) {
                vec4 a = tile_a[(k * TILE_R) / 4 + tile_thread_r()];
                acc[0] += a.x * b;
                acc[1] += a.y * b;
                acc[2] += a.z * b;
                acc[3] += a.w * b;
            } else {
                uint ka = k * TILE_R + tile_row(0);
                acc[0] += tile_a[ka / 4][ka % 4] * b;
                if (THREAD_R == 2)
                    acc[1] += tile_a[(ka + 1) / 4][(ka + 1) % 4] * b;
            }
        }
        barrier();
    }
}
