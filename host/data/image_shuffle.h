/* The per-epoch order of a dataset. */
#ifndef DMX_DATA_IMAGE_SHUFFLE_H
#define DMX_DATA_IMAGE_SHUFFLE_H

#include <stdint.h>

/* perm = a uniformly random permutation of 0..n-1, fixed by (seed, epoch): Fisher-Yates where
 * step i draws its partner from counter (i, epoch). */
void dmx_shuffle_permutation(uint64_t seed, uint32_t epoch, uint32_t n, uint32_t *perm);

#endif
