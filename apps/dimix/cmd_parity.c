/* dimix parity: every device operator on the named devices against the CPU reference. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "commands.h"
#include "dimix/dimix.h"
#include "parity/parity.h"

static void usage(FILE *out)
{
    fprintf(out,
            "usage: dimix parity [--device NAME]... [--op NAME] [--small] [--once] [--json FILE]\n"
            "                    [-v]\n\n"
            "Runs every device operator, forward and backward, over shape sweeps on each device\n"
            "and compares it with the CPU reference (guard bands, NaN-prefilled outputs,\n"
            "untouched inputs, determinism, per-element tolerance and normalised MSE).\n"
            "Prints an op x device table of the worst normalised MSE.\n\n"
            "  --device NAME  a device to check (repeatable; one that is absent is an error);\n"
            "                 default: every device present\n"
            "  --op NAME      only ops whose name contains NAME\n"
            "  --small        skip the larger shapes\n"
            "  --once         run each case once (no determinism rerun): for slow simulators\n"
            "  --json FILE    also write the report as JSON ('-' for stdout)\n"
            "  -v             one line per case\n"
            "Exit status: 0 all passed, 1 a failure, 2 bad usage or an absent --device.\n");
}

int dmx_cmd_parity(int argc, char **argv)
{
    const char *names[DMX_PARITY_MAX_DEVICES];
    char owned[DMX_PARITY_MAX_DEVICES][32];
    int n = 0;
    const char *json = NULL;
    dmx_parity_opts opts = {0};
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--help") == 0 || strcmp(argv[i], "-h") == 0) {
            usage(stdout);
            return 0;
        } else if (strcmp(argv[i], "--device") == 0 && i + 1 < argc) {
            if (n == DMX_PARITY_MAX_DEVICES) {
                fprintf(stderr, "dimix parity: at most %d devices\n", DMX_PARITY_MAX_DEVICES);
                return 2;
            }
            names[n++] = argv[++i];
        } else if (strcmp(argv[i], "--op") == 0 && i + 1 < argc) {
            opts.op_filter = argv[++i];
        } else if (strcmp(argv[i], "--json") == 0 && i + 1 < argc) {
            json = argv[++i];
        } else if (strcmp(argv[i], "--small") == 0) {
            opts.small_only = true;
        } else if (strcmp(argv[i], "--once") == 0) {
            opts.single_run = true;
        } else if (strcmp(argv[i], "-v") == 0) {
            opts.verbose = true;
        } else {
            fprintf(stderr, "dimix parity: unknown option '%s'\n\n", argv[i]);
            usage(stderr);
            return 2;
        }
    }
    /* A device named on the command line must exist: an absent one is an error, not a skip
       (only the default, every device present, has nothing to name). */
    for (int d = 0; d < n; d++) {
        dmx_device *dev = NULL;
        if (dmx_device_open(names[d], &dev) != DMX_OK) {
            fprintf(stderr, "dimix parity: --device %s: %s\n", names[d], dmx_last_error());
            return 2;
        }
        dmx_device_close(dev);
    }
    if (n == 0) { /* every device present */
        int count = dmx_device_count();
        for (int i = 0; i < count && n < DMX_PARITY_MAX_DEVICES; i++) {
            dmx_device_info info;
            if (dmx_device_get_info(i, &info) == DMX_OK) {
                snprintf(owned[n], sizeof owned[n], "%s", info.name);
                names[n] = owned[n];
                n++;
            }
        }
    }
    dmx_parity_report *report = malloc(sizeof *report);
    if (!report)
        return dmx_app_fail("parity", "out of memory");
    if (dmx_parity_run(names, n, &opts, report) != DMX_OK) {
        free(report);
        return dmx_app_fail("parity", "the harness failed");
    }
    dmx_parity_print_table(report, stdout);
    if (json) {
        FILE *f = strcmp(json, "-") == 0 ? stdout : fopen(json, "w");
        if (!f) {
            perror(json);
            free(report);
            return 1;
        }
        dmx_parity_print_json(report, f);
        if (f != stdout)
            fclose(f);
    }
    int failed = report->total_failed > 0;
    for (int d = 0; d < report->n_devices; d++)
        failed |= !report->present[d]; /* a named device that is absent is not a pass */
    free(report);
    return failed;
}
