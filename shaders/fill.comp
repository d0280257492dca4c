#version 450
#extension GL_GOOGLE_include_directive : require
#include "common.glsl"

// FILL: y[i] = bits (a float's bits or an integer), i < n.
DMX_PUSH(int n; uint bits;)
DMX_BUFFER(0, writeonly, uint, y)

void main()
{
    uint i = dmx_index();
    if (i < uint(pc.n))
        y[pc.off[0] + i] = pc.bits;
}
