#version 450
#extension GL_GOOGLE_include_directive : require
#include "common.glsl"

// MIX_LINEAR_BWD_W: dW[j, r1, o, d] += sum_{m, r2} dy[m, j, o, r1, r2] x[m, j, d, r1, r2] and
// dc[j, r1, o] += sum_{m, r2} dy[m, j, o, r1, r2]: per group a product with rows o, columns d
// and depth q = (m, r2). The depth is long (every row of the batch), so the host cuts it into
// slices [k_begin + s * slice, ...): with one slice the sums go straight into dW and dc; with
// several, slice s writes its partial sums to part[s * part_stride + ...] (dW's layout, then
// dc's at part_bias) and reduce_slices adds them up in slice order.
DMX_PUSH(int M; int J; int Din; int Dout; int R1; int R2; int has_bias; int accumulate;
         uint k_begin; uint k_end; uint slice; uint slices; uint part_stride; uint part_bias;)
DMX_BUFFER(0, readonly, float, dy)
DMX_BUFFER(1, readonly, float, x)
DMX_BUFFER(2, , float, dW)
DMX_BUFFER(3, , float, dc)
DMX_BUFFER(4, writeonly, float, part)

uint grp, j, r1;
bool bias_tile;
float bias_acc = 0.0;

// A(o, q) = dy[m, j, o, r1, r2] and B(q, d) = x[m, j, d, r1, r2]: the depth q = (m, r2) part
// takes one division per step (neighbouring invocations share it).
uint q_part(uint q, uint dim)
{
    uint R2 = uint(pc.R2), m = q / R2;
    return (m * uint(pc.J) + j) * dim * uint(pc.R1) * R2 + r1 * R2 + q % R2;
}
uint a_row(uint o) { return pc.off[0] + o * uint(pc.R1) * uint(pc.R2); }
uint a_depth(uint q) { return q_part(q, uint(pc.Dout)); }
float a_load(uint i) { return dy[i]; }
uint b_col(uint d) { return pc.off[1] + d * uint(pc.R1) * uint(pc.R2); }
uint b_depth(uint q) { return q_part(q, uint(pc.Din)); }
float b_load(uint i) { return x[i]; }

// The bias gradient is the row sum of the dy tile: the tiles of the first column block add it.
#define TILE_AFTER_LOAD()                                          \
    if (bias_tile && gl_LocalInvocationID.x < TILE_R)              \
        for (uint kk = 0; kk < TILE_K; kk++)                       \
            bias_acc += tile_a[(kk * TILE_R + gl_LocalInvocationID.x) / 4]              \
                              [(kk * TILE_R + gl_LocalInvocationID.x) % 4];

#include "tile_gemm.glsl"

void main()
{
    uint Dout = uint(pc.Dout), Din = uint(pc.Din);
    // Din = 0 still has a bias gradient: one column block of nothing.
    uint tiles_o = (Dout + TILE_R - 1) / TILE_R, tiles_d = max((Din + TILE_C - 1) / TILE_C, 1u);
    uint groups = uint(pc.J) * uint(pc.R1), per_slice = groups * tiles_o * tiles_d;
    uint g = dmx_group();
    if (per_slice == 0 || g >= per_slice * pc.slices)
        return;
    uint s = g / per_slice, t = g % per_slice;
    grp = t / (tiles_o * tiles_d);
    j = grp / uint(pc.R1);
    r1 = grp % uint(pc.R1);
    t = t % (tiles_o * tiles_d);
    uint o0 = (t / tiles_d) * TILE_R, d0 = (t % tiles_d) * TILE_C;
    bias_tile = pc.has_bias != 0 && d0 == 0;
    uint k_begin = pc.k_begin + s * pc.slice;
    uint k_end = min(k_begin + pc.slice, pc.k_end);
    tile_gemm(o0, d0, Dout, Din, k_begin, k_end, pc.R2 > 1, pc.R2 > 1);
    bool direct = pc.slices == 1;
    for (uint i = 0; i < THREAD_R; i++)
        for (uint jj = 0; jj < THREAD_C; jj++) {
            uint o = o0 + tile_row(i), d = d0 + tile_col(jj);
            if (o >= Dout || d >= Din)
                continue;
            uint w = (grp * Dout + o) * Din + d;
            if (direct)
                dW[pc.off[2] + w] += acc[i][jj];
            else
                part[pc.off[4] + s * pc.part_stride + w] = acc[i][jj];
        }
    uint o = o0 + gl_LocalInvocationID.x;
    if (bias_tile && gl_LocalInvocationID.x < TILE_R && o < Dout) {
        if (direct)
            dc[pc.off[3] + grp * Dout + o] += bias_acc;
        else
            part[pc.off[4] + s * pc.part_stride + pc.part_bias + grp * Dout + o] = bias_acc;
    }
}
