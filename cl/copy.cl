/* copy_strided: dst[view] (+)= src[view] over up to 6 dimensions with element strides, one
 * element per work-item, the innermost dimension fastest so neighbouring work-items write
 * neighbouring elements of a contiguous destination. The host pads the shape to 6 dimensions
 * on the outside (size 1, stride 0). Words are copied as bits (F32 or I32); with accumulate
 * they are added as floats. */

#define DMX_DIGIT(k)                                        \
    {                                                       \
        long digit;                                         \
        rest = dmx_split_long(rest, shape.s##k, &digit);    \
        s += digit * src_stride.s##k;                       \
        d += digit * dst_stride.s##k;                       \
    }

DMX_KERNEL void copy_strided(__global const uint *src, ulong src_off, __global uint *dst,
                             ulong dst_off, int8 shape, int8 src_stride, int8 dst_stride,
                             long total, int accumulate)
{
    const long i = get_global_id(0);
    if (i >= total)
        return;
    long rest = i, s = 0, d = 0;
    DMX_DIGIT(5)
    DMX_DIGIT(4)
    DMX_DIGIT(3)
    DMX_DIGIT(2)
    DMX_DIGIT(1)
    DMX_DIGIT(0)
    src += src_off;
    dst += dst_off;
    if (accumulate)
        dst[d] = as_uint(as_float(dst[d]) + as_float(src[s]));
    else
        dst[d] = src[s];
}
