/* The library's version: the macros give the headers' version, the functions the version of
 * the library actually loaded (they differ when an application runs against another build). */
#ifndef DIMIX_VERSION_H
#define DIMIX_VERSION_H

#include "dimix/export.h"

#define DIMIX_VERSION_MAJOR 0
#define DIMIX_VERSION_MINOR 1
#define DIMIX_VERSION_PATCH 0
/* MAJOR * 10000 + MINOR * 100 + PATCH */
#define DIMIX_VERSION_NUMBER (DIMIX_VERSION_MAJOR * 10000 + DIMIX_VERSION_MINOR * 100 + DIMIX_VERSION_PATCH)

#ifdef __cplusplus
extern "C" {
#endif

/* "0.1.0" */
DMX_API const char *dmx_version(void);
/* DIMIX_VERSION_NUMBER of the loaded library. */
DMX_API int dmx_version_number(void);

#ifdef __cplusplus
}
#endif
#endif
