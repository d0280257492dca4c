/* Planned inference passes: see planned.h. */
#include <string.h>

#include "core/error.h"
#include "infer/planned.h"
#include "models/model_internal.h"

dmx_status dmx_planned_init(dmx_planned *p, dmx_ctx *ctx)
{
    if (!p || !ctx)
        return dmx_fail(DMX_ERR_INVALID_ARG, "dmx_planned_init: NULL argument");
    memset(p, 0, sizeof *p);
    p->ctx = ctx;
    dmx_ctx_set_grad(ctx, false);
    dmx_ctx_set_training(ctx, false);
    return DMX_OK;
}

void dmx_planned_free(dmx_planned *p)
{
    if (!p)
        return;
    if (p->ctx)
        dmx_ctx_use_plan(p->ctx, NULL); /* no status to report: only clears a pointer */
    for (int i = 0; i < p->n_plans; i++)
        dmx_arena_plan_free(p->plans[i].plan);
    p->n_plans = 0;
}

/* The planning pass of a new key; *slot gets its index in p->plans. */
static dmx_status plan_key(dmx_planned *p, int64_t key, dmx_pass_fn fn, void *user, int *slot)
{
    DMX_TRY(dmx_ctx_plan_begin(p->ctx));
    dmx_tensor *kept[DMX_PLANNED_MAX_KEPT] = {0};
    int n_kept = 0;
    dmx_status s = fn(p->ctx, user, kept, &n_kept);
    dmx_arena_plan *plan = NULL;
    if (s == DMX_OK && (n_kept < 0 || n_kept > DMX_PLANNED_MAX_KEPT))
        s = dmx_fail(DMX_ERR_INVALID_ARG, "planned pass: %d kept tensors, at most %d", n_kept,
                     DMX_PLANNED_MAX_KEPT);
    if (s != DMX_OK) {
        dmx_ctx_plan_end(p->ctx, NULL, 0, NULL);
        return dmx_fail_context(s, "planning the activations: ");
    }
    DMX_TRY(dmx_ctx_plan_end(p->ctx, kept, n_kept, &plan));
    int at = p->n_plans;
    if (at == DMX_PLANNED_MAX_PLANS) {
        at = 0;
        for (int i = 1; i < p->n_plans; i++)
            if (p->plans[i].last_used < p->plans[at].last_used)
                at = i;
        dmx_arena_plan_free(p->plans[at].plan);
    } else {
        p->n_plans++;
    }
    p->plans[at].key = key;
    p->plans[at].plan = plan;
    *slot = at;
    return DMX_OK;
}

dmx_status dmx_planned_run(dmx_planned *p, int64_t key, dmx_pass_fn fn, void *user,
                           dmx_tensor **kept, int *n_kept)
{
    if (!p || !p->ctx || !fn || !kept || !n_kept)
        return dmx_fail(DMX_ERR_INVALID_ARG, "dmx_planned_run: NULL argument");
    int slot = -1;
    for (int i = 0; i < p->n_plans; i++)
        if (p->plans[i].key == key)
            slot = i;
    if (slot < 0)
        DMX_TRY(plan_key(p, key, fn, user, &slot));
    p->plans[slot].last_used = ++p->clock;
    const dmx_arena_plan *plan = p->plans[slot].plan;
    DMX_TRY(dmx_ctx_use_plan(p->ctx, plan));
    DMX_TRY(dmx_ctx_reset(p->ctx));
    if (dmx_arena_plan_bytes(plan) > p->peak_bytes) {
        p->peak_bytes = dmx_arena_plan_bytes(plan);
        p->unplanned_bytes = dmx_arena_plan_unplanned_bytes(plan);
        p->peak_key = key;
    }
    *n_kept = 0;
    return fn(p->ctx, user, kept, n_kept);
}

dmx_status dmx_infer_build_model(const dmx_checkpoint *ck, dmx_device *dev, dmx_model **model)
{
    if (!ck || !dev || !model)
        return dmx_fail(DMX_ERR_INVALID_ARG, "dmx_infer_build_model: NULL argument");
    *model = NULL;
    dmx_model_config cfg;
    DMX_TRY(dmx_checkpoint_config(ck, &cfg));
    DMX_TRY(dmx_model_create_frozen(dev, &cfg, model));
    dmx_status s = dmx_checkpoint_read_weights(ck, *model);
    if (s != DMX_OK) {
        dmx_model_destroy(*model);
        *model = NULL;
    }
    return s;
}
