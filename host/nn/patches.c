/* Non-overlapping patches (stride = kernel): unfold [B, C, H, W] -> [B, L, C k k] and its
 * inverse fold. Each is one strided gather; backward scatters through the same view. */
#include "core/error.h"
#include "nn/nn_internal.h"

static dmx_status check_grid(const char *op, const dmx_tensor *t, int64_t H, int64_t W,
                             int64_t k)
{
    if (k < 1 || H < 1 || W < 1 || H % k != 0 || W % k != 0)
        return dmx_fail(DMX_ERR_SHAPE, "%s of %s: a %lld x %lld image does not split into "
                        "%lld x %lld patches", op, t->name, (long long)H, (long long)W,
                        (long long)k, (long long)k);
    return DMX_OK;
}

dmx_status dmx_unfold(dmx_ctx *ctx, dmx_tensor *x, int64_t k, dmx_tensor **y)
{
    if (!x)
        return dmx_fail(DMX_ERR_INVALID_ARG, "unfold: x is NULL");
    char s[96];
    if (x->ndim != 4)
        return dmx_fail(DMX_ERR_SHAPE, "unfold: x (%s) of shape %s must be [B, C, H, W]",
                        x->name, dmx_shape_str(x, s, sizeof s));
    const int64_t B = x->shape[0], C = x->shape[1], H = x->shape[2], W = x->shape[3];
    DMX_TRY(check_grid("unfold", x, H, W, k));
    /* [B, H/k, W/k, C, k, k] read from x[b, c, py k + ky, px k + kx] */
    const int64_t shape[6] = {B, H / k, W / k, C, k, k};
    const int64_t stride[6] = {C * H * W, k * W, k, H * W, W, 1};
    const int64_t patches[3] = {B, (H / k) * (W / k), C * k * k};
    dmx_tensor *g = NULL;
    DMX_TRY(dmx_gather_view(ctx, x, 6, shape, stride, 0, &g));
    return dmx_reshape(ctx, g, 3, patches, y);
}

dmx_status dmx_fold(dmx_ctx *ctx, dmx_tensor *y, int64_t channels, int64_t height, int64_t width,
                    int64_t k, dmx_tensor **x)
{
    if (!y)
        return dmx_fail(DMX_ERR_INVALID_ARG, "fold: y is NULL");
    DMX_TRY(check_grid("fold", y, height, width, k));
    const int64_t C = channels, H = height, W = width, L = (H / k) * (W / k), P = C * k * k;
    char s[96];
    if (C < 1 || y->ndim != 3 || y->shape[1] != L || y->shape[2] != P)
        return dmx_fail(DMX_ERR_SHAPE, "fold: y (%s) of shape %s must be [B, %lld, %lld] for "
                        "%lld channels of %lld x %lld in %lld x %lld patches", y->name,
                        dmx_shape_str(y, s, sizeof s), (long long)L, (long long)P, (long long)C,
                        (long long)H, (long long)W, (long long)k, (long long)k);
    const int64_t B = y->shape[0];
    /* [B, C, H/k, k, W/k, k] read from y[b, py (W/k) + px, c k k + ky k + kx] */
    const int64_t shape[6] = {B, C, H / k, k, W / k, k};
    const int64_t stride[6] = {L * P, k * k, (W / k) * P, k, P, 1};
    const int64_t image[4] = {B, C, H, W};
    dmx_tensor *g = NULL;
    DMX_TRY(dmx_gather_view(ctx, y, 6, shape, stride, 0, &g));
    return dmx_reshape(ctx, g, 4, image, x);
}
