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
#include "train/grad_sum.h"
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
    /* Data parallelism (dist size > 1): the host copy of the gradients with three more values
       (loss sum, example count, stop flags) summed across ranks each step. */
    const dmx_dist *dist;
    float *reduce_buf;
    int64_t n_flat;
    bool stop_all;           /* some rank asked to stop (known after each step's sum) */
    dmx_grad_sum sum;
    /* Deferred loss reads (dmx_train_options.loss_read_every > 1): each step's loss copied
       into ring[n_pending] on the device; the steps waiting to be logged. */
    dmx_buffer *ring;
    int64_t ring_len, n_pending;
    dmx_step_info *pending;
    float *pending_loss;
    double epoch_loss_sum;   /* the epoch's logged losses */
    int64_t epoch_counted;
} trainer;

static bool distributed(const trainer *t) { return t->dist && t->dist->size > 1; }

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

/* Scales the gradients so their global L2 norm is at most clip_norm, on the device: the norm
 * is never read back (CLIP_SCALE applies max_norm / norm only when the norm exceeds it). */
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
    dmx_p_clip_scale sc = {.n = n, .threshold = t->o->clip_norm, .numerator = t->o->clip_norm};
    dmx_op_call clip = {.op = DMX_OP_CLIP_SCALE, .params = &sc};
    clip.args[0] = call.args[1];
    clip.args[1] = call.args[0];
    return dmx_op_run(dmx_ctx_device(t->ctx), &clip);
}

/* One optimizer step on batch (epoch, index); *loss gets the batch's mean loss (with dist,
 * the global batch's). */
static dmx_status train_step(trainer *t, int64_t epoch, int64_t index, int64_t step, float *loss,
                             float *lr)
{
    DMX_TRY(dmx_ctx_reset(t->ctx));
    dmx_ctx_set_seed(t->ctx, step_seed(t->seed, step));
    dmx_model_input in;
    dmx_tensor *labels = NULL, *logits = NULL, *l = NULL;
    DMX_TRY(t->train->get(t->train->self, t->ctx, epoch, index, &in, &labels));
    DMX_TRY(dmx_params_zero_grad(dmx_model_params(t->model)));
    if (!labels && !distributed(t))
        return dmx_fail(DMX_ERR_INVALID_ARG, "training batch (epoch %lld, index %lld) is empty",
                        (long long)epoch, (long long)index);
    *loss = 0;
    const int64_t count = labels ? labels->shape[0] : 0;
    if (labels) { /* with dist, this rank's slice may be empty */
        DMX_TRY(dmx_model_forward(t->ctx, t->model, &in, &logits));
        DMX_TRY(dmx_cross_entropy(t->ctx, logits, labels, t->o->label_smoothing, &l));
    }
    if (distributed(t)) /* the sums of the gradients final so far start during backward */
        DMX_TRY(dmx_grad_sum_begin(&t->sum, count));
    if (labels)
        DMX_TRY(dmx_backward(t->ctx, l));
    if (distributed(t)) {
        if (l)
            DMX_TRY(dmx_tensor_to_host(l, loss, sizeof *loss));
        DMX_TRY(dmx_grad_sum_finish(&t->sum, loss, count, t->o->stop && *t->o->stop,
                                    &t->stop_all));
    }
    if (t->o->clip_norm > 0)
        DMX_TRY(clip_gradients(t));
    dmx_schedule sched = t->o->schedule;
    if (sched.total_steps <= 0)
        sched.total_steps = t->total_steps;
    *lr = dmx_schedule_lr(&sched, step);
    DMX_TRY(dmx_optim_step(t->opt, *lr));
    if (!distributed(t) && t->ring) /* read later with the others (flush_losses) */
        return dmx_buffer_copy(l->buf, l->offset * sizeof(float), t->ring,
                               (size_t)t->n_pending * sizeof(float), sizeof(float));
    if (!distributed(t))
        DMX_TRY(dmx_tensor_to_host(l, loss, sizeof *loss));
    return DMX_OK;
}

/* A step whose loss is known: the divergence check, the epoch's mean, the log, on_step. */
static dmx_status record_step(trainer *t, const dmx_step_info *info)
{
    if (!isfinite(info->loss))
        return dmx_fail(DMX_ERR_INVALID_ARG, "training diverged: loss is %g at step %lld (epoch "
                        "%lld, batch %lld); lower the learning rate", (double)info->loss,
                        (long long)info->step - 1, (long long)info->epoch,
                        (long long)info->batch);
    t->epoch_loss_sum += info->loss;
    t->epoch_counted++;
    DMX_TRY(dmx_run_log_step(&t->log, info->step, info->epoch, info->batch, info->loss,
                             info->lr));
    if (t->o->on_step)
        t->o->on_step(t->o->user, info);
    return DMX_OK;
}

