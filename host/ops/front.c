#include "ops/front.h"

#include "device/backend.h"

#include <string.h>

dmx_status dmx_check_tensor(dmx_ctx *ctx, const dmx_tensor *t, dmx_dtype dtype, const char *op,
                            const char *role)
{
    if (!ctx)
        return dmx_fail(DMX_ERR_INVALID_ARG, "%s: the context is NULL", op);
    if (!t)
        return dmx_fail(DMX_ERR_INVALID_ARG, "%s: %s is NULL", op, role);
    if (!t->buf)
        return dmx_fail(DMX_ERR_INVALID_ARG, "%s: %s (%s) has no storage", op, role, t->name);
    if (t->buf->dev != dmx_ctx_device(ctx))
        return dmx_fail(DMX_ERR_INVALID_ARG, "%s: %s (%s) lives on %s, the context on %s", op, role,
                        t->name, t->buf->dev->info.name, dmx_ctx_device(ctx)->info.name);
    if (t->dtype != dtype)
        return dmx_fail(DMX_ERR_INVALID_ARG, "%s: %s (%s) must be %s", op, role, t->name,
                        dtype == DMX_F32 ? "F32" : "I32");
    return DMX_OK;
}

dmx_status dmx_check_numel(dmx_ctx *ctx, const dmx_tensor *t, dmx_dtype dtype, int64_t numel,
                           const char *op, const char *role)
{
    DMX_TRY(dmx_check_tensor(ctx, t, dtype, op, role));
    if (dmx_tensor_numel(t) != numel) {
        char s[96];
        return dmx_fail(DMX_ERR_SHAPE, "%s: %s (%s) has shape %s (%lld elements), expected %lld",
                        op, role, t->name, dmx_shape_str(t, s, sizeof s),
                        (long long)dmx_tensor_numel(t), (long long)numel);
    }
    return DMX_OK;
}

dmx_status dmx_new_output(dmx_ctx *ctx, int ndim, const int64_t *shape, const char *name,
                          bool track, dmx_tensor **out)
{
    DMX_TRY(dmx_tensor_new(ctx, DMX_F32, ndim, shape, name, out));
    if (track)
        (*out)->flags |= DMX_TENSOR_REQUIRES_GRAD;
    return DMX_OK;
}

dmx_status dmx_scratch_like(dmx_ctx *ctx, const dmx_tensor *t, dmx_tensor **out)
{
    return dmx_tensor_new(ctx, DMX_F32, t->ndim, t->shape, "scratch", out);
}

dmx_status dmx_run(dmx_ctx *ctx, dmx_op op, const void *params, int n_args, const dmx_arg *args)
{
    dmx_op_call call = {.op = op, .params = params};
    for (int i = 0; i < n_args && i < DMX_MAX_ARGS; i++)
        call.args[i] = args[i];
    return dmx_op_run(dmx_ctx_device(ctx), &call);
}

dmx_status dmx_grad_add(dmx_ctx *ctx, dmx_tensor *t, const dmx_tensor *src, float alpha)
{
    dmx_tensor *g = NULL;
    int acc = 0;
    DMX_TRY(dmx_grad_of(ctx, t, &g, &acc));
    if (!g)
        return DMX_OK;
    int32_t n = (int32_t)dmx_tensor_numel(t);
    if (acc) {
        dmx_p_axpy p = {.n = n, .alpha = alpha};
        return DMX_RUN(ctx, DMX_OP_AXPY, &p, dmx_arg_of(src), dmx_arg_of(g));
    }
    dmx_p_scale p = {.n = n, .alpha = alpha};
    return DMX_RUN(ctx, DMX_OP_SCALE, &p, dmx_arg_of(src), dmx_arg_of(g));
}

dmx_status dmx_grad_take(dmx_ctx *ctx, dmx_tensor *t, const dmx_tensor *src)
{
    if (!t || !(t->flags & DMX_TENSOR_REQUIRES_GRAD) || t->grad || (t->flags & DMX_TENSOR_PARAM) ||
        dmx_tensor_numel(t) != dmx_tensor_numel(src))
        return dmx_grad_add(ctx, t, src, 1.0f);
    dmx_tensor *g = dmx_ctx_host_alloc(ctx, sizeof *g);
    if (!g)
        return dmx_fail(DMX_ERR_OUT_OF_MEMORY, "gradient of %s: out of host memory", t->name);
    *g = *t;
    g->flags = 0;
    g->grad = NULL;
    g->name = "grad";
    g->buf = src->buf;
    g->offset = src->offset;
    t->grad = g;
    return DMX_OK;
}
