/* Option values of the CLI's sub-commands (cli_options.h). */
#include "cli_options.h"

#include <errno.h>
#include <limits.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

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

/* ---- option tables ---- */

static void *field(void *args, const dmx_opt *t) { return (char *)args + t->offset; }

int dmx_opt_parse(const char *cmd, const dmx_opt *t, int n, int argc, char **argv, int *i,
                  void *args, bool *given)
{
    const char *k = argv[*i];
    for (int j = 0; j < n; j++) {
        if (strcmp(k, t[j].name) != 0 && !(t[j].alias && strcmp(k, t[j].alias) == 0))
            continue;
        int ok = 1;
        switch (t[j].kind) {
        case DMX_OPT_TEXT: ok = dmx_cli_text(cmd, argc, argv, i, field(args, &t[j])); break;
        case DMX_OPT_INT:
            ok = dmx_cli_int(cmd, argc, argv, i, (long long)t[j].lo,
                             t[j].hi >= DMX_OPT_NO_LIMIT ? LLONG_MAX : (long long)t[j].hi,
                             field(args, &t[j]));
            break;
        case DMX_OPT_REAL:
            ok = dmx_cli_float(cmd, argc, argv, i, t[j].lo, t[j].hi, field(args, &t[j]));
            break;
        case DMX_OPT_FLAG: *(int *)field(args, &t[j]) = 1; break;
        }
        if (ok && given)
            given[j] = true;
        return ok;
    }
    return -1;
}

void dmx_opt_value_text(const dmx_opt *t, const void *args, char *out, size_t cap)
{
    const void *f = (const char *)args + t->offset;
    switch (t->kind) {
    case DMX_OPT_TEXT: snprintf(out, cap, "%s", *(const char *const *)f ? *(const char *const *)f : ""); break;
    case DMX_OPT_INT: snprintf(out, cap, "%lld", *(const long long *)f); break;
    case DMX_OPT_REAL: snprintf(out, cap, "%.9g", *(const double *)f); break;
    case DMX_OPT_FLAG: snprintf(out, cap, "%d", *(const int *)f ? 1 : 0); break;
    }
}

/* Appends "word" (space-separated) to out. */
static void append(char *out, size_t cap, const char *word)
{
    size_t len = strlen(out);
    if (len + 1 < cap)
        snprintf(out + len, cap - len, "%s%s", len ? " " : "", word);
}

void dmx_opt_format_settings(const dmx_opt *t, int n, const void *args, char *out, size_t cap)
{
    out[0] = '\0';
    for (int j = 0; j < n; j++) {
        if (!t[j].setting)
            continue;
        char value[256], word[300];
        dmx_opt_value_text(&t[j], args, value, sizeof value);
        snprintf(word, sizeof word, "%s=%s", t[j].name + 2, value);
        append(out, cap, word);
    }
}

/* Whether key `k` (length n) names `key`, '_' matching '-'. */
static bool same_key(const char *k, size_t n, const char *key)
{
    if (strlen(key) != n)
        return false;
    for (size_t i = 0; i < n; i++)
        if (k[i] != key[i] && !(k[i] == '_' && key[i] == '-'))
            return false;
    return true;
}

bool dmx_opt_recorded(const char *line, const char *key, char *out, size_t cap)
{
    for (const char *w = line; w && *w;) {
        while (*w == ' ')
            w++;
        const char *eq = strchr(w, '='), *end = strchr(w, ' ');
        if (!end)
            end = w + strlen(w);
        if (eq && eq < end && same_key(w, (size_t)(eq - w), key)) {
            if (strcmp(key, "data") == 0)
                end = eq + 1 + strlen(eq + 1); /* the rest of the line */
            snprintf(out, cap, "%.*s", (int)(end - eq - 1), eq + 1);
            return true;
        }
        w = *end ? end + 1 : end;
    }
    return false;
}

