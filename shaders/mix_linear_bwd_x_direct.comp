#version 450
#extension GL_GOOGLE_include_directive : require
#include "common.glsl"

// MIX_LINEAR_BWD_X for small blocks: one invocation per element of dx, summing over o in
// [k_begin, k_end). Same parameters and results as mix_linear_bwd_x.comp.
DMX_PUSH(int M; int J; int Din; int Dout; int R1; int R2; int has_bias; int accumulate;
         uint k_begin; uint k_end; uint slice; uint slices; uint part_stride; uint part_bias;)
DMX_BUFFER(0, readonly, float, dy)
DMX_BUFFER(1, readonly, float, W)
DMX_BUFFER(2, , float, dx)

void main()
{
    uint R2 = uint(pc.R2), R12 = uint(pc.R1) * R2, J = uint(pc.J), Din = uint(pc.Din);
    uint Dout = uint(pc.Dout), e = dmx_index();
    if (e >= uint(pc.M) * J * Din * R12)
        return;
    // dx[m, j, d, r1, r2]
    uint r = e % R12, d = (e / R12) % Din, mj = e / (R12 * Din), j = mj % J;
    uint grp = j * uint(pc.R1) + r / R2;
    float v = 0.0;
    uint w = pc.off[1] + grp * Dout * Din + d, ys = pc.off[0] + mj * Dout * R12 + r;
    for (uint o = pc.k_begin; o < pc.k_end; o++)
        v += W[w + o * Din] * dy[ys + o * R12];
    uint at = pc.off[2] + e;
    dx[at] = pc.accumulate != 0 ? dx[at] + v : v;
}
