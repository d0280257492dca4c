/* The ops over the last axis (layernorm, softmax, cross-entropy, forward and backward) on the
 * row shaders (shaders/rows.glsl): LANES invocations per row, picked from the row length;
 * rows run in pieces whose bindings fit maxStorageBufferRange. */
#include <string.h>

#include "core/error.h"
#include "vulkan/vk_ops.h"

/* On a device with the loop limiter a row walks cols / LANES columns per pass, three passes at
 * most: 2^21 columns stay under 25k trips. */
#define DMX_VK_MAX_ROW (1u << 21)

typedef enum row_arg {
    ROW_ELEMENTS, /* rows x cols, advances with the rows */
    ROW_SCALARS,  /* one per row (mean, rstd, labels, loss) */
    ROW_WHOLE,    /* the same for every row (gamma, beta, dloss) */
    ROW_MASK,     /* softmax's mask: row r uses row r / mask_group */
} row_arg;

static uint32_t lanes_for(uint64_t cols)
{
    return cols <= 64 ? 32 : cols <= 256 ? 64 : cols <= 1024 ? 128 : 256;
}

typedef struct row_op {
    const char *shader;
    int n_args;
    row_arg kind[DMX_VK_BINDINGS];
    int access[DMX_VK_BINDINGS];
    uint64_t rows, cols, mask_group;
    void *params;        /* begins with int32 rows */
    size_t params_bytes;
} row_op;

static dmx_status check_row_length(const dmx_vk_device *d, const char *op, uint64_t cols)
{
    if (d->loop_limit && cols > DMX_VK_MAX_ROW)
        return dmx_fail(DMX_ERR_UNSUPPORTED,
                        "%s rows of %llu columns exceed the %u this driver's loop limit "
                        "allows (lavapipe stops loops after ~65535 trips)", op,
                        (unsigned long long)cols, DMX_VK_MAX_ROW);
    return DMX_OK;
}

static dmx_status run_rows(dmx_vk_device *d, const dmx_op_call *call, const row_op *op)
{
    if (op->rows == 0)
        return DMX_OK;
    DMX_TRY(check_row_length(d, op->shader, op->cols));
    const uint32_t lanes = lanes_for(op->cols);
    const uint32_t spec[2] = {DMX_VK_WG, lanes};
    const uint64_t group = op->mask_group ? op->mask_group : 1;
    uint64_t piece = op->cols ? dmx_vk_max_elems(d) / op->cols : op->rows;
    piece = piece / group * group; /* a piece starts on a mask row */
    if (piece == 0)
        piece = group; /* the dispatch reports the binding that does not fit */
    for (uint64_t r0 = 0; r0 < op->rows; r0 += piece) {
        uint64_t n = op->rows - r0 < piece ? op->rows - r0 : piece;
        dmx_vk_binding b[DMX_VK_BINDINGS];
        for (int i = 0; i < op->n_args; i++) {
            b[i] = dmx_vk_arg(call, i, op->access[i]);
            if (op->kind[i] == ROW_ELEMENTS)
                b[i] = dmx_vk_part(b[i], r0 * op->cols, n * op->cols);
            else if (op->kind[i] == ROW_SCALARS)
                b[i] = dmx_vk_part(b[i], r0, n);
            else if (op->kind[i] == ROW_MASK && b[i].buf)
                b[i] = dmx_vk_part(b[i], r0 / group * op->cols,
                                   dmx_vk_ceil_div(n, group) * op->cols);
        }
        int32_t rows = (int32_t)n;
        memcpy(op->params, &rows, 4);
        DMX_TRY(dmx_vk_dispatch(d, op->shader, spec, 2, b, op->n_args, op->params,
                                op->params_bytes, dmx_vk_ceil_div(n, DMX_VK_WG / lanes)));
    }
    return DMX_OK;
}

#define R DMX_VK_READ
#define W DMX_VK_WRITE
#define RW DMX_VK_READ_WRITE
#define E ROW_ELEMENTS
#define S ROW_SCALARS

dmx_status dmx_vk_layernorm(dmx_vk_device *d, const dmx_op_call *call)
{
    dmx_p_layernorm p = *(const dmx_p_layernorm *)call->params;
    row_op op = {"layernorm", 6, {E, ROW_WHOLE, ROW_WHOLE, E, S, S}, {R, R, R, W, W, W},
                 (uint64_t)p.rows, (uint64_t)p.cols, 1, &p, sizeof p};
    return run_rows(d, call, &op);
}

dmx_status dmx_vk_layernorm_bwd(dmx_vk_device *d, const dmx_op_call *call)
{
    dmx_p_layernorm p = *(const dmx_p_layernorm *)call->params;
    row_op op = {"layernorm_bwd", 6, {E, E, ROW_WHOLE, S, S, E},
                 {R, R, R, R, R, p.accumulate ? RW : W},
                 (uint64_t)p.rows, (uint64_t)p.cols, 1, &p, sizeof p};
    DMX_TRY(run_rows(d, call, &op));
    return dmx_vk_layernorm_bwd_params(d, call);
}

dmx_status dmx_vk_softmax(dmx_vk_device *d, const dmx_op_call *call)
{
    dmx_p_softmax p = *(const dmx_p_softmax *)call->params;
    /* As on the CPU: a mask flag without a mask buffer means no mask. */
    p.has_mask = p.has_mask && call->args[1].buf;
    uint64_t group = p.mask_group > 0 ? (uint64_t)p.mask_group : 1;
    row_op op = {"softmax", 3, {E, ROW_MASK, E}, {R, R, W}, (uint64_t)p.rows, (uint64_t)p.cols,
                 p.has_mask ? group : 1, &p, sizeof p};
    return run_rows(d, call, &op);
}

dmx_status dmx_vk_softmax_bwd(dmx_vk_device *d, const dmx_op_call *call)
{
    dmx_p_softmax p = *(const dmx_p_softmax *)call->params;
    row_op op = {"softmax_bwd", 3, {E, E, E}, {R, R, p.accumulate ? RW : W}, (uint64_t)p.rows,
                 (uint64_t)p.cols, 1, &p, sizeof p};
    return run_rows(d, call, &op);
}

dmx_status dmx_vk_cross_entropy(dmx_vk_device *d, const dmx_op_call *call)
{
    dmx_p_cross_entropy p = *(const dmx_p_cross_entropy *)call->params;
    row_op op = {"cross_entropy", 3, {E, S, S}, {R, R, W}, (uint64_t)p.rows, (uint64_t)p.cols,
                 1, &p, sizeof p};
    return run_rows(d, call, &op);
}

dmx_status dmx_vk_cross_entropy_bwd(dmx_vk_device *d, const dmx_op_call *call)
{
    dmx_p_cross_entropy p = *(const dmx_p_cross_entropy *)call->params;
    row_op op = {"cross_entropy_bwd", 4, {E, S, ROW_WHOLE, E}, {R, R, R, p.accumulate ? RW : W},
                 (uint64_t)p.rows, (uint64_t)p.cols, 1, &p, sizeof p};
    return run_rows(d, call, &op);
}
