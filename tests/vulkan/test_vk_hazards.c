/* The recorder's barriers, op by op, under the validation layer's synchronization checks
 * (ctest: DIMIX_VK_VALIDATION=sync). For every case of every op in the parity suite, on a fresh
 * device handle (nothing tracked yet): the inputs are written, the op runs, and each of its
 * arguments is copied on the device at once, before any host wait. An argument the op writes
 * but the host code tracked as read-only, or a split op that reuses its scratch without a
 * barrier, is a hazard the layer reports; any report fails the test. Also checks the copies
 * match a plain read. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "parity/parity.h"
#include "test_util.h"
#include "vulkan/vk_internal.h"

static void run_case(dmx_device *dev, const dmx_parity_case *c)
{
    const dmx_op_desc *d = dmx_op_describe(c->op);
    int n = d->n_in + d->n_out;
    dmx_buffer *buf[DMX_MAX_ARGS] = {0}, *copy[DMX_MAX_ARGS] = {0};
    dmx_op_call call = {.op = c->op, .params = &c->params};
    for (int i = 0; i < n; i++) {
        const dmx_parity_arg *a = &c->args[i];
        if (a->role == DMX_PARITY_ABSENT)
            continue;
        size_t bytes = (a->count ? a->count : 1) * 4;
        DMX_ASSERT_OK(dmx_buffer_alloc(dev, bytes, &buf[i]));
        DMX_ASSERT_OK(dmx_buffer_alloc(dev, bytes, &copy[i]));
        if (a->count)
            DMX_ASSERT_OK(dmx_buffer_write(buf[i], 0, a->data, a->count * 4));
        call.args[i] = (dmx_arg){buf[i], 0, a->count};
    }
    dmx_status s = dmx_op_run(dev, &call);
    if (s != DMX_OK)
        fail_msg("%s: %s", c->name, dmx_last_error());
    for (int i = 0; i < n; i++)
        if (buf[i] && c->args[i].count)
            DMX_ASSERT_OK(dmx_buffer_copy(buf[i], 0, copy[i], 0, c->args[i].count * 4));
    for (int i = 0; i < n; i++) {
        if (!buf[i])
            continue;
        size_t bytes = c->args[i].count * 4;
        uint32_t *direct = malloc(bytes + 4), *copied = malloc(bytes + 4);
        DMX_ASSERT_OK(dmx_buffer_read(copy[i], 0, copied, bytes));
        DMX_ASSERT_OK(dmx_buffer_read(buf[i], 0, direct, bytes));
        if (memcmp(direct, copied, bytes) != 0)
            fail_msg("%s: argument %d: the device copy differs from the result", c->name, i);
        free(direct), free(copied);
        dmx_buffer_free(buf[i]);
        dmx_buffer_free(copy[i]);
    }
}

static void test_every_op_orders_its_accesses(void **state)
{
    (void)state;
    dmx_device *probe = NULL;
    if (dmx_device_open("vulkan:0", &probe) != DMX_OK) {
        fprintf(stderr, "SKIPPED: no vulkan:0: %s\n", dmx_last_error());
        skip();
    }
    dmx_device_close(probe);
    if (!dmx_vk_validation_enabled())
        fail_msg("run with DIMIX_VK_VALIDATION=sync: the layer is the judge here");
    dmx_parity_cases cases = {0};
    DMX_ASSERT_OK(dmx_parity_build_cases(&cases));
    uint32_t before = dmx_vk_validation_errors();
    int ran = 0;
    for (int k = 0; k < cases.count; k++) {
        if (cases.items[k].large)
            continue;
        dmx_device *dev = NULL;
        DMX_ASSERT_OK(dmx_device_open("vulkan:0", &dev));
        run_case(dev, &cases.items[k]);
        DMX_ASSERT_OK(dmx_device_sync(dev));
        dmx_device_close(dev);
        ran++;
    }
    uint32_t errors = dmx_vk_validation_errors() - before;
    printf("%d cases on fresh devices, %u validation error(s)\n", ran, errors);
    dmx_parity_free_cases(&cases);
    assert_int_equal(errors, 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_every_op_orders_its_accesses),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
