/* Helpers shared by the op front door (host/ops/ops_*.c). */
#ifndef DMX_OPS_FRONT_H
#define DMX_OPS_FRONT_H

#include "autograd/autograd.h"
#include "core/error.h"
#include "dimix/ops.h"
#include "ops/op_table.h"

/* The whole tensor as an operator argument (an absent argument for NULL). */
static inline dmx_arg dmx_arg_of(const dmx_tensor *t)
{
    dmx_arg a = {0};
    if (t) {
        a.buf = t->buf;
        a.offset = t->offset;
        a.count = (size_t)dmx_tensor_numel(t);
    }
    return a;
}

/* Checks that `t` is present, on the context's device, and of `dtype`. `op` and `role` name it
 * in the message ("layernorm: gamma ..."). */
dmx_status dmx_check_tensor(dmx_ctx *ctx, const dmx_tensor *t, dmx_dtype dtype, const char *op,
                            const char *role);

/* Like dmx_check_tensor, and the element count must be `numel`. */
dmx_status dmx_check_numel(dmx_ctx *ctx, const dmx_tensor *t, dmx_dtype dtype, int64_t numel,
                           const char *op, const char *role);

/* A new F32 output; it requires a gradient when `track` is true. */
dmx_status dmx_new_output(dmx_ctx *ctx, int ndim, const int64_t *shape, const char *name,
                          bool track, dmx_tensor **out);

/* A scratch F32 tensor shaped like `t` (for gradients nobody needs but an op must write). */
dmx_status dmx_scratch_like(dmx_ctx *ctx, const dmx_tensor *t, dmx_tensor **out);

/* Runs `op` with up to DMX_MAX_ARGS arguments on the context's device. */
dmx_status dmx_run(dmx_ctx *ctx, dmx_op op, const void *params, int n_args, const dmx_arg *args);

/* Adds `alpha * src` into the gradient of `t` (or writes it, when the gradient is fresh). */
dmx_status dmx_grad_add(dmx_ctx *ctx, dmx_tensor *t, const dmx_tensor *src, float alpha);

/* Like dmx_grad_add with alpha = 1, for a `src` nobody reads after the caller (the gradient
 * of the caller's own output, complete once its backward runs): when `t` has no gradient
 * yet, it takes src's storage instead of a copy. Parameters and tensors with a gradient
 * already add as usual. */
dmx_status dmx_grad_take(dmx_ctx *ctx, dmx_tensor *t, const dmx_tensor *src);

/* y = x + f for a residual connection, where f is read by nothing but this add and f's
 * producer does not read x itself (f = F(g(x)), g a layer of its own, as in a Mixer block).
 * The backward then gives x and f dy's storage as their gradients, no copy: the producer's
 * backward reads f's gradient before anything adds into x's (g's backward runs after it).
 * Breaking the condition would corrupt gradients, so only nn code that builds the block uses
 * it; dmx_add is the general op. */
dmx_status dmx_add_residual(dmx_ctx *ctx, dmx_tensor *x, dmx_tensor *f, dmx_tensor **y);

#define DMX_ARGS(...) ((const dmx_arg[]){__VA_ARGS__})
#define DMX_NARGS(...) ((int)(sizeof((dmx_arg[]){__VA_ARGS__}) / sizeof(dmx_arg)))
#define DMX_RUN(ctx, op, params, ...) \
    dmx_run((ctx), (op), (params), DMX_NARGS(__VA_ARGS__), DMX_ARGS(__VA_ARGS__))

#endif
