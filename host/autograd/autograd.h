/* Internals of the context: arenas and the tape. Ops (host/ops) record tape entries; each
 * entry's backward function reads the gradients of its outputs and adds into its inputs'. */
#ifndef DMX_AUTOGRAD_H
#define DMX_AUTOGRAD_H

#include "dimix/tensor.h"

typedef struct dmx_tape_entry dmx_tape_entry;
typedef dmx_status (*dmx_backward_fn)(dmx_ctx *ctx, const dmx_tape_entry *e);

#define DMX_TAPE_TENSORS 8
#define DMX_TAPE_PARAMS_BYTES 128

struct dmx_tape_entry {
    dmx_backward_fn backward;
    const char *op;                   /* for messages */
    dmx_tensor *t[DMX_TAPE_TENSORS];  /* saved tensors; the meaning is the op's own */
    union {
        unsigned char bytes[DMX_TAPE_PARAMS_BYTES];
        double align_;
    } params;
};

/* Records a backward step. `params` (up to DMX_TAPE_PARAMS_BYTES) is copied. */
dmx_status dmx_tape_record(dmx_ctx *ctx, const char *op, dmx_backward_fn backward,
                           dmx_tensor *const *tensors, int n_tensors, const void *params,
                           size_t params_size);

/* Whether gradients must be tracked for `t` in this context. */
bool dmx_requires_grad(const dmx_ctx *ctx, const dmx_tensor *t);

/* The gradient of `t` to write into, created from the arena on first use.
 * *g = NULL when `t` needs no gradient. *accumulate = 0 when freshly created (the writer must
 * overwrite every element), 1 when it already holds contributions (the writer must add). */
dmx_status dmx_grad_of(dmx_ctx *ctx, dmx_tensor *t, dmx_tensor **g, int *accumulate);

/* Like dmx_grad_of, but a fresh gradient is zero-filled, so the writer always adds
 * (for ops whose backward covers only part of the input). */
dmx_status dmx_grad_of_zeroed(dmx_ctx *ctx, dmx_tensor *t, dmx_tensor **g);

/* Device memory for `elems` 4-byte elements from the activation arena (256-byte aligned). */
dmx_status dmx_ctx_alloc(dmx_ctx *ctx, size_t elems, dmx_buffer **buf, size_t *offset);

/* Host memory that lives until the next reset (tensor structs, names). Zeroed. */
void *dmx_ctx_host_alloc(dmx_ctx *ctx, size_t bytes);

/* The next `n` indices of the step's random stream, and the step seed. After
 * dmx_ctx_set_rng_rows, a request whose size is a multiple of the rows is taken as batch-major
 * rows of the whole batch: this slice gets the indices the whole batch's rows row0.. would get,
 * and the stream advances by the whole batch's request. */
uint32_t dmx_ctx_take_rng(dmx_ctx *ctx, uint32_t n, uint64_t *seed);
/* Data parallelism: this process holds rows [row0, row0 + rows) of a batch of rows_all, so its
 * dropout masks are the rows of the masks one process with the whole batch would draw.
 * Cleared by dmx_ctx_reset (then 0, 1, 1: the plain stream). */
void dmx_ctx_set_rng_rows(dmx_ctx *ctx, int64_t row0, int64_t rows, int64_t rows_all);

/* Overlapping work with backward (the data-parallel gradient sums, train/trainer.c). While set,
 * dmx_backward calls hook(user, replayed) once before replaying the tape (replayed 0) and
 * after each entry's backward (replayed = entries done so far); an error stops backward. */
typedef dmx_status (*dmx_backward_hook)(void *user, size_t replayed);
void dmx_ctx_set_backward_hook(dmx_ctx *ctx, dmx_backward_hook hook, void *user);
/* With the tape recorded (after forward): for each element range r, [bounds[r], bounds[r+1])
 * of buffer `buf`, ready[r] = how many entries dmx_backward must have replayed before no
 * later entry can write a gradient held there (0: none writes there). */
void dmx_ctx_grad_ready(const dmx_ctx *ctx, const dmx_buffer *buf, const int64_t *bounds,
                        int n_ranges, size_t *ready);

/* For tests and diagnostics: the entries on the tape now, and the device buffers and host blocks
 * the arenas have allocated since the context was created (none after the first step). */
size_t dmx_ctx_tape_length(const dmx_ctx *ctx);
size_t dmx_ctx_arena_allocations(const dmx_ctx *ctx);

/* ---- activation planning for inference (autograd/plan.c) ----
 * A context with gradients off can run one pass "for shapes only" (nothing executes; see
 * plan.c), which yields a plan: an offset in one buffer for every allocation of that pass, with
 * memory reused once a tensor has no further use. Later passes that allocate the same sequence
 * (the same forward on the same input shape) replay it: dmx_ctx_use_plan, then dmx_ctx_reset
 * before each pass as usual. */
typedef struct dmx_arena_plan dmx_arena_plan;
typedef struct dmx_plan_recorder dmx_plan_recorder;

/* Starts a planning pass (resets the context; gradients must be off). Until dmx_ctx_plan_end,
 * tensors have no memory, ops record instead of running and host reads return ones. */
dmx_status dmx_ctx_plan_begin(dmx_ctx *ctx);
/* Ends the pass: `kept` tensors (read by the caller after the pass: logits, ...) stay alive to
 * its end. *out is the plan (NULL when the pass failed: call with out NULL to just end it). */
dmx_status dmx_ctx_plan_end(dmx_ctx *ctx, dmx_tensor *const *kept, int n_kept,
                            dmx_arena_plan **out);
bool dmx_ctx_planning(const dmx_ctx *ctx);
/* Passes from the next dmx_ctx_reset on allocate from `plan` (NULL: from the arena again) in
 * one device buffer the context keeps, grown to the largest plan used. The plan must outlive
 * its use. An allocation that differs from the plan fails with a message. */
dmx_status dmx_ctx_use_plan(dmx_ctx *ctx, const dmx_arena_plan *plan);
/* Bytes of the planned buffer, of what the bump arena takes for the same pass, allocations. */
size_t dmx_arena_plan_bytes(const dmx_arena_plan *p);
size_t dmx_arena_plan_unplanned_bytes(const dmx_arena_plan *p);
size_t dmx_arena_plan_allocations(const dmx_arena_plan *p);
void dmx_arena_plan_free(dmx_arena_plan *p);

/* plan.c's side, for ctx.c. */
dmx_status dmx_plan_recorder_create(dmx_device *dev, dmx_plan_recorder **out);
void dmx_plan_recorder_destroy(dmx_plan_recorder *r);
dmx_status dmx_plan_record_alloc(dmx_plan_recorder *r, size_t need, dmx_buffer **buf,
                                 size_t *offset);
dmx_status dmx_plan_recorder_finish(dmx_plan_recorder *r, dmx_tensor *const *kept, int n_kept,
                                    dmx_arena_plan **out);
dmx_status dmx_plan_offset(const dmx_arena_plan *p, size_t index, size_t need, size_t *offset);

#endif
