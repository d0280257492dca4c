#version 450
#extension GL_GOOGLE_include_directive : require
#include "common.glsl"

// DROPOUT: y_i (+)= keep_i ? x_i * keep_scale : 0 with keep_i = u_i >= p, where u_i comes from
// Philox4x32-10 on counter (offset + i, 0, 0, 0) and key (seed_lo, seed_hi), exactly as
// host/core/philox.h, so every backend draws the same mask. keep_scale = 1 / (1 - p) is
// computed by the host (a GLSL division need not round as the CPU's does).
DMX_PUSH(int n; float p; uint seed_lo; uint seed_hi; uint offset; int accumulate;
         float keep_scale;)
DMX_BUFFER(0, readonly, float, x)
DMX_BUFFER(1, , float, y)

uint philox_first_word(uint counter, uint key0, uint key1)
{
    uvec4 c = uvec4(counter, 0u, 0u, 0u);
    for (int round = 0; round < 10; round++) {
        uint hi0, lo0, hi1, lo1;
        umulExtended(0xD2511F53u, c.x, hi0, lo0);
        umulExtended(0xCD9E8D57u, c.z, hi1, lo1);
        c = uvec4(hi1 ^ c.y ^ key0, lo1, hi0 ^ c.w ^ key1, lo0);
        key0 += 0x9E3779B9u;
        key1 += 0xBB67AE85u;
    }
    return c.x;
}

void main()
{
    uint i = dmx_index();
    if (i >= uint(pc.n))
        return;
    uint word = philox_first_word(pc.offset + i, pc.seed_lo, pc.seed_hi);
    float u = float(word >> 8) * (1.0 / 16777216.0);
    float v = u >= pc.p ? x[pc.off[0] + i] * pc.keep_scale : 0.0;
    y[pc.off[1] + i] = pc.accumulate != 0 ? y[pc.off[1] + i] + v : v;
}
