/* The progress of dmx_train on the terminal (train_progress.h). */
#include "train_progress.h"

#include <stdio.h>

void dmx_train_progress_step(void *user, const dmx_step_info *s)
{
    dmx_train_progress *p = user;
    if (!p->bar_open) {
        char label[48];
        snprintf(label, sizeof label, "epoch %lld/%lld", (long long)s->epoch + 1,
                 (long long)p->epochs);
        static char held[48];
        snprintf(held, sizeof held, "%s", label);
        dmx_progress_begin(&p->bar, stderr, held, s->batches_per_epoch - s->batch,
                           (double)p->batch, p->unit);
        p->bar.done = 0;
        p->bar_open = true;
        p->epoch_start = dmx_now_seconds();
    }
    char status[64];
    snprintf(status, sizeof status, "loss %.4f lr %.2e", (double)s->loss, (double)s->lr);
    dmx_progress_update(&p->bar, p->bar.done + 1, status);
}

void dmx_train_progress_epoch(void *user, int64_t epoch, const dmx_eval_result *test,
                              double train_loss)
{
    dmx_train_progress *p = user;
    double seconds = dmx_now_seconds() - p->epoch_start;
    if (p->bar_open)
        dmx_progress_end(&p->bar, NULL);
    double rate = seconds > 0 ? (double)p->bar.done * (double)p->batch / seconds : 0;
    p->bar_open = false;
    if (test)
        printf("epoch %lld/%lld: train loss %.4f, test loss %.4f, test accuracy %.2f%% "
               "(%lld %s), %.0f %s/s\n", (long long)epoch + 1, (long long)p->epochs,
               train_loss, test->loss, 100.0 * test->accuracy, (long long)test->examples,
               p->examples, rate, p->unit);
    else
        printf("epoch %lld/%lld: train loss %.4f, %.0f %s/s\n", (long long)epoch + 1,
               (long long)p->epochs, train_loss, rate, p->unit);
    fflush(stdout);
}
