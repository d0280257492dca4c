/* Crop, flip, resize and normalisation of one image. */
#include "data/image_augment.h"

#include <string.h>

#include "data/image_random.h"

dmx_augment_draw dmx_augment_draw_for(uint64_t seed, uint32_t epoch, uint32_t index, bool crop,
                                      int padding, bool flip)
{
    dmx_augment_draw d = {padding, padding, false};
    if (crop) {
        uint32_t range = 2u * (uint32_t)padding + 1u;
        d.dy = (int)dmx_draw_below(seed, index, epoch, DMX_STREAM_CROP_Y, range);
        d.dx = (int)dmx_draw_below(seed, index, epoch, DMX_STREAM_CROP_X, range);
    }
    if (flip)
        d.flip = dmx_draw_below(seed, index, epoch, DMX_STREAM_FLIP, 2) == 1;
    return d;
}

void dmx_crop_flip_u8(const uint8_t *src, int channels, int height, int width, int padding,
                      dmx_augment_draw draw, uint8_t *dst)
{
    const int shift_y = draw.dy - padding, shift_x = draw.dx - padding;
    for (int c = 0; c < channels; c++) {
        const uint8_t *in = src + (size_t)c * height * width;
        uint8_t *out = dst + (size_t)c * height * width;
        for (int y = 0; y < height; y++) {
            uint8_t *row = out + (size_t)y * width;
            int sy = y + shift_y;
            if (sy < 0 || sy >= height) {
                memset(row, 0, (size_t)width);
                continue;
            }
            const uint8_t *in_row = in + (size_t)sy * width;
            for (int x = 0; x < width; x++) {
                int sx = (draw.flip ? width - 1 - x : x) + shift_x;
                row[x] = sx >= 0 && sx < width ? in_row[sx] : 0;
            }
        }
    }
}

/* One output coordinate's two source indices and weights, with the precisions of PyTorch's
 * CPU kernel: the scale in fp32, the source coordinate in fp64, the weights rounded to fp32.
 * With the fp64 sum below this equals PyTorch 1.13 bit for bit on single-channel images; on
 * several channels PyTorch takes a vectorised path whose results differ from these by at most
 * 1 ulp (1.2e-7 on values in [0, 1], measured on 3 x 32 x 32 -> 35 x 35). */
typedef struct lerp_tap {
    int i0, i1;
    float w0, w1;
} lerp_tap;

static float align_corners_scale(int in_size, int out_size)
{
    return out_size > 1 ? (float)(in_size - 1) / (float)(out_size - 1) : 0.0f;
}

static lerp_tap tap_for(int dst_index, int in_size, float scale)
{
    const double real = (double)scale * dst_index;
    lerp_tap t;
    t.i0 = (int)real;
    t.i1 = t.i0 + (t.i0 < in_size - 1 ? 1 : 0);
    float w1 = (float)(real - t.i0);
    t.w1 = w1 < 0.0f ? 0.0f : w1 > 1.0f ? 1.0f : w1;
    t.w0 = 1.0f - t.w1;
    return t;
}

/* Output columns whose taps are computed once and reused for every row and channel. */
#define TAP_TILE 128

void dmx_resize_bilinear(const float *src, int channels, int in_h, int in_w, float *dst,
                         int out_h, int out_w)
{
    const float scale_y = align_corners_scale(in_h, out_h);
    const float scale_x = align_corners_scale(in_w, out_w);
    lerp_tap tx[TAP_TILE];
    for (int x0 = 0; x0 < out_w; x0 += TAP_TILE) {
        const int n = out_w - x0 < TAP_TILE ? out_w - x0 : TAP_TILE;
        for (int k = 0; k < n; k++)
            tx[k] = tap_for(x0 + k, in_w, scale_x);
        for (int c = 0; c < channels; c++) {
            const float *in = src + (size_t)c * in_h * in_w;
            float *out = dst + (size_t)c * out_h * out_w + x0;
            for (int y = 0; y < out_h; y++) {
                const lerp_tap ty = tap_for(y, in_h, scale_y);
                const float *row0 = in + (size_t)ty.i0 * in_w, *row1 = in + (size_t)ty.i1 * in_w;
                for (int k = 0; k < n; k++) {
                    /* fp32 weight products, an fp64 sum: PyTorch's rounding, hence its bits. */
                    double v = (double)row0[tx[k].i0] * (float)(ty.w0 * tx[k].w0) +
                               (double)row0[tx[k].i1] * (float)(ty.w0 * tx[k].w1) +
                               (double)row1[tx[k].i0] * (float)(ty.w1 * tx[k].w0) +
                               (double)row1[tx[k].i1] * (float)(ty.w1 * tx[k].w1);
                    out[(size_t)y * out_w + k] = (float)v;
                }
            }
        }
    }
}

void dmx_pixels_to_unit(const uint8_t *src, int64_t n, float *dst)
{
    for (int64_t i = 0; i < n; i++)
        dst[i] = (float)src[i] / 255.0f;
}

void dmx_normalize_planes(const float *src, int channels, int64_t plane, const float *mean,
                          const float *std, float *dst)
{
    for (int c = 0; c < channels; c++)
        for (int64_t k = 0; k < plane; k++)
            dst[c * plane + k] = (src[c * plane + k] - mean[c]) / std[c];
}
