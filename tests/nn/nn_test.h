/* Helpers for the nn tests: a CPU store with its context, host tensors, and readback. */
#ifndef DMX_NN_TEST_H
#define DMX_NN_TEST_H

#include "test_util.h"

typedef struct nn_env {
    dmx_device *dev;
    dmx_ctx *ctx;
    dmx_params *ps;
} nn_env;

/* Opens the CPU reference, a context and an empty store. */
void nn_env_open(nn_env *env);
void nn_env_close(nn_env *env);

/* A context tensor filled from `rng` with U(lo, hi). */
dmx_tensor *nn_random(nn_env *env, dmx_test_rng *rng, int ndim, const int64_t *shape, float lo,
                      float hi, const char *name);

/* Host copy of a parameter by name (malloc'd). */
float *nn_read_param(nn_env *env, const char *name, size_t *count);

#endif
