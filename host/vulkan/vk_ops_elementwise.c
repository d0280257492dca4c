/* Elementwise operators, activations, dropout, the optimizers and the embedding lookup: one
 * invocation per element, split into pieces when an argument spans more than the device's
 * maxStorageBufferRange (128 MiB on lavapipe). */
#include <stddef.h>
#include <string.h>

#include "core/error.h"
#include "vulkan/vk_ops.h"

#define R DMX_VK_READ
#define W DMX_VK_WRITE
#define RW DMX_VK_READ_WRITE
#define WORD_OF(type, field) ((int)(offsetof(type, field) / 4))

dmx_status dmx_vk_run_elements(dmx_vk_device *d, const char *shader, const dmx_vk_binding *b,
                               int n_bindings, const void *params, size_t params_bytes,
                               uint64_t n)
{
    const uint32_t spec[1] = {DMX_VK_WG};
    return dmx_vk_dispatch(d, shader, spec, 1, b, n_bindings, params, params_bytes,
                           dmx_vk_ceil_div(n, DMX_VK_WG));
}

dmx_status dmx_vk_run_flat(dmx_vk_device *d, const char *shader, const dmx_op_call *call,
                           const int *access, int n_args, void *params, size_t params_bytes,
                           int n_word, int base_word)
{
    int32_t n;
    uint32_t base = 0;
    memcpy(&n, (char *)params + 4 * n_word, 4);
    if (base_word >= 0)
        memcpy(&base, (char *)params + 4 * base_word, 4);
    /* Pieces are whole workgroups, so a piece boundary never splits one. */
    size_t piece = dmx_vk_max_elems(d) / DMX_VK_WG * DMX_VK_WG;
    for (size_t start = 0; start < (size_t)n; start += piece) {
        size_t len = (size_t)n - start < piece ? (size_t)n - start : piece;
        dmx_vk_binding b[DMX_VK_BINDINGS];
        for (int i = 0; i < n_args; i++)
            b[i] = dmx_vk_part(dmx_vk_arg(call, i, access[i]), start, len);
        int32_t len32 = (int32_t)len;
        uint32_t at = base + (uint32_t)start;
        memcpy((char *)params + 4 * n_word, &len32, 4);
        if (base_word >= 0)
            memcpy((char *)params + 4 * base_word, &at, 4);
        DMX_TRY(dmx_vk_run_elements(d, shader, b, n_args, params, params_bytes, len));
    }
    return DMX_OK;
}

#define FLAT(shader, type, n_args, ...)                                                     \
    do {                                                                                    \
        type p_ = *(const type *)call->params;                                              \
        const int access_[] = {__VA_ARGS__};                                                \
        return dmx_vk_run_flat(d, shader, call, access_, n_args, &p_, sizeof p_,            \
                               WORD_OF(type, n), -1);                                       \
    } while (0)

dmx_status dmx_vk_fill(dmx_vk_device *d, const dmx_op_call *call)
{
    FLAT("fill", dmx_p_fill, 1, W);
}

dmx_status dmx_vk_add(dmx_vk_device *d, const dmx_op_call *call)
{
    FLAT("add", dmx_p_add, 3, R, R, W);
}

dmx_status dmx_vk_mul(dmx_vk_device *d, const dmx_op_call *call)
{
    if (((const dmx_p_mul *)call->params)->accumulate)
        FLAT("mul", dmx_p_mul, 3, R, R, RW);
    FLAT("mul", dmx_p_mul, 3, R, R, W);
}

dmx_status dmx_vk_scale(dmx_vk_device *d, const dmx_op_call *call)
{
    FLAT("scale", dmx_p_scale, 2, R, W);
}

/* As FLAT, except that the norm (argument 0) is one element, bound whole for every piece. */
dmx_status dmx_vk_clip_scale(dmx_vk_device *d, const dmx_op_call *call)
{
    dmx_p_clip_scale p = *(const dmx_p_clip_scale *)call->params;
    const size_t n = (size_t)p.n;
    const size_t piece = dmx_vk_max_elems(d) / DMX_VK_WG * DMX_VK_WG;
    for (size_t start = 0; start < n; start += piece) {
        const size_t len = n - start < piece ? n - start : piece;
        dmx_vk_binding b[2] = {dmx_vk_part(dmx_vk_arg(call, 0, R), 0, 1),
                               dmx_vk_part(dmx_vk_arg(call, 1, RW), start, len)};
        p.n = (int32_t)len;
        DMX_TRY(dmx_vk_run_elements(d, "clip_scale", b, 2, &p, sizeof p, len));
    }
    return DMX_OK;
}

