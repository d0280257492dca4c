/* Optimizers: AdamW, Adam and SGD over a list of parameter tensors.
 *
 * When the parameters lie one after another in one value buffer and one gradient buffer (as a
 * dmx_params store lays them out: gaps are alignment padding, zero in both), the states are
 * laid out the same way and each run of neighbours with the same weight-decay setting is
 * updated by one device op: a store's matrices and its vectors, two ops per step. Padding
 * stays zero under every update (zero gradient, value and state). Any other list gets one op
 * per tensor. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/error.h"
#include "device/backend.h"
#include "dimix/optim.h"
#include "ops/op_table.h"

#define STATE_ALIGN 64 /* elements: each state tensor starts 256-byte aligned */

typedef struct param_slot {
    dmx_tensor *param;
    dmx_tensor state[2]; /* m, v (Adam) or momentum (SGD) */
    char names[2][160];
    bool decay;
} param_slot;

/* Elements [start, start + n) of the values/grads buffers and of each state region. */
typedef struct param_run {
    dmx_tensor value, grad, state[2];
    bool decay;
} param_run;

#define GAP_MAX 64 /* a gap this short between neighbours is alignment padding */

struct dmx_optimizer {
    dmx_device *dev;
    dmx_optim_config cfg;
    int n_params, n_states; /* states per parameter */
    param_slot *slots;
    dmx_buffer *state_buf;
    param_run *runs; /* NULL: one op per parameter */
    int n_runs;
    int64_t steps;
};

static int by_offset(const void *a, const void *b)
{
    const dmx_tensor *x = *(dmx_tensor *const *)a, *y = *(dmx_tensor *const *)b;
    return (x->offset > y->offset) - (x->offset < y->offset);
}

/* The parameters sorted by offset when they tile one value and one gradient buffer with only
 * padding between them (gradients at the same offsets as values); NULL otherwise. */
static dmx_tensor **flat_order(dmx_tensor *const *params, int n)
{
    if (n < 1)
        return NULL;
    dmx_tensor **order = malloc((size_t)n * sizeof *order);
    if (!order)
        return NULL;
    memcpy(order, params, (size_t)n * sizeof *order);
    qsort(order, (size_t)n, sizeof *order, by_offset);
    for (int i = 0; i < n; i++) {
        const dmx_tensor *t = order[i];
        bool ok = t->grad->offset == t->offset && t->buf == order[0]->buf &&
                  t->grad->buf == order[0]->grad->buf && dmx_tensor_numel(t->grad) == dmx_tensor_numel(t);
        if (ok && i > 0) {
            const size_t end = order[i - 1]->offset + (size_t)dmx_tensor_numel(order[i - 1]);
            ok = t->offset >= end && t->offset - end < GAP_MAX;
        }
        if (!ok) {
            free(order);
            return NULL;
        }
    }
    return order;
}

static dmx_status check_params(dmx_device *dev, dmx_tensor *const *params, int n)
{
    for (int i = 0; i < n; i++) {
        const dmx_tensor *p = params[i];
        if (!p || !(p->flags & DMX_TENSOR_PARAM) || !p->grad || p->dtype != DMX_F32)
            return dmx_fail(DMX_ERR_INVALID_ARG, "optimizer: parameter %d (%s) is not a trainable "
                            "F32 parameter with a gradient", i, p && p->name ? p->name : "?");
        if (p->buf->dev != dev)
            return dmx_fail(DMX_ERR_INVALID_ARG, "optimizer: parameter %s lives on %s, not %s",
                            p->name, p->buf->dev->info.name, dev->info.name);
    }
    return DMX_OK;
}

