#version 450
#extension GL_GOOGLE_include_directive : require
#include "common.glsl"
#include "mix_mlp_common.glsl"

// MIX_MLP backward to x, one invocation per row: dx (+)= sum over h in [begin, end) of
// W1[h, :] du_h, du_h = GELU'(u_h) sum_o W2[o, h] dy_o; dx is zeroed first when overwrite != 0.
DMX_BUFFER(0, readonly, float, dy)
DMX_BUFFER(1, readonly, float, x)
DMX_BUFFER(2, readonly, float, W1)
DMX_BUFFER(3, readonly, float, c1)
DMX_BUFFER(4, readonly, float, W2)
DMX_BUFFER(5, , float, dx)

void main()
{
    uint r = dmx_index(), L = uint(pc.R1) * uint(pc.R2);
    uint Din = uint(pc.Din), Dh = uint(pc.Dh), Dout = uint(pc.Dout);
    if (r >= uint(pc.M) * uint(pc.J) * L)
        return;
    uint g;
    uint in_at = mlp_row_at(r, Din, g);
    uint xr = pc.off[1] + in_at, dxr = pc.off[5] + in_at;
    uint dyr = pc.off[0] + mlp_row_at(r, Dout, g);
    if (pc.overwrite != 0u)
        for (uint k = 0u; k < Din; k++)
            dx[dxr + k * L] = 0.0;
    for (uint h = pc.begin; h < pc.end; h++) {
        uint w1 = pc.off[2] + (g * Dh + h) * Din;
        float u = c1[pc.off[3] + g * Dh + h];
        for (uint k = 0u; k < Din; k++)
            u += W1[w1 + k] * x[xr + k * L];
        uint w2 = pc.off[4] + g * Dout * Dh + h;
        float da = 0.0;
        for (uint o = 0u; o < Dout; o++)
            da += W2[w2 + o * Dh] * dy[dyr + o * L];
        float du = da * dmx_gelu_grad(u);
        for (uint k = 0u; k < Din; k++)
            dx[dxr + k * L] += W1[w1 + k] * du;
    }
}
