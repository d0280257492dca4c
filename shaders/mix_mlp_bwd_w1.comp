#version 450
#extension GL_GOOGLE_include_directive : require
#include "common.glsl"
#include "mix_mlp_common.glsl"

// MIX_MLP backward, first layer's gradients: invocation (s, g, h) owns dW1[g, h, :] and
// dc1[g, h] for the rows m of its slice s (each r2 in turn) and adds du_h x and du_h: into
// dW1 and dc1 directly when there is one slice, else into its own partial sums (part, zeroed
// here; element layout dW1 then dc1). One owner per element and rows in order: no atomics, the
// same sums on every run.
DMX_BUFFER(0, readonly, float, dy)
DMX_BUFFER(1, readonly, float, x)
DMX_BUFFER(2, readonly, float, W1)
DMX_BUFFER(3, readonly, float, c1)
DMX_BUFFER(4, readonly, float, W2)
DMX_BUFFER(5, , float, dW1)
DMX_BUFFER(6, , float, dc1)
DMX_BUFFER(7, , float, part)

void main()
{
    uint Din = uint(pc.Din), Dh = uint(pc.Dh), Dout = uint(pc.Dout);
    uint R1 = uint(pc.R1), R2 = uint(pc.R2), J = uint(pc.J), L = R1 * R2;
    uint units = J * R1 * Dh, id = dmx_index(), s = id / units, gh = id % units;
    if (s >= pc.slices)
        return;
    uint g = gh / Dh, h = gh % Dh, j = g / R1, r1 = g % R1;
    uint m0 = pc.begin + s * pc.slice_rows, m1 = min(pc.end, m0 + pc.slice_rows);
    bool partial = pc.slices > 1u;
    uint w1 = pc.off[2] + (g * Dh + h) * Din, w2 = pc.off[4] + g * Dout * Dh + h;
    uint dw1 = pc.off[5] + (g * Dh + h) * Din, dc = pc.off[6] + g * Dh + h;
    uint pw = pc.off[7] + s * pc.part_stride + (g * Dh + h) * Din;
    uint pc1 = pc.off[7] + s * pc.part_stride + J * R1 * Dh * Din + g * Dh + h;
    if (partial) {
        for (uint k = 0u; k < Din; k++)
            part[pw + k] = 0.0;
        part[pc1] = 0.0;
    }
    float bias = c1[pc.off[3] + g * Dh + h];
    for (uint m = m0; m < m1; m++)
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
            if (partial) {
                part[pc1] += du;
                for (uint k = 0u; k < Din; k++)
                    part[pw + k] += du * x[xr + k * L];
            } else {
                dc1[dc] += du;
                for (uint k = 0u; k < Din; k++)
                    dW1[dw1 + k] += du * x[xr + k * L];
            }
        }
}
