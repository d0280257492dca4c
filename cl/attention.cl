/* Fused multi-head attention (ATTENTION, ATTENTION_BWD in host/ops/op_params.h).
 *
 * One work-item per query row r = (b * heads + h) * seq + i (forward, dq) or key row (dk, dv)
 * of a (batch, head) pair. The work-items of a pair walk the same keys in the same order, so
 * each k_j and v_j load is one address for all of them (served by the cache, not repeated
 * from memory); the S x S scores exist only one at a time in registers. The forward keeps
 * a running max and rescales (one pass over the keys); the backward recomputes each
 * probability from the saved log-sum-exp. A row of o, dq, dk or dv is held in private memory
 * (head_dim <= DMX_ATTN_MAX_DH). */

#define DMX_ATTN_MAX_DH 64

/* The (batch, head) pair and the position of row r. */
inline long attn_pair(long r, int seq, int heads, int *pos, int *head)
{
    long i = 0, h = 0;
    const long bh = dmx_split_long(r, seq, &i);
    const long b = dmx_split_long(bh, heads, &h);
    *pos = (int)i;
    *head = (int)h;
    return b;
}

inline float attn_dot(const float *x, __global const float *y, int n)
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
                              int seq, int heads, int dh, float scale, int has_mask)
{
    const long r = get_global_id(0);
    if (r >= rows)
        return;
    int i, h;
    const long b = attn_pair(r, seq, heads, &i, &h);
    const long ld = (long)heads * dh, base = b * seq * ld + h * dh;
    __global const float *kb = k + k_off + base, *vb = v + v_off + base;
    __global const float *m = has_mask ? mask + mask_off + b * seq : 0;
    float qi[DMX_ATTN_MAX_DH], acc[DMX_ATTN_MAX_DH];
    for (int c = 0; c < dh; c++) {
        qi[c] = q[q_off + base + i * ld + c];
        acc[c] = 0.0f;
    }
    float zmax = -INFINITY, sum = 0.0f;
    for (int j = 0; j < seq; j++) {
        const float mj = m ? m[j] : 0.0f;
        if (mj <= DMX_MASK_REMOVED)
            continue;
        const float z = scale * attn_dot(qi, kb + j * ld, dh) + mj;
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
            acc[c] += e * vb[j * ld + c];
    }
    const int none = zmax == -INFINITY; /* every key removed: zeros */
    const float inv = none ? 0.0f : 1.0f / sum;
    __global float *oi = o + o_off + base + i * ld;
    for (int c = 0; c < dh; c++)
        oi[c] = acc[c] * inv;
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
    int i, h;
    const long b = attn_pair(r, seq, heads, &i, &h);
    const long at = (b * seq + i) * heads * dh + h * dh;
    float s = 0.0f;
    for (int c = 0; c < dh; c++)
        s += dout[do_off + at + c] * o[o_off + at + c];
    stats[stats_off + 2 * r + 1] = s;
}

/* dq_i (+)= scale sum_j P_ij (do_i . v_j - delta_i) k_j */
DMX_KERNEL void attention_bwd_q(__global const float *q, ulong q_off, __global const float *k,
                                ulong k_off, __global const float *v, ulong v_off,
                                __global const float *mask, ulong mask_off,
                                __global const float *dout, ulong do_off,
                                __global const float *stats, ulong stats_off, __global float *dq,
                                ulong dq_off, int rows, int seq, int heads, int dh, float scale,
                                int has_mask, int accumulate)
{
    const long r = get_global_id(0);
    if (r >= rows)
        return;
    int i, h;
    const long b = attn_pair(r, seq, heads, &i, &h);
    const long ld = (long)heads * dh, base = b * seq * ld + h * dh, at = base + i * ld;
    __global const float *kb = k + k_off + base, *vb = v + v_off + base;
    __global const float *m = has_mask ? mask + mask_off + b * seq : 0;
    const float lse = stats[stats_off + 2 * r], delta = stats[stats_off + 2 * r + 1];
    float qi[DMX_ATTN_MAX_DH], doi[DMX_ATTN_MAX_DH], acc[DMX_ATTN_MAX_DH];
    for (int c = 0; c < dh; c++) {
        qi[c] = q[q_off + at + c];
        doi[c] = dout[do_off + at + c];
        acc[c] = 0.0f;
    }
    for (int j = 0; j < seq; j++) {
        const float mj = m ? m[j] : 0.0f;
        if (mj <= DMX_MASK_REMOVED)
            continue;
        const float P = exp(scale * attn_dot(qi, kb + j * ld, dh) + mj - lse);
        const float dS = P * (attn_dot(doi, vb + j * ld, dh) - delta);
        for (int c = 0; c < dh; c++)
            acc[c] += dS * kb[j * ld + c];
    }
    __global float *g = dq + dq_off + at;
    for (int c = 0; c < dh; c++)
        g[c] = accumulate ? g[c] + scale * acc[c] : scale * acc[c];
}

/* dk_j (+)= scale sum_i dS_ij q_i, dv_j (+)= sum_i P_ij do_i; a removed key gets zeros. */
DMX_KERNEL void attention_bwd_kv(__global const float *q, ulong q_off, __global const float *k,
                                 ulong k_off, __global const float *v, ulong v_off,
                                 __global const float *mask, ulong mask_off,
                                 __global const float *dout, ulong do_off,
                                 __global const float *stats, ulong stats_off,
                                 __global float *dk, ulong dk_off, __global float *dv,
                                 ulong dv_off, int rows, int seq, int heads, int dh, float scale,
                                 int has_mask, int accumulate_k, int accumulate_v)
{
    const long r = get_global_id(0);
    if (r >= rows)
        return;
    int j, h;
    const long b = attn_pair(r, seq, heads, &j, &h);
    const long ld = (long)heads * dh, base = b * seq * ld + h * dh, at = base + j * ld;
    __global const float *qb = q + q_off + base, *db = dout + do_off + base;
    __global const float *st = stats + stats_off + 2 * (r - j); /* query row 0 of the pair */
    const float mj = has_mask ? mask[mask_off + b * seq + j] : 0.0f;
    float kj[DMX_ATTN_MAX_DH], vj[DMX_ATTN_MAX_DH], gk[DMX_ATTN_MAX_DH], gv[DMX_ATTN_MAX_DH];
    for (int c = 0; c < dh; c++) {
        kj[c] = k[k_off + at + c];
        vj[c] = v[v_off + at + c];
        gk[c] = gv[c] = 0.0f;
    }
    if (!(mj <= DMX_MASK_REMOVED))
        for (int i = 0; i < seq; i++) {
            const float P = exp(scale * attn_dot(kj, qb + i * ld, dh) + mj - st[2 * i]);
            const float dS = P * (attn_dot(vj, db + i * ld, dh) - st[2 * i + 1]);
            for (int c = 0; c < dh; c++) {
                gk[c] += dS * qb[i * ld + c];
                gv[c] += P * db[i * ld + c];
            }
        }
    __global float *ok = dk + dk_off + at, *ov = dv + dv_off + at;
    for (int c = 0; c < dh; c++) {
        ok[c] = accumulate_k ? ok[c] + scale * gk[c] : scale * gk[c];
        ov[c] = accumulate_v ? ov[c] + gv[c] : gv[c];
    }
}
