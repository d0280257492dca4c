#version 450
#extension GL_GOOGLE_include_directive : require
#include "common.glsl"

// ATTENTION backward, dq_i (+)= scale sum_j P_ij (do_i . v_j - delta_i) k_j, with
// P_ij = exp(scale q_i . k_j + mask_j - lse_i) recomputed; keys and values through tiles.
#include "attention.glsl"
DMX_BUFFER(0, readonly, float, q)
DMX_BUFFER(1, readonly, float, k)
DMX_BUFFER(2, readonly, float, v)
DMX_BUFFER(3, readonly, float, mask)
DMX_BUFFER(4, readonly, float, dout)
DMX_BUFFER(5, readonly, float, stats)
DMX_BUFFER(6, , float, dq)

shared float kt[TILE], vt[TILE];

void main()
{
    group_row g = row_of_invocation();
    const uint dh = HEAD_DIM;
    uint S = uint(pc.seq), tile = uint(pc.tile);
    uint at = attn_at(g.pair, g.pos), mrow = pc.off[3] + (g.pair / uint(pc.heads)) * S;
    float lse = g.live ? stats[pc.off[5] + 2 * g.r] : 0.0;
    float delta = g.live ? stats[pc.off[5] + 2 * g.r + 1] : 0.0;
    float qi[HEAD_DIM], doi[HEAD_DIM], acc[HEAD_DIM];
    for (uint c = 0; c < dh; c++) {
        qi[c] = g.live ? q[pc.off[0] + at + c] : 0.0;
        doi[c] = g.live ? dout[pc.off[4] + at + c] : 0.0;
        acc[c] = 0.0;
    }
    for (uint t0 = 0; t0 < S; t0 += tile) {
        ATTN_LOAD_TILE(k, pc.off[1], kt, g, t0)
        ATTN_LOAD_TILE(v, pc.off[2], vt, g, t0)
        barrier();
        uint n = g.live ? min(tile, S - t0) : 0;
        for (uint jj = 0; jj < n; jj++) {
            float mj = pc.has_mask != 0 ? mask[mrow + t0 + jj] : 0.0;
            if (mj <= MASK_REMOVED)
                continue;
            uint kj = (g.local_pair * tile + jj) * dh;
            float qk = 0.0, dv = 0.0;
            for (uint c = 0; c < dh; c++)
                qk += qi[c] * kt[kj + c];
            for (uint c = 0; c < dh; c++)
                dv += doi[c] * vt[kj + c];
            float P = exp(pc.scale * qk + mj - lse);
            float dS = P * (dv - delta);
            for (uint c = 0; c < dh; c++)
                acc[c] += dS * kt[kj + c];
        }
        barrier();
    }
    if (!g.live)
        return;
    uint o = pc.off[6] + at;
    for (uint c = 0; c < dh; c++)
        dq[o + c] = pc.accumulate_q != 0 ? dq[o + c] + pc.scale * acc[c] : pc.scale * acc[c];
}