int dmx_opt_take_over(const char *cmd, const dmx_opt *t, int n, const char *line, void *args,
                      const bool *given, const char *changeable, bool extend, char *taken,
                      size_t taken_cap, char *missing, size_t missing_cap)
{
    taken[0] = missing[0] = '\0';
    if (n > DMX_OPT_MAX)
        return 2; /* the commands' tables are checked against it at compile time */
    int contradictions = 0;
    for (int j = 0; j < n; j++) {
        if (!t[j].setting)
            continue;
        char recorded[256];
        if (!dmx_opt_recorded(line, t[j].name + 2, recorded, sizeof recorded)) {
            append(missing, missing_cap, t[j].name + 2);
            continue;
        }
        /* The recorded value goes through the same strict parser as the command line. */
        char cmd_value[256], rec_value[256];
        dmx_opt_value_text(&t[j], args, cmd_value, sizeof cmd_value);
        union {
            const char *text;
            long long i;
            double r;
            int flag;
        } saved; /* the command line's value */
        void *f = field(args, &t[j]);
        size_t size = t[j].kind == DMX_OPT_TEXT ? sizeof(const char *)
                      : t[j].kind == DMX_OPT_INT ? sizeof(long long)
                      : t[j].kind == DMX_OPT_REAL ? sizeof(double) : sizeof(int);
        memcpy(&saved, f, size);
        static char texts[DMX_OPT_MAX][256]; /* recorded text values outlive this call */
        if (t[j].kind == DMX_OPT_FLAG) {
            if (strcmp(recorded, "0") && strcmp(recorded, "1")) {
                fprintf(stderr, "dimix %s: the checkpoint records %s=%s, not 0 or 1\n", cmd,
                        t[j].name + 2, recorded);
                return 2;
            }
            *(int *)f = recorded[0] == '1';
        } else if (t[j].kind == DMX_OPT_TEXT) {
            snprintf(texts[j], sizeof texts[j], "%s", recorded);
            *(const char **)f = texts[j];
        } else {
            char *fake[2] = {(char *)t[j].name, recorded};
            int k = 0;
            if (dmx_opt_parse(cmd, &t[j], 1, 2, fake, &k, args, NULL) != 1) {
                fprintf(stderr, "dimix %s: the checkpoint's %s=%s is not a valid %s\n", cmd,
                        t[j].name + 2, recorded, t[j].name);
                return 2;
            }
        }
        dmx_opt_value_text(&t[j], args, rec_value, sizeof rec_value);
        if (given[j] && strcmp(cmd_value, rec_value) != 0) {
            if (changeable && extend && strcmp(t[j].name, changeable) == 0) {
                if (t[j].kind == DMX_OPT_INT && saved.i < *(long long *)f) {
                    fprintf(stderr, "dimix %s: --extend %s %s is below the checkpoint's %s; it "
                            "can only grow\n", cmd, t[j].name, cmd_value, rec_value);
                    return 2;
                }
                memcpy(f, &saved, size); /* the user's value: the one allowed change */
                char word[600];
                snprintf(word, sizeof word, "%s=%s (was %s, --extend)", t[j].name + 2, cmd_value,
                         rec_value);
                append(taken, taken_cap, word);
                continue;
            }
            fprintf(stderr, "dimix %s: %s %s contradicts the checkpoint, which records %s=%s\n",
                    cmd, t[j].name, cmd_value, t[j].name + 2, rec_value);
            contradictions++;
            continue;
        }
        char word[600];
        snprintf(word, sizeof word, "%s=%s", t[j].name + 2, rec_value);
        append(taken, taken_cap, word);
    }
    if (contradictions) {
        fprintf(stderr, "dimix %s: --resume continues the run the checkpoint describes, with its "
                "settings: drop the option%s above", cmd, contradictions > 1 ? "s" : "");
        if (changeable)
            fprintf(stderr, " (of them only %s may change, with --extend)", changeable);
        fprintf(stderr, "\n");
        return 2;
    }
    return 0;
}

/* ---- --json ---- */

FILE *dmx_cli_json_open(const char *cmd, const char *spec)
{
    if (strcmp(spec, "-") != 0) {
        FILE *f = fopen(spec, "w");
        if (!f)
            fprintf(stderr, "dimix %s: --json %s: cannot write: %s\n", cmd, spec,
                    strerror(errno));
        return f;
    }
    fflush(stdout);
    int fd = dup(STDOUT_FILENO);
    FILE *f = fd >= 0 ? fdopen(fd, "w") : NULL;
    if (!f || dup2(STDERR_FILENO, STDOUT_FILENO) < 0) {
        fprintf(stderr, "dimix %s: --json -: cannot set up stdout: %s\n", cmd, strerror(errno));
        if (f)
            fclose(f);
        return NULL;
    }
    return f;
}

void dmx_cli_json_close(FILE *f)
{
    if (f)
        fclose(f);
}

void dmx_cli_json_string(FILE *f, const char *s)
{
    fputc('"', f);
    for (const unsigned char *p = (const unsigned char *)(s ? s : ""); *p; p++) {
        if (*p == '"' || *p == '\\')
            fprintf(f, "\\%c", *p);
        else if (*p < 0x20)
            fprintf(f, "\\u%04x", *p);
        else
            fputc(*p, f);
    }
    fputc('"', f);
}
