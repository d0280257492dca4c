#version 450
#extension GL_GOOGLE_include_directive : require
#include "common.glsl"

// ADD: y = a + b (y may alias a or b exactly).
DMX_PUSH(int n;)
DMX_BUFFER(0, readonly, float, a)
DMX_BUFFER(1, readonly, float, b)
DMX_BUFFER(2, writeonly, float, y)

void main()
{
    uint i = dmx_index();
    if (i < uint(pc.n))
        y[pc.off[2] + i] = a[pc.off[0] + i] + b[pc.off[1] + i];
}
