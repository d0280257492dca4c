#version 450
#extension GL_GOOGLE_include_directive : require
#include "common.glsl"

// ATTENTION forward: o_i = softmax over the keys of scale q_i . k_j + mask_j, times v; one
// pass with a running max over key tiles; stats[r] = (log-sum-exp, 0).
#include "attention.glsl"
DMX_BUFFER(0, readonly, float, q)
DMX_BUFFER(1, readonly, float, k)
DMX_BUFFER(2, readonly, float, v)
DMX_BUFFER(3, readonly, float, mask)
DMX_BUFFER(4, writeonly, float, o)
DMX_BUFFER(5, writeonly, float, stats)

shared float kt[TILE], vt[TILE];

void main()
{
    group_row g = row_of_invocation();
    const uint dh = HEAD_DIM;
    uint S = uint(pc.seq), tile = uint(pc.tile);
    uint at = attn_at(g.pair, g.pos), mrow = pc.off[3] + (g.pair / uint(pc.heads)) * S;
    float qi[HEAD_DIM], acc[HEAD_DIM];
    for (uint c = 0; c < dh; c++) {
        qi[c] = g.live ? q[pc.off[0] + at + c] : 0.0;
        acc[c] = 0.0;
    }
    float zmax = -1.0 / 0.0, sum = 0.0;
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
            float d = 0.0;
            for (uint c = 0; c < dh; c++)
                d += qi[c] * kt[kj + c];
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
            for (uint c = 0; c < dh; c++)
                acc[c] += e * vt[kj + c];
        }
        barrier(); // before the next tile overwrites these
    }
    if (!g.live)
        return;
    bool none = zmax == -1.0 / 0.0; // every key removed: zeros
    float inv = none ? 0.0 : 1.0 / sum;
    for (uint c = 0; c < dh; c++)
        o[pc.off[4] + at + c] = acc[c] * inv;
    stats[pc.off[5] + 2 * g.r] = none ? 0.0 : zmax + log(sum);
    stats[pc.off[5] + 2 * g.r + 1] = 0.0;
}
