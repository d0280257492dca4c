#version 450
#extension GL_GOOGLE_include_directive : require
#include "common.glsl"

// SOFTMAX over the last axis of x [rows, cols]: z = scale x + mask (mask row r / mask_group);
// entries with mask <= DMX_MASK_REMOVED (-1e20) are removed (y = 0, out of the max and sum);
// y = exp(z - max z) / sum exp(z - max z). A row with every entry removed is all zeros.
DMX_PUSH(int rows; int cols; float scale; int has_mask; int mask_group; int accumulate;)
DMX_BUFFER(0, readonly, float, x)
DMX_BUFFER(1, readonly, float, mask)
DMX_BUFFER(2, writeonly, float, y)

#include "rows.glsl"

const float MASK_REMOVED = -1e20;

uint mask_row;

// z of column c, or -inf when the mask removes it.
float logit(uint row, uint c)
{
    float m = pc.has_mask != 0 ? mask[pc.off[1] + mask_row + c] : 0.0;
    if (m <= MASK_REMOVED)
        return -1.0 / 0.0;
    return pc.scale * x[pc.off[0] + row * uint(pc.cols) + c] + m;
}

void main()
{
    uint row = row_index(), lane = row_lane(), cols = uint(pc.cols);
    bool live = row < uint(pc.rows);
    uint group = pc.mask_group > 0 ? uint(pc.mask_group) : 1u;
    mask_row = (row / group) * cols;
    float mx = -1.0 / 0.0;
    if (live)
        for (uint c = lane; c < cols; c += LANES) {
            float z = logit(row, c);
            if (z > mx)
                mx = z;
        }
    mx = row_max(mx);
    bool empty = mx == -1.0 / 0.0; // every entry removed (or no columns): zeros
    float s = 0.0;
    if (live && !empty)
        for (uint c = lane; c < cols; c += LANES) {
            float z = logit(row, c);
            if (z != -1.0 / 0.0)
                s += exp(z - mx);
        }
    s = row_sum(s);
    if (!live)
        return;
    float inv = 1.0 / s;
    for (uint c = lane; c < cols; c += LANES) {
        float v = 0.0;
        if (!empty) {
            float z = logit(row, c);
            // a removed entry is 0 * inv: NaN when the row sum is NaN, as on the CPU
            v = (z != -1.0 / 0.0 ? exp(z - mx) : 0.0) * inv;
        }
        y[pc.off[2] + row * cols + c] = v;
    }
}
