/* 128-bit fingerprints and a set of them (see lra_fingerprint.h for why fingerprints). */
#include "data/lra_fingerprint.h"

#include <stdlib.h>
#include <string.h>

#include "core/error.h"
#include "data/lra_rng.h"

static uint64_t rotl64(uint64_t x, int k) { return (x << k) | (x >> (64 - k)); }

/* Two lanes, each a chain of the splitmix64 bijection over the 8-byte words, from different
 * starting states and with the words entering differently, so the lanes collide independently. */
dmx_fingerprint dmx_fingerprint_of(const char *bytes, size_t len)
{
    uint64_t a = 0x243F6A8885A308D3ull ^ len, b = 0x13198A2E03707344ull + len;
    size_t i = 0;
    for (; i + 8 <= len; i += 8) {
        uint64_t w;
        memcpy(&w, bytes + i, 8);
        a = dmx_lra_mix64(a ^ w);
        b = dmx_lra_mix64(rotl64(b, 23) + (w ^ 0xA4093822299F31D0ull));
    }
    uint64_t tail = 0;
    memcpy(&tail, bytes + i, len - i);
    a = dmx_lra_mix64(a ^ tail ^ 0x082EFA98EC4E6C89ull);
    b = dmx_lra_mix64(rotl64(b, 23) + (tail ^ 0x452821E638D01377ull));
    dmx_fingerprint fp = {a, b};
    if (fp.lo == 0 && fp.hi == 0)
        fp.lo = 1; /* {0, 0} is the empty-slot mark */
    return fp;
}

static size_t slot_of(const dmx_fingerprint_set *set, dmx_fingerprint fp)
{
    size_t mask = set->capacity - 1;
    size_t i = (size_t)fp.lo & mask;
    while (set->slots[i].lo | set->slots[i].hi) {
        if (set->slots[i].lo == fp.lo && set->slots[i].hi == fp.hi)
            return i;
        i = (i + 1) & mask;
    }
    return i;
}

static dmx_status grow(dmx_fingerprint_set *set)
{
    size_t capacity = set->capacity ? set->capacity * 2 : 1024;
    dmx_fingerprint *slots = calloc(capacity, sizeof *slots);
    if (!slots)
        return dmx_fail(DMX_ERR_OUT_OF_MEMORY, "fingerprint set: %zu slots", capacity);
    dmx_fingerprint_set bigger = {slots, capacity, set->count};
    for (size_t i = 0; i < set->capacity; i++)
        if (set->slots[i].lo | set->slots[i].hi)
            slots[slot_of(&bigger, set->slots[i])] = set->slots[i];
    free(set->slots);
    *set = bigger;
    return DMX_OK;
}

dmx_status dmx_fingerprint_set_add(dmx_fingerprint_set *set, dmx_fingerprint fp, int *added)
{
    if (2 * (set->count + 1) > set->capacity) /* keep the load at most one half */
        DMX_TRY(grow(set));
    size_t i = slot_of(set, fp);
    *added = !(set->slots[i].lo | set->slots[i].hi);
    if (*added) {
        set->slots[i] = fp;
        set->count++;
    }
    return DMX_OK;
}

void dmx_fingerprint_set_free(dmx_fingerprint_set *set)
{
    free(set->slots);
    set->slots = NULL;
    set->capacity = set->count = 0;
}
