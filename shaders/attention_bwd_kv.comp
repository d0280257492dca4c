#version 450
#extension GL_GOOGLE_include_directive : require
#include "common.glsl"

// ATTENTION backward, one invocation per key row j: dk_j (+)= scale sum_i dS_ij q_i and
// dv_j (+)= sum_i P_ij do_i; a removed key gets zeros.
#include "attention.glsl"
DMX_BUFFER(0, readonly, float, q)
DMX_BUFFER(1, readonly, float, k)
DMX_BUFFER(2, readonly, float, v)
DMX_BUFFER(3, readonly, float, mask)
DMX_BUFFER(4, readonly, float, dout)
DMX_BUFFER(5, readonly, float, stats)
DMX_BUFFER(6, , float, dk)
DMX_BUFFER(7, , float, dv)

void main()
{
    uint r = dmx_index();
    if (r >= rows())
        return;
    pair_row p = pair_of(r); // p.i is the key's position j
    uint dh = uint(pc.head_dim), S = uint(pc.seq), at = p.base + p.i * p.ld;
    uint st = pc.off[5] + 2 * (r - p.i); // the stats of query row 0 of the pair
    float mj = pc.has_mask != 0 ? mask[pc.off[3] + p.b * S + p.i] : 0.0;
    float kj[MAX_DH], vj[MAX_DH], gk[MAX_DH], gv[MAX_DH];
    for (uint c = 0; c < dh; c++) {
        kj[c] = k[pc.off[1] + at + c];
        vj[c] = v[pc.off[2] + at + c];
        gk[c] = 0.0;
        gv[c] = 0.0;
    }
    if (!(mj <= MASK_REMOVED))
        for (uint i = 0; i < S; i++) {
            uint qi = pc.off[0] + p.base + i * p.ld, di = pc.off[4] + p.base + i * p.ld;
            float qk = 0.0, dov = 0.0;
            for (uint c = 0; c < dh; c++)
                qk += kj[c] * q[qi + c];
            for (uint c = 0; c < dh; c++)
                dov += vj[c] * dout[di + c];
            float P = exp(pc.scale * qk + mj - stats[st + 2 * i]);
            float dS = P * (dov - stats[st + 2 * i + 1]);
            for (uint c = 0; c < dh; c++) {
                gk[c] += dS * q[qi + c];
                gv[c] += P * dout[di + c];
            }
        }
    uint ok = pc.off[6] + at, ov = pc.off[7] + at;
    for (uint c = 0; c < dh; c++) {
        dk[ok + c] = pc.accumulate_k != 0 ? dk[ok + c] + pc.scale * gk[c] : pc.scale * gk[c];
        dv[ov + c] = pc.accumulate_v != 0 ? dv[ov + c] + gv[c] : gv[c];
    }
}
