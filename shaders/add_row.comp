#version 450
#extension GL_GOOGLE_include_directive : require
#include "common.glsl"

// ADD_ROW: y[r, c] = x[r, c] + b[c] over x [rows, cols] (y may alias x exactly).
DMX_PUSH(int rows; int cols;)
DMX_BUFFER(0, readonly, float, x)
DMX_BUFFER(1, readonly, float, b)
DMX_BUFFER(2, writeonly, float, y)

void main()
{
    uint i = dmx_index();
    if (i < uint(pc.rows) * uint(pc.cols))
        y[pc.off[2] + i] = x[pc.off[0] + i] + b[pc.off[1] + i % uint(pc.cols)];
}
