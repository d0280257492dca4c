#version 450
#extension GL_GOOGLE_include_directive : require
#include "common.glsl"

// CROSS_ENTROPY with label smoothing over logits z [rows, K]: loss_r = -sum_k t_k log
// softmax(z_r)_k with t = (1 - eps) onehot(label) + eps / K; NaN for a label outside [0, K).
// Since sum_k t_k = 1 this is (1 - eps) (lse - z_label) + eps (lse - mean z), and
// lse - z_label = (max - z_label) + log1p(sum over the non-maximal entries of exp(z - max)):
// no cancellation when the loss is small.
DMX_PUSH(int rows; int cols; float smoothing; float scale; int accumulate;)
DMX_BUFFER(0, readonly, float, z)
DMX_BUFFER(1, readonly, int, labels)
DMX_BUFFER(2, writeonly, float, loss)

#include "rows.glsl"

// log(1 + v) accurate for small v (the rounding of 1 + v corrected).
float log1p_accurate(float v)
{
    float u = 1.0 + v;
    return u == 1.0 ? v : log(u) * (v / (u - 1.0));
}

void main()
{
    uint row = row_index(), lane = row_lane(), K = uint(pc.cols);
    bool live = row < uint(pc.rows);
    uint at = pc.off[0] + row * K;
    float mx = -1.0 / 0.0;
    if (live)
        for (uint c = lane; c < K; c += LANES)
            if (z[at + c] > mx)
                mx = z[at + c];
    mx = row_max(mx);
    // exp(z - max) of everything but the maxima, and how many maxima there are past the first
    float rest = 0.0, ties = 0.0, sum_z = 0.0;
    if (live)
        for (uint c = lane; c < K; c += LANES) {
            float v = z[at + c];
            sum_z += v;
            if (v == mx)
                ties += 1.0;
            else
                rest += exp(v - mx);
        }
    rest = row_sum(rest);
    ties = row_sum(ties);
    sum_z = row_sum(sum_z);
    if (!live || lane != 0)
        return;
    int label = labels[pc.off[1] + row];
    float v = 0.0 / 0.0;
    // A +inf logit makes the CPU's log-sum-exp inf - inf: NaN, whatever the label.
    if (label >= 0 && uint(label) < K && !(isinf(mx) && mx > 0.0)) {
        float log_sum = log1p_accurate(rest + max(ties - 1.0, 0.0));
        float eps = pc.smoothing;
        // Each part only where its weight is not 0 (0 log 0 = 0: a -inf logit adds nothing).
        v = 0.0;
        if (eps != 1.0)
            v += (1.0 - eps) * ((mx - z[at + uint(label)]) + log_sum);
        if (eps != 0.0)
            v += eps * ((mx - sum_z / float(K)) + log_sum);
    }
    loss[pc.off[2] + row] = v;
}
