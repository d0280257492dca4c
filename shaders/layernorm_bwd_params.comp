#version 450
#extension GL_GOOGLE_include_directive : require
#include "common.glsl"

// LAYERNORM backward, the parameter gradients: dgamma[c] += sum_r dy[r, c] xhat[r, c],
// dbeta[c] += sum_r dy[r, c], xhat = (x - mean[r]) rstd[r]. Partial sums per slice go to
// part[s * 2 cols + c] (dgamma) and part[s * 2 cols + cols + c] (dbeta).
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

DMX_PUSH(int rows; int cols; float eps; int accumulate; uint slice_rows; uint slices;)
DMX_BUFFER(0, readonly, float, dy)
DMX_BUFFER(1, readonly, float, x)
DMX_BUFFER(2, readonly, float, mean)
DMX_BUFFER(3, readonly, float, rstd)
DMX_BUFFER(4, , float, dgamma)
DMX_BUFFER(5, , float, dbeta)
DMX_BUFFER(6, writeonly, float, part)

void main()
{
    uint cols = uint(pc.cols), tiles = (cols + COLS_PER_WG - 1) / COLS_PER_WG;
    uint g = dmx_group();
    if (tiles == 0 || g >= tiles * pc.slices)
        return;
    uint s = g / tiles, c = (g % tiles) * COLS_PER_WG + col_local();
    uint begin = s * pc.slice_rows, end = min(begin + pc.slice_rows, uint(pc.rows));
    float sg = 0.0, sb = 0.0;
    if (c < cols)
        for (uint r = begin + row_lane(); r < end; r += ROW_LANES) {
            float d = dy[pc.off[0] + r * cols + c];
            float xhat = (x[pc.off[1] + r * cols + c] - mean[pc.off[2] + r]) * rstd[pc.off[3] + r];
            sg += d * xhat;
            sb += d;
        }
    sg = column_sum(sg);
    sb = column_sum(sb);
    if (row_lane() != 0 || c >= cols)
        return;
    if (pc.slices == 1) {
        dgamma[pc.off[4] + c] += sg;
        dbeta[pc.off[5] + c] += sb;
    } else {
        part[pc.off[6] + s * 2 * cols + c] = sg;
        part[pc.off[6] + s * 2 * cols + cols + c] = sb;
    }
}
