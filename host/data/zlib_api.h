/* zlib, opened at run time (libz.so.1, or $DIMIX_ZLIB_LIBRARY): only gzip IDX files and PNG
 * images need it, so without it everything else still works and those two say what is missing.
 * zlib.h gives the types; the calls go through this table. */
#ifndef DMX_DATA_ZLIB_API_H
#define DMX_DATA_ZLIB_API_H

#include <zlib.h>

#include "dimix/status.h"

#define DMX_ZLIB_FUNCS(X) \
    X(gzopen)             \
    X(gzbuffer)           \
    X(gzread)             \
    X(gzerror)            \
    X(gzclose)            \
    X(inflateInit_)       \
    X(inflate)            \
    X(inflateEnd)         \
    X(crc32)

typedef struct dmx_zlib_api {
#define DMX_ZLIB_DECLARE(fn) __typeof__(fn) *fn;
    DMX_ZLIB_FUNCS(DMX_ZLIB_DECLARE)
#undef DMX_ZLIB_DECLARE
} dmx_zlib_api;

/* The loaded table (the library is opened on first use, once per process). Without zlib,
 * fails with DMX_ERR_UNSUPPORTED: "reading <what> needs zlib (libz.so.1): install zlib1g". */
dmx_status dmx_zlib(const char *what, const dmx_zlib_api **out);

#endif
