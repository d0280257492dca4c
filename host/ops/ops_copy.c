/* Data movement: strided gathers and permutations, all through copy_strided. Backward
 * scatters the gradient through the same view. */
#include <string.h>

#include "ops/front.h"

typedef struct gather_params {
    int32_t ndim;
    int32_t shape[DMX_MAX_DIMS];
    int32_t stride[DMX_MAX_DIMS];
    int32_t offset;
    int32_t covers_all; /* the view reaches every element of x exactly once */
} gather_params;

/* Sorting dimensions by stride, each stride must step over everything inside the previous
 * dimensions: then no two indices reach the same element. */
static bool view_is_injective(const gather_params *g)
{
    int order[DMX_MAX_DIMS], n = 0;
    for (int k = 0; k < g->ndim; k++)
        if (g->shape[k] > 1)
            order[n++] = k;
    for (int a = 1; a < n; a++)
        for (int b = a; b > 0 && g->stride[order[b]] < g->stride[order[b - 1]]; b--) {
            int t = order[b];
            order[b] = order[b - 1];
            order[b - 1] = t;
        }
    int64_t reach = 1; /* elements spanned by the dimensions so far */
    for (int a = 0; a < n; a++) {
        int k = order[a];
        if (g->stride[k] < reach)
            return false;
        reach = (int64_t)g->stride[k] * g->shape[k];
    }
    return true;
}

static void contiguous_strides(int ndim, const int32_t *shape, int32_t *stride)
{
    int32_t s = 1;
    for (int k = ndim - 1; k >= 0; k--) {
        stride[k] = s;
        s *= shape[k];
    }
}

static dmx_p_copy_strided copy_params(const gather_params *g, bool to_view, int accumulate)
{
    dmx_p_copy_strided p = {.ndim = g->ndim, .accumulate = accumulate};
    int32_t dense[DMX_MAX_DIMS];
    contiguous_strides(g->ndim, g->shape, dense);
    for (int k = 0; k < g->ndim; k++) {
        p.shape[k] = g->shape[k];
        p.src_stride[k] = to_view ? dense[k] : g->stride[k];
        p.dst_stride[k] = to_view ? g->stride[k] : dense[k];
    }
    return p;
}

static size_t view_span(const gather_params *g)
{
    int64_t last = 0;
    for (int k = 0; k < g->ndim; k++)
        last += (int64_t)(g->shape[k] - 1) * g->stride[k];
    return (size_t)last + 1;
}

static dmx_status gather_backward(dmx_ctx *ctx, const dmx_tape_entry *e)
{
    dmx_tensor *x = e->t[0], *y = e->t[1];
    const gather_params *g = (const gather_params *)e->params.bytes;
    if (!y->grad)
        return DMX_OK;
    dmx_tensor *dx = NULL;
    int acc = 1;
    if (g->covers_all)
        DMX_TRY(dmx_grad_of(ctx, x, &dx, &acc));
    else
        DMX_TRY(dmx_grad_of_zeroed(ctx, x, &dx));
    if (!dx)
        return DMX_OK;
    dmx_p_copy_strided p = copy_params(g, true, acc);
    dmx_arg dst = {dx->buf, dx->offset + (size_t)g->offset, view_span(g)};
    return DMX_RUN(ctx, DMX_OP_COPY_STRIDED, &p, dmx_arg_of(y->grad), dst);
}

dmx_status dmx_gather_view(dmx_ctx *ctx, dmx_tensor *x, int ndim, const int64_t *shape,
                           const int64_t *stride, int64_t offset, dmx_tensor **y)
{
    const char *op = "gather_view";
    DMX_TRY(dmx_check_tensor(ctx, x, x ? x->dtype : DMX_F32, op, "x"));
    if (ndim < 1 || ndim > DMX_MAX_DIMS || !shape || !stride || !y)
        return dmx_fail(DMX_ERR_INVALID_ARG, "%s of %s: rank %d outside [1, %d] or NULL argument",
                        op, x->name, ndim, DMX_MAX_DIMS);
    gather_params g = {.ndim = ndim, .offset = (int32_t)offset};
    int64_t numel = 1, last = offset;
    for (int k = 0; k < ndim; k++) {
        if (shape[k] < 0 || stride[k] < 0 || stride[k] > INT32_MAX || shape[k] > INT32_MAX)
            return dmx_fail(DMX_ERR_SHAPE, "%s of %s: dimension %d has size %lld, stride %lld", op,
                            x->name, k, (long long)shape[k], (long long)stride[k]);
        g.shape[k] = (int32_t)shape[k];
        g.stride[k] = (int32_t)stride[k];
        numel *= shape[k];
        last += (shape[k] - 1) * stride[k];
    }
    if (numel == 0) /* an empty view reaches nothing */
        return dmx_new_output(ctx, ndim, shape, op, false, y);
    if (offset < 0)
        return dmx_fail(DMX_ERR_SHAPE, "%s of %s: offset %lld is negative", op, x->name,
                        (long long)offset);
    if (last >= dmx_tensor_numel(x))
        return dmx_fail(DMX_ERR_SHAPE,
                        "%s of %s: the view reaches element %lld of a tensor with %lld", op,
                        x->name, (long long)last, (long long)dmx_tensor_numel(x));
    if (!view_is_injective(&g))
        return dmx_fail(DMX_ERR_SHAPE, "%s of %s: the view reaches some elements twice", op,
                        x->name);
    g.covers_all = numel == dmx_tensor_numel(x);
    bool track = dmx_requires_grad(ctx, x);
    DMX_TRY(dmx_tensor_new(ctx, x->dtype, ndim, shape, op, y));
    if (track)
        (*y)->flags |= DMX_TENSOR_REQUIRES_GRAD;
    dmx_p_copy_strided p = copy_params(&g, false, 0);
    dmx_arg src = {x->buf, x->offset + (size_t)offset, view_span(&g)};
    DMX_TRY(DMX_RUN(ctx, DMX_OP_COPY_STRIDED, &p, src, dmx_arg_of(*y)));
    if (!track)
        return DMX_OK;
    dmx_tensor *saved[2] = {x, *y};
    return dmx_tape_record(ctx, op, gather_backward, saved, 2, &g, sizeof g);
}

dmx_status dmx_permute(dmx_ctx *ctx, dmx_tensor *x, const int *perm, dmx_tensor **y)
{
    DMX_TRY(dmx_check_tensor(ctx, x, x ? x->dtype : DMX_F32, "permute", "x"));
    if (!perm || !y)
        return dmx_fail(DMX_ERR_INVALID_ARG, "permute of %s: NULL perm or output", x->name);
    int64_t xstride[DMX_MAX_DIMS], shape[DMX_MAX_DIMS], stride[DMX_MAX_DIMS];
    int seen[DMX_MAX_DIMS] = {0};
    int64_t s = 1;
    for (int k = x->ndim - 1; k >= 0; k--) {
        xstride[k] = s;
        s *= x->shape[k];
    }
    for (int k = 0; k < x->ndim; k++) {
        if (perm[k] < 0 || perm[k] >= x->ndim || seen[perm[k]]++)
            return dmx_fail(DMX_ERR_INVALID_ARG, "permute of %s: perm is not a permutation of "
                                                 "0..%d", x->name, x->ndim - 1);
        shape[k] = x->shape[perm[k]];
        stride[k] = xstride[perm[k]];
    }
    return dmx_gather_view(ctx, x, x->ndim, shape, stride, 0, y);
}
