#version 450
#extension GL_GOOGLE_include_directive : require
#include "common.glsl"

// COPY_STRIDED: dst[sum_k i_k dst_stride_k] (+)= src[sum_k i_k src_stride_k] for every index of
// the view. The host pads the view to 6 dimensions (outer ones of size 1). With accumulate = 0
// it copies 4-byte words (F32 or I32) bit for bit; with 1 it adds floats.
DMX_PUSH(int ndim; int shape[6]; int src_stride[6]; int dst_stride[6]; int accumulate;)
DMX_BUFFER(0, readonly, uint, src)
DMX_BUFFER(1, , uint, dst)

void main()
{
    uint total = 1;
    for (int k = 0; k < 6; k++)
        total *= uint(pc.shape[k]);
    uint i = dmx_index();
    if (i >= total)
        return;
    int s = 0, d = 0;
    uint rest = i;
    for (int k = 5; k >= 0; k--) {
        uint size = uint(pc.shape[k]);
        int index = int(rest % size);
        rest /= size;
        s += index * pc.src_stride[k];
        d += index * pc.dst_stride[k];
    }
    uint from = pc.off[0] + uint(s), to = pc.off[1] + uint(d);
    if (pc.accumulate != 0)
        dst[to] = floatBitsToUint(uintBitsToFloat(dst[to]) + uintBitsToFloat(src[from]));
    else
        dst[to] = src[from];
}
