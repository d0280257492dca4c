/* Tensors: creation from the arena, host transfers, and reshape views. */
#include <stdio.h>
#include <string.h>

#include "autograd/autograd.h"
#include "core/error.h"
#include "ops/op_table.h"

int64_t dmx_tensor_numel(const dmx_tensor *t)
{
    if (!t)
        return 0;
    int64_t n = 1;
    for (int i = 0; i < t->ndim; i++)
        n *= t->shape[i];
    return n;
}

size_t dmx_tensor_bytes(const dmx_tensor *t) { return (size_t)dmx_tensor_numel(t) * 4; }

const char *dmx_shape_str(const dmx_tensor *t, char *buf, size_t cap)
{
    size_t len = (size_t)snprintf(buf, cap, "[");
    for (int i = 0; t && i < t->ndim && len < cap; i++)
        len += (size_t)snprintf(buf + len, cap - len, "%s%lld", i ? ", " : "",
                                (long long)t->shape[i]);
    if (len < cap)
        snprintf(buf + len, cap - len, "]");
    return buf;
}

static dmx_status check_shape(const char *name, int ndim, const int64_t *shape)
{
    if (ndim < 0 || ndim > DMX_MAX_DIMS || (ndim > 0 && !shape))
        return dmx_fail(DMX_ERR_SHAPE, "%s: rank %d outside [0, %d]", name ? name : "tensor", ndim,
                        DMX_MAX_DIMS);
    int64_t n = 1;
    for (int i = 0; i < ndim; i++) {
        if (shape[i] < 0)
            return dmx_fail(DMX_ERR_SHAPE, "%s: negative size %lld in dimension %d",
                            name ? name : "tensor", (long long)shape[i], i);
        n *= shape[i];
        if (n > INT32_MAX)
            return dmx_fail(DMX_ERR_SHAPE, "%s: more than 2^31 elements", name ? name : "tensor");
    }
    return DMX_OK;
}

dmx_status dmx_tensor_new(dmx_ctx *ctx, dmx_dtype dtype, int ndim, const int64_t *shape,
                          const char *name, dmx_tensor **out)
{
    if (!ctx || !out)
        return dmx_fail(DMX_ERR_INVALID_ARG, "dmx_tensor_new: NULL context or out");
    *out = NULL;
    DMX_TRY(check_shape(name, ndim, shape));
    dmx_tensor *t = dmx_ctx_host_alloc(ctx, sizeof *t);
    if (!t)
        return dmx_fail(DMX_ERR_OUT_OF_MEMORY, "dmx_tensor_new: out of host memory");
    t->ndim = ndim;
    for (int i = 0; i < ndim; i++)
        t->shape[i] = shape[i];
    t->dtype = dtype;
    t->name = name ? name : "tensor";
    DMX_TRY(dmx_ctx_alloc(ctx, (size_t)dmx_tensor_numel(t), &t->buf, &t->offset));
    *out = t;
    return DMX_OK;
}

dmx_status dmx_tensor_from_host(dmx_ctx *ctx, dmx_dtype dtype, int ndim, const int64_t *shape,
                                const void *data, const char *name, dmx_tensor **out)
{
    DMX_TRY(dmx_tensor_new(ctx, dtype, ndim, shape, name, out));
    return dmx_tensor_write(*out, data, dmx_tensor_bytes(*out));
}

dmx_status dmx_tensor_write(dmx_tensor *t, const void *src, size_t bytes)
{
    if (!t)
        return dmx_fail(DMX_ERR_INVALID_ARG, "dmx_tensor_write: NULL tensor");
    if (bytes != dmx_tensor_bytes(t)) {
        char s[96];
        return dmx_fail(DMX_ERR_SHAPE, "dmx_tensor_write: %zu bytes for %s of shape %s (%zu bytes)",
                        bytes, t->name, dmx_shape_str(t, s, sizeof s), dmx_tensor_bytes(t));
    }
    return dmx_buffer_write(t->buf, t->offset * 4, src, bytes);
}

