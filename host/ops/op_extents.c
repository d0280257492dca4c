/* How many elements each argument of an op call must hold, from the op's parameters
 * (op_params.h), so that dmx_op_run can refuse a call whose parameters reach past an argument
 * before any backend reads or writes out of bounds. Sizes are non-negative 64-bit values whose
 * products and sums saturate: a saturated size exceeds every argument and is refused. */
#include <stdbool.h>
#include <stdint.h>

#include "core/error.h"
#include "ops/op_table.h"

#define NOT_CHECKED (-1)

static int64_t sat_mul(int64_t a, int64_t b)
{
    return a != 0 && b > INT64_MAX / a ? INT64_MAX : a * b;
}

static int64_t sat_add(int64_t a, int64_t b)
{
    return a > INT64_MAX - b ? INT64_MAX : a + b;
}

/* Elements spanned by a strided view: 1 + sum (shape_k - 1) stride_k, 0 for an empty view. */
static int64_t view_span(int ndim, const int32_t *shape, const int32_t *stride)
{
    int64_t last = 0;
    for (int k = 0; k < ndim; k++) {
        if (shape[k] == 0)
            return 0;
        last = sat_add(last, sat_mul(shape[k] - 1, stride[k]));
    }
    return sat_add(last, 1);
}

static dmx_status extents_copy(const dmx_p_copy_strided *p, int64_t *need)
{
    if (p->ndim < 0 || p->ndim > DMX_MAX_DIMS_STRIDED)
        return dmx_fail(DMX_ERR_INVALID_ARG, "ndim %d outside [0, %d]", p->ndim,
                        DMX_MAX_DIMS_STRIDED);
    for (int k = 0; k < p->ndim; k++)
        if (p->shape[k] < 0 || (p->shape[k] > 1 && (p->src_stride[k] < 0 || p->dst_stride[k] < 0)))
            return dmx_fail(DMX_ERR_INVALID_ARG,
                            "dimension %d has size %d, source stride %d, destination stride %d", k,
                            p->shape[k], p->src_stride[k], p->dst_stride[k]);
    need[0] = view_span(p->ndim, p->shape, p->src_stride);
    need[1] = view_span(p->ndim, p->shape, p->dst_stride);
    return DMX_OK;
}

/* One strided-batched operand stored [rows, cols] with leading dimension ld. */
static dmx_status gemm_operand(const char *name, int32_t batch, int32_t stride, int32_t rows,
                               int32_t cols, int32_t ld, int64_t *need)
{
    if (ld < cols || stride < 0)
        return dmx_fail(DMX_ERR_INVALID_ARG, "%s: leading dimension %d below its %d columns, or "
                        "batch stride %d negative", name, ld, cols, stride);
    *need = batch && rows && cols ? (int64_t)(batch - 1) * stride + (int64_t)(rows - 1) * ld + cols
                                  : 0;
    return DMX_OK;
}

static dmx_status extents_gemm(const dmx_p_gemm *p, int64_t *need)
{
    if (p->M < 0 || p->N < 0 || p->K < 0 || p->batch < 0)
        return dmx_fail(DMX_ERR_INVALID_ARG, "M %d, N %d, K %d, batch %d: a negative size", p->M,
                        p->N, p->K, p->batch);
    DMX_TRY(gemm_operand("A", p->batch, p->stride_a, p->trans_a ? p->K : p->M,
                         p->trans_a ? p->M : p->K, p->lda, &need[0]));
    DMX_TRY(gemm_operand("B", p->batch, p->stride_b, p->trans_b ? p->N : p->K,
                         p->trans_b ? p->K : p->N, p->ldb, &need[1]));
    DMX_TRY(gemm_operand("C", p->batch, p->stride_c, p->M, p->N, p->ldc, &need[2]));
    if (p->M == 0 || p->N == 0) /* no output: the inputs are not read */
        need[0] = need[1] = 0;
    return DMX_OK;
}

