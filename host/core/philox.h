/* Philox4x32-10 (Salmon et al., "Parallel random numbers: as easy as 1, 2, 3", SC 2011):
 * a counter-based generator, so element i of any tensor draws the same number on every backend.
 * cl/ and shaders/ carry the same rounds; the parity suite checks they agree. */
#ifndef DMX_CORE_PHILOX_H
#define DMX_CORE_PHILOX_H

#include <stdint.h>

#define DMX_PHILOX_M0 0xD2511F53u
#define DMX_PHILOX_M1 0xCD9E8D57u
#define DMX_PHILOX_W0 0x9E3779B9u
#define DMX_PHILOX_W1 0xBB67AE85u

static inline void dmx_philox4x32_10(const uint32_t counter[4], uint32_t key0, uint32_t key1,
                                     uint32_t out[4])
{
    uint32_t c0 = counter[0], c1 = counter[1], c2 = counter[2], c3 = counter[3];
    for (int round = 0; round < 10; round++) {
        uint64_t p0 = (uint64_t)DMX_PHILOX_M0 * c0;
        uint64_t p1 = (uint64_t)DMX_PHILOX_M1 * c2;
        uint32_t hi0 = (uint32_t)(p0 >> 32), lo0 = (uint32_t)p0;
        uint32_t hi1 = (uint32_t)(p1 >> 32), lo1 = (uint32_t)p1;
        c0 = hi1 ^ c1 ^ key0;
        c1 = lo1;
        c2 = hi0 ^ c3 ^ key1;
        c3 = lo0;
        key0 += DMX_PHILOX_W0;
        key1 += DMX_PHILOX_W1;
    }
    out[0] = c0, out[1] = c1, out[2] = c2, out[3] = c3;
}

/* A uniform float in [0, 1) with 24 random bits, for element `index` under `seed`. */
static inline float dmx_philox_uniform(uint32_t seed_lo, uint32_t seed_hi, uint32_t index)
{
    uint32_t counter[4] = {index, 0, 0, 0}, out[4];
    dmx_philox4x32_10(counter, seed_lo, seed_hi, out);
    return (float)(out[0] >> 8) * (1.0f / 16777216.0f);
}

#endif
