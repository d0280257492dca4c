#include "data/zlib_api.h"

#include <pthread.h>
#include <stdio.h>

#include "core/dynlib.h"
#include "core/error.h"

static pthread_once_t zlib_once = PTHREAD_ONCE_INIT;
static dmx_zlib_api zlib_table;
static int zlib_loaded;
static char zlib_why[512];

static void zlib_load(void)
{
    const char *name = dmx_dynlib_name("DIMIX_ZLIB_LIBRARY", "libz.so.1");
    void *lib = dmx_dynlib_open(name, zlib_why, sizeof zlib_why);
    if (!lib)
        return;
#define DMX_ZLIB_RESOLVE(fn)                                                              \
    zlib_table.fn = (__typeof__(fn) *)dmx_dynlib_sym(lib, DMX_DYN_STR(fn));               \
    if (!zlib_table.fn) {                                                                 \
        snprintf(zlib_why, sizeof zlib_why, "%s lacks %s", name, DMX_DYN_STR(fn));        \
        return;                                                                           \
    }
    DMX_ZLIB_FUNCS(DMX_ZLIB_RESOLVE)
#undef DMX_ZLIB_RESOLVE
    zlib_loaded = 1;
}

dmx_status dmx_zlib(const char *what, const dmx_zlib_api **out)
{
    pthread_once(&zlib_once, zlib_load);
    *out = zlib_loaded ? &zlib_table : NULL;
    if (zlib_loaded)
        return DMX_OK;
    return dmx_fail(DMX_ERR_UNSUPPORTED, "reading %s needs zlib (libz.so.1): install zlib1g "
                    "(%s)", what, zlib_why);
}