static dmx_status extents_mix(dmx_op op, const dmx_p_mix_linear *p, int64_t *need)
{
    if (p->M < 0 || p->J < 0 || p->Din < 0 || p->Dout < 0 || p->R1 < 0 || p->R2 < 0)
        return dmx_fail(DMX_ERR_INVALID_ARG, "view [M %d, J %d, Din %d, Dout %d, R1 %d, R2 %d] "
                        "has a negative size", p->M, p->J, p->Din, p->Dout, p->R1, p->R2);
    const int64_t groups = sat_mul(p->J, p->R1), rest = sat_mul(sat_mul(p->M, groups), p->R2);
    const int64_t nx = sat_mul(rest, p->Din), ny = sat_mul(rest, p->Dout);
    const int64_t nw = sat_mul(sat_mul(groups, p->Dout), p->Din);
    const int64_t nc = p->has_bias ? sat_mul(groups, p->Dout) : NOT_CHECKED;
    if (op == DMX_OP_MIX_LINEAR) {
        need[0] = nx, need[1] = nw, need[2] = nc, need[3] = ny;
    } else if (op == DMX_OP_MIX_LINEAR_BWD_X) {
        need[0] = ny, need[1] = nw, need[2] = nx;
    } else {
        need[0] = ny, need[1] = nx, need[2] = nw, need[3] = nc;
    }
    return DMX_OK;
}

static dmx_status extents_mix_mlp(dmx_op op, const dmx_p_mix_mlp *p, int64_t *need)
{
    if (p->M < 0 || p->J < 0 || p->Din < 0 || p->Dh < 0 || p->Dout < 0 || p->R1 < 0 || p->R2 < 0)
        return dmx_fail(DMX_ERR_INVALID_ARG, "view [M %d, J %d, Din %d, Dh %d, Dout %d, R1 %d, "
                        "R2 %d] has a negative size", p->M, p->J, p->Din, p->Dh, p->Dout, p->R1,
                        p->R2);
    const int64_t groups = sat_mul(p->J, p->R1), rest = sat_mul(sat_mul(p->M, groups), p->R2);
    const int64_t nx = sat_mul(rest, p->Din), ny = sat_mul(rest, p->Dout);
    const int64_t nw1 = sat_mul(sat_mul(groups, p->Dh), p->Din), nc1 = sat_mul(groups, p->Dh);
    const int64_t nw2 = sat_mul(sat_mul(groups, p->Dout), p->Dh), nc2 = sat_mul(groups, p->Dout);
    if (op == DMX_OP_MIX_MLP) {
        need[0] = nx, need[1] = nw1, need[2] = nc1, need[3] = nw2, need[4] = nc2, need[5] = ny;
    } else {
        need[0] = ny, need[1] = nx, need[2] = nw1, need[3] = nc1, need[4] = nw2;
        need[5] = nx, need[6] = nw1, need[7] = nc1, need[8] = nw2, need[9] = nc2;
    }
    return DMX_OK;
}

static dmx_status extents_attention(dmx_op op, const dmx_p_attention *p, int64_t *need)
{
    if (p->batch < 0 || p->seq < 0 || p->heads < 0)
        return dmx_fail(DMX_ERR_INVALID_ARG, "attention batch %d, seq %d, heads %d: a negative "
                        "size", p->batch, p->seq, p->heads);
    if (p->head_dim < 1 || p->head_dim > DMX_ATTENTION_MAX_HEAD_DIM)
        return dmx_fail(DMX_ERR_INVALID_ARG, "attention head_dim %d outside [1, %d]",
                        p->head_dim, DMX_ATTENTION_MAX_HEAD_DIM);
    const int64_t rows = sat_mul(p->batch, p->seq);
    const int64_t x = sat_mul(rows, sat_mul(p->heads, p->head_dim));
    const int64_t stats = sat_mul(sat_mul(rows, p->heads), 2);
    const int64_t mask = p->has_mask ? rows : NOT_CHECKED;
    need[0] = need[1] = need[2] = x, need[3] = mask;
    if (op == DMX_OP_ATTENTION) {
        need[4] = x, need[5] = stats;
    } else {
        need[4] = need[5] = x, need[6] = stats;
        need[7] = need[8] = need[9] = x;
    }
    return DMX_OK;
}

/* Rows and columns of a row-wise op, checked non-negative. */
static dmx_status rows_cols(int32_t rows, int32_t cols, int64_t *R, int64_t *C, int64_t *RC)
{
    if (rows < 0 || cols < 0)
        return dmx_fail(DMX_ERR_INVALID_ARG, "%d rows, %d columns", rows, cols);
    *R = rows, *C = cols, *RC = (int64_t)rows * cols;
    return DMX_OK;
}

