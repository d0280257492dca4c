#version 450
#extension GL_GOOGLE_include_directive : require
#include "common.glsl"

// ATTENTION backward, one invocation per key row j: dk_j (+)= scale sum_i dS_ij q_i and
// dv_j (+)= sum_i P_ij do_i, queries and output gradients through tiles; a removed key gets
// zeros.
#include "attention.glsl"
DMX_BUFFER(0, readonly, float, q)
DMX_BUFFER(1, readonly, float, k)
DMX_BUFFER(2, readonly, float, v)
DMX_BUFFER(3, readonly, float, mask)
DMX_BUFFER(4, readonly, float, dout)
DMX_BUFFER(5, readonly, float, stats)
DMX_BUFFER(6, , float, dk)
DMX_BUFFER(7, , float, dv)

shared float qt[TILE], dt[TILE];

void main()
{
    group_row g = row_of_invocation(); // g.pos is the key's position j
    const uint dh = HEAD_DIM;
    uint S = uint(pc.seq), tile = uint(pc.tile);
    uint at = attn_at(g.pair, g.pos);
    uint st = pc.off[5] + 2 * g.pair * S; // the stats of query row 0 of the pair
    float mj = pc.has_mask != 0 && g.live
                   ? mask[pc.off[3] + (g.pair / uint(pc.heads)) * S + g.pos] : 0.0;
    bool keep = g.live && !(mj <= MASK_REMOVED);
    float kj[HEAD_DIM], vj[HEAD_DIM], gk[HEAD_DIM], gv[HEAD_DIM];
    for (uint c = 0; c < dh; c++) {
        kj[c] = g.live ? k[pc.off[1] + at + c] : 0.0;
        vj[c] = g.live ? v[pc.off[2] + at + c] : 0.0;
        gk[c] = 0.0;
        gv[c] = 0.0;
    }
    for (uint t0 = 0; t0 < S; t0 += tile) {
        ATTN_LOAD_TILE(q, pc.off[0], qt, g, t0)
        ATTN_LOAD_TILE(dout, pc.off[4], dt, g, t0)
        barrier();
        uint n = keep ? min(tile, S - t0) : 0;
        for (uint ii = 0; ii < n; ii++) {
            uint qi = (g.local_pair * tile + ii) * dh;
            float qk = 0.0, dov = 0.0;
            for (uint c = 0; c < dh; c++)
                qk += kj[c] * qt[qi + c];
            for (uint c = 0; c < dh; c++)
                dov += vj[c] * dt[qi + c];
            float P = exp(pc.scale * qk + mj - stats[st + 2 * (t0 + ii)]);
            float dS = P * (dov - stats[st + 2 * (t0 + ii) + 1]);
            for (uint c = 0; c < dh; c++) {
                gk[c] += dS * qt[qi + c];
                gv[c] += P * dt[qi + c];
            }
        }
        barrier();
    }
    if (!g.live)
        return;
    uint ok = pc.off[6] + at, ov = pc.off[7] + at;
    for (uint c = 0; c < dh; c++) {
        dk[ok + c] = pc.accumulate_k != 0 ? dk[ok + c] + pc.scale * gk[c] : pc.scale * gk[c];
        dv[ov + c] = pc.accumulate_v != 0 ? dv[ov + c] + gv[c] : gv[c];
    }
}