/* The deferred steps: one read of the ring, then each recorded in order. */
static dmx_status flush_losses(trainer *t)
{
    if (t->n_pending == 0)
        return DMX_OK;
    const int64_t n = t->n_pending;
    t->n_pending = 0;
    DMX_TRY(dmx_buffer_read(t->ring, 0, t->pending_loss, (size_t)n * sizeof(float)));
    for (int64_t i = 0; i < n; i++) {
        t->pending[i].loss = t->pending_loss[i];
        DMX_TRY(record_step(t, &t->pending[i]));
    }
    return DMX_OK;
}

/* After train_step: recorded now, or queued until the ring is full. */
static dmx_status step_done(trainer *t, const dmx_step_info *info)
{
    if (!t->ring || distributed(t))
        return record_step(t, info);
    t->pending[t->n_pending++] = *info;
    return t->n_pending == t->ring_len ? flush_losses(t) : DMX_OK;
}

/* The ring of deferred losses (none when they are read every step). */
static dmx_status make_loss_ring(trainer *t)
{
    dmx_device *dev = dmx_ctx_device(t->ctx);
    int64_t every = t->o->loss_read_every;
    if (every <= 0)
        every = dev->backend->kind == DMX_BACKEND_OPENCL ||
                        dev->backend->kind == DMX_BACKEND_VULKAN ? 16 : 1;
    if (every == 1 || distributed(t))
        return DMX_OK;
    if (every > 4096)
        every = 4096;
    t->ring_len = every;
    t->pending = calloc((size_t)every, sizeof *t->pending);
    t->pending_loss = calloc((size_t)every, sizeof *t->pending_loss);
    if (!t->pending || !t->pending_loss)
        return dmx_fail(DMX_ERR_OUT_OF_MEMORY, "trainer: out of host memory");
    return dmx_buffer_alloc(dev, (size_t)every * sizeof(float), &t->ring);
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

/* With dist: each rank evaluated its slices of the test batches; the sums over the ranks
 * (examples, correct, loss, confusion) give every rank the result of the whole test set. */
static dmx_status reduce_evaluation(trainer *t, dmx_eval_result *ev)
{
    const int64_t k2 = (int64_t)ev->classes * ev->classes, n = 3 + k2;
    double *v = malloc((size_t)n * sizeof *v);
    if (!v)
        return dmx_fail(DMX_ERR_OUT_OF_MEMORY, "trainer: out of host memory");
    v[0] = (double)ev->examples;
    v[1] = (double)ev->correct;
    v[2] = ev->examples > 0 ? ev->loss * (double)ev->examples : 0.0;
    for (int64_t i = 0; i < k2; i++)
        v[3 + i] = (double)ev->confusion[i];
    dmx_status s = t->dist->sum_f64(t->dist->self, v, n);
    if (s == DMX_OK) {
        ev->examples = (int64_t)v[0];
        ev->correct = (int64_t)v[1];
        ev->loss = ev->examples ? v[2] / (double)ev->examples : NAN;
        ev->accuracy = ev->examples ? (double)ev->correct / (double)ev->examples : NAN;
        for (int64_t i = 0; i < k2; i++)
            ev->confusion[i] = (int64_t)v[3 + i];
    }
    free(v);
    return s;
}

static dmx_status evaluate(trainer *t, dmx_eval_result *ev)
{
    dmx_eval_options eo = {.max_batches = t->o->eval_max_batches};
    DMX_TRY(dmx_evaluate(t->ctx, t->model, t->test, &eo, ev));
    dmx_status s = distributed(t) ? reduce_evaluation(t, ev) : DMX_OK;
    if (s != DMX_OK)
        dmx_eval_result_free(ev);
    return s;
}

/* With dist: every rank starts from rank 0's parameters (the same already when every rank
 * built the model from one seed or read one checkpoint; this makes sure). */
static dmx_status broadcast_parameters(trainer *t)
{
    const size_t bytes = (size_t)t->n_flat * sizeof(float);
    DMX_TRY(dmx_tensor_to_host(&t->flat_values, t->reduce_buf, bytes));
    DMX_TRY(t->dist->broadcast(t->dist->self, t->reduce_buf, (int64_t)bytes, 0));
    return dmx_tensor_write(&t->flat_values, t->reduce_buf, bytes);
}

/* With dist: the largest difference between any rank's parameters and rank 0's. */
static dmx_status check_parameters(trainer *t, dmx_train_result *res)
{
    const int64_t n = t->n_flat;
    const int size = t->dist->size;
    float *mine = malloc((size_t)n * sizeof *mine);
    double *diffs = calloc((size_t)size, sizeof *diffs);
    dmx_status s = mine && diffs ? DMX_OK
                                 : dmx_fail(DMX_ERR_OUT_OF_MEMORY, "trainer: out of host memory");
    if (s == DMX_OK)
        s = dmx_tensor_to_host(&t->flat_values, mine, (size_t)n * sizeof *mine);
    if (s == DMX_OK) {
        memcpy(t->reduce_buf, mine, (size_t)n * sizeof *mine);
        s = t->dist->broadcast(t->dist->self, t->reduce_buf, n * (int64_t)sizeof(float), 0);
    }
    if (s == DMX_OK) {
        double d = 0;
        for (int64_t i = 0; i < n; i++) {
            double e = fabs((double)mine[i] - (double)t->reduce_buf[i]);
            if (e > d || isnan(e))
                d = isnan(e) ? INFINITY : e;
        }
        diffs[t->dist->rank] = d; /* the sum over ranks gathers every rank's */
        s = t->dist->sum_f64(t->dist->self, diffs, size);
    }
    for (int r = 0; s == DMX_OK && r < size; r++)
        if (diffs[r] > res->dist_max_diff)
            res->dist_max_diff = diffs[r];
    res->dist_checks += s == DMX_OK;
    free(mine);
    free(diffs);
    return s;
}

static dmx_status end_of_epoch(trainer *t, int64_t epoch, int64_t step, double train_loss,
                               double elapsed, dmx_train_result *res)
{
    dmx_eval_result ev = {0};
    bool evaluated = t->test && t->o->eval_each_epoch;
    if (evaluated) {
        DMX_TRY(evaluate(t, &ev));
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
    if (distributed(t))
        DMX_TRY(broadcast_parameters(t));
    DMX_TRY(dmx_run_log_open(&t->log, o->out_dir, step, o->resume || o->resume_from));
    double t0 = seconds_now();
    dmx_ctx_set_training(t->ctx, true);
    dmx_ctx_set_grad(t->ctx, true);
    for (; epoch < o->epochs; epoch++, batch = 0) {
        t->epoch_loss_sum = 0;
        t->epoch_counted = 0;
        for (; batch < t->bpe; batch++) {
            if (o->max_steps > 0 && step >= o->max_steps)
                goto done;
            /* With dist, every rank learnt in the last step's sum whether any rank was asked
               to stop, so all stop here together. */
            if (distributed(t) ? t->stop_all : o->stop && *o->stop) {
                res->interrupted = true;
                DMX_TRY(flush_losses(t));
                DMX_TRY(save_checkpoint(t, step, epoch, batch));
                goto done;
            }
            float loss = 0, lr = 0;
            DMX_TRY(train_step(t, epoch, batch, step, &loss, &lr));
            step++;
            if (distributed(t) && o->dist_check_every > 0 && step % o->dist_check_every == 0)
                DMX_TRY(check_parameters(t, res));
            dmx_step_info info = {step, epoch, batch, t->bpe, loss, lr};
            DMX_TRY(step_done(t, &info));
        }
        DMX_TRY(flush_losses(t));
        res->last_loss = t->epoch_counted ? t->epoch_loss_sum / (double)t->epoch_counted : NAN;
        DMX_TRY(end_of_epoch(t, epoch, step, res->last_loss, seconds_now() - t0, res));
    }
done:
    DMX_TRY(flush_losses(t));
    res->steps = step;
    res->seconds = seconds_now() - t0;
    if (o->max_steps > 0 && step >= o->max_steps && !res->interrupted && batch > 0) {
        /* stopped inside an epoch: evaluate and checkpoint where it stands */
        if (t->test && o->eval_each_epoch) {
            dmx_eval_result ev = {0};
            DMX_TRY(evaluate(t, &ev));
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
    t.dist = opts->dist;
    if (s == DMX_OK && distributed(&t)) {
        t.n_flat = dmx_tensor_numel(&t.flat_grads);
        t.reduce_buf = malloc((size_t)(t.n_flat + 3) * sizeof *t.reduce_buf);
        if (!t.reduce_buf)
            s = dmx_fail(DMX_ERR_OUT_OF_MEMORY, "trainer: no host memory for the gradients "
                         "(%lld values)", (long long)t.n_flat);
        result->reduce_bytes = (t.n_flat + 3) * (int64_t)sizeof(float);
        if (s == DMX_OK)
            s = dmx_grad_sum_init(&t.sum, ctx, t.dist, dmx_model_params(model), &t.flat_grads,
                                  t.reduce_buf, !opts->dist_blocking_sum,
                                  opts->dist_bucket_floats > 0 ? opts->dist_bucket_floats
                                                               : DMX_DIST_BUCKET_FLOATS);
    }
    if (s == DMX_OK)
        s = make_loss_ring(&t);
    if (s == DMX_OK)
        s = run(&t, result);
    result->reduce_seconds = t.sum.seconds;
    result->reduce_wait_seconds = t.sum.wait_seconds;
    result->reduce_buckets = t.sum.overlap ? t.sum.n_buckets : 0;
    result->reduce_buckets_early = t.sum.early;
    dmx_grad_sum_free(&t.sum);
    free(t.reduce_buf);
    free(t.pending);
    free(t.pending_loss);
    dmx_buffer_free(t.ring);
    dmx_run_log_close(&t.log);
    dmx_optim_destroy(t.opt);
    result->saved = t.saved;
    result->curves_saved = t.curves_saved;
    return s;
}
