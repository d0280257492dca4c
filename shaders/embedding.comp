#version 450
#extension GL_GOOGLE_include_directive : require
#include "common.glsl"

// EMBEDDING: y[i, :] = E[ids[i], :], a row of zeros for an id outside [0, vocab).
// One invocation per output element.
DMX_PUSH(int n; int dim; int vocab;)
DMX_BUFFER(0, readonly, int, ids)
DMX_BUFFER(1, readonly, float, table)
DMX_BUFFER(2, writeonly, float, y)

void main()
{
    uint e = dmx_index(), dim = uint(pc.dim);
    if (dim == 0 || e >= uint(pc.n) * dim)
        return;
    uint i = e / dim, d = e % dim;
    int id = ids[pc.off[0] + i];
    y[pc.off[2] + e] = id >= 0 && id < pc.vocab ? table[pc.off[1] + uint(id) * dim + d] : 0.0;
}
