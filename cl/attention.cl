/* Fused multi-head attention (ATTENTION, ATTENTION_BWD in host/ops/op_params.h).
 *
 * One work-item per query row r = (b * heads + h) * seq + i (forward, dq) or key row (dk, dv)
 * of a (batch, head) pair; a work-group takes `group_rows` consecutive rows (DMX_WG unless the
 * pairs they span would not fit the tiles), which span at most `pairs` pairs. The other side
 * of the product (keys and values forward and for dq; queries and output gradients for dk and
 * dv) streams through local memory in tiles of `tile` positions of every pair the work-group
 * touches, each element loaded from global memory once per work-group; the S x S scores exist
 * only one at a time, in registers. The forward keeps a running max and rescales (one pass
 * over the keys); the backward recomputes each probability from the saved log-sum-exp. A row
 * of o, dq, dk or dv is held in private memory (head_dim <= DMX_ATTN_MAX_DH). The host picks
 * group_rows, pairs and tile (host/opencl/cl_attention.c) so that pairs * tile * head_dim <=
 * DMX_ATTN_TILE. */

#define DMX_ATTN_MAX_DH 64
#define DMX_ATTN_TILE 2048

/* The (batch, head) pair of row r and its position in the pair. */
inline long attn_pair(long r, int seq, int *pos)
{
    long i = 0;
    const long pair = dmx_split_long(r, seq, &i);
    *pos = (int)i;
    return pair;
}

/* Element 0 of position `pos` of pair `pair` in a [batch, seq, heads * dh] tensor. */
inline long attn_at(long pair, int pos, int seq, int heads, int dh)
{
    long h = 0;
    const long b = dmx_split_long(pair, heads, &h);
    return (b * seq + pos) * heads * dh + h * dh;
}

/* This work-item's row in its work-group (the group's first `group_rows` items have one; the
 * others only help load tiles): r, its pair and position, the group's first pair, the pair's
 * index among the group's tiles, and element 0 of the row in q, k, v, o. */
typedef struct attn_row {
    long r, pair, pair0, n_pairs, at;
    int pos, local_pair, live;
} attn_row;

inline attn_row attn_row_of(int rows, int seq, int heads, int dh, int group_rows)
{
    attn_row w;
    const int lid = get_local_id(0);
    const long r0 = (long)get_group_id(0) * group_rows;
    w.r = r0 + lid;
    w.live = lid < group_rows && w.r < rows;
    w.pair0 = r0 / seq;
    w.n_pairs = rows / seq;
    w.pair = attn_pair(w.live ? w.r : r0, seq, &w.pos);
    w.local_pair = (int)(w.pair - w.pair0);
    w.at = attn_at(w.pair, w.pos, seq, heads, dh);
    return w;
}

/* Positions [t0, t0 + tile) of the pairs [pair0, pair0 + pairs) of x into local memory,
 * [pair][position][dh], zeros past the tensor; every work-item of the group calls it. */
inline void attn_load_tile(__global const float *x, __local float *dst, long pair0, int pairs,
                           long n_pairs, int t0, int tile, int seq, int heads, int dh)
{
    const int n = pairs * tile * dh;
    for (int e = get_local_id(0); e < n; e += DMX_WG) {
        int rem = 0, c = 0;
        const int p = dmx_split(e, tile * dh, &rem);
        const int k = dmx_split(rem, dh, &c);
        const long pair = pair0 + p;
        const int pos = t0 + k;
        dst[e] = pair < n_pairs && pos < seq ? x[attn_at(pair, pos, seq, heads, dh) + c] : 0.0f;
    }
}

inline float attn_dot_local(const float *x, __local const float *y, int n)
{
    float s = 0.0f;
    for (int c = 0; c < n; c++)
        s += x[c] * y[c];
    return s;
}

