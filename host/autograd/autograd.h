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

/* The next `n` indices of the step's random stream, and the step seed. */
uint32_t dmx_ctx_take_rng(dmx_ctx *ctx, uint32_t n, uint64_t *seed);

/* For tests and diagnostics: the entries on the tape now, and the device buffers and host blocks
 * the arenas have allocated since the context was created (none after the first step). */
size_t dmx_ctx_tape_length(const dmx_ctx *ctx);
size_t dmx_ctx_arena_allocations(const dmx_ctx *ctx);

#endif
