#version 450
#extension GL_GOOGLE_include_directive : require
#include "common.glsl"

// LAYERNORM backward, the input gradient: with xhat = (x - mean) rstd and g = dy gamma,
// dx (+)= rstd (g - mean_c(g) - xhat mean_c(g xhat)). (layernorm_bwd_params does dgamma, dbeta.)
DMX_PUSH(int rows; int cols; float eps; int accumulate;)
DMX_BUFFER(0, readonly, float, dy)
DMX_BUFFER(1, readonly, float, x)
DMX_BUFFER(2, readonly, float, gamma)
DMX_BUFFER(3, readonly, float, mean)
DMX_BUFFER(4, readonly, float, rstd)
DMX_BUFFER(5, , float, dx)

#include "rows.glsl"

void main()
{
    uint row = row_index(), lane = row_lane(), cols = uint(pc.cols);
    bool live = row < uint(pc.rows);
    uint at = row * cols;
    float mu = live ? mean[pc.off[3] + row] : 0.0, rs = live ? rstd[pc.off[4] + row] : 0.0;
    float s1 = 0.0, s2 = 0.0;
    if (live)
        for (uint c = lane; c < cols; c += LANES) {
            float g = dy[pc.off[0] + at + c] * gamma[pc.off[2] + c];
            s1 += g;
            s2 += g * (x[pc.off[1] + at + c] - mu) * rs;
        }
    float mg = row_sum(s1), mgx = row_sum(s2);
    if (!live || cols == 0)
        return;
    mg /= float(cols);
    mgx /= float(cols);
    for (uint c = lane; c < cols; c += LANES) {
        float g = dy[pc.off[0] + at + c] * gamma[pc.off[2] + c];
        float xhat = (x[pc.off[1] + at + c] - mu) * rs;
        float v = rs * (g - mg - xhat * mgx);
        uint o = pc.off[5] + at + c;
        dx[o] = pc.accumulate != 0 ? dx[o] + v : v;
    }
}
