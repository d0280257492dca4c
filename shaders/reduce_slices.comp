#version 450
#extension GL_GOOGLE_include_directive : require
#include "common.glsl"

// The second pass of the split reductions (sum_rows, layernorm's dgamma/dbeta, mix_linear's
// dW/dc, dot, norm2): out[i] (+)= scale * sum_{s < slices} part[s * stride + i], summed in
// slice order; finish = 1 takes the square root (norm2). One invocation per output.
DMX_PUSH(int n; int slices; int stride; float scale; int accumulate; int finish;)
DMX_BUFFER(0, readonly, float, part)
DMX_BUFFER(1, , float, outs)

void main()
{
    uint i = dmx_index();
    if (i >= uint(pc.n))
        return;
    float total = 0.0;
    for (uint s = 0; s < uint(pc.slices); s++)
        total += part[pc.off[0] + s * uint(pc.stride) + i];
    float v = pc.scale * total;
    if (pc.finish == 1)
        v = sqrt(v);
    outs[pc.off[1] + i] = pc.accumulate != 0 ? outs[pc.off[1] + i] + v : v;
}
