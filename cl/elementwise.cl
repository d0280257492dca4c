/* Elementwise ops (fill, add, mul, scale, axpy, add_row) and sum_rows.
 * The flat ops handle 4 consecutive elements per work-item with vector loads (vload4 needs
 * only element alignment); the last partial quad goes element by element. Outputs may alias
 * an input exactly (each work-item reads its elements before writing them). */

DMX_KERNEL void fill(__global uint *y, ulong y_off, int n, uint bits)
{
    y += y_off;
    const long i = (long)get_global_id(0) * 4;
    if (i + 4 <= n)
        vstore4((uint4)(bits), 0, y + i);
    else
        for (long k = i; k < n; k++)
            y[k] = bits;
}

DMX_KERNEL void add(__global const float *a, ulong a_off, __global const float *b, ulong b_off,
                    __global float *y, ulong y_off, int n)
{
    a += a_off;
    b += b_off;
    y += y_off;
    const long i = (long)get_global_id(0) * 4;
    if (i + 4 <= n)
        vstore4(vload4(0, a + i) + vload4(0, b + i), 0, y + i);
    else
        for (long k = i; k < n; k++)
            y[k] = a[k] + b[k];
}

/* y (+)= a * b; with accumulate = 0, y is not read. */
DMX_KERNEL void mul(__global const float *a, ulong a_off, __global const float *b, ulong b_off,
                    __global float *y, ulong y_off, int n, int accumulate)
{
    a += a_off;
    b += b_off;
    y += y_off;
    const long i = (long)get_global_id(0) * 4;
    if (i + 4 <= n) {
        float4 v = vload4(0, a + i) * vload4(0, b + i);
        if (accumulate)
            v = vload4(0, y + i) + v;
        vstore4(v, 0, y + i);
    } else {
        for (long k = i; k < n; k++)
            y[k] = accumulate ? y[k] + a[k] * b[k] : a[k] * b[k];
    }
}

/* CLIP_SCALE: x *= numerator / g when g = norm[0] exceeds threshold (op_params.h). */
DMX_KERNEL void clip_scale(__global const float *norm, ulong norm_off, __global float *x,
                           ulong x_off, int n, float threshold, float numerator)
{
    const float g = norm[norm_off];
    if (!(g > threshold))
        return;
    const float f = numerator / g;
    x += x_off;
    const long i = (long)get_global_id(0) * 4;
    if (i + 4 <= n)
        vstore4(f * vload4(0, x + i), 0, x + i);
    else
        for (long k = i; k < n; k++)
            x[k] = f * x[k];
}

/* CLIP_SCALE_BWD: dnorm (+)= (-(numerator / g) / g) dot when g > threshold, else (+)= 0. */
DMX_KERNEL void clip_scale_bwd(__global const float *norm, ulong norm_off,
                               __global const float *dot, ulong dot_off, __global float *dnorm,
                               ulong dnorm_off, float threshold, float numerator, int accumulate)
{
    if (get_global_id(0) != 0)
        return;
    const float g = norm[norm_off];
    const float d = g > threshold ? (-(numerator / g) / g) * dot[dot_off] : 0.0f;
    dnorm[dnorm_off] = accumulate ? dnorm[dnorm_off] + d : d;
}

DMX_KERNEL void scale(__global const float *x, ulong x_off, __global float *y, ulong y_off, int n,
                      float alpha)
{
    x += x_off;
    y += y_off;
    const long i = (long)get_global_id(0) * 4;
    if (i + 4 <= n)
        vstore4(alpha * vload4(0, x + i), 0, y + i);
    else
        for (long k = i; k < n; k++)
            y[k] = alpha * x[k];
}

DMX_KERNEL void axpy(__global const float *x, ulong x_off, __global float *y, ulong y_off, int n,
                     float alpha)
{
    x += x_off;
    y += y_off;
    const long i = (long)get_global_id(0) * 4;
    if (i + 4 <= n)
        vstore4(vload4(0, y + i) + alpha * vload4(0, x + i), 0, y + i);
    else
        for (long k = i; k < n; k++)
            y[k] += alpha * x[k];
}

/* y[r, c] = x[r, c] + b[c], one element per work-item. */
DMX_KERNEL void add_row(__global const float *x, ulong x_off, __global const float *b,
                        ulong b_off, __global float *y, ulong y_off, int rows, int cols)
{
    x += x_off;
    b += b_off;
    y += y_off;
    const long i = get_global_id(0);
    if (i < (long)rows * cols)
        y[i] = x[i] + b[i % cols];
}

/* ---- column sums over rows: [rows, cols] -> [cols] ----
 * A work-group owns 32 columns (coalesced) and DMX_WG / 32 row lanes; lane l sums the rows
 * r = l, l + lanes, ... of its chunk in order, then the lanes are added as a fixed tree.
 * With one chunk the group writes the result; with several it writes a partial row per chunk
 * and sum_rows_finish adds the chunks in order. (DMX_COLS_TILE, dmx_reduce_lanes: common.cl.) */
DMX_KERNEL void sum_rows_partial(__global const float *x, ulong x_off, __global float *out,
                                 ulong out_off, int rows, int cols, int rows_per_chunk,
                                 int direct, float scale, int accumulate)
{
    __local float part[DMX_WG];
    x += x_off;
    out += out_off;
    const int lid = get_local_id(0);
    const int col_tiles = (cols + DMX_COLS_TILE - 1) / DMX_COLS_TILE;
    int tile, col, lane = dmx_split(lid, DMX_COLS_TILE, &col);
    const int chunk = dmx_split(get_group_id(0), col_tiles, &tile);
    const int c = tile * DMX_COLS_TILE + col;
    const int r_end = min(rows, (chunk + 1) * rows_per_chunk);
    float acc = 0.0f;
    if (c < cols)
        for (int r = chunk * rows_per_chunk + lane; r < r_end; r += DMX_ROW_LANES)
            acc += x[(long)r * cols + c];
    part[lid] = acc;
    barrier(CLK_LOCAL_MEM_FENCE);
    dmx_reduce_lanes(part);
    if (lid < DMX_COLS_TILE && c < cols) {
        if (direct)
            out[c] = accumulate ? out[c] + scale * part[lid] : scale * part[lid];
        else
            out[(long)chunk * cols + c] = part[lid];
    }
}

/* y[c] (+)= scale * sum_k partial[k, c], chunks in order. */
DMX_KERNEL void sum_rows_finish(__global const float *partial, ulong p_off, __global float *y,
                                ulong y_off, int chunks, int cols, float scale, int accumulate)
{
    partial += p_off;
    y += y_off;
    const int c = get_global_id(0);
    if (c >= cols)
        return;
    float s = 0.0f;
    for (int k = 0; k < chunks; k++)
        s += partial[(long)k * cols + c];
    y[c] = accumulate ? y[c] + scale * s : scale * s;
}
