/* A seeded synthetic image set for tests and smoke runs: learnable, any shape, no files. */
#include <stdlib.h>

#include "core/error.h"
#include "data/image_augment.h"
#include "data/image_dataset.h"
#include "data/image_random.h"

/* Side of the coarse random grid behind each class pattern: coarse enough that a crop shift of
 * a few pixels keeps the class recognisable. */
#define PATTERN_GRID 4

static float unit_from_word(uint32_t w) { return (float)(w >> 8) * (1.0f / 16777216.0f); }

/* patterns [classes, C, H, W]: per class and channel a GRID x GRID grid of uniform values in
 * [0, 255], upsampled bilinearly. Depends on the seed only, so both splits share them. */
static float *make_patterns(const dmx_synthetic_options *o)
{
    const size_t plane = (size_t)o->height * o->width;
    float *patterns = malloc(sizeof(float) * plane * o->channels * o->num_classes);
    if (!patterns)
        return NULL;
    float grid[PATTERN_GRID * PATTERN_GRID];
    for (int k = 0; k < o->num_classes; k++)
        for (int c = 0; c < o->channels; c++) {
            for (int g = 0; g < PATTERN_GRID * PATTERN_GRID; g++) {
                uint32_t w[4];
                dmx_draw_words(o->seed, (uint32_t)k, (uint32_t)(c * PATTERN_GRID * PATTERN_GRID + g),
                               DMX_STREAM_SYNTH_PATTERN, 0, w);
                grid[g] = 255.0f * unit_from_word(w[0]);
            }
            float *dst = patterns + ((size_t)k * o->channels + c) * plane;
            dmx_resize_bilinear(grid, 1, PATTERN_GRID, PATTERN_GRID, dst, o->height, o->width);
        }
    return patterns;
}

/* Image i = its class pattern + uniform noise in [-noise, noise], rounded and clamped. */
static void draw_image(const dmx_synthetic_options *o, const float *pattern, int64_t i,
                       uint8_t *dst)
{
    const uint32_t stream = o->split == DMX_SPLIT_TRAIN ? DMX_STREAM_SYNTH_NOISE_TRAIN
                                                        : DMX_STREAM_SYNTH_NOISE_TEST;
    const size_t n = (size_t)o->channels * o->height * o->width;
    uint32_t w[4] = {0, 0, 0, 0};
    for (size_t p = 0; p < n; p++) {
        if (p % 4 == 0)
            dmx_draw_words(o->seed, (uint32_t)i, (uint32_t)(p / 4), stream, 0, w);
        float v = pattern[p] + o->noise * (2.0f * unit_from_word(w[p % 4]) - 1.0f);
        v = v < 0.0f ? 0.0f : v > 255.0f ? 255.0f : v;
        dst[p] = (uint8_t)(v + 0.5f);
    }
}

dmx_status dmx_synthetic_images(const dmx_synthetic_options *opts, dmx_image_dataset **out)
{
    if (!opts || !out)
        return dmx_fail(DMX_ERR_INVALID_ARG, "dmx_synthetic_images: NULL argument");
    *out = NULL;
    const dmx_synthetic_options o = *opts;
    if (o.split != DMX_SPLIT_TRAIN && o.split != DMX_SPLIT_TEST)
        return dmx_fail(DMX_ERR_INVALID_ARG, "synthetic images: split %d is neither train nor "
                                             "test", (int)o.split);
    if (!(o.noise >= 0.0f && o.noise <= 255.0f))
        return dmx_fail(DMX_ERR_INVALID_ARG, "synthetic images: noise %g is outside [0, 255]",
                        (double)o.noise);
    if (o.num_classes > 65536)
        return dmx_fail(DMX_ERR_INVALID_ARG, "synthetic images: %d classes is more than 65536",
                        o.num_classes);
    dmx_image_dataset *ds = NULL;
    DMX_TRY(dmx_image_dataset_alloc("synthetic", DMX_IMAGES_SYNTHETIC, o.split, o.count,
                                    o.channels, o.height, o.width, o.num_classes,
                                    "synthetic images", &ds));
    float *patterns = make_patterns(&o);
    if (!patterns) {
        dmx_image_dataset_free(ds);
        return dmx_fail(DMX_ERR_OUT_OF_MEMORY, "synthetic images: no memory for %d patterns",
                        o.num_classes);
    }
    const size_t image = (size_t)o.channels * o.height * o.width;
    for (int64_t i = 0; i < o.count; i++) {
        int label = (int)(i % o.num_classes);
        ds->labels[i] = label;
        draw_image(&o, patterns + (size_t)label * image, i, ds->pixels + (size_t)i * image);
    }
    free(patterns);
    dmx_status s = dmx_image_dataset_normalize_by_stats(ds);
    if (s != DMX_OK) {
        dmx_image_dataset_free(ds);
        return s;
    }
    *out = ds;
    return DMX_OK;
}
