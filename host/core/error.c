#include "core/error.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#define DMX_ERROR_CAPACITY 4096

static _Thread_local char last_error[DMX_ERROR_CAPACITY];

const char *dmx_last_error(void) { return last_error; }

void dmx_clear_error(void) { last_error[0] = '\0'; }

dmx_status dmx_fail(dmx_status status, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(last_error, sizeof last_error, fmt, ap);
    va_end(ap);
    return status;
}

dmx_status dmx_fail_context(dmx_status status, const char *fmt, ...)
{
    char prefix[512];
    char old[DMX_ERROR_CAPACITY];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(prefix, sizeof prefix, fmt, ap);
    va_end(ap);
    memcpy(old, last_error, sizeof old);
    size_t n = strlen(prefix);
    memcpy(last_error, prefix, n + 1);
    /* The old message follows, cut to fit. */
    size_t room = sizeof last_error - n - 1;
    strncat(last_error, old, room);
    return status;
}

const char *dmx_status_name(dmx_status status)
{
    switch (status) {
    case DMX_OK: return "DMX_OK";
    case DMX_ERR_INVALID_ARG: return "DMX_ERR_INVALID_ARG";
    case DMX_ERR_SHAPE: return "DMX_ERR_SHAPE";
    case DMX_ERR_NOT_FOUND: return "DMX_ERR_NOT_FOUND";
    case DMX_ERR_UNSUPPORTED: return "DMX_ERR_UNSUPPORTED";
    case DMX_ERR_OUT_OF_MEMORY: return "DMX_ERR_OUT_OF_MEMORY";
    case DMX_ERR_IO: return "DMX_ERR_IO";
    case DMX_ERR_FORMAT: return "DMX_ERR_FORMAT";
    case DMX_ERR_BACKEND: return "DMX_ERR_BACKEND";
    case DMX_ERR_COMPILE: return "DMX_ERR_COMPILE";
    case DMX_ERR_DEVICE_LOST: return "DMX_ERR_DEVICE_LOST";
    case DMX_ERR_INTERRUPTED: return "DMX_ERR_INTERRUPTED";
    }
    return "DMX_ERR_UNKNOWN";
}