dmx_status dmx_vk_clip_scale_bwd(dmx_vk_device *d, const dmx_op_call *call)
{
    const dmx_p_clip_scale *p = call->params;
    const dmx_vk_binding b[3] = {dmx_vk_part(dmx_vk_arg(call, 0, R), 0, 1),
                                 dmx_vk_part(dmx_vk_arg(call, 1, R), 0, 1),
                                 dmx_vk_part(dmx_vk_arg(call, 2, p->accumulate ? RW : W), 0, 1)};
    return dmx_vk_run_elements(d, "clip_scale_bwd", b, 3, p, sizeof *p, 1);
}

dmx_status dmx_vk_axpy(dmx_vk_device *d, const dmx_op_call *call)
{
    FLAT("axpy", dmx_p_axpy, 2, R, RW);
}

#define UNARY(name)                                                                         \
    dmx_status dmx_vk_##name(dmx_vk_device *d, const dmx_op_call *call)                 \
    {                                                                                       \
        FLAT(#name, dmx_p_unary, 2, R, W);                                                  \
    }                                                                                       \
    dmx_status dmx_vk_##name##_bwd(dmx_vk_device *d, const dmx_op_call *call)           \
    {                                                                                       \
        if (((const dmx_p_unary *)call->params)->accumulate)                                \
            FLAT(#name "_bwd", dmx_p_unary, 3, R, R, RW);                                   \
        FLAT(#name "_bwd", dmx_p_unary, 3, R, R, W);                                        \
    }
UNARY(gelu)
UNARY(elu)
UNARY(relu)

dmx_status dmx_vk_adamw(dmx_vk_device *d, const dmx_op_call *call)
{
    FLAT("adamw", dmx_p_adamw, 4, R, RW, RW, RW);
}

dmx_status dmx_vk_sgd(dmx_vk_device *d, const dmx_op_call *call)
{
    FLAT("sgd", dmx_p_sgd, 3, R, RW, RW);
}

dmx_status dmx_vk_dropout(dmx_vk_device *d, const dmx_op_call *call)
{
    struct {
        dmx_p_dropout p;
        float keep_scale; /* 1 / (1 - p) rounded as the CPU reference rounds it */
    } push = {*(const dmx_p_dropout *)call->params, 0.0f};
    push.keep_scale = push.p.p < 1.0f ? 1.0f / (1.0f - push.p.p) : 0.0f;
    const int access[2] = {R, push.p.accumulate ? RW : W};
    return dmx_vk_run_flat(d, "dropout", call, access, 2, &push, sizeof push,
                           WORD_OF(dmx_p_dropout, n), WORD_OF(dmx_p_dropout, offset));
}

/* Row-shaped ops split by whole rows: x and y advance, b (one row) stays. */
dmx_status dmx_vk_add_row(dmx_vk_device *d, const dmx_op_call *call)
{
    dmx_p_add_row p = *(const dmx_p_add_row *)call->params;
    const size_t rows = (size_t)p.rows, cols = (size_t)p.cols;
    if (rows == 0 || cols == 0)
        return DMX_OK;
    size_t piece = dmx_vk_max_elems(d) / cols;
    if (piece == 0)
        piece = 1; /* the dispatch reports the row that does not fit */
    for (size_t r = 0; r < rows; r += piece) {
        size_t n = rows - r < piece ? rows - r : piece;
        dmx_vk_binding b[3] = {dmx_vk_part(dmx_vk_arg(call, 0, R), r * cols, n * cols),
                               dmx_vk_part(dmx_vk_arg(call, 1, R), 0, cols),
                               dmx_vk_part(dmx_vk_arg(call, 2, W), r * cols, n * cols)};
        p.rows = (int32_t)n;
        DMX_TRY(dmx_vk_run_elements(d, "add_row", b, 3, &p, sizeof p, (uint64_t)n * cols));
    }
    return DMX_OK;
}

dmx_status dmx_vk_embedding(dmx_vk_device *d, const dmx_op_call *call)
{
    dmx_p_embedding p = *(const dmx_p_embedding *)call->params;
    const size_t n = (size_t)p.n, dim = (size_t)p.dim;
    if (n == 0 || dim == 0)
        return DMX_OK;
    size_t piece = dmx_vk_max_elems(d) / dim;
    if (piece == 0)
        piece = 1;
    for (size_t i = 0; i < n; i += piece) {
        size_t len = n - i < piece ? n - i : piece;
        dmx_vk_binding b[3] = {dmx_vk_part(dmx_vk_arg(call, 0, R), i, len),
                               dmx_vk_arg(call, 1, R),
                               dmx_vk_part(dmx_vk_arg(call, 2, W), i * dim, len * dim)};
        b[1].count = (size_t)p.vocab * dim;
        p.n = (int32_t)len;
        DMX_TRY(dmx_vk_run_elements(d, "embedding", b, 3, &p, sizeof p, (uint64_t)len * dim));
    }
    return DMX_OK;
}
