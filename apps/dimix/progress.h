/* Progress of long work: a redrawn bar on a terminal, plain periodic lines otherwise (logs,
 * CI). Shows done/total, rate, elapsed and ETA, plus a caller's status text (loss, lr). */
#ifndef DMX_APP_PROGRESS_H
#define DMX_APP_PROGRESS_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

typedef struct dmx_progress {
    FILE *out;
    bool tty;
    const char *label, *unit; /* "epoch 3/10", "img" */
    int64_t total, done;
    double start, last_print;
    double units_per_step; /* e.g. the batch size, for "img/s" */
} dmx_progress;

/* Starts tracking `total` steps; `units_per_step` scales the rate (images per batch). */
void dmx_progress_begin(dmx_progress *p, FILE *out, const char *label, int64_t total,
                        double units_per_step, const char *unit);

/* Reports `done` steps; `status` (may be NULL) is appended ("loss 0.412 lr 1e-3"). */
void dmx_progress_update(dmx_progress *p, int64_t done, const char *status);

/* Ends the line (terminal) and prints a summary line. */
void dmx_progress_end(dmx_progress *p, const char *status);

/* "1m23s", "2h05m", "12.3s" */
void dmx_format_duration(double seconds, char *buf, size_t cap);

double dmx_now_seconds(void);

#endif
