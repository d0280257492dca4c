/* Tensors, the per-step context, and autograd.
 *
 * A tensor is a contiguous row-major view on a device buffer. Activations come from the
 * context's arena and live until dmx_ctx_reset (llm.c's "one allocation per role": the arena
 * grows during the first step, then stays one block). Parameters and their gradients live in
 * long-lived buffers owned by a parameter store (dimix/nn.h).
 *
 * Autograd is a tape: every op in dimix/ops.h whose inputs require gradients records itself;
 * dmx_backward(loss) replays the tape in reverse. Parameter gradients accumulate (+=) until the
 * optimizer zeroes them; activation gradients are created on first use. */
#ifndef DIMIX_TENSOR_H
#define DIMIX_TENSOR_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "dimix/device.h"

#ifdef __cplusplus
extern "C" {
#endif

#define DMX_MAX_DIMS 6

typedef enum dmx_dtype {
    DMX_F32 = 0,
    DMX_I32 = 1,
} dmx_dtype;

enum {
    DMX_TENSOR_REQUIRES_GRAD = 1u << 0, /* gradients flow into this tensor */
    DMX_TENSOR_PARAM = 1u << 1,         /* a parameter: long-lived, gradient accumulates */
};

typedef struct dmx_tensor dmx_tensor;
struct dmx_tensor {
    dmx_buffer *buf;
    size_t offset; /* in elements (every dtype is 4 bytes) */
    int ndim;
    int64_t shape[DMX_MAX_DIMS];
    dmx_dtype dtype;
    uint32_t flags;
    dmx_tensor *grad; /* same shape; NULL until a gradient exists */
    const char *name; /* for messages; static or owned by whoever made the tensor */
};

typedef struct dmx_ctx dmx_ctx;

DMX_API dmx_status dmx_ctx_create(dmx_device *dev, dmx_ctx **out);
DMX_API void dmx_ctx_destroy(dmx_ctx *ctx);
DMX_API dmx_device *dmx_ctx_device(const dmx_ctx *ctx);

/* Training (record the tape) or inference (record nothing). Default: enabled. */
DMX_API void dmx_ctx_set_grad(dmx_ctx *ctx, bool enabled);
DMX_API bool dmx_ctx_grad_enabled(const dmx_ctx *ctx);

/* Whether modules run in training mode (dropout active, spectral-norm power iterations). */
DMX_API void dmx_ctx_set_training(dmx_ctx *ctx, bool training);
DMX_API bool dmx_ctx_training(const dmx_ctx *ctx);

/* Seed for the step's random draws (dropout); the offset restarts at each reset. */
DMX_API void dmx_ctx_set_seed(dmx_ctx *ctx, uint64_t seed);

/* Releases every activation and the tape: call at the start of each step. */
DMX_API dmx_status dmx_ctx_reset(dmx_ctx *ctx);

/* Most activation memory in use at once since creation (bytes). */
DMX_API size_t dmx_ctx_peak_bytes(const dmx_ctx *ctx);

/* ---- tensors ---- */

DMX_API int64_t dmx_tensor_numel(const dmx_tensor *t);
DMX_API size_t dmx_tensor_bytes(const dmx_tensor *t);
/* "[2, 3, 4]" into buf. */
DMX_API const char *dmx_shape_str(const dmx_tensor *t, char *buf, size_t cap);

/* A new activation (contents undefined) from the arena. */
DMX_API dmx_status dmx_tensor_new(dmx_ctx *ctx, dmx_dtype dtype, int ndim, const int64_t *shape,
                                  const char *name, dmx_tensor **out);
/* A new activation holding a copy of host data (numel * 4 bytes). */
DMX_API dmx_status dmx_tensor_from_host(dmx_ctx *ctx, dmx_dtype dtype, int ndim,
                                        const int64_t *shape, const void *data, const char *name,
                                        dmx_tensor **out);
DMX_API dmx_status dmx_tensor_to_host(const dmx_tensor *t, void *dst, size_t bytes);
DMX_API dmx_status dmx_tensor_write(dmx_tensor *t, const void *src, size_t bytes);

/* A tensor with another shape over the same elements (no copy); gradients flow through. */
DMX_API dmx_status dmx_reshape(dmx_ctx *ctx, dmx_tensor *x, int ndim, const int64_t *shape,
                               dmx_tensor **out);

/* Runs the tape backwards from `loss` (one element), seeding d loss = 1. Each call adds the
 * loss's gradient into the parameters once more; activation gradients are recomputed by every
 * call (a second call on the same tape does not reuse the first one's). */
DMX_API dmx_status dmx_backward(dmx_ctx *ctx, dmx_tensor *loss);

#ifdef __cplusplus
}
#endif
#endif
