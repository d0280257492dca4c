/* Counter-based draws for the data pipeline. Every draw is Philox4x32-10 keyed by the seed, on
 * the counter (a, b, stream, attempt): a and b name what is drawn for (an image index and an
 * epoch, a shuffle step and an epoch, ...) and `stream` keeps unrelated uses apart. No state is
 * carried from one draw to the next, so the order and the thread that draws do not matter. */
#ifndef DMX_DATA_IMAGE_RANDOM_H
#define DMX_DATA_IMAGE_RANDOM_H

#include <stdint.h>

#include "core/philox.h"

enum {
    DMX_STREAM_SHUFFLE = 1,
    DMX_STREAM_CROP_Y = 2,
    DMX_STREAM_CROP_X = 3,
    DMX_STREAM_FLIP = 4,
    DMX_STREAM_SYNTH_PATTERN = 5,
    DMX_STREAM_SYNTH_NOISE_TRAIN = 6,
    DMX_STREAM_SYNTH_NOISE_TEST = 7,
};

/* Four random words for counter (a, b, stream, attempt). */
static inline void dmx_draw_words(uint64_t seed, uint32_t a, uint32_t b, uint32_t stream,
                                  uint32_t attempt, uint32_t out[4])
{
    const uint32_t counter[4] = {a, b, stream, attempt};
    dmx_philox4x32_10(counter, (uint32_t)seed, (uint32_t)(seed >> 32), out);
}

/* A uniform integer in [0, range), range >= 1, exactly unbiased: Lemire's multiply-shift
 * (ACM TOMACS 2019) with rejection of the 2^32 mod range low values that would favour some
 * results; a rejected draw retries with the next `attempt`. */
static inline uint32_t dmx_draw_below(uint64_t seed, uint32_t a, uint32_t b, uint32_t stream,
                                      uint32_t range)
{
    const uint32_t threshold = (uint32_t)(0u - range) % range;
    for (uint32_t attempt = 0;; attempt++) {
        uint32_t w[4];
        dmx_draw_words(seed, a, b, stream, attempt, w);
        uint64_t m = (uint64_t)w[0] * range;
        if ((uint32_t)m >= threshold)
            return (uint32_t)(m >> 32);
    }
}

#endif
