#version 450
#extension GL_GOOGLE_include_directive : require
#include "common.glsl"

// SGD (PyTorch): d = g + wd p; with momentum, buf = first_step ? d : momentum buf +
// (1 - dampening) d and d = nesterov ? d + momentum buf : buf; p -= lr d. buf is untouched
// when momentum is 0.
DMX_PUSH(int n; float lr; float momentum; float dampening; float weight_decay; int nesterov;
         int first_step;)
DMX_BUFFER(0, readonly, float, g)
DMX_BUFFER(1, , float, p)
DMX_BUFFER(2, , float, buf)

void main()
{
    uint i = dmx_index();
    if (i >= uint(pc.n))
        return;
    float pi = p[pc.off[1] + i];
    float d = g[pc.off[0] + i] + pc.weight_decay * pi;
    if (pc.momentum != 0.0) {
        float b = pc.first_step != 0 ? d
                                     : pc.momentum * buf[pc.off[2] + i] + (1.0 - pc.dampening) * d;
        buf[pc.off[2] + i] = b;
        d = pc.nesterov != 0 ? d + pc.momentum * b : b;
    }
    p[pc.off[1] + i] = pi - pc.lr * d;
}
