/* Planned inference passes (shared by dmx_classifier, dmx_evaluate and the CLI): a context whose
 * activations are planned per input shape (autograd/plan.c), and models opened frozen. */
#ifndef DMX_INFER_PLANNED_H
#define DMX_INFER_PLANNED_H

#include "autograd/autograd.h"
#include "dimix/checkpoint.h"

#define DMX_PLANNED_MAX_KEPT 8
#define DMX_PLANNED_MAX_PLANS 8

/* One pass: allocates its inputs in ctx, runs the forward and puts the tensors the caller
 * reads afterwards in kept[0..*n_kept) (at most DMX_PLANNED_MAX_KEPT). It runs twice for a new
 * shape: first as the planning pass (nothing executes, host reads see ones), then for real;
 * so it must allocate the same way both times and leave its results to the caller. */
typedef dmx_status (*dmx_pass_fn)(dmx_ctx *ctx, void *user, dmx_tensor **kept, int *n_kept);

typedef struct dmx_planned {
    dmx_ctx *ctx;
    struct {
        int64_t key;
        dmx_arena_plan *plan;
        uint64_t last_used;
    } plans[DMX_PLANNED_MAX_PLANS];
    int n_plans;
    uint64_t clock;
    size_t peak_bytes, unplanned_bytes; /* largest plan used, and its unplanned size */
    int64_t peak_key;
} dmx_planned;

/* A planned runner on ctx (gradients and training are turned off; the caller keeps ctx). */
dmx_status dmx_planned_init(dmx_planned *p, dmx_ctx *ctx);
void dmx_planned_free(dmx_planned *p);

/* Runs `fn` with the plan of `key` (the input shape: a batch size when the rest is fixed),
 * planning it first when new. The least recently used plan is dropped past
 * DMX_PLANNED_MAX_PLANS. After it returns, kept tensors stay readable until the next pass. */
dmx_status dmx_planned_run(dmx_planned *p, int64_t key, dmx_pass_fn fn, void *user,
                           dmx_tensor **kept, int *n_kept);

/* Builds the model a checkpoint or exported weights file describes, frozen (one values buffer,
 * no gradients, no random initialisation; dmx_model_create_frozen) and loads its weights. */
dmx_status dmx_infer_build_model(const dmx_checkpoint *ck, dmx_device *dev, dmx_model **model);

#endif
