#version 450
#extension GL_GOOGLE_include_directive : require
#include "common.glsl"
#include "mix_mlp_common.glsl"

// MIX_MLP backward, second layer's gradients: invocation (s, g, h) owns dW2[g, :, h] (and, for
// h = 0, dc2[g, :]) for the rows m of its slice s (each r2 in turn) and adds dy GELU(u_h) (and
// dy): directly when there is one slice, else into its own partial sums (part, zeroed here;
// element layout dW2 then dc2). One owner per element and rows in order: no atomics.
DMX_BUFFER(0, readonly, float, dy)
DMX_BUFFER(1, readonly, float, x)
DMX_BUFFER(2, readonly, float, W1)
DMX_BUFFER(3, readonly, float, c1)
DMX_BUFFER(4, , float, dW2)
DMX_BUFFER(5, , float, dc2)
DMX_BUFFER(6, , float, part)

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
    uint w1 = pc.off[2] + (g * Dh + h) * Din, dw2 = pc.off[4] + g * Dout * Dh + h;
    uint pw = pc.off[6] + s * pc.part_stride + g * Dout * Dh + h;
    uint pc2 = pc.off[6] + s * pc.part_stride + J * R1 * Dout * Dh + g * Dout;
    if (partial) {
        for (uint o = 0u; o < Dout; o++)
            part[pw + o * Dh] = 0.0;
        if (h == 0u)
            for (uint o = 0u; o < Dout; o++)
                part[pc2 + o] = 0.0;
    }
    float bias = c1[pc.off[3] + g * Dh + h];
    for (uint m = m0; m < m1; m++)
        for (uint r2 = 0u; r2 < R2; r2++) {
            uint q = r1 * R2 + r2, mj = m * J + j;
            uint xr = pc.off[1] + mj * Din * L + q, dyr = pc.off[0] + mj * Dout * L + q;
            float u = bias;
            for (uint k = 0u; k < Din; k++)
                u += W1[w1 + k] * x[xr + k * L];
            float a = dmx_gelu(u);
            if (partial) {
                for (uint o = 0u; o < Dout; o++)
                    part[pw + o * Dh] += dy[dyr + o * L] * a;
                if (h == 0u)
                    for (uint o = 0u; o < Dout; o++)
                        part[pc2 + o] += dy[dyr + o * L];
            } else {
                for (uint o = 0u; o < Dout; o++)
                    dW2[dw2 + o * Dh] += dy[dyr + o * L] * a;
                if (h == 0u)
                    for (uint o = 0u; o < Dout; o++)
                        dc2[pc.off[5] + g * Dout + o] += dy[dyr + o * L];
            }
        }
}
