/* Optimizers: AdamW, Adam and SGD over a list of parameter tensors, one device op each. */
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

struct dmx_optimizer {
    dmx_device *dev;
    dmx_optim_config cfg;
    int n_params, n_states; /* states per parameter */
    param_slot *slots;
    dmx_buffer *state_buf;
    int64_t steps;
};

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
    /* Lay the states out one after another, each aligned. */
    size_t total = 0;
    for (int i = 0; i < n_params; i++) {
        size_t n = (size_t)dmx_tensor_numel(params[i]);
        slots[i].param = params[i];
        slots[i].decay = !o->cfg.decay_matrices_only || params[i]->ndim >= 2;
        for (int s = 0; s < o->n_states; s++) {
            dmx_tensor *t = &slots[i].state[s];
            *t = *params[i];
            t->flags = 0;
            t->grad = NULL;
            t->offset = total;
            const char *suffix = o->cfg.kind == DMX_OPTIM_SGD ? "momentum" : s ? "v" : "m";
            snprintf(slots[i].names[s], sizeof slots[i].names[s], "optim.%s.%s",
                     params[i]->name ? params[i]->name : "param", suffix);
            t->name = slots[i].names[s];
            total += (n + STATE_ALIGN - 1) / STATE_ALIGN * STATE_ALIGN;
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
    *out = o;
    return DMX_OK;
}

void dmx_optim_destroy(dmx_optimizer *opt)
{
    if (!opt)
        return;
    dmx_buffer_free(opt->state_buf);
    free(opt->slots);
    free(opt);
}

static dmx_arg arg_of(const dmx_tensor *t)
{
    return (dmx_arg){t->buf, t->offset, (size_t)dmx_tensor_numel(t)};
}

static dmx_status step_adam(dmx_optimizer *o, const param_slot *sl, float lr)
{
    double t = (double)o->steps;
    dmx_p_adamw p = {.n = (int32_t)dmx_tensor_numel(sl->param), .lr = lr,
                     .beta1 = o->cfg.beta1, .beta2 = o->cfg.beta2, .eps = o->cfg.eps,
                     .weight_decay = sl->decay ? o->cfg.weight_decay : 0.0f,
                     .step_size = (float)(lr / (1.0 - pow(o->cfg.beta1, t))),
                     .bc2_sqrt = (float)sqrt(1.0 - pow(o->cfg.beta2, t))};
    dmx_op_call call = {.op = DMX_OP_ADAMW, .params = &p};
    call.args[0] = arg_of(sl->param->grad);
    call.args[1] = arg_of(sl->param);
    call.args[2] = arg_of(&sl->state[0]);
    call.args[3] = arg_of(&sl->state[1]);
    return dmx_op_run(o->dev, &call);
}

static dmx_status step_sgd(dmx_optimizer *o, const param_slot *sl, float lr)
{
    dmx_p_sgd p = {.n = (int32_t)dmx_tensor_numel(sl->param), .lr = lr,
                   .momentum = o->cfg.momentum, .dampening = o->cfg.dampening,
                   .weight_decay = sl->decay ? o->cfg.weight_decay : 0.0f,
                   .nesterov = o->cfg.nesterov, .first_step = o->steps == 1};
    dmx_op_call call = {.op = DMX_OP_SGD, .params = &p};
    call.args[0] = arg_of(sl->param->grad);
    call.args[1] = arg_of(sl->param);
    call.args[2] = arg_of(&sl->state[0]);
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
    for (int i = 0; i < opt->n_params; i++) {
        const param_slot *sl = &opt->slots[i];
        dmx_status s = opt->cfg.kind == DMX_OPTIM_SGD ? step_sgd(opt, sl, lr)
                                                      : step_adam(opt, sl, lr);
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