dmx_status dmx_optim_create(dmx_device *dev, const dmx_optim_config *config,
                            dmx_tensor *const *params, int n_params, dmx_optimizer **out)
{
    if (!dev || !config || !out || (n_params > 0 && !params) || n_params < 0)
        return dmx_fail(DMX_ERR_INVALID_ARG, "dmx_optim_create: NULL argument");
    if (config->kind < DMX_OPTIM_ADAMW || config->kind > DMX_OPTIM_SGD)
        return dmx_fail(DMX_ERR_INVALID_ARG, "optimizer: unknown kind %d", (int)config->kind);
    DMX_TRY(check_params(dev, params, n_params));
    dmx_optimizer *o = calloc(1, sizeof *o);
    param_slot *slots = calloc((size_t)(n_params ? n_params : 1), sizeof *slots);
    if (!o || !slots) {
        free(o);
        free(slots);
        return dmx_fail(DMX_ERR_OUT_OF_MEMORY, "optimizer: out of host memory");
    }
    o->dev = dev;
    o->cfg = *config;
    if (o->cfg.kind != DMX_OPTIM_SGD) {
        o->cfg.beta1 = o->cfg.beta1 ? o->cfg.beta1 : 0.9f;
        o->cfg.beta2 = o->cfg.beta2 ? o->cfg.beta2 : 0.999f;
        o->cfg.eps = o->cfg.eps ? o->cfg.eps : 1e-8f;
    }
    if (o->cfg.kind == DMX_OPTIM_ADAM)
        o->cfg.weight_decay = 0.0f;
    o->n_params = n_params;
    o->slots = slots;
    /* SGD keeps its momentum buffer even at momentum 0 (then untouched): no aliasing. */
    o->n_states = o->cfg.kind == DMX_OPTIM_SGD ? 1 : 2;
    for (int i = 0; i < n_params; i++) {
        slots[i].param = params[i];
        slots[i].decay = !o->cfg.decay_matrices_only || params[i]->ndim >= 2;
    }
    /* Flat layout: state s of the parameter at offset p is at s * span + (p - base). Otherwise
     * the states one after another, each aligned. */
    dmx_tensor **order = flat_order(params, n_params);
    size_t base = 0, span = 0;
    if (order) {
        base = order[0]->offset;
        span = order[n_params - 1]->offset + (size_t)dmx_tensor_numel(order[n_params - 1]) - base;
        span = (span + STATE_ALIGN - 1) / STATE_ALIGN * STATE_ALIGN;
    }
    size_t total = 0;
    for (int i = 0; i < n_params; i++) {
        size_t n = (size_t)dmx_tensor_numel(params[i]);
        for (int s = 0; s < o->n_states; s++) {
            dmx_tensor *t = &slots[i].state[s];
            *t = *params[i];
            t->flags = 0;
            t->grad = NULL;
            t->offset = order ? s * span + (params[i]->offset - base) : total;
            const char *suffix = o->cfg.kind == DMX_OPTIM_SGD ? "momentum" : s ? "v" : "m";
            snprintf(slots[i].names[s], sizeof slots[i].names[s], "optim.%s.%s",
                     params[i]->name ? params[i]->name : "param", suffix);
            t->name = slots[i].names[s];
            if (!order)
                total += (n + STATE_ALIGN - 1) / STATE_ALIGN * STATE_ALIGN;
        }
    }
    if (order) {
        total = span * (size_t)o->n_states;
        o->runs = calloc((size_t)n_params, sizeof *o->runs);
        for (int i = 0; o->runs && i < n_params; i++) {
            const dmx_tensor *t = order[i];
            const bool decay = !o->cfg.decay_matrices_only || t->ndim >= 2;
            const size_t end = t->offset + (size_t)dmx_tensor_numel(t);
            param_run *r = o->n_runs ? &o->runs[o->n_runs - 1] : NULL;
            if (r && r->decay == decay) { /* extend the run over the padding to this end */
                const int64_t n = (int64_t)(end - r->value.offset);
                r->value.shape[0] = r->grad.shape[0] = n;
                for (int s = 0; s < o->n_states; s++)
                    r->state[s].shape[0] = n;
                continue;
            }
            r = &o->runs[o->n_runs++];
            r->decay = decay;
            r->value = (dmx_tensor){.buf = t->buf, .offset = t->offset, .dtype = DMX_F32, .ndim = 1,
                                    .shape = {(int64_t)(end - t->offset)}, .name = "optimizer run"};
            r->grad = r->value;
            r->grad.buf = t->grad->buf;
            for (int s = 0; s < o->n_states; s++) {
                r->state[s] = r->value;
                r->state[s].offset = s * span + (t->offset - base);
            }
        }
        free(order);
        if (!o->runs) {
            dmx_optim_destroy(o);
            return dmx_fail(DMX_ERR_OUT_OF_MEMORY, "optimizer: out of host memory");
        }
    }
    dmx_status s = DMX_OK;
    if (total) {
        s = dmx_buffer_alloc(dev, total * 4, &o->state_buf);
        if (s == DMX_OK)
            s = dmx_buffer_fill(o->state_buf, 0, total * 4, 0);
    }
    if (s != DMX_OK) {
        dmx_optim_destroy(o);
        return dmx_fail_context(s, "optimizer state (%zu floats): ", total);
    }
    for (int i = 0; i < n_params; i++)
        for (int k = 0; k < o->n_states; k++)
            slots[i].state[k].buf = o->state_buf;
    for (int r = 0; r < o->n_runs; r++)
        for (int k = 0; k < o->n_states; k++)
            o->runs[r].state[k].buf = o->state_buf;
    *out = o;
    return DMX_OK;
}

void dmx_optim_destroy(dmx_optimizer *opt)
{
    if (!opt)
        return;
    dmx_buffer_free(opt->state_buf);
    free(opt->runs);
    free(opt->slots);
    free(opt);
}

static dmx_arg arg_of(const dmx_tensor *t)
{
    return (dmx_arg){t->buf, t->offset, (size_t)dmx_tensor_numel(t)};
}

