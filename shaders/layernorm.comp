#version 450
#extension GL_GOOGLE_include_directive : require
#include "common.glsl"

// LAYERNORM over the last axis of x [rows, cols], biased variance, two passes (mean, then the
// squared deviations): y = (x - mean) rstd gamma + beta, rstd = 1 / sqrt(var + eps); mean and
// rstd are saved per row for the backward.
DMX_PUSH(int rows; int cols; float eps; int accumulate;)
DMX_BUFFER(0, readonly, float, x)
DMX_BUFFER(1, readonly, float, gamma)
DMX_BUFFER(2, readonly, float, beta)
DMX_BUFFER(3, writeonly, float, y)
DMX_BUFFER(4, writeonly, float, mean)
DMX_BUFFER(5, writeonly, float, rstd)

#include "rows.glsl"

void main()
{
    uint row = row_index(), lane = row_lane(), cols = uint(pc.cols);
    bool live = row < uint(pc.rows);
    uint at = pc.off[0] + row * cols;
    float s = 0.0;
    if (live)
        for (uint c = lane; c < cols; c += LANES)
            s += x[at + c];
    float total = row_sum(s);
    float mu = cols > 0 ? total / float(cols) : 0.0;
    float q = 0.0;
    if (live)
        for (uint c = lane; c < cols; c += LANES) {
            float d = x[at + c] - mu;
            q += d * d;
        }
    total = row_sum(q);
    float rs = 1.0 / sqrt((cols > 0 ? total / float(cols) : 0.0) + pc.eps);
    if (!live)
        return;
    for (uint c = lane; c < cols; c += LANES)
        y[pc.off[3] + row * cols + c] =
            (x[at + c] - mu) * rs * gamma[pc.off[1] + c] + beta[pc.off[2] + c];
    if (lane == 0) {
        mean[pc.off[4] + row] = mu;
        rstd[pc.off[5] + row] = rs;
    }
}
