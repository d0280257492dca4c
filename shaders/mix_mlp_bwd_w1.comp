#version 450
#extension GL_GOOGLE_include_directive : require
#include "common.glsl"
#include "mix_mlp_common.glsl"

// MIX_MLP backward, first layer's gradients: invocation (g, h) owns dW1[g, h, :] and
// dc1[g, h] and, over rows m in [begin, end) (each r2 in turn), adds du_h x and du_h. One
// owner per element and rows in order: no atomics, the same sums on every run.
DMX_BUFFER(0, readonly, float, dy)
DMX_BUFFER(1, readonly, float, x)
DMX_BUFFER(2, readonly, float, W1)
DMX_BUFFER(3, readonly, float, c1)
DMX_BUFFER(4, readonly, float, W2)
DMX_BUFFER(5, , float, dW1)
DMX_BUFFER(6, , float, dc1)

void main()
{
    uint gh = dmx_index(), Din = uint(pc.Din), Dh = uint(pc.Dh), Dout = uint(pc.Dout);
    uint R1 = uint(pc.R1), R2 = uint(pc.R2), J = uint(pc.J), L = R1 * R2;
    if (gh >= J * R1 * Dh)
        return;
    uint g = gh / Dh, h = gh % Dh, j = g / R1, r1 = g % R1;
    uint w1 = pc.off[2] + (g * Dh + h) * Din, w2 = pc.off[4] + g * Dout * Dh + h;
    uint dw1 = pc.off[5] + (g * Dh + h) * Din, dc = pc.off[6] + g * Dh + h;
    float bias = c1[pc.off[3] + g * Dh + h];
    for (uint m = pc.begin; m < pc.end; m++)
        for (uint r2 = 0u; r2 < R2; r2++) {
            uint q = r1 * R2 + r2, mj = m * J + j;
            uint xr = pc.off[1] + mj * Din * L + q, dyr = pc.off[0] + mj * Dout * L + q;
            float u = bias;
            for (uint k = 0u; k < Din; k++)
                u += W1[w1 + k] * x[xr + k * L];
            float da = 0.0;
            for (uint o = 0u; o < Dout; o++)
                da += W2[w2 + o * Dh] * dy[dyr + o * L];
            float du = da * dmx_gelu_grad(u);
            dc1[dc] += du;
            for (uint k = 0u; k < Din; k++)
                dW1[dw1 + k] += du * x[xr + k * L];
        }
}
