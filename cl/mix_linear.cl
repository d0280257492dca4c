/* mix_linear (SPEC section 2) and its backward kernels, tiled through local memory.
 *
 * x is viewed as [M, J, K, Q] with Q = R1 * R2 (q = r1 * R2 + r2 is contiguous in memory), the
 * weights of group (j, r1) are a [N, K] matrix, and y[m, j, n, q] = sum_k W(j, r1)[n, k] x[m, j,
 * k, q]. For fixed j this is a GEMM whose rows are the pairs (m, q) and whose weight matrix
 * changes with r1 = q / R2.
 *
 * mix_linear_tiled: a work-group computes a tile of 64 rows x 16 outputs for one j. The 64 rows
 * are TM values of m times TQ consecutive q (TQ a power of two chosen by the host from Q), so
 * loads are coalesced along q when Q is wide and along k when Q = 1. The tile's rows touch at
 * most 16 distinct r1 (the host bounds TQ so), whose [16 x 8] weight slices sit in local memory
 * next to the [64 x 8] slice of x; k advances 8 at a time. Each work-item accumulates 4
 * outputs: 4 outputs of one row when TQ >= 16 (stores coalesced along q), else one output n
 * over 4 rows (stores coalesced along n). The same kernel runs the backward for x with the
 * weight matrices transposed (N = Din, K = Dout). */
#define ML_ROWS 64
#define ML_OUT 16
#define ML_RED 8
#define ML_SLOTS 16

DMX_KERNEL void mix_linear_tiled(__global const float *x, ulong x_off, __global const float *W,
                                 ulong w_off, __global const float *c, ulong c_off,
                                 __global float *y, ulong y_off, int M, int J, int K, int N,
                                 int R1, int R2, int w_transposed, int tq, int accumulate)
{
    __local float Xs[ML_ROWS][ML_RED + 1];
    __local float Ws[ML_SLOTS][ML_OUT][ML_RED + 1];
    x += x_off;
    W += w_off;
    y += y_off;
    const int lid = get_local_id(0);
    const int Q = R1 * R2, tm = ML_ROWS / tq;
    const int m_tiles = (M + tm - 1) / tm, q_tiles = (Q + tq - 1) / tq;
    const int o_tiles = (N + ML_OUT - 1) / ML_OUT;
    int mt, ot, qt;
    const int j = dmx_split(dmx_split(dmx_split(get_group_id(0), m_tiles, &mt), o_tiles, &ot),
                            q_tiles, &qt);
    const int m0 = mt * tm, q0 = qt * tq, n0 = ot * ML_OUT;
    const int r1_lo = q0 / R2;
    const int slots = min(R1 - 1, (q0 + tq - 1) / R2) - r1_lo + 1;

    /* This work-item's 4 outputs: row (m[t], q[t]) of the tile, output n[t]; slot[t] is the
     * weight slice of its r1 (clamped for rows past Q, whose x is zero). */
    int row_in_tile, out_in_tile;
    const int rows_above = dmx_split(lid, ML_ROWS, &row_in_tile);
    const int outs_above = dmx_split(lid, ML_OUT, &out_in_tile);
    int m[4], q[4], n[4], slot[4], row[4];
    float acc[4];
    for (int t = 0; t < 4; t++) {
        row[t] = tq >= 16 ? row_in_tile : outs_above + 16 * t;
        const int out = tq >= 16 ? rows_above + 4 * t : out_in_tile;
        int rq;
        m[t] = m0 + dmx_split(row[t], tq, &rq);
        q[t] = q0 + rq;
        n[t] = n0 + out;
        slot[t] = min(q[t], Q - 1) / R2 - r1_lo;
        const bool valid = m[t] < M && q[t] < Q && n[t] < N;
        const long at = ((long)(m[t] * J + j) * N + n[t]) * Q + q[t];
        acc[t] = !valid ? 0.0f
                 : accumulate ? y[at]
                 : c ? c[c_off + (j * R1 + q[t] / R2) * N + n[t]]
                     : 0.0f;
    }

    for (int k0 = 0; k0 < K; k0 += ML_RED) {
        for (int e = lid; e < ML_ROWS * ML_RED; e += DMX_WG) {
            /* Along q when the tile is wide, along k when every row is its own m. */
            int r, kk, rq;
            if (tq > 1)
                kk = dmx_split(e, ML_ROWS, &r);
            else
                r = dmx_split(e, ML_RED, &kk);
            const int mx = m0 + dmx_split(r, tq, &rq), qx = q0 + rq, k = k0 + kk;
            Xs[r][kk] = mx < M && qx < Q && k < K ? x[((long)(mx * J + j) * K + k) * Q + qx]
                                                   : 0.0f;
        }
        for (int e = lid; e < slots * ML_OUT * ML_RED; e += DMX_WG) {
            /* Along k for W[n, k] (forward), along n for W[k, n] (backward for x). */
            int f, on, kk;
            const int s = dmx_split(e, ML_OUT * ML_RED, &f);
            if (w_transposed)
                kk = dmx_split(f, ML_OUT, &on);
            else
                on = dmx_split(f, ML_RED, &kk);
            const int nw = n0 + on, k = k0 + kk;
            const long base = (long)(j * R1 + r1_lo + s) * N * K;
            Ws[s][on][kk] = nw < N && k < K ? W[base + (w_transposed ? k * N + nw : nw * K + k)]
                                            : 0.0f;
        }
        barrier(CLK_LOCAL_MEM_FENCE);
        for (int t = 0; t < 4; t++)
            for (int kk = 0; kk < ML_RED; kk++)
                acc[t] += Ws[slot[t]][n[t] - n0][kk] * Xs[row[t]][kk];
        barrier(CLK_LOCAL_MEM_FENCE);
    }

    for (int t = 0; t < 4; t++)
        if (m[t] < M && q[t] < Q && n[t] < N)
            y[((long)(m[t] * J + j) * N + n[t]) * Q + q[t]] = acc[t];
}

