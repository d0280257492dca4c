#version 450
#extension GL_GOOGLE_include_directive : require
#include "common.glsl"

// CLIP_SCALE_BWD: dnorm (+)= (-(numerator / g) / g) dot when g = norm[0] > threshold, else
// (+)= 0 (op_params.h).
DMX_PUSH(int n; float threshold; float numerator; int accumulate;)
DMX_BUFFER(0, readonly, float, norm)
DMX_BUFFER(1, readonly, float, dot)
DMX_BUFFER(2, , float, dnorm)

void main()
{
    if (dmx_index() != 0)
        return;
    float g = norm[pc.off[0]];
    float d = g > pc.threshold ? (-(pc.numerator / g) / g) * dot[pc.off[1]] : 0.0;
    dnorm[pc.off[2]] = pc.accumulate != 0 ? dnorm[pc.off[2]] + d : d;
}
