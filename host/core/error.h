/* Internal error helpers: set the thread's last-error message and return a status. */
#ifndef DMX_CORE_ERROR_H
#define DMX_CORE_ERROR_H

#include "dimix/status.h"

#if defined(__GNUC__)
#define DMX_PRINTF(a, b) __attribute__((format(printf, a, b)))
#else
#define DMX_PRINTF(a, b)
#endif

/* Records the message and returns `status`: `return dmx_fail(DMX_ERR_SHAPE, "...", ...);` */
dmx_status dmx_fail(dmx_status status, const char *fmt, ...) DMX_PRINTF(2, 3);

/* Prepends context ("gelu on opencl:0: ") to the current message and returns `status`. */
dmx_status dmx_fail_context(dmx_status status, const char *fmt, ...) DMX_PRINTF(2, 3);

/* Returns from the calling function when `expr` fails. */
#define DMX_TRY(expr)                       \
    do {                                    \
        dmx_status dmx_try_s_ = (expr);     \
        if (dmx_try_s_ != DMX_OK)           \
            return dmx_try_s_;              \
    } while (0)

#endif
