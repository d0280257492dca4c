/* Optional libraries opened at run time (dlopen) instead of linked: libdimix.so starts with
 * libc, libm and OpenMP only, and a missing OpenCL loader, CLBlast, OpenBLAS or zlib turns off
 * what needs it (or selects a fallback) instead of stopping the program from starting. Each
 * library's name can be overridden with an environment variable (DIMIX_OPENCL_LIBRARY, ...):
 * a path to one particular ICD loader or BLAS, or a file that does not exist to test absence. */
#ifndef DMX_CORE_DYNLIB_H
#define DMX_CORE_DYNLIB_H

#include <stddef.h>

/* Stringizes after macro expansion: zlib may #define gzopen gzopen64. */
#define DMX_DYN_STR_(x) #x
#define DMX_DYN_STR(x) DMX_DYN_STR_(x)

/* The file name to open: $env when set and non-empty, else `fallback`. */
const char *dmx_dynlib_name(const char *env, const char *fallback);

/* dlopen(name, RTLD_NOW | RTLD_LOCAL); the handle stays open for the life of the process. On
 * failure returns NULL and writes "<name> not found (<dlerror>)" into `why`. */
void *dmx_dynlib_open(const char *name, char *why, size_t cap);

/* The address of `symbol` in `lib`, NULL when absent. */
void *dmx_dynlib_sym(void *lib, const char *symbol);

#endif
