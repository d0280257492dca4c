#version 450
#extension GL_GOOGLE_include_directive : require
#include "common.glsl"

// NORM2, first pass: the workgroup sums x^2 over its chunk of elements into part[group]
// (reduce_slices adds the parts and takes the square root).
// Every invocation adds every WG-th element of the chunk, then a shared-memory tree: a fixed
// order, so runs are bitwise repeatable. chunk / WG bounds the loop trips.
DMX_PUSH(int n; uint chunk;)
DMX_BUFFER(0, readonly, float, x)
DMX_BUFFER(1, writeonly, float, part)

shared float scratch[gl_WorkGroupSize.x];

void main()
{
    uint g = dmx_group(), t = gl_LocalInvocationID.x, n = uint(pc.n);
    if (g * pc.chunk >= n)
        return;
    uint end = min(g * pc.chunk + pc.chunk, n);
    float v = 0.0;
    for (uint e = g * pc.chunk + t; e < end; e += WG)
        v += x[pc.off[0] + e] * x[pc.off[0] + e];
    scratch[t] = v;
    barrier();
    for (uint s = WG / 2; s > 0; s >>= 1) {
        if (t < s)
            scratch[t] += scratch[t + s];
        barrier();
    }
    if (t == 0)
        part[pc.off[1] + g] = scratch[0];
}
