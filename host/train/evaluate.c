/* Evaluation: one pass in inference mode; accuracy, mean loss and the confusion matrix. */
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "core/error.h"
#include "dimix/train.h"
#include "infer/planned.h"

static double seconds_now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

void dmx_eval_result_free(dmx_eval_result *r)
{
    if (r) {
        free(r->confusion);
        r->confusion = NULL;
    }
}

/* Counts one batch: argmax of each row against its label. */
static dmx_status score_batch(dmx_eval_result *r, const dmx_tensor *logits,
                              const dmx_tensor *labels)
{
    const int64_t B = logits->shape[0], K = logits->shape[1];
    float *z = malloc((size_t)(B * K) * sizeof *z);
    int32_t *y = malloc((size_t)B * sizeof *y);
    dmx_status s = z && y ? DMX_OK : dmx_fail(DMX_ERR_OUT_OF_MEMORY, "evaluate: out of memory");
    if (s == DMX_OK)
        s = dmx_tensor_to_host(logits, z, (size_t)(B * K) * sizeof *z);
    if (s == DMX_OK)
        s = dmx_tensor_to_host(labels, y, (size_t)B * sizeof *y);
    for (int64_t b = 0; s == DMX_OK && b < B; b++) {
        int64_t best = 0;
        for (int64_t k = 1; k < K; k++)
            if (z[b * K + k] > z[b * K + best])
                best = k;
        if (y[b] < 0 || y[b] >= K) {
            s = dmx_fail(DMX_ERR_FORMAT, "evaluate: label %d outside [0, %lld)", y[b],
                         (long long)K);
            break;
        }
        r->correct += best == y[b];
        r->confusion[y[b] * K + best]++;
    }
    r->examples += B;
    free(z);
    free(y);
    return s;
}

typedef struct eval_pass {
    dmx_model *model;
    dmx_batch_source *src;
    int64_t index;
} eval_pass;

/* One batch: inputs, forward, loss; keeps logits, labels and loss. */
static dmx_status eval_pass_fn(dmx_ctx *ctx, void *user, dmx_tensor **kept, int *n_kept)
{
    eval_pass *e = user;
    dmx_model_input in;
    dmx_tensor *labels = NULL, *logits = NULL, *loss = NULL;
    DMX_TRY(e->src->get(e->src->self, ctx, 0, e->index, &in, &labels));
    if (!labels) { /* this process's slice of the batch is empty (dist): nothing to run */
        *n_kept = 0;
        return DMX_OK;
    }
    DMX_TRY(dmx_model_forward(ctx, e->model, &in, &logits));
    DMX_TRY(dmx_cross_entropy(ctx, logits, labels, 0.0f, &loss));
    kept[0] = logits;
    kept[1] = labels;
    kept[2] = loss;
    *n_kept = 3;
    return DMX_OK;
}

static dmx_status evaluate_all(dmx_ctx *ctx, dmx_planned *planned, dmx_model *model,
                               dmx_batch_source *src, const dmx_eval_options *o,
                               dmx_eval_result *out)
{
    int64_t bpe = src->batches_per_epoch(src->self), n = bpe;
    if (o->max_batches > 0 && o->max_batches < n)
        n = o->max_batches;
    double loss_sum = 0.0;
    for (int64_t i = 0; i < n; i++) {
        eval_pass pass = {.model = model, .src = src, .index = i};
        dmx_tensor *kept[DMX_PLANNED_MAX_KEPT] = {0};
        int n_kept = 0;
        if (planned) {
            /* Every batch has the source's size but the last: two shapes, two plans. */
            DMX_TRY(dmx_planned_run(planned, i + 1 == bpe, eval_pass_fn, &pass, kept, &n_kept));
        } else {
            DMX_TRY(dmx_ctx_reset(ctx));
            DMX_TRY(eval_pass_fn(ctx, &pass, kept, &n_kept));
        }
        dmx_tensor *logits = kept[0], *labels = kept[1], *loss = kept[2];
        if (!labels) { /* this process's slice of the batch is empty */
            if (o->on_batch)
                o->on_batch(o->user, i + 1, n);
            continue;
        }
        float l = 0;
        DMX_TRY(dmx_tensor_to_host(loss, &l, sizeof l));
        loss_sum += (double)l * (double)labels->shape[0];
        DMX_TRY(score_batch(out, logits, labels));
        if (o->on_logits)
            DMX_TRY(o->on_logits(o->user, i, logits, labels));
        if (o->on_batch)
            o->on_batch(o->user, i + 1, n);
    }
    out->loss = out->examples ? loss_sum / (double)out->examples : NAN;
    out->accuracy = out->examples ? (double)out->correct / (double)out->examples : NAN;
    return DMX_OK;
}

dmx_status dmx_evaluate(dmx_ctx *ctx, dmx_model *model, dmx_batch_source *src,
                        const dmx_eval_options *opts, dmx_eval_result *out)
{
    if (!ctx || !model || !src || !out)
        return dmx_fail(DMX_ERR_INVALID_ARG, "dmx_evaluate: NULL argument");
    dmx_eval_options o = opts ? *opts : (dmx_eval_options){0};
    memset(out, 0, sizeof *out);
    out->classes = dmx_model_config_of(model)->classes;
    out->confusion = calloc((size_t)out->classes * (size_t)out->classes, sizeof *out->confusion);
    if (!out->confusion)
        return dmx_fail(DMX_ERR_OUT_OF_MEMORY, "evaluate: out of host memory");
    bool grad = dmx_ctx_grad_enabled(ctx), training = dmx_ctx_training(ctx);
    dmx_ctx_set_grad(ctx, false);
    dmx_ctx_set_training(ctx, false);
    dmx_planned planned;
    bool use_plan = o.planned;
    if (use_plan)
        dmx_planned_init(&planned, ctx);
    double t0 = seconds_now();
    dmx_status s = evaluate_all(ctx, use_plan ? &planned : NULL, model, src, &o, out);
    out->seconds = seconds_now() - t0;
    if (use_plan) {
        out->planned_bytes = planned.peak_bytes;
        out->unplanned_bytes = planned.unplanned_bytes;
        dmx_planned_free(&planned);
    }
    dmx_ctx_set_grad(ctx, grad);
    dmx_ctx_set_training(ctx, training);
    if (s != DMX_OK)
        dmx_eval_result_free(out);
    return s;
}
