#version 450
#extension GL_GOOGLE_include_directive : require
#include "common.glsl"

// MIX_LINEAR_BWD_W for small blocks: one invocation per (slice, output), where the outputs are
// dW[g, o, d] followed by dc[g, o], each summing its slice of q = (m, r2) in a plain loop. As in
// mix_linear_bwd_w.comp: one slice adds into dW and dc, several write partial sums to part.
DMX_PUSH(int M; int J; int Din; int Dout; int R1; int R2; int has_bias; int accumulate;
         uint k_begin; uint k_end; uint slice; uint slices; uint part_stride; uint part_bias;)
DMX_BUFFER(0, readonly, float, dy)
DMX_BUFFER(1, readonly, float, x)
DMX_BUFFER(2, , float, dW)
DMX_BUFFER(3, , float, dc)
DMX_BUFFER(4, writeonly, float, part)

void main()
{
    uint R2 = uint(pc.R2), R1 = uint(pc.R1), R12 = R1 * R2, J = uint(pc.J);
    uint Din = uint(pc.Din), Dout = uint(pc.Dout), e = dmx_index();
    if (e >= pc.slices * pc.part_stride)
        return;
    uint s = e / pc.part_stride, i = e % pc.part_stride;
    bool is_bias = i >= pc.part_bias;
    uint o, d = 0, grp;
    if (is_bias) {
        o = (i - pc.part_bias) % Dout;
        grp = (i - pc.part_bias) / Dout;
    } else {
        d = i % Din;
        o = (i / Din) % Dout;
        grp = i / (Din * Dout);
    }
    uint j = grp / R1, r1 = grp % R1;
    uint begin = pc.k_begin + s * pc.slice, end = min(begin + pc.slice, pc.k_end);
    // Walk q = (m, r2) with running offsets: no division inside the loop.
    uint m = begin / R2, r2 = begin % R2;
    uint dy_at = pc.off[0] + ((m * J + j) * Dout + o) * R12 + r1 * R2 + r2;
    uint x_at = pc.off[1] + ((m * J + j) * Din + d) * R12 + r1 * R2 + r2;
    uint dy_skip = J * Dout * R12 - R2, x_skip = J * Din * R12 - R2; // from r2 = R2 to the next m
    float v = 0.0;
    for (uint q = begin; q < end; q++) {
        float g = dy[dy_at];
        v += is_bias ? g : g * x[x_at];
        dy_at++;
        x_at++;
        if (++r2 == R2) {
            r2 = 0;
            dy_at += dy_skip;
            x_at += x_skip;
        }
    }
    if (pc.slices > 1)
        part[pc.off[4] + s * pc.part_stride + i] = v;
    else if (is_bias)
        dc[pc.off[3] + grp * Dout + o] += v;
    else
        dW[pc.off[2] + i] += v;
}
