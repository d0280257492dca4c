/* Seeded Fisher-Yates shuffle on the counter-based generator. */
#include "data/image_shuffle.h"

#include "data/image_random.h"

void dmx_shuffle_permutation(uint64_t seed, uint32_t epoch, uint32_t n, uint32_t *perm)
{
    for (uint32_t i = 0; i < n; i++)
        perm[i] = i;
    for (uint32_t i = n; i > 1; i--) {
        uint32_t j = dmx_draw_below(seed, i - 1, epoch, DMX_STREAM_SHUFFLE, i);
        uint32_t t = perm[i - 1];
        perm[i - 1] = perm[j];
        perm[j] = t;
    }
}
