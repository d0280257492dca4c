/* The on-disk program-binary cache: written on the first open, used on the next, a corrupt
 * entry rebuilt from source; and off by default on PoCL (its own cache makes ours a cost).
 * Runs with XDG_CACHE_HOME pointing at a directory of the build tree. */
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "opencl/cl_internal.h"
#include "opencl_test_util.h"

static void cache_dir(char *out, size_t cap)
{
    const char *xdg = getenv("XDG_CACHE_HOME");
    if (!xdg || !*xdg)
        fail_msg("this test must run with XDG_CACHE_HOME set");
    snprintf(out, cap, "%s/dimix/opencl", xdg);
}

/* Number of cache entries; the first one's path goes to `first` when given. */
static int count_entries(char *first, size_t cap)
{
    char dir[2048];
    cache_dir(dir, sizeof dir);
    DIR *d = opendir(dir);
    if (!d)
        return 0;
    int n = 0;
    struct dirent *e;
    while ((e = readdir(d)))
        if (strstr(e->d_name, ".bin")) {
            if (n++ == 0 && first)
                snprintf(first, cap, "%s/%s", dir, e->d_name);
        }
    closedir(d);
    return n;
}

static void clear_cache(void)
{
    char dir[4096];
    cache_dir(dir, sizeof dir);
    dmx_cl_test_remove_dir(dir);
}

static int open_and_count_hits(void)
{
    dmx_device *dev = dmx_cl_test_open();
    int hits = dmx_cl_dev(dev)->cache_hits;
    dmx_cl_test_device_works(dev);
    dmx_device_close(dev);
    return hits;
}

static void test_cache_written_then_used(void **state)
{
    (void)state;
    setenv("DIMIX_OPENCL_CACHE", "1", 1);
    clear_cache();
    assert_int_equal(open_and_count_hits(), 0);
    assert_int_equal(count_entries(NULL, 0), DMX_CL_PROG_COUNT);
    assert_int_equal(open_and_count_hits(), DMX_CL_PROG_COUNT);

    /* A truncated entry is dropped and rebuilt from source; the others still load. */
    char victim[4096];
    assert_int_equal(count_entries(victim, sizeof victim), DMX_CL_PROG_COUNT);
    assert_int_equal(truncate(victim, 10), 0);
    assert_int_equal(open_and_count_hits(), DMX_CL_PROG_COUNT - 1);
    struct stat st;
    assert_int_equal(stat(victim, &st), 0);
    assert_true(st.st_size > 10);
    assert_int_equal(open_and_count_hits(), DMX_CL_PROG_COUNT);
    unsetenv("DIMIX_OPENCL_CACHE");
}

static void test_cache_off_by_default_on_pocl(void **state)
{
    (void)state;
    unsetenv("DIMIX_OPENCL_CACHE");
    clear_cache();
    dmx_device *dev = dmx_cl_test_open();
    bool pocl = dmx_cl_dev(dev)->is_pocl;
    dmx_device_close(dev);
    if (!pocl)
        skip(); /* the default differs per driver; this checks the PoCL rule */
    assert_int_equal(count_entries(NULL, 0), 0);
}

int main(void)
{
    int skip_code = dmx_cl_test_require_device();
    if (skip_code)
        return skip_code;
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_cache_written_then_used),
        cmocka_unit_test(test_cache_off_by_default_on_pocl),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
