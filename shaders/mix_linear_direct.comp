#version 450
#extension GL_GOOGLE_include_directive : require
#include "common.glsl"

// MIX_LINEAR for small blocks (butterfly radix 2 to 8, few rows): one invocation per output
// element, the sum over d in [k_begin, k_end) in a plain loop. The tiled kernel would leave most
// of each 256-invocation tile empty here. Same parameters and results as mix_linear.comp.
DMX_PUSH(int M; int J; int Din; int Dout; int R1; int R2; int has_bias; int accumulate;
         uint k_begin; uint k_end; uint slice; uint slices; uint part_stride; uint part_bias;)
DMX_BUFFER(0, readonly, float, x)
DMX_BUFFER(1, readonly, float, W)
DMX_BUFFER(2, readonly, float, bias)
DMX_BUFFER(3, , float, y)

void main()
{
    uint R2 = uint(pc.R2), R12 = uint(pc.R1) * R2, J = uint(pc.J), Din = uint(pc.Din);
    uint Dout = uint(pc.Dout), e = dmx_index();
    if (e >= uint(pc.M) * J * Dout * R12)
        return;
    // y[m, j, o, r1, r2]
    uint r = e % R12, o = (e / R12) % Dout, mj = e / (R12 * Dout), j = mj % J;
    uint grp = j * uint(pc.R1) + r / R2;
    float v = pc.has_bias != 0 ? bias[pc.off[2] + grp * Dout + o] : 0.0;
    uint w = pc.off[1] + (grp * Dout + o) * Din, xs = pc.off[0] + mj * Din * R12 + r;
    for (uint d = pc.k_begin; d < pc.k_end; d++)
        v += W[w + d] * x[xs + d * R12];
    uint at = pc.off[3] + e;
    y[at] = pc.accumulate != 0 ? y[at] + v : v;
}
