/* Helpers shared by the modules in host/nn. */
#ifndef DMX_NN_INTERNAL_H
#define DMX_NN_INTERNAL_H

#include "dimix/nn.h"

/* Checks that `init` fits a tensor of this shape (identity needs rank >= 2, ortho trailing
 * [2, 2], ...). */
dmx_status dmx_nn_check_init(const char *name, int ndim, const int64_t *shape, dmx_init init);

/* Fills `out` (numel floats) with the initial values of the tensor `name` under `seed`. */
void dmx_nn_init_fill(const char *name, int ndim, const int64_t *shape, dmx_init init,
                      uint64_t seed, float *out);

/* Inference placement of a declared store: one values buffer (same offsets as
 * dmx_params_allocate), no gradients buffer, no initialisation (values are loaded from a file
 * afterwards); every tensor becomes a plain, non-trainable parameter. */
dmx_status dmx_params_allocate_frozen(dmx_params *ps);

/* Device bytes of the values and gradients buffers (0 when absent). */
size_t dmx_params_values_bytes(const dmx_params *ps);
size_t dmx_params_grads_bytes(const dmx_params *ps);

/* "prefix.suffix" into buf (cap bytes); fails when it does not fit. */
dmx_status dmx_nn_name(char *buf, size_t cap, const char *prefix, const char *suffix);

/* Declares `prefix.suffix` with the given shape (up to 3 dims, trailing zeros ignored). */
dmx_status dmx_nn_declare(dmx_params *ps, const char *prefix, const char *suffix, int ndim,
                          int64_t d0, int64_t d1, int64_t d2, dmx_init init, bool trainable,
                          dmx_tensor **out);

/* Copies the module prefix into a module's name field, checking it fits. */
dmx_status dmx_nn_set_prefix(char *dst, const char *prefix);

/* x viewed as [outer, n, inner] around `axis` (negative counts from the end). */
typedef struct dmx_nn_axis {
    int axis;
    int64_t outer, n, inner;
} dmx_nn_axis;

/* Resolves `axis` of x and checks its size is `expect_n` (any size when expect_n = 0); errors
 * name the module, x and its shape. */
dmx_status dmx_nn_axis_of(const char *module, const dmx_tensor *x, int axis, int64_t expect_n,
                          dmx_nn_axis *a);

/* Reshapes y (same element count as x with x's axis resized) back to x's rank. */
dmx_status dmx_nn_restore_shape(dmx_ctx *ctx, const dmx_tensor *x, const dmx_nn_axis *a,
                                dmx_tensor *y, dmx_tensor **out);

/* "linear" along an axis: mix_linear with J = R1 = 1, Din = n, R2 = inner; y keeps x's rank. */
dmx_status dmx_nn_dense_along(dmx_ctx *ctx, dmx_tensor *x, const dmx_nn_axis *a, dmx_tensor *w,
                              dmx_tensor *bias, dmx_tensor **y);

/* A fused path's switch: the environment variable `name` set to exactly "0" or "1" decides;
 * otherwise `fallback`. */
bool dmx_nn_switch(const char *name, bool fallback);

/* Whether ctx runs on the named device ("cpu", "cpu-ref", ...). */
bool dmx_nn_device_is(dmx_ctx *ctx, const char *name);

#endif