DMX_KERNEL void attention_fwd(__global const float *q, ulong q_off, __global const float *k,
                              ulong k_off, __global const float *v, ulong v_off,
                              __global const float *mask, ulong mask_off, __global float *o,
                              ulong o_off, __global float *stats, ulong stats_off, int rows,
                              int seq, int heads, int dh, float scale, int has_mask,
                              int group_rows, int pairs, int tile)
{
    __local float kt[DMX_ATTN_TILE], vt[DMX_ATTN_TILE];
    const attn_row w = attn_row_of(rows, seq, heads, dh, group_rows);
    const long r = w.r, pair = w.pair, pair0 = w.pair0, n_pairs = w.n_pairs, at = w.at;
    const int live = w.live, pl = w.local_pair;
    __global const float *m = has_mask ? mask + mask_off + pair / heads * seq : 0;
    q += q_off, k += k_off, v += v_off;
    float qi[DMX_ATTN_MAX_DH], acc[DMX_ATTN_MAX_DH];
    for (int c = 0; c < dh; c++) {
        qi[c] = live ? q[at + c] : 0.0f;
        acc[c] = 0.0f;
    }
    float zmax = -INFINITY, sum = 0.0f;
    for (int t0 = 0; t0 < seq; t0 += tile) {
        attn_load_tile(k, kt, pair0, pairs, n_pairs, t0, tile, seq, heads, dh);
        attn_load_tile(v, vt, pair0, pairs, n_pairs, t0, tile, seq, heads, dh);
        barrier(CLK_LOCAL_MEM_FENCE);
        const int n = live ? min(tile, seq - t0) : 0;
        for (int jj = 0; jj < n; jj++) {
            const float mj = m ? m[t0 + jj] : 0.0f;
            if (mj <= DMX_MASK_REMOVED)
                continue;
            __local const float *kj = kt + (pl * tile + jj) * dh, *vj = vt + (pl * tile + jj) * dh;
            const float z = scale * attn_dot_local(qi, kj, dh) + mj;
            if (z > zmax) { /* a new max: rescale what was summed so far */
                const float shrink = exp(zmax - z);
                sum *= shrink;
                for (int c = 0; c < dh; c++)
                    acc[c] *= shrink;
                zmax = z;
            }
            const float e = exp(z - zmax);
            sum += e;
            for (int c = 0; c < dh; c++)
                acc[c] += e * vj[c];
        }
        barrier(CLK_LOCAL_MEM_FENCE); /* before the next tile overwrites these */
    }
    if (!live)
        return;
    const int none = zmax == -INFINITY; /* every key removed: zeros */
    const float inv = none ? 0.0f : 1.0f / sum;
    for (int c = 0; c < dh; c++)
        o[o_off + at + c] = acc[c] * inv;
    stats[stats_off + 2 * r] = none ? 0.0f : zmax + log(sum);
    stats[stats_off + 2 * r + 1] = 0.0f;
}

/* stats[.., 1] = do_i . o_i */
DMX_KERNEL void attention_delta(__global const float *o, ulong o_off, __global const float *dout,
                                ulong do_off, __global float *stats, ulong stats_off, int rows,
                                int seq, int heads, int dh)
{
    const long r = get_global_id(0);
    if (r >= rows)
        return;
    int i = 0;
    const long at = attn_at(attn_pair(r, seq, &i), i, seq, heads, dh);
    float s = 0.0f;
    for (int c = 0; c < dh; c++)
        s += dout[do_off + at + c] * o[o_off + at + c];
    stats[stats_off + 2 * r + 1] = s;
}

/* dq_i (+)= scale sum_j P_ij (do_i . v_j - delta_i) k_j, keys and values through tiles. */
DMX_KERNEL void attention_bwd_q(__global const float *q, ulong q_off, __global const float *k,
                                ulong k_off, __global const float *v, ulong v_off,
                                __global const float *mask, ulong mask_off,
                                __global const float *dout, ulong do_off,
                                __global const float *stats, ulong stats_off, __global float *dq,
                                ulong dq_off, int rows, int seq, int heads, int dh, float scale,
                                int has_mask, int accumulate, int group_rows, int pairs,
                                int tile)
{
    __local float kt[DMX_ATTN_TILE], vt[DMX_ATTN_TILE];
    const attn_row w = attn_row_of(rows, seq, heads, dh, group_rows);
    const long r = w.r, pair = w.pair, pair0 = w.pair0, n_pairs = w.n_pairs, at = w.at;
    const int live = w.live, pl = w.local_pair;
    __global const float *m = has_mask ? mask + mask_off + pair / heads * seq : 0;
    q += q_off, k += k_off, v += v_off, dout += do_off;
    const float lse = live ? stats[stats_off + 2 * r] : 0.0f;
    const float delta = live ? stats[stats_off + 2 * r + 1] : 0.0f;
    float qi[DMX_ATTN_MAX_DH], doi[DMX_ATTN_MAX_DH], acc[DMX_ATTN_MAX_DH];
    for (int c = 0; c < dh; c++) {
        qi[c] = live ? q[at + c] : 0.0f;
        doi[c] = live ? dout[at + c] : 0.0f;
        acc[c] = 0.0f;
    }
    for (int t0 = 0; t0 < seq; t0 += tile) {
        attn_load_tile(k, kt, pair0, pairs, n_pairs, t0, tile, seq, heads, dh);
        attn_load_tile(v, vt, pair0, pairs, n_pairs, t0, tile, seq, heads, dh);
        barrier(CLK_LOCAL_MEM_FENCE);
        const int n = live ? min(tile, seq - t0) : 0;
        for (int jj = 0; jj < n; jj++) {
            const float mj = m ? m[t0 + jj] : 0.0f;
            if (mj <= DMX_MASK_REMOVED)
                continue;
            __local const float *kj = kt + (pl * tile + jj) * dh, *vj = vt + (pl * tile + jj) * dh;
            const float P = exp(scale * attn_dot_local(qi, kj, dh) + mj - lse);
            const float dS = P * (attn_dot_local(doi, vj, dh) - delta);
            for (int c = 0; c < dh; c++)
                acc[c] += dS * kj[c];
        }
        barrier(CLK_LOCAL_MEM_FENCE);
    }
    if (!live)
        return;
    __global float *g = dq + dq_off + at;
    for (int c = 0; c < dh; c++)
        g[c] = accumulate ? g[c] + scale * acc[c] : scale * acc[c];
}

