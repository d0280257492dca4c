/* Pieces shared by the safetensors reader and writer. */
#ifndef DMX_IO_SAFETENSORS_INTERNAL_H
#define DMX_IO_SAFETENSORS_INTERNAL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "dimix/safetensors.h"

/* Largest header the format allows (the reference implementation's MAX_HEADER_SIZE). */
#define DMX_ST_MAX_HEADER_BYTES 100000000ull

#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ != __ORDER_LITTLE_ENDIAN__
#error "safetensors data is little-endian; dimix supports little-endian hosts only"
#endif

/* The dtype spelled s[0, len), if it is one of the format's. */
bool dmx_st_dtype_parse(const char *s, size_t len, dmx_st_dtype *out);

/* Element count and byte size of `shape` in `dtype`. Fails (with a message about `what`) on a
 * negative size, on overflow past 2^63 elements or bytes, and when the bits do not make whole
 * bytes. A zero size anywhere makes zero elements whatever the other sizes are. */
dmx_status dmx_st_measure(const char *what, dmx_st_dtype dtype, int ndim, const int64_t *shape,
                          int64_t *numel, uint64_t *bytes);

/* Whether dmx_st_convert turns `from` into `to` (a different dtype). */
bool dmx_st_can_convert(dmx_st_dtype from, dmx_st_dtype to);

/* Converts numel elements for which dmx_st_can_convert holds; returns false at the first value
 * that does not fit `to`, with its index in *bad. */
bool dmx_st_convert(dmx_st_dtype from, const void *src, dmx_st_dtype to, void *dst,
                    int64_t numel, int64_t *bad);

/* "[2, 3]" into buf (cut to fit). */
const char *dmx_st_shape_str(int ndim, const int64_t *shape, char *buf, size_t cap);

#endif
