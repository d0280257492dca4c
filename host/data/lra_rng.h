/* splitmix64 (Steele, Lea and Flood, "Fast splittable pseudorandom number generators", 2014):
 * the seeded streams of the LRA generators. A stream is keyed by (seed, stream id), so example i
 * of a split can be drawn on any thread and still come out the same. */
#ifndef DMX_DATA_LRA_RNG_H
#define DMX_DATA_LRA_RNG_H

#include <stdint.h>

typedef struct dmx_lra_rng {
    uint64_t state;
} dmx_lra_rng;

/* The splitmix64 output function: a bijection of 64-bit words with full avalanche. */
static inline uint64_t dmx_lra_mix64(uint64_t z)
{
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    return z ^ (z >> 31);
}

static inline dmx_lra_rng dmx_lra_rng_stream(uint64_t seed, uint64_t stream)
{
    dmx_lra_rng r = {dmx_lra_mix64(seed ^ dmx_lra_mix64(stream + 0x632BE59BD9B4E019ull))};
    return r;
}

static inline uint64_t dmx_lra_rng_next(dmx_lra_rng *r)
{
    r->state += 0x9E3779B97F4A7C15ull;
    return dmx_lra_mix64(r->state);
}

/* Uniform in [0, 1) with 53 random bits (Python's random.random() has the same resolution). */
static inline double dmx_lra_rng_uniform(dmx_lra_rng *r)
{
    return (double)(dmx_lra_rng_next(r) >> 11) * 0x1.0p-53;
}

/* Uniform integer in [lo, hi] inclusive (like Python's randint), without modulo bias. */
static inline int dmx_lra_rng_int(dmx_lra_rng *r, int lo, int hi)
{
    uint64_t span = (uint64_t)((int64_t)hi - lo) + 1;
    uint64_t limit = UINT64_MAX - UINT64_MAX % span; /* draws at or above it are redrawn */
    uint64_t x;
    do
        x = dmx_lra_rng_next(r);
    while (x >= limit);
    return (int)((int64_t)lo + (int64_t)(x % span));
}

#endif
