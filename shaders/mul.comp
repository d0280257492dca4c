#version 450
#extension GL_GOOGLE_include_directive : require
#include "common.glsl"

// MUL: y (+)= a * b. With accumulate = 0, y is not read.
DMX_PUSH(int n; int accumulate;)
DMX_BUFFER(0, readonly, float, a)
DMX_BUFFER(1, readonly, float, b)
DMX_BUFFER(2, , float, y)

void main()
{
    uint i = dmx_index();
    if (i >= uint(pc.n))
        return;
    float v = a[pc.off[0] + i] * b[pc.off[1] + i];
    y[pc.off[2] + i] = pc.accumulate != 0 ? y[pc.off[2] + i] + v : v;
}
