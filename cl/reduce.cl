/* dot and norm2: sum of x y (or x^2) over n elements in two passes. Group g sums the chunk
 * [g * per_group, (g + 1) * per_group) as a work-group tree; a single group then adds the
 * partial sums as a tree. The grouping depends only on n, so the result is repeatable. */

DMX_KERNEL void reduce_partial(__global const float *x, ulong x_off, __global const float *y,
                               ulong y_off, __global float *out, ulong out_off, int n,
                               int per_group, int direct, int take_sqrt)
{
    __local float red[DMX_WG];
    x += x_off;
    const int lid = get_local_id(0);
    const long start = (long)get_group_id(0) * per_group;
    const long end = min((long)n, start + per_group);
    float s = 0.0f;
    if (y)
        for (long i = start + lid; i < end; i += DMX_WG)
            s += x[i] * y[y_off + i];
    else
        for (long i = start + lid; i < end; i += DMX_WG)
            s += x[i] * x[i];
    s = dmx_wg_sum(s, red);
    if (lid == 0)
        out[out_off + (direct ? 0 : get_group_id(0))] = direct && take_sqrt ? sqrt(s) : s;
}

DMX_KERNEL void reduce_finish(__global const float *partial, ulong p_off, __global float *out,
                              ulong out_off, int groups, int take_sqrt)
{
    __local float red[DMX_WG];
    partial += p_off;
    const int lid = get_local_id(0);
    float s = 0.0f;
    for (int g = lid; g < groups; g += DMX_WG)
        s += partial[g];
    s = dmx_wg_sum(s, red);
    if (lid == 0)
        out[out_off] = take_sqrt ? sqrt(s) : s;
}
