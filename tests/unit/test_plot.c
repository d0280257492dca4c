/* SVG plots: a valid document with one polyline per series, non-finite points skipped, and a
 * clear error for a path that cannot be written. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "dimix/plot.h"
#include "test_util.h"

static char *slurp(const char *path)
{
    FILE *f = fopen(path, "rb");
    assert_non_null(f);
    fseek(f, 0, SEEK_END);
    long n = ftell(f);
    fseek(f, 0, SEEK_SET);
    char *s = calloc(1, (size_t)n + 1);
    assert_int_equal(fread(s, 1, (size_t)n, f), (size_t)n);
    fclose(f);
    return s;
}

static int count(const char *s, const char *needle)
{
    int n = 0;
    for (const char *p = s; (p = strstr(p, needle)); p++)
        n++;
    return n;
}

static void test_svg_has_series_and_skips_nan(void **state)
{
    (void)state;
    double x[4] = {0, 1, 2, 3}, y[4] = {1.0, NAN, 0.5, 0.25}, acc[2] = {80, 90}, ep[2] = {1, 2};
    dmx_plot_series loss = {"train loss", x, y, 4}, test = {"test acc", ep, acc, 2};
    dmx_plot_panel panels[2] = {{"Loss", "step", "loss", &loss, 1},
                                {"Accuracy", "epoch", "%", &test, 1}};
    char path[] = "/tmp/dimix_plot_XXXXXX";
    int fd = mkstemp(path);
    assert_true(fd >= 0);
    DMX_ASSERT_OK(dmx_plot_svg(path, "run", panels, 2));
    char *svg = slurp(path);
    assert_non_null(strstr(svg, "<svg"));
    assert_non_null(strstr(svg, "</svg>"));
    assert_int_equal(count(svg, "<polyline"), 2);
    assert_non_null(strstr(svg, "train loss"));
    assert_null(strstr(svg, "nan"));
    /* three finite loss points -> three coordinate pairs in the first polyline */
    const char *pts = strstr(svg, "points=\"") + 8;
    int pairs = 0;
    for (const char *p = pts; *p != '"'; p++)
        pairs += *p == ',';
    assert_int_equal(pairs, 3);
    free(svg);
    remove(path);
    close(fd);
}

static void test_unwritable_path_fails_cleanly(void **state)
{
    (void)state;
    DMX_ASSERT_FAILS(dmx_plot_svg("/nonexistent-dir/x.svg", "t", NULL, 0), DMX_ERR_IO,
                     "/nonexistent-dir/x.svg");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_svg_has_series_and_skips_nan),
        cmocka_unit_test(test_unwritable_path_fails_cleanly),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
