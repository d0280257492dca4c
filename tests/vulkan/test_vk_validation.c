/* The parity suite on vulkan:0 under the Khronos validation layer, with its synchronization
 * checks (ctest sets DIMIX_VK_VALIDATION=sync): every error the debug-utils messenger counts
 * fails the test. Two controls first show the layer is really listening: an invalid call, and
 * a barrier deliberately left out between a write and a read. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ops/op_table.h"
#include "parity/parity.h"
#include "test_util.h"
#include "vulkan/vk_internal.h"

static dmx_device *dev;

/* The log callback: the layer's message must reach the application, not only stderr. */
static int logged_errors;
static char logged_first[256];
static void on_log(dmx_log_level level, const char *message, void *user)
{
    (void)user;
    if (level == DMX_LOG_ERROR && strstr(message, "Vulkan validation error") && logged_errors++ == 0)
        snprintf(logged_first, sizeof logged_first, "%s", message);
}

static int setup(void **state)
{
    (void)state;
    const char *mode = getenv("DIMIX_VK_VALIDATION");
    if (!mode || !*mode || strcmp(mode, "0") == 0) {
        fprintf(stderr, "run with DIMIX_VK_VALIDATION=1 (or sync): the test checks the layer\n");
        return -1;
    }
    if (dmx_device_open("vulkan:0", &dev) != DMX_OK) {
        const char *why = dmx_backend_why_none(DMX_BACKEND_VULKAN);
        fprintf(stderr, "no vulkan:0: %s\n", why ? why : "backend not built");
        /* a missing layer is a failure; a machine without any Vulkan driver is a skip */
        return why && strstr(why, "DIMIX_VK_VALIDATION") ? -1 : 0;
    }
    if (!dmx_vk_validation_enabled()) {
        fprintf(stderr, "the validation layer is not active\n");
        return -1;
    }
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    dmx_device_close(dev);
    return 0;
}

static void need_device(void)
{
    if (!dev) {
        fprintf(stderr, "SKIPPED: no Vulkan driver on this machine\n");
        skip();
    }
}

/* A buffer with no usage flags is invalid (VUID-VkBufferCreateInfo-usage-requiredbitmask). The
 * layer reports it, and the device's next call fails with the layer's message. */
static void test_layer_reports_an_invalid_call(void **state)
{
    (void)state;
    need_device();
    dmx_vk_device *d = dmx_vk_of(dev);
    uint32_t before = dmx_vk_validation_errors();
    printf("(the next validation error is provoked on purpose; it goes to a log callback)\n");
    fflush(stdout);
    logged_errors = 0;
    dmx_set_log_callback(on_log, NULL);
    VkBufferCreateInfo info = {.sType = VK_STRUCTURE_TYPE_BUFFER_CREATE_INFO, .size = 64};
    VkBuffer buf = VK_NULL_HANDLE;
    if (dmx_vk.vkCreateBuffer(d->handle, &info, NULL, &buf) == VK_SUCCESS)
        dmx_vk.vkDestroyBuffer(d->handle, buf, NULL);
    dmx_set_log_callback(NULL, NULL);
    assert_true(dmx_vk_validation_errors() > before);
    assert_true(logged_errors > 0);
    assert_non_null(strstr(logged_first, "VUID-VkBufferCreateInfo-usage"));
    DMX_ASSERT_FAILS(dmx_device_sync(dev), DMX_ERR_BACKEND, "validation layer reported");
    DMX_ASSERT_OK(dmx_device_sync(dev)); /* reported once */
}

/* The recorder's barrier removed by hand between a write and a read of the same buffer: the
 * synchronization checks must see the read-after-write hazard. */
static void test_layer_sees_a_missing_barrier(void **state)
{
    (void)state;
    need_device();
    if (strcmp(getenv("DIMIX_VK_VALIDATION"), "sync") != 0) {
        fprintf(stderr, "SKIPPED: synchronization checks are on with DIMIX_VK_VALIDATION=sync\n");
        skip();
    }
    dmx_buffer *a = NULL, *b = NULL;
    DMX_ASSERT_OK(dmx_buffer_alloc(dev, 4096, &a));
    DMX_ASSERT_OK(dmx_buffer_alloc(dev, 4096, &b));
    DMX_ASSERT_OK(dmx_device_sync(dev));
    uint32_t before = dmx_vk_validation_errors();
    printf("(the next validation error, a read-after-write hazard, is provoked on purpose)\n");
    fflush(stdout);
    DMX_ASSERT_OK(dmx_buffer_fill(a, 0, 4096, 0)); /* a written by a shader */
    dmx_vk_of(dev)->n_pending = 0;                  /* ...and the tracker made to forget it */
    dmx_p_scale p = {.n = 1024, .alpha = 2.0f};
    dmx_op_call call = {.op = DMX_OP_SCALE, .params = &p};
    call.args[0] = (dmx_arg){a, 0, 1024};
    call.args[1] = (dmx_arg){b, 0, 1024};
    DMX_ASSERT_OK(dmx_op_run(dev, &call)); /* reads a with no barrier in between */
    dmx_status s = dmx_device_sync(dev);
    assert_true(dmx_vk_validation_errors() > before);
    assert_int_equal(s, DMX_ERR_BACKEND);
    DMX_ASSERT_OK(dmx_device_sync(dev));
    dmx_buffer_free(a);
    dmx_buffer_free(b);
}

static void test_parity_suite_is_clean(void **state)
{
    (void)state;
    need_device();
    DMX_ASSERT_OK(dmx_device_sync(dev));
    uint32_t before = dmx_vk_validation_errors();
    static dmx_parity_report report;
    const char *names[1] = {"vulkan:0"};
    dmx_parity_opts opts = {0};
    DMX_ASSERT_OK(dmx_parity_run(names, 1, &opts, &report));
    dmx_parity_print_table(&report, stdout);
    uint32_t errors = dmx_vk_validation_errors() - before;
    printf("Vulkan validation layer (%s): %u error(s) over the parity suite\n",
           getenv("DIMIX_VK_VALIDATION"), errors);
    assert_int_equal(report.total_failed, 0);
    assert_int_equal(errors, 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_layer_reports_an_invalid_call),
        cmocka_unit_test(test_layer_sees_a_missing_barrier),
        cmocka_unit_test(test_parity_suite_is_clean),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
