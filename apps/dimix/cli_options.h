/* Option values of the CLI's sub-commands: each reads the word after option argv[*i], moves
 * *i past it, and on a missing or malformed value prints "dimix <cmd>: ..." to stderr and
 * returns 0 (the caller then exits with 2). Integers and numbers are strict: the whole word
 * must be the number (no "1x", "1e-3garbage", no "1e12" for an integer), within the range. */
#ifndef DMX_APP_CLI_OPTIONS_H
#define DMX_APP_CLI_OPTIONS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>

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

/* ---- option tables: one strict parser for a command's options ---- */

typedef enum dmx_opt_kind {
    DMX_OPT_TEXT, /* const char * */
    DMX_OPT_INT,  /* long long in [lo, hi] */
    DMX_OPT_REAL, /* double in [lo, hi] */
    DMX_OPT_FLAG, /* int set to 1, no value */
} dmx_opt_kind;

typedef struct dmx_opt {
    const char *name;  /* "--batch" */
    dmx_opt_kind kind;
    size_t offset;     /* of the field in the command's argument struct */
    double lo, hi;
    bool setting;      /* a training setting: recorded in checkpoints, taken over on resume */
    const char *alias; /* an older spelling still accepted (documented), or NULL */
} dmx_opt;

#define DMX_OPT_MAX 64
/* hi of an integer option without an upper limit (beyond LLONG_MAX, which a double cannot
 * hold exactly): the parser then takes up to LLONG_MAX */
#define DMX_OPT_NO_LIMIT 0x1p63

/* Parses option argv[*i] of table `t` (n entries) into `args`, marking given[index]. Returns 1
 * when parsed, 0 on a bad value (message printed), -1 when argv[*i] is not in the table. */
int dmx_opt_parse(const char *cmd, const dmx_opt *t, int n, int argc, char **argv, int *i,
                  void *args, bool *given);

/* The value of option t as a word: "%lld", "%.9g" (exact for a float), "0"/"1", or the text
 * ("" when NULL). */
void dmx_opt_value_text(const dmx_opt *t, const void *args, char *out, size_t cap);

/* "name=value ..." of every setting of the table (names without "--"), space-separated. */
void dmx_opt_format_settings(const dmx_opt *t, int n, const void *args, char *out, size_t cap);

/* The value of `key` in a "key=value ..." line, copied to out; false when absent. The key
 * "data" takes the rest of the line (a path may hold spaces), so it is written last. Keys
 * written with '_' (older checkpoints) match the '-' spelling. */
bool dmx_opt_recorded(const char *line, const char *key, char *out, size_t cap);

/* Resume: every setting of the table recorded in `line` replaces the command line's value. A
 * setting given on the command line with another value is refused (message, returns 2),
 * except `changeable` (e.g. "--epochs") when `extend` is set, which then must not be lower
 * than the recorded value. Settings the checkpoint does not record keep the command line's
 * value (or the default) and are listed in `missing`. `taken` lists what was taken over
 * ("lr=0.001 batch=16 ..."). Returns 0 on success. */
int dmx_opt_take_over(const char *cmd, const dmx_opt *t, int n, const char *line, void *args,
                      const bool *given, const char *changeable, bool extend, char *taken,
                      size_t taken_cap, char *missing, size_t missing_cap);

/* The summary stream of --json SPEC: a file, or "-" for stdout, in which case everything else
 * the command prints to stdout goes to stderr from here on, so stdout is only JSON. NULL (and
 * a message) when the file cannot be opened. */
FILE *dmx_cli_json_open(const char *cmd, const char *spec);
void dmx_cli_json_close(FILE *f);

/* JSON string literal of s (escaped) to f. */
void dmx_cli_json_string(FILE *f, const char *s);

#endif
