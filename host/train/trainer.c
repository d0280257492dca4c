/* The training loop: batches from a source, cross-entropy, backward, optional gradient-norm
 * clipping, an optimizer step at the scheduled learning rate; per epoch an evaluation, the CSV
 * logs, the SVG curves and an atomic checkpoint. Every random draw is a function of (seed,
 * step) or (seed, epoch, index), so a resumed run repeats the uninterrupted one bit for bit. */
#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "core/error.h"
#include "device/backend.h"
#include "dimix/plot.h"
#include "dimix/train.h"
#include "ops/op_table.h"
#include "train/run_log.h"

typedef struct trainer {
    dmx_ctx *ctx;
    dmx_model *model;
    dmx_batch_source *train, *test;
    const dmx_train_options *o;
    dmx_optimizer *opt;
    dmx_tensor flat_values, flat_grads;
    int64_t bpe, total_steps;
    uint64_t seed;
    dmx_run_log log;
    char ckpt_path[4096];
    bool saved, curves_saved;
} trainer;

static double seconds_now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

/* The dropout seed of a step: a hash of (seed, step), the same wherever training resumed. */
static uint64_t step_seed(uint64_t seed, int64_t step)
{
    uint64_t z = seed + 0x9E3779B97F4A7C15ull * (uint64_t)(step + 1);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    return z ^ (z >> 31);
}

static dmx_status make_optimizer(trainer *t)
{
    dmx_params *ps = dmx_model_params(t->model);
    int n = dmx_params_trainable(ps, NULL, 0);
    dmx_tensor **list = malloc((size_t)(n ? n : 1) * sizeof *list);
    if (!list)
        return dmx_fail(DMX_ERR_OUT_OF_MEMORY, "trainer: out of host memory");
    dmx_params_trainable(ps, list, n);
    dmx_status s = dmx_optim_create(dmx_ctx_device(t->ctx), &t->o->optim, list, n, &t->opt);
    free(list);
    if (s == DMX_OK)
        s = dmx_params_flat(ps, &t->flat_values, &t->flat_grads);
    return s;
}

/* Scales the gradients so their global L2 norm is at most clip_norm. */
static dmx_status clip_gradients(trainer *t)
{
    dmx_tensor *norm = NULL;
    const int64_t one = 1;
    DMX_TRY(dmx_tensor_new(t->ctx, DMX_F32, 1, &one, "grad_norm", &norm));
    const int32_t n = (int32_t)dmx_tensor_numel(&t->flat_grads);
    dmx_p_reduce p = {.n = n};
    dmx_op_call call = {.op = DMX_OP_NORM2, .params = &p};
    call.args[0] = (dmx_arg){t->flat_grads.buf, t->flat_grads.offset, (size_t)n};
    call.args[1] = (dmx_arg){norm->buf, norm->offset, 1};
    DMX_TRY(dmx_op_run(dmx_ctx_device(t->ctx), &call));
    float g = 0;
    DMX_TRY(dmx_tensor_to_host(norm, &g, sizeof g));
    if (!(g > t->o->clip_norm))
        return DMX_OK;
    dmx_p_scale sc = {.n = n, .alpha = t->o->clip_norm / g};
    dmx_op_call scale = {.op = DMX_OP_SCALE, .params = &sc};
    scale.args[0] = call.args[0];
    scale.args[1] = call.args[0];
    return dmx_op_run(dmx_ctx_device(t->ctx), &scale);
}