static dmx_status extents_softmax(dmx_op op, const dmx_p_softmax *p, int64_t *need)
{
    int64_t R = 0, C = 0, RC = 0;
    DMX_TRY(rows_cols(p->rows, p->cols, &R, &C, &RC));
    need[0] = need[1] = need[2] = RC;
    if (op == DMX_OP_SOFTMAX_BWD)
        return DMX_OK;
    need[1] = NOT_CHECKED; /* the optional mask */
    if (p->has_mask) {
        if (p->mask_group < 1)
            return dmx_fail(DMX_ERR_INVALID_ARG, "mask_group %d must be at least 1", p->mask_group);
        /* Row r reads mask row r / mask_group. */
        need[1] = R ? ((R - 1) / p->mask_group + 1) * C : 0;
    }
    return DMX_OK;
}

static dmx_status extents_embedding(dmx_op op, const dmx_p_embedding *p, int64_t *need)
{
    if (p->n < 0 || p->dim < 0 || p->vocab < 0)
        return dmx_fail(DMX_ERR_INVALID_ARG, "n %d, dim %d, vocab %d: a negative size", p->n,
                        p->dim, p->vocab);
    const int64_t table = (int64_t)p->vocab * p->dim, rows = (int64_t)p->n * p->dim;
    need[0] = p->n;
    need[1] = op == DMX_OP_EMBEDDING ? table : rows;
    need[2] = op == DMX_OP_EMBEDDING ? rows : table;
    return DMX_OK;
}

/* Elementwise ops, optimizers and reductions: every argument holds n elements, but a
 * reduction's one-element output. */
static dmx_status extents_flat(int n_args, int32_t n, bool reduction, int64_t *need)
{
    if (n < 0)
        return dmx_fail(DMX_ERR_INVALID_ARG, "n %d is negative", n);
    for (int i = 0; i < n_args; i++)
        need[i] = n;
    if (reduction)
        need[n_args - 1] = 1;
    return DMX_OK;
}

/* Every op of ops.def has its own case and there is no default: a new op without one is a
 * compile error (-Wswitch made an error here), and test_ops_dispatch checks each op's extents
 * at run time. */
