/* The library's messages (dimix/log.h): one line each, to the application's callback or to
 * stderr. */
#ifndef DMX_CORE_LOG_H
#define DMX_CORE_LOG_H

#include "dimix/log.h"

#ifndef DMX_PRINTF
#if defined(__GNUC__)
#define DMX_PRINTF(a, b) __attribute__((format(printf, a, b)))
#else
#define DMX_PRINTF(a, b)
#endif
#endif

/* Formats and delivers one message when `level` is within the current level. */
void dmx_log(dmx_log_level level, const char *fmt, ...) DMX_PRINTF(2, 3);

/* A report the user asked for through the environment (DIMIX_VK_PROFILE): delivered at INFO
 * whatever the level, since asking for it is the request to see it. */
void dmx_log_report(const char *fmt, ...) DMX_PRINTF(1, 2);

#endif
