/* Cross-entropy with label smoothing over logits z [rows, K], one work-group per row:
 * max, log-sum-exp and the target-weighted sum as work-group trees.
 * t_k = (1 - smoothing) [k = label] + smoothing / K. A label outside [0, K) gives NaN. */

/* log sum_k exp(z_k) of one row (every work-item gets it). */
inline float dmx_row_logsumexp(__global const float *z, int K, __local float *red)
{
    const int lid = get_local_id(0);
    float zmax = -INFINITY;
    for (int k = lid; k < K; k += DMX_WG)
        zmax = fmax(zmax, z[k]);
    zmax = dmx_wg_max(zmax, red);
    float s = 0.0f;
    for (int k = lid; k < K; k += DMX_WG)
        s += exp(z[k] - zmax);
    return zmax + log(dmx_wg_sum(s, red));
}

/* loss_r = -sum_k t_k (z_k - lse). */
DMX_KERNEL void cross_entropy_fwd(__global const float *z, ulong z_off, __global const int *labels,
                                  ulong l_off, __global float *loss, ulong loss_off, int K,
                                  float smoothing)
{
    __local float red[DMX_WG];
    const int lid = get_local_id(0);
    const long r = get_group_id(0);
    z += z_off + r * K;
    const int label = labels[l_off + r];
    if (label < 0 || label >= K) { /* uniform over the group: no barrier is skipped */
        if (lid == 0)
            loss[loss_off + r] = NAN;
        return;
    }
    const float lse = dmx_row_logsumexp(z, K, red);
    const float off = smoothing / K, on = 1.0f - smoothing + off;
    float acc = 0.0f;
    for (int k = lid; k < K; k += DMX_WG)
        acc += (k == label ? on : off) * (z[k] - lse);
    acc = dmx_wg_sum(acc, red);
    if (lid == 0)
        loss[loss_off + r] = -acc;
}

/* dz_r (+)= dloss[0] * scale * (softmax(z_r) - t_r). */
DMX_KERNEL void cross_entropy_bwd(__global const float *z, ulong z_off, __global const int *labels,
                                  ulong l_off, __global const float *dloss, ulong d_off,
                                  __global float *dz, ulong dz_off, int K, float smoothing,
                                  float scale, int accumulate)
{
    __local float red[DMX_WG];
    const int lid = get_local_id(0);
    const long r = get_group_id(0);
    z += z_off + r * K;
    dz += dz_off + r * K;
    const int label = labels[l_off + r];
    const float g = dloss[d_off] * scale;
    const float lse = dmx_row_logsumexp(z, K, red);
    const float off = smoothing / K, on = 1.0f - smoothing + off;
    const bool bad = label < 0 || label >= K;
    for (int k = lid; k < K; k += DMX_WG) {
        const float v = bad ? NAN : g * (exp(z[k] - lse) - (k == label ? on : off));
        dz[k] = accumulate ? dz[k] + v : v;
    }
}
