/* Option values of the CLI's sub-commands (cli_options.h). */
#include "cli_options.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int dmx_cli_is_help(const char *arg)
{
    return strcmp(arg, "--help") == 0 || strcmp(arg, "-h") == 0 || strcmp(arg, "help") == 0;
}

int dmx_cli_text(const char *cmd, int argc, char **argv, int *i, const char **out)
{
    if (*i + 1 >= argc) {
        fprintf(stderr, "dimix %s: %s needs a value\n", cmd, argv[*i]);
        return 0;
    }
    *out = argv[++*i];
    return 1;
}

int dmx_cli_int(const char *cmd, int argc, char **argv, int *i, long long lo, long long hi,
                long long *out)
{
    const char *name = argv[*i], *text = NULL;
    if (!dmx_cli_text(cmd, argc, argv, i, &text))
        return 0;
    char *end = NULL;
    errno = 0;
    long long v = strtoll(text, &end, 10);
    if (errno || end == text || *end || v < lo || v > hi) {
        fprintf(stderr, "dimix %s: %s takes an integer in %lld..%lld, not '%s'\n", cmd, name, lo,
                hi, text);
        return 0;
    }
    *out = v;
    return 1;
}

int dmx_cli_float(const char *cmd, int argc, char **argv, int *i, double lo, double hi,
                  double *out)
{
    const char *name = argv[*i], *text = NULL;
    if (!dmx_cli_text(cmd, argc, argv, i, &text))
        return 0;
    char *end = NULL;
    errno = 0;
    double v = strtod(text, &end);
    if (errno || end == text || *end || !isfinite(v) || v < lo || v > hi) {
        fprintf(stderr, "dimix %s: %s takes a number in %g..%g, not '%s'\n", cmd, name, lo, hi,
                text);
        return 0;
    }
    *out = v;
    return 1;
}
