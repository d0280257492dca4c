/* Reductions: column sums (sum_rows, layernorm's dgamma and dbeta), dot, norm2, and the
 * embedding's scatter-add. Long reductions are cut into slices, each summed by one workgroup
 * into a partial (loop trips stay bounded, and short outputs still fill the device), then
 * reduce_slices adds the partials in slice order: deterministic, no float atomics. */
#include <string.h>

#include "core/error.h"
#include "vulkan/vk_ops.h"

#define DMX_VK_SLICE_ROWS_MAX 8192u   /* 2048 trips of the 4 row lanes */
#define DMX_VK_SLICE_ROWS_MIN 256u
#define DMX_VK_TARGET_GROUPS 256u
#define DMX_VK_CHUNK_MIN 4096u          /* dot / norm2: elements per workgroup */
#define DMX_VK_CHUNK_MAX (256u * 4096u)
#define DMX_VK_EMBED_PIECE 8192u        /* ids per embedding_bwd dispatch (loop limit) */

typedef struct reduce_push {
    int32_t n, slices, stride;
    float scale;
    int32_t accumulate, finish;
} reduce_push;

/* out[i] (+)= scale * sum_s part[s * stride + i] for i < n; finish = 1 takes the root. */
static dmx_status reduce_slices(dmx_vk_device *d, dmx_vk_binding part, dmx_vk_binding out,
                                size_t n, uint32_t slices, size_t stride, float scale,
                                int accumulate, int finish)
{
    reduce_push push = {(int32_t)n, (int32_t)slices, (int32_t)stride, scale, accumulate, finish};
    part.count = (slices - 1) * stride + n;
    part.access = DMX_VK_READ;
    out.count = n;
    out.access = accumulate ? DMX_VK_READ_WRITE : DMX_VK_WRITE;
    dmx_vk_binding b[2] = {part, out};
    return dmx_vk_run_elements(d, "reduce_slices", b, 2, &push, sizeof push, n);
}

/* Slices for a column reduction over `rows`: within the trip bound, and enough for about
 * DMX_VK_TARGET_GROUPS workgroups while each keeps DMX_VK_SLICE_ROWS_MIN rows. */
static uint32_t column_slices(uint64_t rows, uint64_t cols, uint64_t *slice_rows)
{
    uint64_t tiles = dmx_vk_ceil_div(cols, 64);
    uint64_t slices = dmx_vk_ceil_div(rows, DMX_VK_SLICE_ROWS_MAX);
    uint64_t wanted = dmx_vk_ceil_div(DMX_VK_TARGET_GROUPS, tiles ? tiles : 1);
    uint64_t most = dmx_vk_ceil_div(rows, DMX_VK_SLICE_ROWS_MIN);
    if ((wanted < most ? wanted : most) > slices)
        slices = wanted < most ? wanted : most;
    if (slices == 0)
        slices = 1;
    *slice_rows = dmx_vk_ceil_div(rows, slices);
    return (uint32_t)dmx_vk_ceil_div(rows, *slice_rows);
}

/* Rows per dispatch so that a [rows, cols] binding fits, and (loop limit) so that there are at
 * most 8192 slices for reduce_slices to walk. */
static uint64_t rows_per_piece(const dmx_vk_device *d, uint64_t rows, uint64_t cols)
{
    uint64_t piece = cols ? dmx_vk_max_elems(d) / cols : rows;
    uint64_t bound = (uint64_t)DMX_VK_SLICE_ROWS_MAX * 8192u;
    if (d->loop_limit && piece > bound)
        piece = bound;
    return piece ? piece : 1;
}

typedef struct column_push {
    int32_t rows, cols;
    float scale_or_eps;
    int32_t accumulate;
    uint32_t slice_rows, slices;
} column_push;

