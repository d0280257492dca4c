#version 450
#extension GL_GOOGLE_include_directive : require
#include "common.glsl"

// SOFTMAX backward: dx (+)= scale y (dy - sum_c dy_c y_c), row by row.
DMX_PUSH(int rows; int cols; float scale; int has_mask; int mask_group; int accumulate;)
DMX_BUFFER(0, readonly, float, y)
DMX_BUFFER(1, readonly, float, dy)
DMX_BUFFER(2, , float, dx)

#include "rows.glsl"

void main()
{
    uint row = row_index(), lane = row_lane(), cols = uint(pc.cols);
    bool live = row < uint(pc.rows);
    uint at = row * cols;
    float s = 0.0;
    if (live)
        for (uint c = lane; c < cols; c += LANES)
            s += dy[pc.off[1] + at + c] * y[pc.off[0] + at + c];
    float dot_dy_y = row_sum(s);
    if (!live)
        return;
    for (uint c = lane; c < cols; c += LANES) {
        float v = pc.scale * y[pc.off[0] + at + c] * (dy[pc.off[1] + at + c] - dot_dy_y);
        uint o = pc.off[2] + at + c;
        dx[o] = pc.accumulate != 0 ? dx[o] + v : v;
    }
}
