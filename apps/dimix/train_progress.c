/* The progress of dmx_train on the terminal (train_progress.h). */
#include "train_progress.h"

#include <signal.h>
#include <stdio.h>
#include <unistd.h>

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

static volatile sig_atomic_t stop_requested;

static void on_stop_signal(int sig)
{
    (void)sig;
    if (stop_requested) /* a second Ctrl-C: leave now */
        _exit(130);
    stop_requested = 1;
}

dmx_status dmx_train_with_progress(dmx_ctx *ctx, dmx_model *model, dmx_batch_source *train,
                                   dmx_batch_source *test, dmx_train_options *opts,
                                   dmx_train_progress *p, dmx_train_result *result)
{
    opts->on_step = p->quiet ? NULL : dmx_train_progress_step;
    opts->on_epoch = p->quiet ? NULL : dmx_train_progress_epoch;
    opts->user = p;
    stop_requested = 0;
    opts->stop = &stop_requested;
    signal(SIGINT, on_stop_signal);
    signal(SIGTERM, on_stop_signal);
    dmx_status s = dmx_train(ctx, model, train, test, opts, result);
    signal(SIGINT, SIG_DFL);
    signal(SIGTERM, SIG_DFL);
    opts->stop = NULL;
    if (p->bar_open)
        dmx_progress_end(&p->bar, NULL);
    p->bar_open = false;
    return s;
}