/* y[m, j, o, r1, r2] += c[j, r1, o]: the bias after a CLBlast GEMM. */
DMX_KERNEL void mix_linear_add_bias(__global const float *c, ulong c_off, __global float *y,
                                    ulong y_off, long total, int J, int Dout, int R1, int R2)
{
    const long i = get_global_id(0);
    if (i >= total)
        return;
    long r1, o;
    const long j = dmx_split_long(dmx_split_long(i / R2, R1, &r1), Dout, &o) % J;
    y[y_off + i] += c[c_off + (j * R1 + r1) * Dout + o];
}

/* ---- weight (and bias) gradients ----
 * dW[j, r1, o, d] += sum_{m, r2} dy[m, j, o, r1, r2] x[m, j, d, r1, r2], and dc likewise with
 * x = 1: the bias is treated as an extra column d = Din of ones, so one kernel does both.
 * A work-group owns TR1 r1 x TO o x TD d outputs (one per work-item, TR1 TO TD = DMX_WG) for
 * one j, and reduces over its chunk of m in steps of 16 (m, r2) pairs: TMK m x TK2 r2 with
 * TK2 consecutive r2 and TR1 consecutive r1, so the loads run along memory. With one chunk
 * the group adds into dW/dc; with several it writes partial sums that
 * mix_linear_bwd_w_finish adds in chunk order (no float atomics, a fixed order). */
#define MLW_K 16
#define MLW_LD (MLW_K + 1)

