#version 450
#extension GL_GOOGLE_include_directive : require
#include "common.glsl"

// CROSS_ENTROPY backward: dz (+)= dloss[0] scale (softmax(z) - t), t = (1 - eps) onehot + eps/K;
// a row whose label is outside [0, K) gets NaN.
DMX_PUSH(int rows; int cols; float smoothing; float scale; int accumulate;)
DMX_BUFFER(0, readonly, float, z)
DMX_BUFFER(1, readonly, int, labels)
DMX_BUFFER(2, readonly, float, dloss)
DMX_BUFFER(3, , float, dz)

#include "rows.glsl"

void main()
{
    uint row = row_index(), lane = row_lane(), K = uint(pc.cols);
    bool live = row < uint(pc.rows);
    uint at = row * K;
    float mx = -1.0 / 0.0;
    if (live)
        for (uint c = lane; c < K; c += LANES)
            if (z[pc.off[0] + at + c] > mx)
                mx = z[pc.off[0] + at + c];
    mx = row_max(mx);
    float s = 0.0;
    if (live)
        for (uint c = lane; c < K; c += LANES)
            s += exp(z[pc.off[0] + at + c] - mx);
    s = row_sum(s);
    if (!live)
        return;
    int label = labels[pc.off[1] + row];
    bool valid = label >= 0 && uint(label) < K;
    float g = dloss[pc.off[2]] * pc.scale, inv = 1.0 / s;
    float off_target = pc.smoothing / float(K), on_target = 1.0 - pc.smoothing + off_target;
    for (uint c = lane; c < K; c += LANES) {
        float t = valid && uint(label) == c ? on_target : off_target;
        float v = valid ? g * (exp(z[pc.off[0] + at + c] - mx) * inv - t) : 0.0 / 0.0;
        uint o = pc.off[3] + at + c;
        dz[o] = pc.accumulate != 0 ? dz[o] + v : v;
    }
}
