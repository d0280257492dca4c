/* Status codes. Every public dimix function that can fail returns a dmx_status; on failure
 * dmx_last_error() holds a message saying what was wrong and where (tensor names, shapes,
 * device, native error codes, compiler logs). The library never exits or aborts. */
#ifndef DIMIX_STATUS_H
#define DIMIX_STATUS_H

#include "dimix/export.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef enum dmx_status {
    DMX_OK = 0,
    DMX_ERR_INVALID_ARG = -1,  /* a bad argument: NULL, out of range, wrong dtype */
    DMX_ERR_SHAPE = -2,        /* shapes that do not fit together */
    DMX_ERR_NOT_FOUND = -3,    /* unknown device name, missing tensor or file */
    DMX_ERR_UNSUPPORTED = -4,  /* the device or build lacks the feature */
    DMX_ERR_OUT_OF_MEMORY = -5,
    DMX_ERR_IO = -6,           /* a read or write failed */
    DMX_ERR_FORMAT = -7,       /* a malformed or truncated file */
    DMX_ERR_BACKEND = -8,      /* a native API call failed (code in the message) */
    DMX_ERR_COMPILE = -9,      /* a kernel or shader failed to build (log in the message) */
    DMX_ERR_DEVICE_LOST = -10,
    DMX_ERR_INTERRUPTED = -11, /* stopped on request (Ctrl-C) */
} dmx_status;

/* "DMX_ERR_SHAPE" and so on. */
DMX_API const char *dmx_status_name(dmx_status status);

/* The message of the last failure on this thread ("" if none). Valid until the next failure. */
DMX_API const char *dmx_last_error(void);

/* Clears the message of the last failure on this thread. */
DMX_API void dmx_clear_error(void);

#ifdef __cplusplus
}
#endif
#endif
