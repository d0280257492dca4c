/* Names, axes and dense mixing along an axis: the plumbing every module shares. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/error.h"
#include "dimix/device.h"
#include "nn/nn_internal.h"

dmx_status dmx_nn_name(char *buf, size_t cap, const char *prefix, const char *suffix)
{
    int len = snprintf(buf, cap, "%s%s%s", prefix ? prefix : "", prefix && *prefix ? "." : "",
                       suffix);
    if (len < 0 || (size_t)len >= cap)
        return dmx_fail(DMX_ERR_INVALID_ARG, "parameter name %s.%s longer than %zu bytes",
                        prefix ? prefix : "", suffix, cap - 1);
    return DMX_OK;
}

dmx_status dmx_nn_declare(dmx_params *ps, const char *prefix, const char *suffix, int ndim,
                          int64_t d0, int64_t d1, int64_t d2, dmx_init init, bool trainable,
                          dmx_tensor **out)
{
    char name[256];
    DMX_TRY(dmx_nn_name(name, sizeof name, prefix, suffix));
    const int64_t shape[3] = {d0, d1, d2};
    return dmx_params_declare(ps, name, ndim, shape, init, trainable, out);
}

dmx_status dmx_nn_set_prefix(char *dst, const char *prefix)
{
    if (!prefix)
        prefix = "";
    if (strlen(prefix) >= DMX_NN_NAME)
        return dmx_fail(DMX_ERR_INVALID_ARG, "module prefix %s longer than %d bytes", prefix,
                        DMX_NN_NAME - 1);
    strcpy(dst, prefix);
    return DMX_OK;
}

dmx_status dmx_nn_axis_of(const char *module, const dmx_tensor *x, int axis, int64_t expect_n,
                          dmx_nn_axis *a)
{
    if (!x)
        return dmx_fail(DMX_ERR_INVALID_ARG, "%s: x is NULL", module);
    char s[96];
    int k = axis < 0 ? x->ndim + axis : axis;
    if (k < 0 || k >= x->ndim)
        return dmx_fail(DMX_ERR_SHAPE, "%s: axis %d outside x (%s) of shape %s", module, axis,
                        x->name, dmx_shape_str(x, s, sizeof s));
    a->axis = k;
    a->outer = a->inner = 1;
    for (int i = 0; i < k; i++)
        a->outer *= x->shape[i];
    for (int i = k + 1; i < x->ndim; i++)
        a->inner *= x->shape[i];
    a->n = x->shape[k];
    if (expect_n && a->n != expect_n)
        return dmx_fail(DMX_ERR_SHAPE, "%s: axis %d of x (%s) of shape %s has %lld elements, the "
                        "module mixes %lld", module, axis, x->name,
                        dmx_shape_str(x, s, sizeof s), (long long)a->n, (long long)expect_n);
    return DMX_OK;
}

dmx_status dmx_nn_restore_shape(dmx_ctx *ctx, const dmx_tensor *x, const dmx_nn_axis *a,
                                dmx_tensor *y, dmx_tensor **out)
{
    int64_t shape[DMX_MAX_DIMS];
    memcpy(shape, x->shape, sizeof shape);
    shape[a->axis] = dmx_tensor_numel(y) / (a->outer * a->inner);
    return dmx_reshape(ctx, y, x->ndim, shape, out);
}

dmx_status dmx_nn_dense_along(dmx_ctx *ctx, dmx_tensor *x, const dmx_nn_axis *a, dmx_tensor *w,
                              dmx_tensor *bias, dmx_tensor **y)
{
    dmx_tensor *y5 = NULL;
    DMX_TRY(dmx_mix_linear(ctx, x, w, bias, a->outer, 1, a->n, 1, a->inner, &y5));
    return dmx_nn_restore_shape(ctx, x, a, y5, y);
}

bool dmx_nn_switch(const char *name, bool fallback)
{
    const char *env = getenv(name);
    if (env && (env[0] == '0' || env[0] == '1') && env[1] == 0)
        return env[0] == '1';
    return fallback;
}

bool dmx_nn_device_is(dmx_ctx *ctx, const char *name)
{
    const dmx_device_info *info = dmx_device_info_of(dmx_ctx_device(ctx));
    return info && strcmp(info->name, name) == 0;
}
