/* MIX_MLP, one butterfly-MLP stage y = W2 GELU(W1 x + c1) + c2 on a mix_linear view, and its
 * backward (host/ops/op_params.h). The stage's index map is inside the kernels: a row
 * (m, j, r1, r2) of group g = j R1 + r1 reads its Din elements L = R1 R2 apart straight from
 * x, so no gather or scatter copies exist, and the hidden activation lives only in registers
 * (one hidden unit at a time), never in memory.
 *
 * Work-items: one per row for the forward and for dx, adjacent work-items on adjacent lanes
 * q = r1 R2 + r2, so loads along a row's elements coalesce when L > 1. The weight gradients
 * take one work-item per (group, hidden unit h), which owns dW1[g, h, :], dc1[g, h] and
 * dW2[g, :, h] (and, for h = 0, dc2[g, :]) and walks the group's rows in order (m, then r2),
 * recomputing u_h: no float atomics, and the same order on every run. The host may split the
 * forward and dx over ranges of h, and the weight gradients over ranges of m (every sum there
 * accumulates), to bound the work of one launch. */

typedef struct mlp_view {
    int M, J, Din, Dh, Dout, R1, R2;
} mlp_view;

/* Offset of element 0 of row r (K elements per row, L apart), and its group. */
inline long mlp_row_at(const mlp_view *v, long r, int K, int *group)
{
    const long L = (long)v->R1 * v->R2;
    long q, rest;
    const long mj = dmx_split_long(r, L, &q);
    dmx_split_long(mj, v->J, &rest);
    *group = (int)(rest * v->R1 + q / v->R2);
    return mj * K * L + q;
}

/* u_h = c1[g, h] + sum_k W1[g, h, k] x_k for the row at xr (elements L apart). */
inline float mlp_hidden(const mlp_view *v, __global const float *W1, __global const float *c1,
                        __global const float *xr, long L, int g, int h)
{
    __global const float *w = W1 + ((long)g * v->Dh + h) * v->Din;
    float s = c1[(long)g * v->Dh + h];
    for (int k = 0; k < v->Din; k++)
        s += w[k] * xr[k * L];
    return s;
}

/* y (+)= sum over h in [h0, h1) of W2[:, h] GELU(u_h), plus c2 when h0 == 0 (then y is
 * overwritten, else added to). */
DMX_KERNEL void mix_mlp(__global const float *x, ulong x_off, __global const float *W1,
                        ulong W1_off, __global const float *c1, ulong c1_off,
                        __global const float *W2, ulong W2_off, __global const float *c2,
                        ulong c2_off, __global float *y, ulong y_off, int M, int J, int Din,
                        int Dh, int Dout, int R1, int R2, int h0, int h1)
{
    const mlp_view v = {M, J, Din, Dh, Dout, R1, R2};
    const long L = (long)R1 * R2, r = get_global_id(0);
    if (r >= (long)M * J * L)
        return;
    x += x_off, W1 += W1_off, c1 += c1_off, W2 += W2_off, c2 += c2_off, y += y_off;
    int g;
    __global const float *xr = x + mlp_row_at(&v, r, Din, &g);
    __global float *yr = y + mlp_row_at(&v, r, Dout, &g);
    __global const float *w2 = W2 + (long)g * Dout * Dh;
    if (h0 == 0)
        for (int o = 0; o < Dout; o++)
            yr[o * L] = c2[(long)g * Dout + o];
    for (int h = h0; h < h1; h++) {
        const float a = dmx_gelu(mlp_hidden(&v, W1, c1, xr, L, g, h));
        for (int o = 0; o < Dout; o++)
            yr[o * L] += w2[o * Dh + h] * a;
    }
}

/* dx (+)= sum over h in [h0, h1) of W1[h, :] du_h, du_h = GELU'(u_h) sum_o W2[o, h] dy_o;
 * dx is overwritten first when `overwrite` is set (the host sets it for the first h range of
 * a call that does not accumulate). */
