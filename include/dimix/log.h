/* Where the library's messages go. By default warnings and errors are written to stderr, one
 * line each prefixed "dimix: ". An application installs a callback to route them into its own
 * log or window instead. The callback may be called from any thread that calls into dimix, so
 * it must be thread-safe; it must not call back into dimix. */
#ifndef DIMIX_LOG_H
#define DIMIX_LOG_H

#include "dimix/export.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef enum dmx_log_level {
    DMX_LOG_ERROR = 0,
    DMX_LOG_WARN = 1,
    DMX_LOG_INFO = 2,
    DMX_LOG_DEBUG = 3,
} dmx_log_level;

/* `message` is one line without a trailing newline, valid only during the call. */
typedef void (*dmx_log_fn)(dmx_log_level level, const char *message, void *user);

/* Installs `fn` (NULL restores the stderr default). */
DMX_API void dmx_set_log_callback(dmx_log_fn fn, void *user);
/* Messages above `level` are dropped (default DMX_LOG_WARN; DIMIX_LOG=debug|info|warn|error
 * in the environment sets the starting level). */
DMX_API void dmx_set_log_level(dmx_log_level level);
/* "error", "warn", "info", "debug". */
DMX_API const char *dmx_log_level_name(dmx_log_level level);

#ifdef __cplusplus
}
#endif
#endif