/* One optimizer step on batch (epoch, index); *loss gets the batch's mean loss. */
static dmx_status train_step(trainer *t, int64_t epoch, int64_t index, int64_t step, float *loss,
                             float *lr)
{
    DMX_TRY(dmx_ctx_reset(t->ctx));
    dmx_ctx_set_seed(t->ctx, step_seed(t->seed, step));
    dmx_model_input in;
    dmx_tensor *labels = NULL, *logits = NULL, *l = NULL;
    DMX_TRY(t->train->get(t->train->self, t->ctx, epoch, index, &in, &labels));
    DMX_TRY(dmx_params_zero_grad(dmx_model_params(t->model)));
    DMX_TRY(dmx_model_forward(t->ctx, t->model, &in, &logits));
    DMX_TRY(dmx_cross_entropy(t->ctx, logits, labels, t->o->label_smoothing, &l));
    DMX_TRY(dmx_backward(t->ctx, l));
    if (t->o->clip_norm > 0)
        DMX_TRY(clip_gradients(t));
    dmx_schedule sched = t->o->schedule;
    if (sched.total_steps <= 0)
        sched.total_steps = t->total_steps;
    *lr = dmx_schedule_lr(&sched, step);
    DMX_TRY(dmx_optim_step(t->opt, *lr));
    DMX_TRY(dmx_tensor_to_host(l, loss, sizeof *loss));
    if (!isfinite(*loss))
        return dmx_fail(DMX_ERR_INVALID_ARG, "training diverged: loss is %g at step %lld (epoch "
                        "%lld, batch %lld); lower the learning rate", (double)*loss,
                        (long long)step, (long long)epoch, (long long)index);
    return DMX_OK;
}

static dmx_status save_checkpoint(trainer *t, int64_t step, int64_t epoch, int64_t batch)
{
    if (!t->o->out_dir)
        return DMX_OK;
    dmx_train_state st = {.step = step, .epoch = epoch, .batch = batch, .seed = t->seed};
    snprintf(st.train, sizeof st.train, "%s", t->o->description);
    DMX_TRY(dmx_checkpoint_save_with(t->ckpt_path, t->model, t->opt, &st, t->o->input));
    t->saved = true;
    return DMX_OK;
}

static dmx_status end_of_epoch(trainer *t, int64_t epoch, int64_t step, double train_loss,
                               double elapsed, dmx_train_result *res)
{
    dmx_eval_result ev = {0};
    bool evaluated = t->test && t->o->eval_each_epoch;
    if (evaluated) {
        dmx_eval_options eo = {.max_batches = t->o->eval_max_batches};
        DMX_TRY(dmx_evaluate(t->ctx, t->model, t->test, &eo, &ev));
        res->test_accuracy = ev.accuracy;
    }
    dmx_status s = dmx_run_log_epoch(&t->log, epoch + 1, step, train_loss,
                                     evaluated ? ev.loss : NAN, evaluated ? ev.accuracy : NAN,
                                     elapsed);
    t->curves_saved |= s == DMX_OK && t->o->out_dir;
    if (s == DMX_OK && t->o->on_epoch)
        t->o->on_epoch(t->o->user, epoch, evaluated ? &ev : NULL, train_loss);
    dmx_eval_result_free(&ev);
    if (s == DMX_OK)
        s = save_checkpoint(t, step, epoch + 1, 0);
    return s;
}

/* Where training starts: (0, 0, 0), or where the resume checkpoint stopped. The checkpoint is
 * read from one open file: weights, optimizer state and position. */
static dmx_status start_position(trainer *t, int64_t *epoch, int64_t *batch, int64_t *step)
{
    *epoch = *batch = *step = 0;
    const dmx_checkpoint *ck = t->o->resume_from;
    dmx_checkpoint *opened = NULL;
    if (!ck && !t->o->resume)
        return DMX_OK;
    if (!ck) {
        DMX_TRY(dmx_checkpoint_open(t->o->resume, &opened));
        ck = opened;
    }
    dmx_train_state st;
    dmx_status s = dmx_checkpoint_read_weights(ck, t->model);
    if (s == DMX_OK)
        s = dmx_checkpoint_read_optimizer(ck, t->opt);
    if (s == DMX_OK)
        s = dmx_checkpoint_state(ck, &st);
    dmx_checkpoint_close(opened);
    if (s != DMX_OK)
        return s;
    *epoch = st.epoch, *batch = st.batch, *step = st.step;
    t->seed = st.seed;
    if (*batch >= t->bpe) /* the checkpoint ended an epoch whose batches are fewer now */
        ++*epoch, *batch = 0;
    return DMX_OK;
}

