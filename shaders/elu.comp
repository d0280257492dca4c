#version 450
#extension GL_GOOGLE_include_directive : require
#include "common.glsl"

// ELU: y = x > 0 ? x : exp(x) - 1; dy/dx = x > 0 ? 1 : exp(x).
DMX_PUSH(int n; int accumulate;)
DMX_BUFFER(0, readonly, float, xs)
DMX_BUFFER(1, writeonly, float, y)

void main()
{
    uint i = dmx_index();
    if (i >= uint(pc.n))
        return;
    float x = xs[pc.off[0] + i];
    y[pc.off[1] + i] = x > 0.0 ? x : dmx_expm1(x);
}