DMX_KERNEL void mix_mlp_bwd_x(__global const float *dy, ulong dy_off, __global const float *x,
                              ulong x_off, __global const float *W1, ulong W1_off,
                              __global const float *c1, ulong c1_off, __global const float *W2,
                              ulong W2_off, __global float *dx, ulong dx_off, int M, int J,
                              int Din, int Dh, int Dout, int R1, int R2, int h0, int h1,
                              int overwrite)
{
    const mlp_view v = {M, J, Din, Dh, Dout, R1, R2};
    const long L = (long)R1 * R2, r = get_global_id(0);
    if (r >= (long)M * J * L)
        return;
    dy += dy_off, x += x_off, W1 += W1_off, c1 += c1_off, W2 += W2_off, dx += dx_off;
    int g;
    const long in_at = mlp_row_at(&v, r, Din, &g);
    __global const float *xr = x + in_at, *dyr = dy + mlp_row_at(&v, r, Dout, &g);
    __global float *dxr = dx + in_at;
    __global const float *w1 = W1 + (long)g * Dh * Din, *w2 = W2 + (long)g * Dout * Dh;
    if (overwrite)
        for (int k = 0; k < Din; k++)
            dxr[k * L] = 0.0f;
    for (int h = h0; h < h1; h++) {
        const float u = mlp_hidden(&v, W1, c1, xr, L, g, h);
        float da = 0.0f;
        for (int o = 0; o < Dout; o++)
            da += w2[o * Dh + h] * dyr[o * L];
        const float du = da * dmx_gelu_grad(u);
        for (int k = 0; k < Din; k++)
            dxr[k * L] += w1[h * Din + k] * du;
    }
}

/* Work-item (g, h): over rows m in [m0, m1) (all r2, in order), dW1[g, h, :] += du_h x,
 * dc1[g, h] += du_h, dW2[g, :, h] += dy GELU(u_h), and for h = 0 dc2[g, :] += dy. */
DMX_KERNEL void mix_mlp_bwd_w(__global const float *dy, ulong dy_off, __global const float *x,
                              ulong x_off, __global const float *W1, ulong W1_off,
                              __global const float *c1, ulong c1_off, __global const float *W2,
                              ulong W2_off, __global float *dW1, ulong dW1_off,
                              __global float *dc1, ulong dc1_off, __global float *dW2,
                              ulong dW2_off, __global float *dc2, ulong dc2_off, int M, int J,
                              int Din, int Dh, int Dout, int R1, int R2, int m0, int m1)
{
    const mlp_view v = {M, J, Din, Dh, Dout, R1, R2};
    const long gh = get_global_id(0), L = (long)R1 * R2;
    if (gh >= (long)J * R1 * Dh)
        return;
    dy += dy_off, x += x_off, W1 += W1_off, c1 += c1_off, W2 += W2_off;
    dW1 += dW1_off, dc1 += dc1_off, dW2 += dW2_off, dc2 += dc2_off;
    long hl;
    const int g = (int)dmx_split_long(gh, Dh, &hl), h = (int)hl;
    int jr1rem;
    const int j = dmx_split(g, R1, &jr1rem), r1 = jr1rem;
    __global const float *w2 = W2 + (long)g * Dout * Dh;
    __global float *dw1 = dW1 + ((long)g * Dh + h) * Din, *dw2 = dW2 + (long)g * Dout * Dh;
    for (int m = m0; m < m1; m++)
        for (int r2 = 0; r2 < R2; r2++) {
            const long q = (long)r1 * R2 + r2, mj = (long)m * J + j;
            __global const float *xr = x + mj * Din * L + q, *dyr = dy + mj * Dout * L + q;
            const float u = mlp_hidden(&v, W1, c1, xr, L, g, h);
            const float a = dmx_gelu(u);
            float da = 0.0f;
            for (int o = 0; o < Dout; o++)
                da += w2[o * Dh + h] * dyr[o * L];
            const float du = da * dmx_gelu_grad(u);
            for (int o = 0; o < Dout; o++)
                dw2[o * Dh + h] += dyr[o * L] * a;
            dc1[(long)g * Dh + h] += du;
            for (int k = 0; k < Din; k++)
                dw1[k] += du * xr[k * L];
            if (h == 0)
                for (int o = 0; o < Dout; o++)
                    dc2[(long)g * Dout + o] += dyr[o * L];
        }
}
