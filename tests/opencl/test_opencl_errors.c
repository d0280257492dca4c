/* OpenCL failures give clear messages naming the device and the op, nothing crashes, and the
 * device and the CPU reference keep working afterwards: a kernel that fails to build (through
 * DIMIX_KERNEL_DIR), a kernel launch that fails, an allocation beyond the device's limit, and
 * op parameters that would reach outside their buffers. (No platform at all:
 * test_opencl_no_platform.) */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "opencl_test_util.h"
#include "ops/op_table.h"

static void assert_contains(const char *text, const char *needle)
{
    if (!strstr(text, needle))
        fail_msg("message lacks \"%s\":\n%s", needle, text);
}

static void test_build_failure_names_file_device_and_log(void **state)
{
    (void)state;
    char dir[4096];
    dmx_cl_test_copy_kernels(dir, sizeof dir);
    dmx_cl_test_patch_kernel(dir, "softmax.cl", "dot = dmx_wg_sum(dot, red);",
                             "dot = undefined_helper_of_the_test(dot);");
    setenv("DIMIX_KERNEL_DIR", dir, 1);
    dmx_device *dev = NULL;
    dmx_status s = dmx_device_open("opencl:0", &dev);
    unsetenv("DIMIX_KERNEL_DIR");
    dmx_cl_test_remove_dir(dir);
    if (s != DMX_ERR_COMPILE)
        fail_msg("open with a broken softmax.cl returned %s: %s", dmx_status_name(s),
                 dmx_last_error());
    assert_null(dev);
    const char *msg = dmx_last_error();
    printf("build failure message:\n%s\n", msg);
    assert_contains(msg, "opencl:0");
    assert_contains(msg, "softmax.cl");
    assert_contains(msg, "DIMIX_KERNEL_DIR");
    assert_contains(msg, "build log");
    assert_contains(msg, "undefined_helper_of_the_test"); /* the compiler's own words */

    /* Nothing is left broken: the embedded kernels build, the CPU works. */
    dev = dmx_cl_test_open();
    dmx_cl_test_device_works(dev);
    dmx_device_close(dev);
    dmx_device *cpu = dmx_test_cpu();
    dmx_cl_test_device_works(cpu);
    dmx_device_close(cpu);
}

static void test_missing_kernel_dir_file_is_named(void **state)
{
    (void)state;
    setenv("DIMIX_KERNEL_DIR", DIMIX_BINARY_DIR "/no-such-kernel-dir", 1);
    dmx_device *dev = NULL;
    dmx_status s = dmx_device_open("opencl:0", &dev);
    unsetenv("DIMIX_KERNEL_DIR");
    assert_int_equal(s, DMX_ERR_NOT_FOUND);
    assert_contains(dmx_last_error(), "no-such-kernel-dir/common.cl");
    assert_contains(dmx_last_error(), "opencl:0");
}

/* A kernel whose signature no longer matches its launcher (one argument left unset) fails at
 * clEnqueueNDRangeKernel: the message names op, kernel and device, and other ops still run. */
static void test_launch_failure_names_op_and_device(void **state)
{
    (void)state;
    char dir[4096];
    dmx_cl_test_copy_kernels(dir, sizeof dir);
    dmx_cl_test_patch_kernel(dir, "elementwise.cl", "__global float *y, ulong y_off, int n)",
                             "__global float *y, ulong y_off, int n, int never_set)");
    setenv("DIMIX_KERNEL_DIR", dir, 1);
    dmx_device *dev = NULL;
    dmx_status s = dmx_device_open("opencl:0", &dev);
    unsetenv("DIMIX_KERNEL_DIR");
    dmx_cl_test_remove_dir(dir);
    if (s != DMX_OK)
        fail_msg("open with the patched kernels failed: %s", dmx_last_error());

    dmx_buffer *buf = NULL;
    DMX_ASSERT_OK(dmx_buffer_alloc(dev, 64, &buf));
    dmx_p_add p = {.n = 16};
    dmx_op_call call = {.op = DMX_OP_ADD, .params = &p};
    for (int i = 0; i < 3; i++)
        call.args[i] = (dmx_arg){buf, 0, 16};
    s = dmx_op_run(dev, &call);
    assert_int_not_equal(s, DMX_OK);
    const char *msg = dmx_last_error();
    printf("launch failure message:\n%s\n", msg);
    assert_contains(msg, "add on opencl:0");
    assert_contains(msg, "kernel add");
    assert_contains(msg, "CL_INVALID_KERNEL_ARGS");
    DMX_ASSERT_OK(dmx_device_sync(dev));
    dmx_cl_test_device_works(dev); /* the other kernels of the device still run */
    dmx_buffer_free(buf);
    dmx_device_close(dev);
}

