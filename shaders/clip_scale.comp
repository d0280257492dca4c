#version 450
#extension GL_GOOGLE_include_directive : require
#include "common.glsl"

// CLIP_SCALE: x *= numerator / g when g = norm[0] exceeds threshold, else x is unchanged.
DMX_PUSH(int n; float threshold; float numerator; int accumulate;)
DMX_BUFFER(0, readonly, float, norm)
DMX_BUFFER(1, , float, x)

void main()
{
    uint i = dmx_index();
    float g = norm[pc.off[0]];
    if (i < uint(pc.n) && g > pc.threshold)
        x[pc.off[1] + i] = (pc.numerator / g) * x[pc.off[1] + i];
}
