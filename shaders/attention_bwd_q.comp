#version 450
#extension GL_GOOGLE_include_directive : require
#include "common.glsl"

// ATTENTION backward, dq_i (+)= scale sum_j P_ij (do_i . v_j - delta_i) k_j, with
// P_ij = exp(scale q_i . k_j + mask_j - lse_i) recomputed.
#include "attention.glsl"
DMX_BUFFER(0, readonly, float, q)
DMX_BUFFER(1, readonly, float, k)
DMX_BUFFER(2, readonly, float, v)
DMX_BUFFER(3, readonly, float, mask)
DMX_BUFFER(4, readonly, float, dout)
DMX_BUFFER(5, readonly, float, stats)
DMX_BUFFER(6, , float, dq)

void main()
{
    uint r = dmx_index();
    if (r >= rows())
        return;
    pair_row p = pair_of(r);
    uint dh = uint(pc.head_dim), S = uint(pc.seq), at = p.base + p.i * p.ld;
    float lse = stats[pc.off[5] + 2 * r], delta = stats[pc.off[5] + 2 * r + 1];
    float qi[MAX_DH], doi[MAX_DH], acc[MAX_DH];
    for (uint c = 0; c < dh; c++) {
        qi[c] = q[pc.off[0] + at + c];
        doi[c] = dout[pc.off[4] + at + c];
        acc[c] = 0.0;
    }
    for (uint j = 0; j < S; j++) {
        float mj = pc.has_mask != 0 ? mask[pc.off[3] + p.b * S + j] : 0.0;
        if (mj <= MASK_REMOVED)
            continue;
        uint kj = pc.off[1] + p.base + j * p.ld, vj = pc.off[2] + p.base + j * p.ld;
        float qk = 0.0, dv = 0.0;
        for (uint c = 0; c < dh; c++)
            qk += qi[c] * k[kj + c];
        for (uint c = 0; c < dh; c++)
            dv += doi[c] * v[vj + c];
        float P = exp(pc.scale * qk + mj - lse);
        float dS = P * (dv - delta);
        for (uint c = 0; c < dh; c++)
            acc[c] += dS * k[kj + c];
    }
    uint g = pc.off[6] + at;
    for (uint c = 0; c < dh; c++)
        dq[g + c] = pc.accumulate_q != 0 ? dq[g + c] + pc.scale * acc[c] : pc.scale * acc[c];
}
