/* Where the library's messages go: a callback the application installs, else stderr. One
 * lock covers the callback's installation and each delivery, so a message never reaches a
 * callback that was just replaced, and lines from two threads never interleave on stderr. */
#include "core/log.h"

#include <pthread.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define LINE 2048

static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static dmx_log_fn callback;
static void *callback_user;
static int level = -1; /* -1: not read from DIMIX_LOG yet */

const char *dmx_log_level_name(dmx_log_level l)
{
    switch (l) {
    case DMX_LOG_ERROR: return "error";
    case DMX_LOG_WARN: return "warn";
    case DMX_LOG_INFO: return "info";
    case DMX_LOG_DEBUG: return "debug";
    }
    return "unknown";
}

/* Under the lock. An unknown DIMIX_LOG value keeps the default and says so once. */
static int current_level(void)
{
    if (level >= 0)
        return level;
    level = DMX_LOG_WARN;
    const char *env = getenv("DIMIX_LOG");
    if (!env || !*env)
        return level;
    for (int l = DMX_LOG_ERROR; l <= DMX_LOG_DEBUG; l++)
        if (strcmp(env, dmx_log_level_name((dmx_log_level)l)) == 0)
            return level = l;
    fprintf(stderr, "dimix: warn: DIMIX_LOG=%s is not one of error, warn, info, debug; using warn\n",
            env);
    return level;
}

void dmx_set_log_callback(dmx_log_fn fn, void *user)
{
    pthread_mutex_lock(&lock);
    callback = fn;
    callback_user = user;
    pthread_mutex_unlock(&lock);
}

void dmx_set_log_level(dmx_log_level l)
{
    if (l < DMX_LOG_ERROR)
        l = DMX_LOG_ERROR;
    if (l > DMX_LOG_DEBUG)
        l = DMX_LOG_DEBUG;
    pthread_mutex_lock(&lock);
    level = (int)l;
    pthread_mutex_unlock(&lock);
}

static void deliver(dmx_log_level l, bool always, const char *fmt, va_list ap)
{
    char line[LINE];
    vsnprintf(line, sizeof line, fmt, ap);
    size_t n = strlen(line);
    while (n > 0 && line[n - 1] == '\n') /* one line, no trailing newline, for the callback */
        line[--n] = '\0';
    pthread_mutex_lock(&lock);
    if (always || (int)l <= current_level()) {
        if (callback)
            callback(l, line, callback_user);
        else
            fprintf(stderr, "dimix: %s: %s\n", dmx_log_level_name(l), line);
    }
    pthread_mutex_unlock(&lock);
}

void dmx_log(dmx_log_level l, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    deliver(l, false, fmt, ap);
    va_end(ap);
}

void dmx_log_report(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    deliver(DMX_LOG_INFO, true, fmt, ap);
    va_end(ap);
}
