/* No Vulkan driver (ctest points VK_DRIVER_FILES and VK_ICD_FILENAMES at a file that does not
 * exist): Vulkan has no devices and says why, opening vulkan:0 is a clear error, the CPU works,
 * and `dimix devices` lists the CPU and the reason. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ops/op_table.h"
#include "test_util.h"

static void test_vulkan_has_no_devices_and_says_why(void **state)
{
    (void)state;
    const char *why = dmx_backend_why_none(DMX_BACKEND_VULKAN);
    assert_non_null(why);
    printf("vulkan: %s\n", why);
    assert_non_null(strstr(why, "no Vulkan driver"));
    for (int i = 0; i < dmx_device_count(); i++) {
        dmx_device_info info;
        DMX_ASSERT_OK(dmx_device_get_info(i, &info));
        assert_int_not_equal(info.backend, DMX_BACKEND_VULKAN);
    }
    dmx_device *dev = NULL;
    DMX_ASSERT_FAILS(dmx_device_open("vulkan:0", &dev), DMX_ERR_NOT_FOUND, "no Vulkan driver");
    assert_null(dev);
}

static void test_cpu_still_computes(void **state)
{
    (void)state;
    dmx_device *cpu = dmx_test_cpu();
    dmx_buffer *b = NULL;
    DMX_ASSERT_OK(dmx_buffer_alloc(cpu, 64, &b));
    DMX_ASSERT_OK(dmx_buffer_fill(b, 0, 64, 0x3f800000u));
    float v[16];
    DMX_ASSERT_OK(dmx_buffer_read(b, 0, v, sizeof v));
    assert_true(v[15] == 1.0f);
    dmx_buffer_free(b);
    dmx_device_close(cpu);
}

static void test_cli_lists_cpu_and_the_reason(void **state)
{
    (void)state;
    FILE *p = popen("'" DIMIX_BINARY_DIR "/dimix' devices 2>&1", "r");
    assert_non_null(p);
    char out[4096];
    size_t got = fread(out, 1, sizeof out - 1, p);
    out[got] = '\0';
    int rc = pclose(p);
    printf("%s", out);
    assert_int_equal(rc, 0);
    assert_non_null(strstr(out, "\ncpu "));
    assert_non_null(strstr(out, "vulkan: no devices: "));
    assert_null(strstr(out, "vulkan:0"));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_vulkan_has_no_devices_and_says_why),
        cmocka_unit_test(test_cpu_still_computes),
        cmocka_unit_test(test_cli_lists_cpu_and_the_reason),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
