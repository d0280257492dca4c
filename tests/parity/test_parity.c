/* ctest driver of the parity suite on one device (argv[1]), one cmocka test per op so the
 * output names what failed. Exits 77 (skipped) when the device is absent. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "parity/parity.h"
#include "test_util.h"

static const char *device_name;
static dmx_parity_report report;

static void test_every_op_matches_the_reference(void **state)
{
    (void)state;
    int failed_ops = 0;
    for (int op = 0; op < DMX_OP_COUNT; op++) {
        const dmx_parity_cell *c = &report.cell[op][0];
        if (c->cases == 0) {
            fprintf(stderr, "  %s: no case ran\n", dmx_op_name((dmx_op)op));
            failed_ops++;
        } else if (c->failed || c->unsupported) {
            fprintf(stderr, "  %s: %d of %d cases failed, %d unsupported\n",
                    dmx_op_name((dmx_op)op), c->failed, c->cases, c->unsupported);
            failed_ops++;
        }
    }
    assert_int_equal(failed_ops, 0);
}

int main(int argc, char **argv)
{
    device_name = argc > 1 ? argv[1] : DMX_PARITY_REFERENCE;
    dmx_device *dev = NULL;
    if (dmx_device_open(device_name, &dev) != DMX_OK) {
        printf("SKIPPED: device %s is absent: %s\n", device_name, dmx_last_error());
        return 77;
    }
    dmx_device_close(dev);
    dmx_parity_opts opts = {.small_only = getenv("DIMIX_PARITY_SMALL") != NULL,
                            .single_run = getenv("DIMIX_PARITY_ONCE") != NULL,
                            .op_filter = getenv("DIMIX_PARITY_OP")};
    const char *names[1] = {device_name};
    dmx_status s = dmx_parity_run(names, 1, &opts, &report);
    if (s != DMX_OK) {
        fprintf(stderr, "parity harness failed: %s\n", dmx_last_error());
        return 1;
    }
    dmx_parity_print_table(&report, stdout);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_every_op_matches_the_reference),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
