/* Run with OCL_ICD_VENDORS pointing at an empty directory: no OpenCL platform exists. That is
 * not an error: the registry lists the CPU, says why OpenCL has no device, refuses "opencl:0"
 * with that reason, and the CPU reference works. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "test_util.h"

static void test_no_platform_is_reported_not_fatal(void **state)
{
    (void)state;
    const char *vendors = getenv("OCL_ICD_VENDORS");
    if (!vendors || !*vendors)
        fail_msg("this test must run with OCL_ICD_VENDORS set to an empty directory");
    assert_true(dmx_device_count() >= 1);
    for (int i = 0; i < dmx_device_count(); i++) {
        dmx_device_info info;
        DMX_ASSERT_OK(dmx_device_get_info(i, &info));
        assert_int_not_equal(info.backend, DMX_BACKEND_OPENCL);
    }
    const char *why = dmx_backend_why_none(DMX_BACKEND_OPENCL);
    printf("why no OpenCL device: %s\n", why);
    assert_non_null(strstr(why, "no OpenCL platform"));

    dmx_device *dev = NULL;
    DMX_ASSERT_FAILS(dmx_device_open("opencl:0", &dev), DMX_ERR_NOT_FOUND,
                     "opencl: none (no OpenCL platform");
    assert_null(dev);

    dmx_device *cpu = dmx_test_cpu();
    float x[3] = {1, 2, 3}, y[3] = {0};
    dmx_buffer *b = NULL;
    DMX_ASSERT_OK(dmx_buffer_alloc(cpu, sizeof x, &b));
    DMX_ASSERT_OK(dmx_buffer_write(b, 0, x, sizeof x));
    DMX_ASSERT_OK(dmx_buffer_read(b, 0, y, sizeof y));
    assert_memory_equal(x, y, sizeof x);
    dmx_buffer_free(b);
    dmx_device_close(cpu);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_no_platform_is_reported_not_fatal),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
