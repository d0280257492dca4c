#version 450
#extension GL_GOOGLE_include_directive : require
#include "common.glsl"

// MIX_LINEAR (SPEC section 2): y[m, j, o, r1, r2] = sum_d W[j, r1, o, d] x[m, j, d, r1, r2]
// + c[j, r1, o]. For each group g = (j, r1) this is a matrix product with rows q = (m, r2),
// columns o and depth d, tiled through shared memory (tile_gemm.glsl). The host may split the
// depth into pieces [k_begin, k_end): the first writes (with the bias), the rest accumulate.
DMX_PUSH(int M; int J; int Din; int Dout; int R1; int R2; int has_bias; int accumulate;
         uint k_begin; uint k_end;)
DMX_BUFFER(0, readonly, float, x)
DMX_BUFFER(1, readonly, float, W)
DMX_BUFFER(2, readonly, float, bias)
DMX_BUFFER(3, , float, y)

uint grp, j, r1;

// Element offset of (m, j, [index], r1, r2) in a tensor [M, J, dim, R1, R2], q = m * R2 + r2.
uint at5(uint q, uint index, uint dim)
{
    uint R2 = uint(pc.R2), m = q / R2, r2 = q % R2;
    return ((m * uint(pc.J) + j) * dim + index) * uint(pc.R1) * R2 + r1 * R2 + r2;
}

// A(q, d) = x[m, j, d, r1, r2]: the row part once per row, d steps by R1 R2.
uint a_row(uint q) { return pc.off[0] + at5(q, 0, uint(pc.Din)); }
uint a_depth(uint d) { return d * uint(pc.R1) * uint(pc.R2); }
float a_load(uint i) { return x[i]; }
// B(d, o) = W[j, r1, o, d].
uint b_col(uint o) { return pc.off[1] + (grp * uint(pc.Dout) + o) * uint(pc.Din); }
uint b_depth(uint d) { return d; }
float b_load(uint i) { return W[i]; }

#include "tile_gemm.glsl"

void main()
{
    uint Q = uint(pc.M) * uint(pc.R2), Dout = uint(pc.Dout);
    uint tiles_q = (Q + TILE_R - 1) / TILE_R, tiles_o = (Dout + TILE_C - 1) / TILE_C;
    uint g = dmx_group(), per_group = tiles_q * tiles_o;
    if (per_group == 0 || g >= uint(pc.J) * uint(pc.R1) * per_group)
        return;
    grp = g / per_group;
    j = grp / uint(pc.R1);
    r1 = grp % uint(pc.R1);
    uint t = g % per_group, q0 = (t / tiles_o) * TILE_R, o0 = (t % tiles_o) * TILE_C;
    tile_gemm(q0, o0, Q, Dout, pc.k_begin, pc.k_end, pc.R1 * pc.R2 == 1, true);
    for (uint i = 0; i < THREAD_R; i++)
        for (uint jj = 0; jj < THREAD_C; jj++) {
            uint q = q0 + tile_row(i), o = o0 + tile_col(jj);
            if (q >= Q || o >= Dout)
                continue;
            uint at = pc.off[3] + at5(q, o, Dout);
            float v = acc[i][jj];
            if (pc.has_bias != 0)
                v += bias[pc.off[2] + grp * Dout + o];
            y[at] = pc.accumulate != 0 ? y[at] + v : v;
        }
}