static void test_allocation_beyond_the_device_limit(void **state)
{
    (void)state;
    dmx_device *dev = dmx_cl_test_open();
    const dmx_device_info *info = dmx_device_info_of(dev);
    dmx_buffer *buf = NULL;
    DMX_ASSERT_FAILS(dmx_buffer_alloc(dev, (size_t)info->max_alloc_bytes + 4096, &buf),
                     DMX_ERR_OUT_OF_MEMORY, "opencl:0");
    assert_contains(dmx_last_error(), "largest allocation");
    assert_null(buf);
    dmx_cl_test_device_works(dev);
    dmx_device_close(dev);
}

/* Parameters that would send a kernel outside its buffers are refused before any launch
 * (dmx_op_run's extent check), and the device is unharmed. */
static void test_parameters_outside_the_buffers_are_refused(void **state)
{
    (void)state;
    dmx_device *dev = dmx_cl_test_open();
    dmx_buffer *buf = NULL;
    DMX_ASSERT_OK(dmx_buffer_alloc(dev, 64 * sizeof(float), &buf));

    dmx_p_gemm g = {.M = 8, .N = 8, .K = 8, .lda = 8, .ldb = 8, .ldc = 8, .batch = 2,
                    .stride_a = 64, .stride_b = 64, .stride_c = 64, .alpha = 1.0f};
    dmx_op_call call = {.op = DMX_OP_GEMM, .params = &g};
    for (int i = 0; i < 3; i++)
        call.args[i] = (dmx_arg){buf, 0, 64};
    DMX_ASSERT_FAILS(dmx_op_run(dev, &call), DMX_ERR_INVALID_ARG, "gemm on opencl:0");
    assert_contains(dmx_last_error(), "reach 128");

    dmx_p_mix_linear m = {.M = 4, .J = 2, .Din = 4, .Dout = 4, .R1 = 2, .R2 = 1};
    dmx_op_call ml = {.op = DMX_OP_MIX_LINEAR, .params = &m};
    ml.args[0] = (dmx_arg){buf, 0, 64};
    ml.args[1] = (dmx_arg){buf, 0, 8}; /* W needs 2 * 2 * 4 * 4 = 64 */
    ml.args[3] = (dmx_arg){buf, 0, 64};
    DMX_ASSERT_FAILS(dmx_op_run(dev, &ml), DMX_ERR_INVALID_ARG, "mix_linear on opencl:0");

    dmx_p_softmax sm = {.rows = -3, .cols = 4, .scale = 1.0f};
    dmx_op_call sc = {.op = DMX_OP_SOFTMAX, .params = &sm};
    sc.args[0] = (dmx_arg){buf, 0, 64};
    sc.args[2] = (dmx_arg){buf, 0, 64};
    DMX_ASSERT_FAILS(dmx_op_run(dev, &sc), DMX_ERR_INVALID_ARG, "softmax on opencl:0");

    dmx_cl_test_device_works(dev);
    dmx_buffer_free(buf);
    dmx_device_close(dev);
}

int main(void)
{
    int skip = dmx_cl_test_require_device();
    if (skip)
        return skip;
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_build_failure_names_file_device_and_log),
        cmocka_unit_test(test_missing_kernel_dir_file_is_named),
        cmocka_unit_test(test_launch_failure_names_op_and_device),
        cmocka_unit_test(test_allocation_beyond_the_device_limit),
        cmocka_unit_test(test_parameters_outside_the_buffers_are_refused),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
