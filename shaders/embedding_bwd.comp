#version 450
#extension GL_GOOGLE_include_directive : require
#include "common.glsl"

// EMBEDDING backward: dE[ids[i], d] += dy[i, d] for i in [first, first + count), in index
// order; ids outside [0, vocab) add nothing. One invocation per column d owns that column of
// every row it touches, so there are no races and no atomics; the host runs the ids in
// consecutive pieces (count bounds the loop trips), ordered by barriers.
DMX_PUSH(int n; int dim; int vocab; uint first; uint count;)
DMX_BUFFER(0, readonly, int, ids)
DMX_BUFFER(1, readonly, float, dy)
DMX_BUFFER(2, , float, dE)

void main()
{
    uint d = dmx_index(), dim = uint(pc.dim);
    if (d >= dim)
        return;
    for (uint i = pc.first; i < pc.first + pc.count; i++) {
        int id = ids[pc.off[0] + i];
        if (id >= 0 && id < pc.vocab)
            dE[pc.off[2] + uint(id) * dim + d] += dy[pc.off[1] + i * dim + d];
    }
}
