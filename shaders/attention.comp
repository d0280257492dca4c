#version 450
#extension GL_GOOGLE_include_directive : require
#include "common.glsl"

// ATTENTION forward: o_i = softmax over the keys of scale q_i . k_j + mask_j, times v; one
// pass with a running max; stats[r] = (log-sum-exp, 0).
#include "attention.glsl"
DMX_BUFFER(0, readonly, float, q)
DMX_BUFFER(1, readonly, float, k)
DMX_BUFFER(2, readonly, float, v)
DMX_BUFFER(3, readonly, float, mask)
DMX_BUFFER(4, writeonly, float, o)
DMX_BUFFER(5, writeonly, float, stats)

void main()
{
    uint r = dmx_index();
    if (r >= rows())
        return;
    pair_row p = pair_of(r);
    uint dh = uint(pc.head_dim), S = uint(pc.seq);
    float qi[MAX_DH], acc[MAX_DH];
    for (uint c = 0; c < dh; c++) {
        qi[c] = q[pc.off[0] + p.base + p.i * p.ld + c];
        acc[c] = 0.0;
    }
    float zmax = -1.0 / 0.0, sum = 0.0;
    for (uint j = 0; j < S; j++) {
        float mj = pc.has_mask != 0 ? mask[pc.off[3] + p.b * S + j] : 0.0;
        if (mj <= MASK_REMOVED)
            continue;
        uint kj = pc.off[1] + p.base + j * p.ld;
        float d = 0.0;
        for (uint c = 0; c < dh; c++)
            d += qi[c] * k[kj + c];
        float z = pc.scale * d + mj;
        if (z > zmax) { // a new max: rescale what was summed so far
            float shrink = exp(zmax - z);
            sum *= shrink;
            for (uint c = 0; c < dh; c++)
                acc[c] *= shrink;
            zmax = z;
        }
        float e = exp(z - zmax);
        sum += e;
        uint vj = pc.off[2] + p.base + j * p.ld;
        for (uint c = 0; c < dh; c++)
            acc[c] += e * v[vj + c];
    }
    bool none = zmax == -1.0 / 0.0; // every key removed: zeros
    float inv = none ? 0.0 : 1.0 / sum;
    uint oi = pc.off[4] + p.base + p.i * p.ld;
    for (uint c = 0; c < dh; c++)
        o[oi + c] = acc[c] * inv;
    stats[pc.off[5] + 2 * r] = none ? 0.0 : zmax + log(sum);
    stats[pc.off[5] + 2 * r + 1] = 0.0;
}
