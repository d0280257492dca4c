/* Per-image transforms of the training recipe (torchvision's RandomCrop(padding) +
 * RandomHorizontalFlip, ToTensor, Normalize) and PyTorch's bilinear resize with
 * align_corners=True (nn.UpsamplingBilinear2d). Images are planar [C, H, W]. */
#ifndef DMX_DATA_IMAGE_AUGMENT_H
#define DMX_DATA_IMAGE_AUGMENT_H

#include <stdbool.h>
#include <stdint.h>

typedef struct dmx_augment_draw {
    int dy, dx; /* crop offsets into the padded image, in [0, 2 * padding] */
    bool flip;  /* mirror left-right after the crop */
} dmx_augment_draw;

/* The draws of image `index` in `epoch`: offsets uniform in [0, 2 * padding] when `crop`
 * (else padding, i.e. no shift), a flip with probability 1/2 when `flip`. */
dmx_augment_draw dmx_augment_draw_for(uint64_t seed, uint32_t epoch, uint32_t index, bool crop,
                                      int padding, bool flip);

/* dst[c, y, x] = src[c, y + dy - padding, x' + dx - padding] with x' = W-1-x when flipped,
 * else x; 0 where that falls outside the image (the zero padding). */
void dmx_crop_flip_u8(const uint8_t *src, int channels, int height, int width, int padding,
                      dmx_augment_draw draw, uint8_t *dst);

/* Bilinear resize with align_corners=True (source coordinate = dst index * (in - 1) /
 * (out - 1)), rounded as PyTorch's CPU kernel rounds, so the results match it bit for bit. */
void dmx_resize_bilinear(const float *src, int channels, int in_h, int in_w, float *dst,
                         int out_h, int out_w);

/* pixel / 255 (ToTensor). */
void dmx_pixels_to_unit(const uint8_t *src, int64_t n, float *dst);

/* dst = (src - mean[c]) / std[c] over planes of `plane` values (Normalize). */
void dmx_normalize_planes(const float *src, int channels, int64_t plane, const float *mean,
                          const float *std, float *dst);

#endif
