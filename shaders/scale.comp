#version 450
#extension GL_GOOGLE_include_directive : require
#include "common.glsl"

// SCALE: y = alpha * x (y may alias x exactly).
DMX_PUSH(int n; float alpha;)
DMX_BUFFER(0, readonly, float, x)
DMX_BUFFER(1, writeonly, float, y)

void main()
{
    uint i = dmx_index();
    if (i < uint(pc.n))
        y[pc.off[1] + i] = pc.alpha * x[pc.off[0] + i];
}
