#include "script.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Parses the colon-separated numbers of draw: / erase:. */
static bool parse_points(const char *arg, demo_command *c)
{
    const char *p = arg;
    c->points = 0;
    for (int n = 0; n < 2 * DEMO_SCRIPT_MAX_POINTS; n++) {
        char *end = NULL;
        errno = 0;
        const float v = strtof(p, &end);
        if (errno || end == p || !isfinite(v))
            return false;
        c->xy[n] = v;
        if (*end == '\0') {
            if (n % 2 == 0)
                return false; /* an x without its y */
            c->points = (n + 1) / 2;
            return true;
        }
        if (*end != ':')
            return false;
        p = end + 1;
    }
    return false; /* more points than DEMO_SCRIPT_MAX_POINTS */
}

static bool parse_long(const char *arg, long lo, long hi, long *out)
{
    char *end = NULL;
    errno = 0;
    const long v = strtol(arg, &end, 10);
    if (errno || end == arg || *end || v < lo || v > hi)
        return false;
    *out = v;
    return true;
}

static bool parse_command(const char *word, demo_command *c)
{
    memset(c, 0, sizeof *c);
    const char *colon = strchr(word, ':');
    const size_t head = colon ? (size_t)(colon - word) : strlen(word);
    const char *arg = colon ? colon + 1 : NULL;
#define IS(name) (head == strlen(name) && strncmp(word, name, head) == 0)
    if (IS("next") && !arg) {
        c->op = DEMO_OP_NEXT;
    } else if (IS("prev") && !arg) {
        c->op = DEMO_OP_PREV;
    } else if (IS("clear") && !arg) {
        c->op = DEMO_OP_CLEAR;
    } else if (IS("tab") && !arg) {
        c->op = DEMO_OP_TAB;
    } else if (IS("quit") && !arg) {
        c->op = DEMO_OP_QUIT;
    } else if (IS("image") && arg) {
        c->op = DEMO_OP_IMAGE;
        return parse_long(arg, 0, 1L << 40, &c->number);
    } else if (IS("wait") && arg) {
        c->op = DEMO_OP_WAIT;
        return parse_long(arg, 0, 600000, &c->number);
    } else if ((IS("draw") || IS("erase")) && arg) {
        c->op = IS("draw") ? DEMO_OP_DRAW : DEMO_OP_ERASE;
        return parse_points(arg, c);
    } else if (IS("brush") && arg) {
        c->op = DEMO_OP_BRUSH;
        char *end = NULL;
        c->value = strtof(arg, &end);
        return end != arg && !*end && c->value > 0.0f && c->value <= 100.0f;
    } else if ((IS("device") || IS("screenshot")) && arg && *arg) {
        c->op = IS("device") ? DEMO_OP_DEVICE : DEMO_OP_SCREENSHOT;
        if (strlen(arg) >= sizeof c->text)
            return false;
        snprintf(c->text, sizeof c->text, "%s", arg);
    } else {
        return false;
    }
#undef IS
    return true;
}

bool demo_script_parse(const char *text, demo_script *out, char *error, int error_size)
{
    memset(out, 0, sizeof *out);
    int cap = 1;
    for (const char *p = text; *p; p++)
        cap += *p == ',';
    out->commands = calloc((size_t)cap, sizeof *out->commands);
    if (!out->commands) {
        snprintf(error, (size_t)error_size, "out of memory");
        return false;
    }
    const char *p = text;
    while (*p) {
        const char *comma = strchr(p, ',');
        const size_t len = comma ? (size_t)(comma - p) : strlen(p);
        char word[600];
        if (len >= sizeof word) {
            snprintf(error, (size_t)error_size, "a script command is longer than %d characters",
                     (int)sizeof word - 1);
            demo_script_free(out);
            return false;
        }
        memcpy(word, p, len);
        word[len] = '\0';
        if (len && !parse_command(word, &out->commands[out->count++])) {
            snprintf(error, (size_t)error_size,
                     "bad script command '%s' (next, prev, image:N, clear, draw:X:Y:X:Y..., "
                     "erase:X:Y..., brush:R, device:NAME, tab, screenshot:FILE, wait:MS, quit)",
                     word);
            demo_script_free(out);
            return false;
        }
        p += len + (comma != NULL);
    }
    return true;
}

void demo_script_free(demo_script *s)
{
    free(s->commands);
    memset(s, 0, sizeof *s);
}
