#include "progress.h"

#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#define PLAIN_INTERVAL_S 10.0 /* without a terminal, a line at most this often */
#define TTY_INTERVAL_S 0.1
#define BAR_WIDTH 24

static bool getenv_is_not_dumb(void)
{
    const char *term = getenv("TERM");
    return !term || strcmp(term, "dumb") != 0;
}

double dmx_now_seconds(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

void dmx_format_duration(double s, char *buf, size_t cap)
{
    if (!(s >= 0) || s > 1e8)
        snprintf(buf, cap, "?");
    else if (s < 60)
        snprintf(buf, cap, "%.1fs", s);
    else if (s < 3600)
        snprintf(buf, cap, "%dm%02ds", (int)s / 60, (int)s % 60);
    else
        snprintf(buf, cap, "%dh%02dm", (int)s / 3600, (int)s / 60 % 60);
}

void dmx_progress_begin(dmx_progress *p, FILE *out, const char *label, int64_t total,
                        double units_per_step, const char *unit)
{
    memset(p, 0, sizeof *p);
    p->out = out;
    p->tty = isatty(fileno(out)) && getenv_is_not_dumb();
    p->label = label;
    p->unit = unit;
    p->total = total;
    p->units_per_step = units_per_step;
    p->start = p->last_print = dmx_now_seconds();
}

static void print_line(dmx_progress *p, const char *status, bool final)
{
    double now = dmx_now_seconds(), elapsed = now - p->start;
    double rate = elapsed > 0 ? (double)p->done * p->units_per_step / elapsed : 0;
    double eta = p->done > 0 ? elapsed * (double)(p->total - p->done) / (double)p->done : -1;
    char el[32], et[32];
    dmx_format_duration(elapsed, el, sizeof el);
    dmx_format_duration(eta, et, sizeof et);
    if (p->tty) {
        char bar[BAR_WIDTH + 1];
        int fill = p->total > 0 ? (int)(BAR_WIDTH * p->done / p->total) : 0;
        for (int i = 0; i < BAR_WIDTH; i++)
            bar[i] = i < fill ? '#' : '.';
        bar[BAR_WIDTH] = '\0';
        fprintf(p->out, "\r\033[K%s [%s] %lld/%lld %.0f %s/s %s ETA %s %s", p->label, bar,
                (long long)p->done, (long long)p->total, rate, p->unit, el, final ? "-" : et,
                status ? status : "");
        if (final)
            fputc('\n', p->out);
    } else {
        fprintf(p->out, "%s %lld/%lld (%.0f%%) %.0f %s/s elapsed %s ETA %s %s\n", p->label,
                (long long)p->done, (long long)p->total,
                p->total ? 100.0 * (double)p->done / (double)p->total : 100.0, rate, p->unit, el,
                final ? "-" : et, status ? status : "");
    }
    fflush(p->out);
    p->last_print = now;
}

void dmx_progress_update(dmx_progress *p, int64_t done, const char *status)
{
    p->done = done;
    double interval = p->tty ? TTY_INTERVAL_S : PLAIN_INTERVAL_S;
    if (dmx_now_seconds() - p->last_print >= interval)
        print_line(p, status, false);
}

void dmx_progress_end(dmx_progress *p, const char *status)
{
    print_line(p, status, true);
}