dmx_status dmx_vk_sum_rows(dmx_vk_device *d, const dmx_op_call *call)
{
    const dmx_p_sum_rows *p = call->params;
    const uint64_t rows = (uint64_t)p->rows, cols = (uint64_t)p->cols;
    const uint32_t spec[1] = {DMX_VK_WG};
    if (cols == 0)
        return DMX_OK;
    dmx_vk_binding y = dmx_vk_part(dmx_vk_arg(call, 1, DMX_VK_READ_WRITE), 0, cols);
    if (rows == 0) { /* the sum of nothing: y = 0 (or unchanged) */
        if (p->accumulate)
            return DMX_OK;
        dmx_p_fill zero = {.n = (int32_t)cols, .bits = 0};
        y.access = DMX_VK_WRITE;
        return dmx_vk_run_elements(d, "fill", &y, 1, &zero, sizeof zero, cols);
    }
    uint64_t piece = rows_per_piece(d, rows, cols);
    for (uint64_t r0 = 0; r0 < rows; r0 += piece) {
        uint64_t n = rows - r0 < piece ? rows - r0 : piece;
        int accumulate = r0 == 0 ? p->accumulate : 1;
        uint64_t slice_rows;
        uint32_t slices = column_slices(n, cols, &slice_rows);
        column_push push = {(int32_t)n, (int32_t)cols, p->scale, accumulate,
                            (uint32_t)slice_rows, slices};
        dmx_vk_buffer *scratch = NULL;
        if (slices > 1)
            DMX_TRY(dmx_vk_scratch(d, (size_t)(slices * cols) * 4, &scratch));
        dmx_vk_binding b[3] = {
            dmx_vk_part(dmx_vk_arg(call, 0, DMX_VK_READ), r0 * cols, n * cols),
            y,
            {scratch, 0, scratch ? (size_t)(slices * cols) : 0, DMX_VK_WRITE},
        };
        b[1].access = slices == 1 ? (accumulate ? DMX_VK_READ_WRITE : DMX_VK_WRITE) : 0;
        DMX_TRY(dmx_vk_dispatch(d, "sum_rows", spec, 1, b, 3, &push, sizeof push,
                                slices * dmx_vk_ceil_div(cols, 64)));
        if (slices > 1)
            DMX_TRY(reduce_slices(d, b[2], y, cols, slices, cols, p->scale, accumulate, 0));
    }
    return DMX_OK;
}

/* LAYERNORM_BWD's dgamma and dbeta (always +=): column sums of dy xhat and dy. */
dmx_status dmx_vk_layernorm_bwd_params(dmx_vk_device *d, const dmx_op_call *call)
{
    const dmx_p_layernorm *p = call->params;
    const uint64_t rows = (uint64_t)p->rows, cols = (uint64_t)p->cols;
    const uint32_t spec[1] = {DMX_VK_WG};
    if (rows == 0 || cols == 0)
        return DMX_OK;
    dmx_vk_binding dgamma = dmx_vk_part(dmx_vk_arg(call, 6, DMX_VK_READ_WRITE), 0, cols);
    dmx_vk_binding dbeta = dmx_vk_part(dmx_vk_arg(call, 7, DMX_VK_READ_WRITE), 0, cols);
    uint64_t piece = rows_per_piece(d, rows, cols);
    for (uint64_t r0 = 0; r0 < rows; r0 += piece) {
        uint64_t n = rows - r0 < piece ? rows - r0 : piece;
        uint64_t slice_rows;
        uint32_t slices = column_slices(n, cols, &slice_rows);
        column_push push = {(int32_t)n, (int32_t)cols, p->eps, 1, (uint32_t)slice_rows, slices};
        dmx_vk_buffer *scratch = NULL;
        if (slices > 1)
            DMX_TRY(dmx_vk_scratch(d, (size_t)(slices * 2 * cols) * 4, &scratch));
        dmx_vk_binding b[7] = {
            dmx_vk_part(dmx_vk_arg(call, 0, DMX_VK_READ), r0 * cols, n * cols),
            dmx_vk_part(dmx_vk_arg(call, 1, DMX_VK_READ), r0 * cols, n * cols),
            dmx_vk_part(dmx_vk_arg(call, 3, DMX_VK_READ), r0, n),
            dmx_vk_part(dmx_vk_arg(call, 4, DMX_VK_READ), r0, n),
            dgamma,
            dbeta,
            {scratch, 0, scratch ? (size_t)(slices * 2 * cols) : 0, DMX_VK_WRITE},
        };
        if (slices > 1)
            b[4].access = b[5].access = 0;
        DMX_TRY(dmx_vk_dispatch(d, "layernorm_bwd_params", spec, 1, b, 7, &push, sizeof push,
                                slices * dmx_vk_ceil_div(cols, 64)));
        if (slices == 1)
            continue;
        DMX_TRY(reduce_slices(d, b[6], dgamma, cols, slices, 2 * cols, 1.0f, 1, 0));
        DMX_TRY(reduce_slices(d, dmx_vk_part(b[6], cols, 0), dbeta, cols, slices, 2 * cols,
                              1.0f, 1, 0));
    }
    return DMX_OK;
}

