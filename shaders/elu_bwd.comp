#version 450
#extension GL_GOOGLE_include_directive : require
#include "common.glsl"

// Backward of ELU: y = x > 0 ? x : exp(x) - 1; dy/dx = x > 0 ? 1 : exp(x).
// dx (+)= dy * f'(x); with accumulate = 0, dx is not read.
DMX_PUSH(int n; int accumulate;)
DMX_BUFFER(0, readonly, float, xs)
DMX_BUFFER(1, readonly, float, dy)
DMX_BUFFER(2, , float, dx)

void main()
{
    uint i = dmx_index();
    if (i >= uint(pc.n))
        return;
    float x = xs[pc.off[0] + i];
    float g = dy[pc.off[1] + i] * (x > 0.0 ? 1.0 : exp(x));
    dx[pc.off[2] + i] = pc.accumulate != 0 ? dx[pc.off[2] + i] + g : g;
}
