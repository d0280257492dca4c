/* Option values of the CLI's sub-commands: each reads the word after option argv[*i], moves
 * *i past it, and on a missing or malformed value prints "dimix <cmd>: ..." to stderr and
 * returns 0 (the caller then exits with 2). */
#ifndef DMX_APP_CLI_OPTIONS_H
#define DMX_APP_CLI_OPTIONS_H

/* "--help", "-h" or "help". */
int dmx_cli_is_help(const char *arg);

/* An integer in [lo, hi]. */
int dmx_cli_int(const char *cmd, int argc, char **argv, int *i, long long lo, long long hi,
                long long *out);

/* A finite number in [lo, hi]. */
int dmx_cli_float(const char *cmd, int argc, char **argv, int *i, double lo, double hi,
                  double *out);

/* Any word. */
int dmx_cli_text(const char *cmd, int argc, char **argv, int *i, const char **out);

#endif