#if defined(__GNUC__)
#pragma GCC diagnostic push
#pragma GCC diagnostic error "-Wswitch"
#endif
static dmx_status extents_of(const dmx_op_call *call, int n_args, int64_t *need)
{
    const void *q = call->params;
    int64_t R = 0, C = 0, RC = 0;
    switch (call->op) {
    case DMX_OP_COPY_STRIDED: return extents_copy(q, need);
    case DMX_OP_GEMM: return extents_gemm(q, need);
    case DMX_OP_MIX_LINEAR:
    case DMX_OP_MIX_LINEAR_BWD_X:
    case DMX_OP_MIX_LINEAR_BWD_W: return extents_mix(call->op, q, need);
    case DMX_OP_FILL: return extents_flat(n_args, ((const dmx_p_fill *)q)->n, false, need);
    case DMX_OP_ADD: return extents_flat(n_args, ((const dmx_p_add *)q)->n, false, need);
    case DMX_OP_MUL: return extents_flat(n_args, ((const dmx_p_mul *)q)->n, false, need);
    case DMX_OP_SCALE: return extents_flat(n_args, ((const dmx_p_scale *)q)->n, false, need);
    case DMX_OP_AXPY: return extents_flat(n_args, ((const dmx_p_axpy *)q)->n, false, need);
    case DMX_OP_ADD_ROW: {
        const dmx_p_add_row *p = q;
        DMX_TRY(rows_cols(p->rows, p->cols, &R, &C, &RC));
        need[0] = RC, need[1] = C, need[2] = RC;
        return DMX_OK;
    }
    case DMX_OP_SUM_ROWS: {
        const dmx_p_sum_rows *p = q;
        DMX_TRY(rows_cols(p->rows, p->cols, &R, &C, &RC));
        need[0] = RC, need[1] = C;
        return DMX_OK;
    }
    case DMX_OP_MIX_MLP:
    case DMX_OP_MIX_MLP_BWD: return extents_mix_mlp(call->op, q, need);
    case DMX_OP_GELU:
    case DMX_OP_GELU_BWD:
    case DMX_OP_ELU:
    case DMX_OP_ELU_BWD:
    case DMX_OP_RELU:
    case DMX_OP_RELU_BWD: return extents_flat(n_args, ((const dmx_p_unary *)q)->n, false, need);
    case DMX_OP_LAYERNORM: {
        const dmx_p_layernorm *p = q;
        DMX_TRY(rows_cols(p->rows, p->cols, &R, &C, &RC));
        need[0] = RC, need[1] = C, need[2] = C, need[3] = RC, need[4] = R, need[5] = R;
        return DMX_OK;
    }
    case DMX_OP_LAYERNORM_BWD: {
        const dmx_p_layernorm *p = q;
        DMX_TRY(rows_cols(p->rows, p->cols, &R, &C, &RC));
        need[0] = RC, need[1] = RC, need[2] = C, need[3] = R, need[4] = R;
        need[5] = RC, need[6] = C, need[7] = C;
        return DMX_OK;
    }
    case DMX_OP_SOFTMAX:
    case DMX_OP_SOFTMAX_BWD: return extents_softmax(call->op, q, need);
    case DMX_OP_CROSS_ENTROPY: {
        const dmx_p_cross_entropy *p = q;
        DMX_TRY(rows_cols(p->rows, p->cols, &R, &C, &RC));
        need[0] = RC, need[1] = R, need[2] = R;
        return DMX_OK;
    }
    case DMX_OP_CROSS_ENTROPY_BWD: {
        const dmx_p_cross_entropy *p = q;
        DMX_TRY(rows_cols(p->rows, p->cols, &R, &C, &RC));
        need[0] = RC, need[1] = R, need[2] = 1, need[3] = RC;
        return DMX_OK;
    }
    case DMX_OP_EMBEDDING:
    case DMX_OP_EMBEDDING_BWD: return extents_embedding(call->op, q, need);
    case DMX_OP_DROPOUT: return extents_flat(n_args, ((const dmx_p_dropout *)q)->n, false, need);
    case DMX_OP_ADAMW: return extents_flat(n_args, ((const dmx_p_adamw *)q)->n, false, need);
    case DMX_OP_SGD: return extents_flat(n_args, ((const dmx_p_sgd *)q)->n, false, need);
    case DMX_OP_DOT:
    case DMX_OP_NORM2: return extents_flat(n_args, ((const dmx_p_reduce *)q)->n, true, need);
    case DMX_OP_CLIP_SCALE:
        DMX_TRY(extents_flat(n_args, ((const dmx_p_clip_scale *)q)->n, false, need));
        need[0] = 1;
        return DMX_OK;
    case DMX_OP_CLIP_SCALE_BWD:
        need[0] = need[1] = need[2] = 1;
        return DMX_OK;
    case DMX_OP_ATTENTION:
    case DMX_OP_ATTENTION_BWD: return extents_attention(call->op, q, need);
    case DMX_OP_COUNT: break;
    }
    return dmx_fail(DMX_ERR_INVALID_ARG, "op %d is not an operator", (int)call->op);
}
#if defined(__GNUC__)
#pragma GCC diagnostic pop
#endif

dmx_status dmx_op_check_extents(const dmx_op_call *call)
{
    const dmx_op_desc *d = dmx_op_describe(call->op);
    if (!d)
        return dmx_fail(DMX_ERR_INVALID_ARG, "op %d is not an operator", (int)call->op);
    int64_t need[DMX_MAX_ARGS];
    for (int i = 0; i < DMX_MAX_ARGS; i++)
        need[i] = NOT_CHECKED;
    DMX_TRY(extents_of(call, d->n_in + d->n_out, need));
    for (int i = 0; i < d->n_in + d->n_out; i++) {
        const dmx_arg *a = &call->args[i];
        if (need[i] != NOT_CHECKED && a->buf && (int64_t)a->count < need[i])
            return dmx_fail(DMX_ERR_INVALID_ARG,
                            "argument %d holds %zu elements, the parameters reach %lld", i,
                            a->count, (long long)need[i]);
    }
    return DMX_OK;
}