DMX_KERNEL void mix_linear_bwd_w_tiled(__global const float *dy, ulong dy_off,
                                       __global const float *x, ulong x_off,
                                       __global float *dW, ulong dw_off, __global float *dc,
                                       ulong dc_off, __global float *partial, ulong p_off, int M,
                                       int J, int Din, int Dout, int R1, int R2, int has_bias,
                                       int tr1, int to, int td, int tk2, int m_per_chunk,
                                       int direct)
{
    __local float dYs[64 * MLW_LD];
    __local float Xs[64 * MLW_LD];
    dy += dy_off;
    x += x_off;
    const int lid = get_local_id(0);
    const int Q = R1 * R2, Dext = Din + has_bias, tmk = MLW_K / tk2;
    const int r1_tiles = (R1 + tr1 - 1) / tr1, o_tiles = (Dout + to - 1) / to;
    const int d_tiles = (Dext + td - 1) / td;
    int dt, ot, rt, j, d_l, o_l;
    const int chunk = dmx_split(dmx_split(dmx_split(dmx_split(get_group_id(0), d_tiles, &dt),
                                                    o_tiles, &ot), r1_tiles, &rt), J, &j);
    const int r1_l = dmx_split(dmx_split(lid, td, &d_l), to, &o_l);
    const int m_begin = chunk * m_per_chunk, m_end = min(M, m_begin + m_per_chunk);

    float acc = 0.0f;
    for (int m0 = m_begin; m0 < m_end; m0 += tmk)
        for (int r20 = 0; r20 < R2; r20 += tk2) {
            for (int e = lid; e < to * tr1 * MLW_K; e += DMX_WG) {
                int k2, rl, mk;
                const int ol = dmx_split(dmx_split(dmx_split(e, tk2, &k2), tr1, &rl), tmk, &mk);
                const int m = m0 + mk, r2 = r20 + k2, r1 = rt * tr1 + rl, o = ot * to + ol;
                dYs[(ol * tr1 + rl) * MLW_LD + mk * tk2 + k2] =
                    m < m_end && r2 < R2 && r1 < R1 && o < Dout
                        ? dy[((long)(m * J + j) * Dout + o) * Q + r1 * R2 + r2] : 0.0f;
            }
            for (int e = lid; e < td * tr1 * MLW_K; e += DMX_WG) {
                int k2, rl, mk;
                const int dl = dmx_split(dmx_split(dmx_split(e, tk2, &k2), tr1, &rl), tmk, &mk);
                const int m = m0 + mk, r2 = r20 + k2, r1 = rt * tr1 + rl, d = dt * td + dl;
                const bool inside = m < m_end && r2 < R2 && r1 < R1;
                Xs[(dl * tr1 + rl) * MLW_LD + mk * tk2 + k2] =
                    !inside || d >= Dext ? 0.0f
                    : d == Din ? 1.0f /* the bias column */
                               : x[((long)(m * J + j) * Din + d) * Q + r1 * R2 + r2];
            }
            barrier(CLK_LOCAL_MEM_FENCE);
            const int a = (o_l * tr1 + r1_l) * MLW_LD, b = (d_l * tr1 + r1_l) * MLW_LD;
            for (int k = 0; k < MLW_K; k++)
                acc += dYs[a + k] * Xs[b + k];
            barrier(CLK_LOCAL_MEM_FENCE);
        }

    const int r1 = rt * tr1 + r1_l, o = ot * to + o_l, d = dt * td + d_l;
    if (r1 >= R1 || o >= Dout || d >= Dext)
        return;
    const long w = (long)(j * R1 + r1) * Dout + o; /* the (j, r1, o) row */
    if (!direct)
        partial[p_off + ((long)chunk * J * R1 * Dout + w) * Dext + d] = acc;
    else if (d < Din)
        dW[dw_off + w * Din + d] += acc;
    else
        dc[dc_off + w] += acc;
}

/* Adds the chunks' partial sums in order into dW (and dc, column d = Din). */
DMX_KERNEL void mix_linear_bwd_w_finish(__global const float *partial, ulong p_off,
                                        __global float *dW, ulong dw_off, __global float *dc,
                                        ulong dc_off, long per_chunk, int chunks, int Din,
                                        int has_bias)
{
    const long i = get_global_id(0);
    if (i >= per_chunk)
        return;
    float s = 0.0f;
    for (int k = 0; k < chunks; k++)
        s += partial[p_off + k * per_chunk + i];
    long d;
    const long w = dmx_split_long(i, Din + has_bias, &d);
    if (d < Din)
        dW[dw_off + w * Din + d] += s;
    else
        dc[dc_off + w] += s;
}
