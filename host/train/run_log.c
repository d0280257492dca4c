#include "train/run_log.h"

#include <math.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "core/error.h"
#include "dimix/plot.h"

#define STEPS_HEADER "step,epoch,batch,loss,lr\n"
#define EPOCHS_HEADER "epoch,step,train_loss,test_loss,test_accuracy,seconds\n"
#define MAX_PLOT_POINTS 2000

static dmx_status push(dmx_series *s, double x, double y)
{
    if (s->n == s->cap) {
        int cap = s->cap ? s->cap * 2 : 1024;
        double *nx = realloc(s->x, (size_t)cap * sizeof *nx);
        if (!nx)
            return dmx_fail(DMX_ERR_OUT_OF_MEMORY, "run log: out of memory");
        s->x = nx;
        double *ny = realloc(s->y, (size_t)cap * sizeof *ny);
        if (!ny)
            return dmx_fail(DMX_ERR_OUT_OF_MEMORY, "run log: out of memory");
        s->y = ny;
        s->cap = cap;
    }
    s->x[s->n] = x;
    s->y[s->n++] = y;
    return DMX_OK;
}

static void free_series(dmx_series *s)
{
    free(s->x);
    free(s->y);
    memset(s, 0, sizeof *s);
}

/* Keeps the rows of `path` whose second (epochs) or first (steps) column is <= start_step,
 * feeding them to `keep`; rewrites the file with them. */
static dmx_status trim_file(dmx_run_log *log, const char *path, const char *header,
                            int step_column, int64_t start_step,
                            dmx_status (*keep)(dmx_run_log *, const char *line))
{
    FILE *in = fopen(path, "r");
    if (!in)
        return DMX_OK; /* nothing logged yet */
    char tmp[4400];
    snprintf(tmp, sizeof tmp, "%s.tmp", path);
    FILE *out = fopen(tmp, "w");
    if (!out) {
        fclose(in);
        return dmx_fail(DMX_ERR_IO, "run log: cannot write %s", tmp);
    }
    fputs(header, out);
    char line[512];
    dmx_status s = DMX_OK;
    bool first = true;
    while (s == DMX_OK && fgets(line, sizeof line, in)) {
        if (first) {
            first = false;
            continue; /* the header */
        }
        const char *col = line;
        for (int c = 0; c < step_column && col; c++)
            col = (col = strchr(col, ',')) ? col + 1 : NULL;
        if (!col || strtoll(col, NULL, 10) > start_step)
            continue;
        fputs(line, out);
        s = keep(log, line);
    }
    fclose(in);
    if (fclose(out) != 0 || s != DMX_OK || rename(tmp, path) != 0) {
        remove(tmp);
        return s != DMX_OK ? s : dmx_fail(DMX_ERR_IO, "run log: rewriting %s failed", path);
    }
    return DMX_OK;
}

static dmx_status keep_step(dmx_run_log *log, const char *line)
{
    long long step = 0, epoch = 0, batch = 0;
    double loss = 0, lr = 0;
    if (sscanf(line, "%lld,%lld,%lld,%lf,%lf", &step, &epoch, &batch, &loss, &lr) != 5)
        return DMX_OK; /* a torn last line from a crash: dropped */
    return push(&log->loss, (double)step, loss);
}

static dmx_status keep_epoch(dmx_run_log *log, const char *line)
{
    long long epoch = 0, step = 0;
    double train = 0, test_loss = 0, acc = 0, sec = 0;
    char a[64], b[64], c[64];
    if (sscanf(line, "%lld,%lld,%63[^,],%63[^,],%63[^,],%lf", &epoch, &step, a, b, c, &sec) != 6)
        return DMX_OK;
    train = strtod(a, NULL), test_loss = strtod(b, NULL), acc = strtod(c, NULL);
    DMX_TRY(push(&log->epoch_train, (double)epoch, train));
    DMX_TRY(push(&log->epoch_test_loss, (double)epoch, test_loss));
    return push(&log->epoch_test_acc, (double)epoch, 100.0 * acc);
}

