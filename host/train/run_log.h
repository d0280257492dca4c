/* A training run's record in its output folder: log.csv (one row per step), epochs.csv (one
 * row per epoch) and curves.svg (loss and accuracy), kept consistent across resumes. */
#ifndef DMX_TRAIN_RUN_LOG_H
#define DMX_TRAIN_RUN_LOG_H

#include <stdint.h>
#include <stdio.h>

#include "dimix/status.h"

typedef struct dmx_series {
    double *x, *y;
    int n, cap;
} dmx_series;

typedef struct dmx_run_log {
    char dir[4096];
    FILE *steps, *epochs;
    dmx_series loss, epoch_train, epoch_test_loss, epoch_test_acc;
} dmx_run_log;

/* Opens the logs in `dir` (NULL: log nothing). When resuming at `start_step`, rows of later
 * steps (written after the checkpoint) are dropped and the rest reloaded for the curves. */
dmx_status dmx_run_log_open(dmx_run_log *log, const char *dir, int64_t start_step, int resume);
dmx_status dmx_run_log_step(dmx_run_log *log, int64_t step, int64_t epoch, int64_t batch,
                            float loss, float lr);
/* Appends an epoch row (NaN test values: none ran) and redraws curves.svg. */
dmx_status dmx_run_log_epoch(dmx_run_log *log, int64_t epoch, int64_t step, double train_loss,
                             double test_loss, double test_accuracy, double seconds);
void dmx_run_log_close(dmx_run_log *log);

#endif