static dmx_status step_adam(dmx_optimizer *o, const dmx_tensor *value, const dmx_tensor *grad,
                            const dmx_tensor *state, bool decay, float lr)
{
    double t = (double)o->steps;
    dmx_p_adamw p = {.n = (int32_t)dmx_tensor_numel(value), .lr = lr,
                     .beta1 = o->cfg.beta1, .beta2 = o->cfg.beta2, .eps = o->cfg.eps,
                     .weight_decay = decay ? o->cfg.weight_decay : 0.0f,
                     .step_size = (float)(lr / (1.0 - pow(o->cfg.beta1, t))),
                     .bc2_sqrt = (float)sqrt(1.0 - pow(o->cfg.beta2, t))};
    dmx_op_call call = {.op = DMX_OP_ADAMW, .params = &p};
    call.args[0] = arg_of(grad);
    call.args[1] = arg_of(value);
    call.args[2] = arg_of(&state[0]);
    call.args[3] = arg_of(&state[1]);
    return dmx_op_run(o->dev, &call);
}

static dmx_status step_sgd(dmx_optimizer *o, const dmx_tensor *value, const dmx_tensor *grad,
                           const dmx_tensor *state, bool decay, float lr)
{
    dmx_p_sgd p = {.n = (int32_t)dmx_tensor_numel(value), .lr = lr,
                   .momentum = o->cfg.momentum, .dampening = o->cfg.dampening,
                   .weight_decay = decay ? o->cfg.weight_decay : 0.0f,
                   .nesterov = o->cfg.nesterov, .first_step = o->steps == 1};
    dmx_op_call call = {.op = DMX_OP_SGD, .params = &p};
    call.args[0] = arg_of(grad);
    call.args[1] = arg_of(value);
    call.args[2] = arg_of(&state[0]);
    return dmx_op_run(o->dev, &call);
}

dmx_status dmx_optim_step(dmx_optimizer *opt, float lr)
{
    if (!opt)
        return dmx_fail(DMX_ERR_INVALID_ARG, "dmx_optim_step: NULL optimizer");
    if (!isfinite(lr) || lr < 0)
        return dmx_fail(DMX_ERR_INVALID_ARG, "optimizer: learning rate %g is not a finite "
                        "non-negative number", (double)lr);
    opt->steps++;
    const bool sgd = opt->cfg.kind == DMX_OPTIM_SGD;
    for (int i = 0; i < opt->n_runs; i++) {
        const param_run *r = &opt->runs[i];
        dmx_status s = sgd ? step_sgd(opt, &r->value, &r->grad, r->state, r->decay, lr)
                           : step_adam(opt, &r->value, &r->grad, r->state, r->decay, lr);
        if (s != DMX_OK)
            return dmx_fail_context(s, "optimizer step %lld, %lld parameters from element %zu: ",
                                    (long long)opt->steps, (long long)r->value.shape[0],
                                    r->value.offset);
    }
    for (int i = 0; !opt->runs && i < opt->n_params; i++) {
        const param_slot *sl = &opt->slots[i];
        dmx_status s = sgd ? step_sgd(opt, sl->param, sl->param->grad, sl->state, sl->decay, lr)
                           : step_adam(opt, sl->param, sl->param->grad, sl->state, sl->decay, lr);
        if (s != DMX_OK)
            return dmx_fail_context(s, "optimizer step %lld, parameter %s: ",
                                    (long long)opt->steps, sl->param->name);
    }
    return DMX_OK;
}

dmx_status dmx_optim_zero_grad(dmx_optimizer *opt)
{
    for (int i = 0; opt && i < opt->n_params; i++) {
        const dmx_tensor *g = opt->slots[i].param->grad;
        DMX_TRY(dmx_buffer_fill(g->buf, g->offset * 4, dmx_tensor_bytes(g), 0));
    }
    return DMX_OK;
}

int64_t dmx_optim_steps(const dmx_optimizer *opt) { return opt ? opt->steps : 0; }
void dmx_optim_set_steps(dmx_optimizer *opt, int64_t steps) { opt->steps = steps; }
int dmx_optim_state_count(const dmx_optimizer *opt) { return opt ? opt->n_params * opt->n_states : 0; }

dmx_tensor *dmx_optim_state(dmx_optimizer *opt, int i)
{
    if (!opt || i < 0 || i >= dmx_optim_state_count(opt))
        return NULL;
    return &opt->slots[i / opt->n_states].state[i % opt->n_states];
}

float dmx_schedule_lr(const dmx_schedule *s, int64_t step)
{
    if (s->warmup_steps > 0 && step < s->warmup_steps)
        return s->lr * (float)(step + 1) / (float)s->warmup_steps;
    if (s->kind == DMX_SCHEDULE_CONSTANT || s->total_steps <= s->warmup_steps)
        return s->lr;
    double progress = (double)(step - s->warmup_steps) / (double)(s->total_steps - s->warmup_steps);
    progress = progress < 0 ? 0 : progress > 1 ? 1 : progress;
    double shape = s->kind == DMX_SCHEDULE_COSINE ? 0.5 * (1.0 + cos(M_PI * progress))
                                                  : 1.0 - progress;
    return (float)(s->min_lr + (s->lr - s->min_lr) * shape);
}
