/* A set of 128-bit fingerprints of byte strings: how the ListOps generator keeps its trees
 * distinct without holding ~700 MB of text. Equal strings always collide, so no duplicate ever
 * passes; two different strings share a fingerprint with probability about n^2 / 2^129 (1e-29
 * for the 100k ListOps trees), which would only drop one tree. */
#ifndef DMX_DATA_LRA_FINGERPRINT_H
#define DMX_DATA_LRA_FINGERPRINT_H

#include <stddef.h>
#include <stdint.h>

#include "dimix/status.h"

typedef struct dmx_fingerprint {
    uint64_t lo, hi;
} dmx_fingerprint;

typedef struct dmx_fingerprint_set {
    dmx_fingerprint *slots; /* open addressing, linear probing; {0, 0} marks an empty slot */
    size_t capacity;        /* a power of two */
    size_t count;
} dmx_fingerprint_set;

dmx_fingerprint dmx_fingerprint_of(const char *bytes, size_t len);

/* Adds `fp`; *added is 1 if it was new, 0 if already present. */
dmx_status dmx_fingerprint_set_add(dmx_fingerprint_set *set, dmx_fingerprint fp, int *added);

void dmx_fingerprint_set_free(dmx_fingerprint_set *set);

#endif
