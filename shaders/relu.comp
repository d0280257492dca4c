#version 450
#extension GL_GOOGLE_include_directive : require
#include "common.glsl"

// ReLU: y = x > 0 ? x : 0 (NaN gives 0, as on the CPU); dy/dx = x > 0 ? 1 : 0.
DMX_PUSH(int n; int accumulate;)
DMX_BUFFER(0, readonly, float, xs)
DMX_BUFFER(1, writeonly, float, y)

void main()
{
    uint i = dmx_index();
    if (i >= uint(pc.n))
        return;
    float x = xs[pc.off[0] + i];
    y[pc.off[1] + i] = x > 0.0 ? x : 0.0;
}