static dmx_status run(trainer *t, dmx_train_result *res)
{
    const dmx_train_options *o = t->o;
    int64_t epoch, batch, step;
    DMX_TRY(start_position(t, &epoch, &batch, &step));
    res->first_step = step;
    DMX_TRY(dmx_run_log_open(&t->log, o->out_dir, step, o->resume || o->resume_from));
    double t0 = seconds_now();
    dmx_ctx_set_training(t->ctx, true);
    dmx_ctx_set_grad(t->ctx, true);
    for (; epoch < o->epochs; epoch++, batch = 0) {
        double loss_sum = 0;
        int64_t counted = 0;
        for (; batch < t->bpe; batch++) {
            if (o->max_steps > 0 && step >= o->max_steps)
                goto done;
            if (o->stop && *o->stop) {
                res->interrupted = true;
                DMX_TRY(save_checkpoint(t, step, epoch, batch));
                goto done;
            }
            float loss = 0, lr = 0;
            DMX_TRY(train_step(t, epoch, batch, step, &loss, &lr));
            step++;
            loss_sum += loss;
            counted++;
            DMX_TRY(dmx_run_log_step(&t->log, step, epoch, batch, loss, lr));
            if (o->on_step) {
                dmx_step_info info = {step, epoch, batch, t->bpe, loss, lr};
                o->on_step(o->user, &info);
            }
        }
        res->last_loss = counted ? loss_sum / (double)counted : NAN;
        DMX_TRY(end_of_epoch(t, epoch, step, res->last_loss, seconds_now() - t0, res));
    }
done:
    res->steps = step;
    res->seconds = seconds_now() - t0;
    if (o->max_steps > 0 && step >= o->max_steps && !res->interrupted && batch > 0) {
        /* stopped inside an epoch: evaluate and checkpoint where it stands */
        if (t->test && o->eval_each_epoch) {
            dmx_eval_result ev = {0};
            dmx_eval_options eo = {.max_batches = o->eval_max_batches};
            DMX_TRY(dmx_evaluate(t->ctx, t->model, t->test, &eo, &ev));
            res->test_accuracy = ev.accuracy;
            dmx_eval_result_free(&ev);
        }
        DMX_TRY(save_checkpoint(t, step, epoch, batch));
    }
    return res->interrupted ? dmx_fail(DMX_ERR_INTERRUPTED, "training stopped on request at step "
                                       "%lld; checkpoint written", (long long)step)
                            : DMX_OK;
}

dmx_status dmx_train(dmx_ctx *ctx, dmx_model *model, dmx_batch_source *train,
                     dmx_batch_source *test, const dmx_train_options *opts,
                     dmx_train_result *result)
{
    if (!ctx || !model || !train || !opts || !result)
        return dmx_fail(DMX_ERR_INVALID_ARG, "dmx_train: NULL argument");
    memset(result, 0, sizeof *result);
    result->test_accuracy = -1;
    trainer t = {.ctx = ctx, .model = model, .train = train, .test = test, .o = opts,
                 .seed = opts->seed};
    t.bpe = train->batches_per_epoch(train->self);
    if (t.bpe <= 0)
        return dmx_fail(DMX_ERR_INVALID_ARG, "training data has no full batch");
    /* The schedule spans the whole run; max_steps only stops it early (train.h). */
    t.total_steps = opts->epochs * t.bpe;
    if (opts->out_dir)
        snprintf(t.ckpt_path, sizeof t.ckpt_path, "%s/checkpoint.safetensors", opts->out_dir);
    dmx_status s = make_optimizer(&t);
    if (s == DMX_OK)
        s = run(&t, result);
    dmx_run_log_close(&t.log);
    dmx_optim_destroy(t.opt);
    result->saved = t.saved;
    result->curves_saved = t.curves_saved;
    return s;
}
