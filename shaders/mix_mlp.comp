#version 450
#extension GL_GOOGLE_include_directive : require
#include "common.glsl"
#include "mix_mlp_common.glsl"

// MIX_MLP forward, one invocation per row: y (+)= sum over h in [begin, end) of
// W2[:, h] GELU(u_h), y first set to c2 when begin == 0.
DMX_BUFFER(0, readonly, float, x)
DMX_BUFFER(1, readonly, float, W1)
DMX_BUFFER(2, readonly, float, c1)
DMX_BUFFER(3, readonly, float, W2)
DMX_BUFFER(4, readonly, float, c2)
DMX_BUFFER(5, , float, y)

void main()
{
    uint r = dmx_index(), L = uint(pc.R1) * uint(pc.R2);
    uint Din = uint(pc.Din), Dh = uint(pc.Dh), Dout = uint(pc.Dout);
    if (r >= uint(pc.M) * uint(pc.J) * L)
        return;
    uint g;
    uint xr = pc.off[0] + mlp_row_at(r, Din, g);
    uint yr = pc.off[5] + mlp_row_at(r, Dout, g);
    if (pc.begin == 0u)
        for (uint o = 0u; o < Dout; o++)
            y[yr + o * L] = c2[pc.off[4] + g * Dout + o];
    for (uint h = pc.begin; h < pc.end; h++) {
        uint w1 = pc.off[1] + (g * Dh + h) * Din;
        float u = c1[pc.off[2] + g * Dh + h];
        for (uint k = 0u; k < Din; k++)
            u += W1[w1 + k] * x[xr + k * L];
        float a = dmx_gelu(u);
        uint w2 = pc.off[3] + g * Dout * Dh + h;
        for (uint o = 0u; o < Dout; o++)
            y[yr + o * L] += W2[w2 + o * Dh] * a;
    }
}