dmx_status dmx_run_log_open(dmx_run_log *log, const char *dir, int64_t start_step, int resume)
{
    memset(log, 0, sizeof *log);
    if (!dir)
        return DMX_OK;
    snprintf(log->dir, sizeof log->dir, "%s", dir);
    char steps[4200], epochs[4200];
    snprintf(steps, sizeof steps, "%s/log.csv", dir);
    snprintf(epochs, sizeof epochs, "%s/epochs.csv", dir);
    if (resume) {
        DMX_TRY(trim_file(log, steps, STEPS_HEADER, 0, start_step, keep_step));
        DMX_TRY(trim_file(log, epochs, EPOCHS_HEADER, 1, start_step, keep_epoch));
    }
    log->steps = fopen(steps, resume ? "a" : "w");
    log->epochs = fopen(epochs, resume ? "a" : "w");
    if (!log->steps || !log->epochs) {
        dmx_run_log_close(log);
        return dmx_fail(DMX_ERR_IO, "run log: cannot write %s and %s", steps, epochs);
    }
    if (ftell(log->steps) == 0)
        fputs(STEPS_HEADER, log->steps);
    if (ftell(log->epochs) == 0)
        fputs(EPOCHS_HEADER, log->epochs);
    return DMX_OK;
}

dmx_status dmx_run_log_step(dmx_run_log *log, int64_t step, int64_t epoch, int64_t batch,
                            float loss, float lr)
{
    if (!log->steps)
        return DMX_OK;
    /* %.9g keeps every bit of a float: the resume test compares these. */
    fprintf(log->steps, "%lld,%lld,%lld,%.9g,%.9g\n", (long long)step, (long long)epoch,
            (long long)batch, (double)loss, (double)lr);
    return push(&log->loss, (double)step, loss);
}

/* Means over buckets so a long run plots at most MAX_PLOT_POINTS points. */
static dmx_series bucketed(const dmx_series *s)
{
    dmx_series out = {0};
    int per = s->n > MAX_PLOT_POINTS ? (s->n + MAX_PLOT_POINTS - 1) / MAX_PLOT_POINTS : 1;
    for (int i = 0; i < s->n; i += per) {
        double sx = 0, sy = 0;
        int k = 0;
        for (; k < per && i + k < s->n; k++)
            sx += s->x[i + k], sy += s->y[i + k];
        if (push(&out, sx / k, sy / k) != DMX_OK)
            break;
    }
    return out;
}

static dmx_status draw(dmx_run_log *log)
{
    char path[4200];
    snprintf(path, sizeof path, "%s/curves.svg", log->dir);
    dmx_series steps = bucketed(&log->loss);
    dmx_plot_series loss_series[3] = {
        {"train loss (per step)", steps.x, steps.y, steps.n},
        {"train loss (epoch mean)", log->epoch_train.x, log->epoch_train.y, log->epoch_train.n},
        {"test loss", log->epoch_test_loss.x, log->epoch_test_loss.y, log->epoch_test_loss.n},
    };
    dmx_plot_series step_panel = loss_series[0];
    dmx_plot_series epoch_loss[2] = {loss_series[1], loss_series[2]};
    dmx_plot_series acc = {"test accuracy (%)", log->epoch_test_acc.x, log->epoch_test_acc.y,
                           log->epoch_test_acc.n};
    dmx_plot_panel panels[3] = {{"Training loss", "step", "loss", &step_panel, 1},
                                {"Loss per epoch", "epoch", "loss", epoch_loss, 2},
                                {"Test accuracy", "epoch", "%", &acc, 1}};
    dmx_status s = dmx_plot_svg(path, "dimix training", panels, 3);
    free_series(&steps);
    return s;
}

dmx_status dmx_run_log_epoch(dmx_run_log *log, int64_t epoch, int64_t step, double train_loss,
                             double test_loss, double test_accuracy, double seconds)
{
    if (!log->epochs)
        return DMX_OK;
    fprintf(log->epochs, "%lld,%lld,%.9g,%.9g,%.9g,%.3f\n", (long long)epoch, (long long)step,
            train_loss, test_loss, test_accuracy, seconds);
    fflush(log->epochs);
    fflush(log->steps);
    DMX_TRY(push(&log->epoch_train, (double)epoch, train_loss));
    DMX_TRY(push(&log->epoch_test_loss, (double)epoch, test_loss));
    DMX_TRY(push(&log->epoch_test_acc, (double)epoch, 100.0 * test_accuracy));
    return draw(log);
}

void dmx_run_log_close(dmx_run_log *log)
{
    if (log->steps)
        fclose(log->steps);
    if (log->epochs)
        fclose(log->epochs);
    free_series(&log->loss);
    free_series(&log->epoch_train);
    free_series(&log->epoch_test_loss);
    free_series(&log->epoch_test_acc);
    memset(log, 0, sizeof *log);
}
