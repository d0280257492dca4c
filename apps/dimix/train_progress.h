/* The progress of dmx_train on the terminal, shared by `dimix train` and `dimix lra train`: a
 * bar per epoch with loss and learning rate, then a line with the test loss and accuracy. */
#ifndef DMX_APP_TRAIN_PROGRESS_H
#define DMX_APP_TRAIN_PROGRESS_H

#include <stdbool.h>

#include "dimix/train.h"
#include "progress.h"

typedef struct dmx_train_progress {
    int64_t epochs, batch;  /* set by the caller */
    const char *unit;       /* "img", "seq": one example, in rates */
    const char *examples;   /* "images", "sequences" */
    bool quiet;             /* no bar, no lines (ranks other than 0); signals still stop */
    dmx_progress bar;
    double epoch_start;
    bool bar_open;
} dmx_train_progress;

/* dmx_train with the progress p on the terminal (on_step, on_epoch and user of opts are set to
 * it): Ctrl-C or SIGTERM asks the trainer to stop after writing a checkpoint, a second Ctrl-C
 * leaves at once. The bar is closed on return. */
dmx_status dmx_train_with_progress(dmx_ctx *ctx, dmx_model *model, dmx_batch_source *train,
                                   dmx_batch_source *test, dmx_train_options *opts,
                                   dmx_train_progress *p, dmx_train_result *result);

/* dmx_train_options.on_step and .on_epoch (user = the dmx_train_progress). */
void dmx_train_progress_step(void *user, const dmx_step_info *s);
void dmx_train_progress_epoch(void *user, int64_t epoch, const dmx_eval_result *test,
                              double train_loss);

#endif
