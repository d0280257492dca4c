/* LayerNorm over the last axis of x [rows, cols], forward and backward.
 * Row statistics: one work-group per row, two passes (mean, then the centred sum of squares),
 * each a work-group tree. Parameter gradients: column sums over rows, owned like sum_rows
 * (32 columns x DMX_WG/32 row lanes per group, chunks of rows added in order by a second
 * kernel), so no float atomics and a fixed order. */

DMX_KERNEL void layernorm_fwd(__global const float *x, ulong x_off, __global const float *gamma,
                              ulong g_off, __global const float *beta, ulong b_off,
                              __global float *y, ulong y_off, __global float *mean, ulong m_off,
                              __global float *rstd, ulong r_off, int cols, float eps)
{
    __local float red[DMX_WG];
    const int lid = get_local_id(0);
    const long r = get_group_id(0);
    x += x_off + r * cols;
    y += y_off + r * cols;
    gamma += g_off;
    beta += b_off;
    float s = 0.0f;
    for (int c = lid; c < cols; c += DMX_WG)
        s += x[c];
    const float mu = cols > 0 ? dmx_wg_sum(s, red) / cols : 0.0f;
    float sq = 0.0f;
    for (int c = lid; c < cols; c += DMX_WG)
        sq += (x[c] - mu) * (x[c] - mu);
    const float var = cols > 0 ? dmx_wg_sum(sq, red) / cols : 0.0f;
    const float rs = 1.0f / sqrt(var + eps);
    for (int c = lid; c < cols; c += DMX_WG)
        y[c] = (x[c] - mu) * rs * gamma[c] + beta[c];
    if (lid == 0) {
        mean[m_off + r] = mu;
        rstd[r_off + r] = rs;
    }
}

/* dx (+)= rstd (g - mean_c(g) - xhat mean_c(g xhat)), g = dy gamma. */
DMX_KERNEL void layernorm_bwd_x(__global const float *dy, ulong dy_off, __global const float *x,
                                ulong x_off, __global const float *gamma, ulong g_off,
                                __global const float *mean, ulong m_off,
                                __global const float *rstd, ulong r_off, __global float *dx,
                                ulong dx_off, int cols, int accumulate)
{
    __local float red[DMX_WG];
    const int lid = get_local_id(0);
    const long r = get_group_id(0);
    dy += dy_off + r * cols;
    x += x_off + r * cols;
    dx += dx_off + r * cols;
    gamma += g_off;
    const float mu = mean[m_off + r], rs = rstd[r_off + r];
    float sg = 0.0f, sgx = 0.0f;
    for (int c = lid; c < cols; c += DMX_WG) {
        const float g = dy[c] * gamma[c];
        sg += g;
        sgx += g * (x[c] - mu) * rs;
    }
    const float mg = dmx_wg_sum(sg, red) / cols;
    const float mgx = dmx_wg_sum(sgx, red) / cols;
    for (int c = lid; c < cols; c += DMX_WG) {
        const float xhat = (x[c] - mu) * rs;
        const float v = rs * (dy[c] * gamma[c] - mg - xhat * mgx);
        dx[c] = accumulate ? dx[c] + v : v;
    }
}

/* Sums dy xhat and dy over a chunk of rows for 32 columns. With one chunk (direct) it adds
 * them to dgamma and dbeta; otherwise it writes partial[chunk][0 | 1][cols]. */
DMX_KERNEL void layernorm_bwd_params(__global const float *dy, ulong dy_off,
                                     __global const float *x, ulong x_off,
                                     __global const float *mean, ulong m_off,
                                     __global const float *rstd, ulong r_off,
                                     __global float *dgamma, ulong dg_off, __global float *dbeta,
                                     ulong db_off, __global float *partial, ulong p_off, int rows,
                                     int cols, int rows_per_chunk, int direct)
{
    __local float part_g[DMX_WG], part_b[DMX_WG];
    dy += dy_off;
    x += x_off;
    mean += m_off;
    rstd += r_off;
    const int lid = get_local_id(0);
    const int col_tiles = (cols + DMX_COLS_TILE - 1) / DMX_COLS_TILE;
    int tile, col, lane = dmx_split(lid, DMX_COLS_TILE, &col);
    const int chunk = dmx_split(get_group_id(0), col_tiles, &tile);
    const int c = tile * DMX_COLS_TILE + col;
    const int r_end = min(rows, (chunk + 1) * rows_per_chunk);
    float sg = 0.0f, sb = 0.0f;
    if (c < cols)
        for (int r = chunk * rows_per_chunk + lane; r < r_end; r += DMX_ROW_LANES) {
            const long at = (long)r * cols + c;
            sg += dy[at] * ((x[at] - mean[r]) * rstd[r]);
            sb += dy[at];
        }
    part_g[lid] = sg;
    part_b[lid] = sb;
    barrier(CLK_LOCAL_MEM_FENCE);
    dmx_reduce_lanes(part_g);
    dmx_reduce_lanes(part_b);
    if (lid < DMX_COLS_TILE && c < cols) {
        if (direct) {
            dgamma[dg_off + c] += part_g[lid];
            dbeta[db_off + c] += part_b[lid];
        } else {
            partial[p_off + (2L * chunk) * cols + c] = part_g[lid];
            partial[p_off + (2L * chunk + 1) * cols + c] = part_b[lid];
        }
    }
}

DMX_KERNEL void layernorm_bwd_params_finish(__global const float *partial, ulong p_off,
                                            __global float *dgamma, ulong dg_off,
                                            __global float *dbeta, ulong db_off, int chunks,
                                            int cols)
{
    partial += p_off;
    const int c = get_global_id(0);
    if (c >= cols)
        return;
    float sg = 0.0f, sb = 0.0f;
    for (int k = 0; k < chunks; k++) {
        sg += partial[(2L * k) * cols + c];
        sb += partial[(2L * k + 1) * cols + c];
    }
    dgamma[dg_off + c] += sg;
    dbeta[db_off + c] += sb;
}
