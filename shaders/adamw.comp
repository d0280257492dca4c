#version 450
#extension GL_GOOGLE_include_directive : require
#include "common.glsl"

// ADAMW (PyTorch AdamW; adam = weight decay 0), per element, in the CPU reference's order:
//   p -= lr wd p;  m = b1 m + (1 - b1) g;  v = b2 v + (1 - b2) g^2;
//   p -= step_size m / (sqrt(v) / bc2_sqrt + eps).
DMX_PUSH(int n; float lr; float beta1; float beta2; float eps; float weight_decay;
         float step_size; float bc2_sqrt;)
DMX_BUFFER(0, readonly, float, g)
DMX_BUFFER(1, , float, p)
DMX_BUFFER(2, , float, m)
DMX_BUFFER(3, , float, v)

void main()
{
    uint i = dmx_index();
    if (i >= uint(pc.n))
        return;
    float gi = g[pc.off[0] + i], pi = p[pc.off[1] + i];
    pi = pi - pc.lr * pc.weight_decay * pi;
    float mi = pc.beta1 * m[pc.off[2] + i] + (1.0 - pc.beta1) * gi;
    float vi = pc.beta2 * v[pc.off[3] + i] + (1.0 - pc.beta2) * gi * gi;
    m[pc.off[2] + i] = mi;
    v[pc.off[3] + i] = vi;
    float denom = sqrt(vi) / pc.bc2_sqrt + pc.eps;
    p[pc.off[1] + i] = pi - pc.step_size * mi / denom;
}
