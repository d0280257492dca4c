#include "core/dynlib.h"

#include <dlfcn.h>
#include <stdio.h>
#include <stdlib.h>

const char *dmx_dynlib_name(const char *env, const char *fallback)
{
    const char *v = env ? getenv(env) : NULL;
    return v && *v ? v : fallback;
}

void *dmx_dynlib_open(const char *name, char *why, size_t cap)
{
    void *lib = dlopen(name, RTLD_NOW | RTLD_LOCAL);
    if (!lib) {
        const char *err = dlerror();
        snprintf(why, cap, "%s not found (%s)", name, err ? err : "dlopen failed");
    }
    return lib;
}

void *dmx_dynlib_sym(void *lib, const char *symbol)
{
    return lib ? dlsym(lib, symbol) : NULL;
}
