#version 450
#extension GL_GOOGLE_include_directive : require
#include "common.glsl"

// SUM_ROWS: y[c] (+)= scale * sum_r x[r, c].
// Column sums over x [rows, cols]: a workgroup holds 64 columns and 4 invocations per column
// that take every 4th row of one slice of rows, then a shared-memory tree over those 4.
// slice_rows bounds the loop trips; with several slices each writes partial sums that
// reduce_slices adds up in order.
const uint COLS_PER_WG = 64, ROW_LANES = 4;
shared float col_scratch[256];

uint col_local() { return gl_LocalInvocationID.x % COLS_PER_WG; }
uint row_lane() { return gl_LocalInvocationID.x / COLS_PER_WG; }

// The sum over the 4 row lanes of column col_local(), valid in row lane 0.
float column_sum(float v)
{
    col_scratch[gl_LocalInvocationID.x] = v;
    barrier();
    if (row_lane() < 2)
        col_scratch[gl_LocalInvocationID.x] += col_scratch[gl_LocalInvocationID.x + 2 * COLS_PER_WG];
    barrier();
    float total = col_scratch[col_local()] + col_scratch[col_local() + COLS_PER_WG];
    barrier();
    return total;
}

DMX_PUSH(int rows; int cols; float scale; int accumulate; uint slice_rows; uint slices;)
DMX_BUFFER(0, readonly, float, x)
DMX_BUFFER(1, , float, y)
DMX_BUFFER(2, writeonly, float, part)

void main()
{
    uint cols = uint(pc.cols), tiles = (cols + COLS_PER_WG - 1) / COLS_PER_WG;
    uint g = dmx_group();
    if (tiles == 0 || g >= tiles * pc.slices)
        return;
    uint s = g / tiles, c = (g % tiles) * COLS_PER_WG + col_local();
    uint begin = s * pc.slice_rows, end = min(begin + pc.slice_rows, uint(pc.rows));
    float v = 0.0;
    if (c < cols)
        for (uint r = begin + row_lane(); r < end; r += ROW_LANES)
            v += x[pc.off[0] + r * cols + c];
    float total = column_sum(v);
    if (row_lane() != 0 || c >= cols)
        return;
    if (pc.slices == 1) {
        float w = pc.scale * total;
        y[pc.off[1] + c] = pc.accumulate != 0 ? y[pc.off[1] + c] + w : w;
    } else {
        part[pc.off[2] + s * cols + c] = total;
    }
}