/* dk_j (+)= scale sum_i dS_ij q_i, dv_j (+)= sum_i P_ij do_i, one work-item per key row j,
 * queries and output gradients through tiles; a removed key gets zeros. */
DMX_KERNEL void attention_bwd_kv(__global const float *q, ulong q_off, __global const float *k,
                                 ulong k_off, __global const float *v, ulong v_off,
                                 __global const float *mask, ulong mask_off,
                                 __global const float *dout, ulong do_off,
                                 __global const float *stats, ulong stats_off,
                                 __global float *dk, ulong dk_off, __global float *dv,
                                 ulong dv_off, int rows, int seq, int heads, int dh, float scale,
                                 int has_mask, int accumulate_k, int accumulate_v, int group_rows,
                                 int pairs, int tile)
{
    __local float qt[DMX_ATTN_TILE], dt[DMX_ATTN_TILE];
    const attn_row w = attn_row_of(rows, seq, heads, dh, group_rows);
    const long r = w.r, pair = w.pair, pair0 = w.pair0, n_pairs = w.n_pairs, at = w.at;
    const int live = w.live, pl = w.local_pair;
    const int j = w.pos;
    __global const float *st = stats + stats_off + 2 * pair * seq; /* query row 0 of the pair */
    const float mj = has_mask && live ? mask[mask_off + pair / heads * seq + j] : 0.0f;
    const int keep = live && !(mj <= DMX_MASK_REMOVED);
    q += q_off, k += k_off, v += v_off, dout += do_off;
    float kj[DMX_ATTN_MAX_DH], vj[DMX_ATTN_MAX_DH], gk[DMX_ATTN_MAX_DH], gv[DMX_ATTN_MAX_DH];
    for (int c = 0; c < dh; c++) {
        kj[c] = live ? k[at + c] : 0.0f;
        vj[c] = live ? v[at + c] : 0.0f;
        gk[c] = gv[c] = 0.0f;
    }
    for (int t0 = 0; t0 < seq; t0 += tile) {
        attn_load_tile(q, qt, pair0, pairs, n_pairs, t0, tile, seq, heads, dh);
        attn_load_tile(dout, dt, pair0, pairs, n_pairs, t0, tile, seq, heads, dh);
        barrier(CLK_LOCAL_MEM_FENCE);
        const int n = keep ? min(tile, seq - t0) : 0;
        for (int ii = 0; ii < n; ii++) {
            __local const float *qi = qt + (pl * tile + ii) * dh, *di = dt + (pl * tile + ii) * dh;
            const float P = exp(scale * attn_dot_local(kj, qi, dh) + mj - st[2 * (t0 + ii)]);
            const float dS = P * (attn_dot_local(vj, di, dh) - st[2 * (t0 + ii) + 1]);
            for (int c = 0; c < dh; c++) {
                gk[c] += dS * qi[c];
                gv[c] += P * di[c];
            }
        }
        barrier(CLK_LOCAL_MEM_FENCE);
    }
    if (!live)
        return;
    __global float *ok = dk + dk_off + at, *ov = dv + dv_off + at;
    for (int c = 0; c < dh; c++) {
        ok[c] = accumulate_k ? ok[c] + scale * gk[c] : scale * gk[c];
        ov[c] = accumulate_v ? ov[c] + gv[c] : gv[c];
    }
}