/* dot (y != NULL) or the sum of squares, then the final sum (and root, for norm2). */
static dmx_status sum_products(dmx_vk_device *d, const dmx_op_call *call, bool dot)
{
    const uint64_t n = (uint64_t)((const dmx_p_reduce *)call->params)->n;
    const int out_arg = dot ? 2 : 1;
    const uint32_t spec[1] = {DMX_VK_WG};
    dmx_vk_binding out = dmx_vk_part(dmx_vk_arg(call, out_arg, DMX_VK_WRITE), 0, 1);
    if (n == 0) {
        dmx_p_fill zero = {.n = 1, .bits = 0};
        return dmx_vk_run_elements(d, "fill", &out, 1, &zero, sizeof zero, 1);
    }
    uint64_t chunk = dmx_vk_ceil_div(n, DMX_VK_TARGET_GROUPS);
    chunk = chunk < DMX_VK_CHUNK_MIN ? DMX_VK_CHUNK_MIN
          : chunk > DMX_VK_CHUNK_MAX ? DMX_VK_CHUNK_MAX : chunk;
    const uint64_t groups = dmx_vk_ceil_div(n, chunk);
    dmx_vk_buffer *scratch = NULL;
    DMX_TRY(dmx_vk_scratch(d, (size_t)groups * 4, &scratch));
    /* Pieces of whole chunks that fit one binding; each writes its own partials. */
    uint64_t piece = dmx_vk_max_elems(d) / chunk * chunk;
    if (piece == 0)
        piece = chunk;
    for (uint64_t e0 = 0; e0 < n; e0 += piece) {
        uint64_t len = n - e0 < piece ? n - e0 : piece;
        struct {
            int32_t n;
            uint32_t chunk;
        } push = {(int32_t)len, (uint32_t)chunk};
        dmx_vk_binding part = {scratch, e0 / chunk, dmx_vk_ceil_div(len, chunk), DMX_VK_WRITE};
        dmx_vk_binding b[3] = {dmx_vk_part(dmx_vk_arg(call, 0, DMX_VK_READ), e0, len),
                               dmx_vk_part(dmx_vk_arg(call, 1, DMX_VK_READ), e0, len), part};
        if (!dot)
            b[1] = part;
        DMX_TRY(dmx_vk_dispatch(d, dot ? "dot" : "norm2", spec, 1, b, dot ? 3 : 2, &push,
                                sizeof push, dmx_vk_ceil_div(len, chunk)));
    }
    dmx_vk_binding parts = {scratch, 0, (size_t)groups, DMX_VK_READ};
    return reduce_slices(d, parts, out, 1, (uint32_t)groups, 1, 1.0f, 0, dot ? 0 : 1);
}

dmx_status dmx_vk_dot(dmx_vk_device *d, const dmx_op_call *call)
{
    return sum_products(d, call, true);
}

dmx_status dmx_vk_norm2(dmx_vk_device *d, const dmx_op_call *call)
{
    return sum_products(d, call, false);
}

/* dE[ids[i]] += dy[i] in index order: consecutive pieces of ids, one dispatch each (the
 * barriers between them keep the order), one invocation per column. */
dmx_status dmx_vk_embedding_bwd(dmx_vk_device *d, const dmx_op_call *call)
{
    const dmx_p_embedding *p = call->params;
    const uint64_t n = (uint64_t)p->n, dim = (uint64_t)p->dim;
    if (n == 0 || dim == 0)
        return DMX_OK;
    uint64_t piece = d->loop_limit ? DMX_VK_EMBED_PIECE : n;
    uint64_t fit = dmx_vk_max_elems(d) / dim;
    if (fit && fit < piece)
        piece = fit;
    for (uint64_t i0 = 0; i0 < n; i0 += piece) {
        uint64_t len = n - i0 < piece ? n - i0 : piece;
        struct {
            dmx_p_embedding p;
            uint32_t first, count;
        } push = {*p, 0, (uint32_t)len};
        push.p.n = (int32_t)len;
        dmx_vk_binding b[3] = {
            dmx_vk_part(dmx_vk_arg(call, 0, DMX_VK_READ), i0, len),
            dmx_vk_part(dmx_vk_arg(call, 1, DMX_VK_READ), i0 * dim, len * dim),
            dmx_vk_part(dmx_vk_arg(call, 2, DMX_VK_READ_WRITE), 0, (uint64_t)p->vocab * dim),
        };
        DMX_TRY(dmx_vk_run_elements(d, "embedding_bwd", b, 3, &push, sizeof push, dim));
    }
    return DMX_OK;
}
