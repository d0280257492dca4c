#version 450
#extension GL_GOOGLE_include_directive : require
#include "common.glsl"

// ATTENTION backward, first pass: stats[r].y = do_i . o_i (one invocation per row).
#include "attention.glsl"
DMX_BUFFER(0, readonly, float, o)
DMX_BUFFER(1, readonly, float, dout)
DMX_BUFFER(2, , float, stats)

void main()
{
    uint r = dmx_index();
    if (r >= rows())
        return;
    uint at = attn_at(r / uint(pc.seq), r % uint(pc.seq));
    float s = 0.0;
    for (uint c = 0; c < uint(pc.head_dim); c++)
        s += dout[pc.off[1] + at + c] * o[pc.off[0] + at + c];
    stats[pc.off[2] + 2 * r + 1] = s;
}