dmx_status dmx_tensor_to_host(const dmx_tensor *t, void *dst, size_t bytes)
{
    if (!t)
        return dmx_fail(DMX_ERR_INVALID_ARG, "dmx_tensor_to_host: NULL tensor");
    if (bytes != dmx_tensor_bytes(t)) {
        char s[96];
        return dmx_fail(DMX_ERR_SHAPE, "dmx_tensor_to_host: %zu bytes for %s of shape %s (%zu bytes)",
                        bytes, t->name, dmx_shape_str(t, s, sizeof s), dmx_tensor_bytes(t));
    }
    return dmx_buffer_read(t->buf, t->offset * 4, dst, bytes);
}

/* Backward of a reshape: the view's gradient is the input's, reshaped. When the input has no
 * gradient yet, the view's gradient memory is adopted as-is (no copy). */
static dmx_status reshape_backward(dmx_ctx *ctx, const dmx_tape_entry *e)
{
    dmx_tensor *x = e->t[0], *y = e->t[1];
    if (!y->grad || !(x->flags & DMX_TENSOR_REQUIRES_GRAD))
        return DMX_OK;
    if (!x->grad && !(x->flags & DMX_TENSOR_PARAM)) {
        dmx_tensor *g = dmx_ctx_host_alloc(ctx, sizeof *g);
        if (!g)
            return dmx_fail(DMX_ERR_OUT_OF_MEMORY, "reshape backward: out of host memory");
        *g = *y->grad;
        g->ndim = x->ndim;
        memcpy(g->shape, x->shape, sizeof g->shape);
        x->grad = g;
        return DMX_OK;
    }
    dmx_p_axpy p = {.n = (int32_t)dmx_tensor_numel(x), .alpha = 1.0f};
    dmx_op_call call = {.op = DMX_OP_AXPY, .params = &p};
    call.args[0] = (dmx_arg){y->grad->buf, y->grad->offset, (size_t)p.n};
    call.args[1] = (dmx_arg){x->grad->buf, x->grad->offset, (size_t)p.n};
    return dmx_op_run(dmx_ctx_device(ctx), &call);
}

dmx_status dmx_reshape(dmx_ctx *ctx, dmx_tensor *x, int ndim, const int64_t *shape, dmx_tensor **out)
{
    if (!ctx || !x || !out)
        return dmx_fail(DMX_ERR_INVALID_ARG, "dmx_reshape: NULL argument");
    DMX_TRY(check_shape(x->name, ndim, shape));
    dmx_tensor *y = dmx_ctx_host_alloc(ctx, sizeof *y);
    if (!y)
        return dmx_fail(DMX_ERR_OUT_OF_MEMORY, "dmx_reshape: out of host memory");
    *y = *x;
    y->ndim = ndim;
    memset(y->shape, 0, sizeof y->shape);
    for (int i = 0; i < ndim; i++)
        y->shape[i] = shape[i];
    if (dmx_tensor_numel(y) != dmx_tensor_numel(x)) {
        char a[96], b[96];
        return dmx_fail(DMX_ERR_SHAPE, "reshape of %s: shape %s has %lld elements, %s has %lld",
                        x->name, dmx_shape_str(x, a, sizeof a), (long long)dmx_tensor_numel(x),
                        dmx_shape_str(y, b, sizeof b), (long long)dmx_tensor_numel(y));
    }
    y->grad = NULL;
    y->flags = x->flags & DMX_TENSOR_REQUIRES_GRAD;
    *out = y;
    if (!dmx_requires_grad(ctx, x)) {
        y->flags = 0;
        return DMX_OK;
    }
    dmx_tensor *saved[2] = {x, y};
    return dmx_tape_record(ctx, "reshape", reshape_backward, saved, 2, NULL, 0);
}
