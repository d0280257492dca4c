/* Optimizers (PyTorch semantics) and learning-rate schedules.
 *
 * An optimizer owns its state (AdamW's m and v, SGD's momentum buffer) in one device buffer
 * laid out like the parameters, and steps each parameter with one device operator (adamw, sgd),
 * so every backend updates identically. */
#ifndef DIMIX_OPTIM_H
#define DIMIX_OPTIM_H

#include <stdbool.h>

#include "dimix/tensor.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef enum dmx_optim_kind {
    DMX_OPTIM_ADAMW = 0, /* decoupled weight decay */
    DMX_OPTIM_ADAM = 1,  /* AdamW with weight decay 0 (PyTorch Adam without weight decay) */
    DMX_OPTIM_SGD = 2,   /* momentum, dampening, Nesterov, weight decay */
} dmx_optim_kind;

typedef struct dmx_optim_config {
    dmx_optim_kind kind;
    float beta1, beta2, eps; /* Adam family; defaults 0.9, 0.999, 1e-8 when 0 */
    float weight_decay;
    float momentum, dampening; /* SGD */
    bool nesterov;
    bool decay_matrices_only;  /* no weight decay on tensors of rank < 2 (biases, norms) */
} dmx_optim_config;

typedef struct dmx_optimizer dmx_optimizer;

/* `params`: trainable tensors (DMX_TENSOR_PARAM with a gradient), all on `dev`. The names of
 * the tensors are used for the state's names (optim.<name>.m, .v or .momentum). */
DMX_API dmx_status dmx_optim_create(dmx_device *dev, const dmx_optim_config *config,
                                    dmx_tensor *const *params, int n_params, dmx_optimizer **out);
DMX_API void dmx_optim_destroy(dmx_optimizer *opt);

/* One update of every parameter from its gradient with learning rate `lr`. */
DMX_API dmx_status dmx_optim_step(dmx_optimizer *opt, float lr);

/* Sets every parameter's gradient to zero. */
DMX_API dmx_status dmx_optim_zero_grad(dmx_optimizer *opt);

/* Steps taken so far (Adam's t); settable to resume from a checkpoint. */
DMX_API int64_t dmx_optim_steps(const dmx_optimizer *opt);
DMX_API void dmx_optim_set_steps(dmx_optimizer *opt, int64_t steps);

/* The optimizer's state tensors, for checkpoints: i in [0, dmx_optim_state_count). Each has
 * the shape of its parameter and a name "optim.<param name>.m" (or .v, .momentum). */
DMX_API int dmx_optim_state_count(const dmx_optimizer *opt);
DMX_API dmx_tensor *dmx_optim_state(dmx_optimizer *opt, int i);

/* ---- learning-rate schedules ---- */

typedef enum dmx_schedule_kind {
    DMX_SCHEDULE_CONSTANT = 0,
    DMX_SCHEDULE_COSINE = 1, /* linear warmup, then cosine from lr to min_lr */
    DMX_SCHEDULE_LINEAR = 2, /* linear warmup, then linear decay to min_lr (LRA) */
} dmx_schedule_kind;

typedef struct dmx_schedule {
    dmx_schedule_kind kind;
    float lr, min_lr;
    int64_t warmup_steps, total_steps;
} dmx_schedule;

/* The learning rate for 0-based step `step`. */
DMX_API float dmx_schedule_lr(const dmx_schedule *s, int64_t step);

#ifdef __cplusplus
}
#endif
#endif
