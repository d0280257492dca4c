/* Row softmax of scale * x + mask, and its backward; one work-group per row, each work-item
 * striding over the row, max and sums as work-group trees.
 * Entries with mask <= DMX_MASK_REMOVED are removed: probability 0, not part of the max or
 * the sum (so -1e30 and -inf masks are safe); a row with every entry removed is all zeros. */

DMX_KERNEL void softmax_fwd(__global const float *x, ulong x_off, __global const float *mask,
                            ulong mask_off, __global float *y, ulong y_off, int cols, float scale,
                            int has_mask, int mask_group)
{
    __local float red[DMX_WG];
    const int lid = get_local_id(0);
    const long r = get_group_id(0);
    x += x_off + r * cols;
    y += y_off + r * cols;
    __global const float *m = has_mask ? mask + mask_off + (r / mask_group) * cols : 0;

    float zmax = -INFINITY;
    for (int c = lid; c < cols; c += DMX_WG) {
        const float mc = m ? m[c] : 0.0f;
        if (!(mc <= DMX_MASK_REMOVED))
            zmax = fmax(zmax, scale * x[c] + mc);
    }
    zmax = dmx_wg_max(zmax, red);
    /* Every entry removed, or all -inf: the row is zeros. No early return: every work-item
       must reach the barriers of dmx_wg_sum below (PoCL's default work-group compilation
       corrupts memory when some return before a barrier, even uniformly). */
    const bool empty = zmax == -INFINITY;
    float sum = 0.0f;
    for (int c = lid; c < cols; c += DMX_WG) {
        const float mc = m ? m[c] : 0.0f;
        const float e = empty || mc <= DMX_MASK_REMOVED ? 0.0f : exp(scale * x[c] + mc - zmax);
        y[c] = e;
        sum += e;
    }
    const float total = dmx_wg_sum(sum, red);
    const float inv = empty ? 0.0f : 1.0f / total;
    /* Each work-item rescales the entries it wrote itself: no barrier needed. */
    for (int c = lid; c < cols; c += DMX_WG)
        y[c] *= inv;
}

/* dx (+)= scale * y * (dy - sum_c dy_c y_c). */
DMX_KERNEL void softmax_bwd(__global const float *y, ulong y_off, __global const float *dy,
                            ulong dy_off, __global float *dx, ulong dx_off, int cols, float scale,
                            int accumulate)
{
    __local float red[DMX_WG];
    const int lid = get_local_id(0);
    const long r = get_group_id(0);
    y += y_off + r * cols;
    dy += dy_off + r * cols;
    dx += dx_off + r * cols;
    float dot = 0.0f;
    for (int c = lid; c < cols; c += DMX_WG)
        dot += dy[c] * y[c];
    dot = dmx_wg_sum(dot, red);
    for (int c = lid; c < cols; c += DMX_WG) {
        const float v = scale * y[c] * (dy[c] - dot);
        dx[c] = accumulate ? dx[c] + v : v;
    }
}
