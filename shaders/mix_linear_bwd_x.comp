#version 450
#extension GL_GOOGLE_include_directive : require
#include "common.glsl"

// MIX_LINEAR_BWD_X: dx[m, j, d, r1, r2] (+)= sum_o W[j, r1, o, d] dy[m, j, o, r1, r2]: the
// forward product with W transposed (rows q = (m, r2), columns d, depth o). The host may split
// the depth into pieces: the first honours accumulate, the rest add.
DMX_PUSH(int M; int J; int Din; int Dout; int R1; int R2; int has_bias; int accumulate;
         uint k_begin; uint k_end;)
DMX_BUFFER(0, readonly, float, dy)
DMX_BUFFER(1, readonly, float, W)
DMX_BUFFER(2, , float, dx)

uint grp, j, r1;

uint at5(uint q, uint index, uint dim)
{
    uint R2 = uint(pc.R2), m = q / R2, r2 = q % R2;
    return ((m * uint(pc.J) + j) * dim + index) * uint(pc.R1) * R2 + r1 * R2 + r2;
}

// A(q, o) = dy[m, j, o, r1, r2]; B(o, d) = W[j, r1, o, d].
uint a_row(uint q) { return pc.off[0] + at5(q, 0, uint(pc.Dout)); }
uint a_depth(uint o) { return o * uint(pc.R1) * uint(pc.R2); }
float a_load(uint i) { return dy[i]; }
uint b_col(uint d) { return pc.off[1] + grp * uint(pc.Dout) * uint(pc.Din) + d; }
uint b_depth(uint o) { return o * uint(pc.Din); }
float b_load(uint i) { return W[i]; }

#include "tile_gemm.glsl"

void main()
{
    uint Q = uint(pc.M) * uint(pc.R2), Din = uint(pc.Din);
    uint tiles_q = (Q + TILE_R - 1) / TILE_R, tiles_d = (Din + TILE_C - 1) / TILE_C;
    uint g = dmx_group(), per_group = tiles_q * tiles_d;
    if (per_group == 0 || g >= uint(pc.J) * uint(pc.R1) * per_group)
        return;
    grp = g / per_group;
    j = grp / uint(pc.R1);
    r1 = grp % uint(pc.R1);
    uint t = g % per_group, q0 = (t / tiles_d) * TILE_R, d0 = (t % tiles_d) * TILE_C;
    tile_gemm(q0, d0, Q, Din, pc.k_begin, pc.k_end, pc.R1 * pc.R2 == 1, false);
    for (uint i = 0; i < THREAD_R; i++)
        for (uint jj = 0; jj < THREAD_C; jj++) {
            uint q = q0 + tile_row(i), d = d0 + tile_col(jj);
            if (q >= Q || d >= Din)
                continue;
            uint at = pc.off[2] + at5(q, d, Din);
            float v = acc[i][jj];
            dx[at] = pc.accumulate != 0 ? dx[at] + v : v;
        }
}
