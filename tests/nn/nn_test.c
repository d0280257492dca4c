#include "nn_test.h"

#include <stdlib.h>

void nn_env_open(nn_env *env)
{
    env->dev = dmx_test_cpu();
    DMX_ASSERT_OK(dmx_ctx_create(env->dev, &env->ctx));
    DMX_ASSERT_OK(dmx_params_create(env->dev, &env->ps));
}

void nn_env_close(nn_env *env)
{
    dmx_params_destroy(env->ps);
    dmx_ctx_destroy(env->ctx);
    dmx_device_close(env->dev);
}

dmx_tensor *nn_random(nn_env *env, dmx_test_rng *rng, int ndim, const int64_t *shape, float lo,
                      float hi, const char *name)
{
    int64_t n = 1;
    for (int k = 0; k < ndim; k++)
        n *= shape[k];
    float *data = malloc((size_t)n * sizeof *data);
    dmx_test_fill(rng, data, (size_t)n, lo, hi);
    dmx_tensor *t = NULL;
    DMX_ASSERT_OK(dmx_tensor_from_host(env->ctx, DMX_F32, ndim, shape, data, name, &t));
    free(data);
    return t;
}

float *nn_read_param(nn_env *env, const char *name, size_t *count)
{
    dmx_tensor *t = NULL;
    DMX_ASSERT_OK(dmx_params_get(env->ps, name, &t));
    *count = (size_t)dmx_tensor_numel(t);
    return dmx_test_read(t);
}
