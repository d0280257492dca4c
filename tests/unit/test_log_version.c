/* The log callback (levels, restoring stderr, whole lines from several threads) and the
 * runtime version query. */
#include <pthread.h>
#include <stdio.h>
#include <string.h>

#include "core/log.h"
#include "test_util.h"

typedef struct seen {
    pthread_mutex_t lock;
    int count, bad, levels[4];
    char last[128];
} seen;

static void on_log(dmx_log_level level, const char *message, void *user)
{
    seen *s = user;
    pthread_mutex_lock(&s->lock);
    s->count++;
    s->levels[level]++;
    snprintf(s->last, sizeof s->last, "%s", message);
    /* the threads' messages are "thread T message K": anything else is a torn line */
    int t, k;
    char tail;
    if (sscanf(message, "thread %d message %d%c", &t, &k, &tail) == 2 && strchr(message, '\n'))
        s->bad++;
    pthread_mutex_unlock(&s->lock);
}

static void test_callback_receives_within_level(void **state)
{
    (void)state;
    seen s = {.lock = PTHREAD_MUTEX_INITIALIZER};
    dmx_set_log_callback(on_log, &s);
    dmx_set_log_level(DMX_LOG_WARN);
    dmx_log(DMX_LOG_WARN, "disk %s at %d%%\n", "full", 97);
    dmx_log(DMX_LOG_INFO, "dropped: above the level");
    assert_int_equal(s.count, 1);
    assert_string_equal(s.last, "disk full at 97%"); /* the trailing newline removed */
    dmx_set_log_level(DMX_LOG_DEBUG);
    dmx_log(DMX_LOG_DEBUG, "now %s", "kept");
    assert_int_equal(s.count, 2);
    assert_string_equal(s.last, "now kept");
    dmx_set_log_level(DMX_LOG_ERROR);
    dmx_log_report("a report %d", 1); /* asked for by the user: past any level */
    assert_int_equal(s.count, 3);
    assert_int_equal(s.levels[DMX_LOG_INFO], 1);
    dmx_set_log_callback(NULL, NULL); /* back to stderr: the callback hears nothing more */
    dmx_log(DMX_LOG_ERROR, "(this line goes to stderr on purpose)");
    assert_int_equal(s.count, 3);
    dmx_set_log_level(DMX_LOG_WARN);
    assert_string_equal(dmx_log_level_name(DMX_LOG_DEBUG), "debug");
}

enum { THREADS = 4, MESSAGES = 2000 };

static void *chatter(void *arg)
{
    int t = (int)(intptr_t)arg;
    for (int k = 0; k < MESSAGES; k++)
        dmx_log(DMX_LOG_WARN, "thread %d message %d", t, k);
    return NULL;
}

static void test_threads_all_delivered(void **state)
{
    (void)state;
    seen s = {.lock = PTHREAD_MUTEX_INITIALIZER};
    dmx_set_log_callback(on_log, &s);
    pthread_t th[THREADS];
    for (int t = 0; t < THREADS; t++)
        assert_int_equal(pthread_create(&th[t], NULL, chatter, (void *)(intptr_t)t), 0);
    for (int t = 0; t < THREADS; t++)
        pthread_join(th[t], NULL);
    dmx_set_log_callback(NULL, NULL);
    assert_int_equal(s.count, THREADS * MESSAGES);
    assert_int_equal(s.bad, 0);
}

static void test_version_matches_headers(void **state)
{
    (void)state;
    char expect[32];
    snprintf(expect, sizeof expect, "%d.%d.%d", DIMIX_VERSION_MAJOR, DIMIX_VERSION_MINOR,
             DIMIX_VERSION_PATCH);
    assert_string_equal(dmx_version(), expect);
    assert_int_equal(dmx_version_number(), DIMIX_VERSION_NUMBER);
    assert_int_equal(dmx_version_number(),
                     DIMIX_VERSION_MAJOR * 10000 + DIMIX_VERSION_MINOR * 100 + DIMIX_VERSION_PATCH);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_callback_receives_within_level),
        cmocka_unit_test(test_threads_all_delivered),
        cmocka_unit_test(test_version_matches_headers),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
