/* Checks an op's parameters against its arguments before any backend runs it: every size is
 * non-negative, flags hold 0 or 1, and every element the op will touch lies inside the
 * argument's [offset, offset + count) range. Backends rely on this: kernels index buffers from
 * the parameters alone, so a size larger than its argument would read or write out of bounds. */
#include <stdint.h>

#include "core/error.h"
#include "ops/op_table.h"

/* Products of up to six int32 sizes overflow int64; anything past 2^62 is "too large". */
#define DMX_EXTENT_CAP ((int64_t)1 << 62)

static int64_t mul_sat(int64_t a, int64_t b)
{
    if (a == 0 || b == 0)
        return 0;
    return a > DMX_EXTENT_CAP / b ? DMX_EXTENT_CAP : a * b;
}

static int64_t mul3(int64_t a, int64_t b, int64_t c) { return mul_sat(mul_sat(a, b), c); }

static dmx_status need(const dmx_op_call *call, int arg, int64_t elems, const char *role)
{
    const dmx_arg *a = &call->args[arg];
    if (!a->buf || elems <= 0)
        return DMX_OK;
    if ((uint64_t)elems > (uint64_t)a->count)
        return dmx_fail(DMX_ERR_INVALID_ARG,
                        "%s: argument %d (%s) has %zu elements, the parameters need %lld",
                        dmx_op_name(call->op), arg, role, a->count, (long long)elems);
    return DMX_OK;
}

static dmx_status non_negative(const dmx_op_call *call, const char *name, int64_t v)
{
    if (v < 0)
        return dmx_fail(DMX_ERR_INVALID_ARG, "%s: %s = %lld is negative", dmx_op_name(call->op),
                        name, (long long)v);
    return DMX_OK;
}

static dmx_status flag(const dmx_op_call *call, const char *name, int32_t v)
{
    if (v != 0 && v != 1)
        return dmx_fail(DMX_ERR_INVALID_ARG, "%s: %s = %d, expected 0 or 1", dmx_op_name(call->op),
                        name, v);
    return DMX_OK;
}

#define NONNEG(field) DMX_TRY(non_negative(call, #field, p->field))
#define FLAG(field) DMX_TRY(flag(call, #field, p->field))

/* Lowest and highest element a strided view reaches, relative to its start. */
static void view_span(const dmx_p_copy_strided *p, const int32_t *stride, int64_t *lo, int64_t *hi)
{
    *lo = *hi = 0;
    for (int k = 0; k < p->ndim; k++) {
        int64_t reach = mul_sat(p->shape[k] - 1, stride[k] < 0 ? -(int64_t)stride[k] : stride[k]);
        if (stride[k] < 0)
            *lo -= reach;
        else
            *hi += reach;
    }
}

static dmx_status check_copy_strided(const dmx_op_call *call)
{
    const dmx_p_copy_strided *p = call->params;
    if (p->ndim < 0 || p->ndim > DMX_MAX_DIMS_STRIDED)
        return dmx_fail(DMX_ERR_INVALID_ARG, "copy_strided: ndim = %d outside [0, %d]", p->ndim,
                        DMX_MAX_DIMS_STRIDED);
    FLAG(accumulate);
    int64_t total = 1;
    for (int k = 0; k < p->ndim; k++) {
        DMX_TRY(non_negative(call, "shape", p->shape[k]));
        total = mul_sat(total, p->shape[k]);
    }
    if (total == 0)
        return DMX_OK;
    const int32_t *strides[2] = {p->src_stride, p->dst_stride};
    for (int a = 0; a < 2; a++) {
        int64_t lo, hi;
        view_span(p, strides[a], &lo, &hi);
        if (lo < 0)
            return dmx_fail(DMX_ERR_INVALID_ARG,
                            "copy_strided: the %s view reaches %lld elements before its start",
                            a ? "destination" : "source", (long long)-lo);
        DMX_TRY(need(call, a, hi + 1, a ? "dst" : "src"));
    }
    return DMX_OK;
}

/* Elements one batched operand spans: (batch-1)*stride + (rows-1)*ld + cols. */
static int64_t operand_span(int64_t batch, int64_t stride, int64_t rows, int64_t cols, int64_t ld)
{
    if (batch == 0 || rows == 0 || cols == 0)
        return 0;
    return mul_sat(batch - 1, stride) + mul_sat(rows - 1, ld) + cols;
}

static dmx_status check_gemm(const dmx_op_call *call)
{
    const dmx_p_gemm *p = call->params;
    NONNEG(M); NONNEG(N); NONNEG(K); NONNEG(batch);
    NONNEG(stride_a); NONNEG(stride_b); NONNEG(stride_c);
    FLAG(trans_a); FLAG(trans_b);
    int64_t a_rows = p->trans_a ? p->K : p->M, a_cols = p->trans_a ? p->M : p->K;
    int64_t b_rows = p->trans_b ? p->N : p->K, b_cols = p->trans_b ? p->K : p->N;
    if (p->lda < (a_cols > 1 ? a_cols : 1) || p->ldb < (b_cols > 1 ? b_cols : 1) ||
        p->ldc < (p->N > 1 ? p->N : 1))
        return dmx_fail(DMX_ERR_INVALID_ARG,
                        "gemm: leading dimensions lda=%d ldb=%d ldc=%d are below the row lengths "
                        "%lld, %lld, %d", p->lda, p->ldb, p->ldc, (long long)a_cols,
                        (long long)b_cols, p->N);
    if (p->M > 0 && p->N > 0) {
        DMX_TRY(need(call, 0, operand_span(p->batch, p->stride_a, a_rows, a_cols, p->lda), "A"));
        DMX_TRY(need(call, 1, operand_span(p->batch, p->stride_b, b_rows, b_cols, p->ldb), "B"));
    }
    return need(call, 2, operand_span(p->batch, p->stride_c, p->M, p->N, p->ldc), "C");
}

static dmx_status check_mix_linear(const dmx_op_call *call)
{
    const dmx_p_mix_linear *p = call->params;
    NONNEG(M); NONNEG(J); NONNEG(Din); NONNEG(Dout); NONNEG(R1); NONNEG(R2);
    FLAG(has_bias); FLAG(accumulate);
    int64_t groups = mul_sat(p->J, p->R1), rows = mul_sat(p->M, p->R2);
    int64_t n_in = mul3(rows, groups, p->Din), n_out = mul3(rows, groups, p->Dout);
    int64_t n_w = mul3(groups, p->Dout, p->Din), n_c = p->has_bias ? mul_sat(groups, p->Dout) : 0;
    switch (call->op) {
    case DMX_OP_MIX_LINEAR:
        DMX_TRY(need(call, 0, n_out ? n_in : 0, "x"));
        DMX_TRY(need(call, 1, n_out ? n_w : 0, "W"));
        DMX_TRY(need(call, 2, n_out ? n_c : 0, "bias"));
        return need(call, 3, n_out, "y");
    case DMX_OP_MIX_LINEAR_BWD_X:
        DMX_TRY(need(call, 0, n_in ? n_out : 0, "dy"));
        DMX_TRY(need(call, 1, n_in ? n_w : 0, "W"));
        return need(call, 2, n_in, "dx");
    default: /* MIX_LINEAR_BWD_W */
        DMX_TRY(need(call, 0, n_out, "dy"));
        DMX_TRY(need(call, 1, n_in, "x"));
        DMX_TRY(need(call, 2, n_w, "dW"));
        return need(call, 3, n_c, "dbias");
    }
}

/* Ops over n elements where every argument has n elements, except `skip` (a bitmask). */
static dmx_status check_flat(const dmx_op_call *call, int64_t n, unsigned skip)
{
    DMX_TRY(non_negative(call, "n", n));
    const dmx_op_desc *d = dmx_op_describe(call->op);
    for (int i = 0; i < d->n_in + d->n_out; i++)
        if (!(skip & (1u << i)))
            DMX_TRY(need(call, i, n, "operand"));
    return DMX_OK;
}

static dmx_status check_rows(const dmx_op_call *call, int32_t rows, int32_t cols)
{
    DMX_TRY(non_negative(call, "rows", rows));
    return non_negative(call, "cols", cols);
}

static dmx_status check_layernorm(const dmx_op_call *call)
{
    const dmx_p_layernorm *p = call->params;
    DMX_TRY(check_rows(call, p->rows, p->cols));
    FLAG(accumulate);
    int64_t n = (int64_t)p->rows * p->cols;
    if (call->op == DMX_OP_LAYERNORM) {
        const char *roles[] = {"x", "gamma", "beta", "y", "mean", "rstd"};
        const int64_t sizes[] = {n, p->cols, p->cols, n, p->rows, p->rows};
        for (int i = 0; i < 6; i++)
            DMX_TRY(need(call, i, sizes[i], roles[i]));
        return DMX_OK;
    }
    const char *roles[] = {"dy", "x", "gamma", "mean", "rstd", "dx", "dgamma", "dbeta"};
    const int64_t sizes[] = {n, n, p->cols, p->rows, p->rows, n, p->cols, p->cols};
    for (int i = 0; i < 8; i++)
        DMX_TRY(need(call, i, sizes[i], roles[i]));
    return DMX_OK;
}

static dmx_status check_softmax(const dmx_op_call *call)
{
    const dmx_p_softmax *p = call->params;
    DMX_TRY(check_rows(call, p->rows, p->cols));
    FLAG(accumulate);
    int64_t n = (int64_t)p->rows * p->cols;
    if (call->op == DMX_OP_SOFTMAX_BWD)
        return check_flat(call, n, 0);
    FLAG(has_mask);
    int64_t group = p->mask_group > 0 ? p->mask_group : 1;
    int64_t mask_rows = p->rows ? (p->rows - 1) / group + 1 : 0;
    DMX_TRY(need(call, 0, n, "x"));
    DMX_TRY(need(call, 1, p->has_mask ? mask_rows * p->cols : 0, "mask"));
    return need(call, 2, n, "y");
}

static dmx_status check_cross_entropy(const dmx_op_call *call)
{
    const dmx_p_cross_entropy *p = call->params;
    DMX_TRY(check_rows(call, p->rows, p->cols));
    FLAG(accumulate);
    int64_t n = (int64_t)p->rows * p->cols;
    DMX_TRY(need(call, 0, n, "logits"));
    DMX_TRY(need(call, 1, p->rows, "labels"));
    if (call->op == DMX_OP_CROSS_ENTROPY)
        return need(call, 2, p->rows, "loss");
    DMX_TRY(need(call, 2, p->rows ? 1 : 0, "dloss"));
    return need(call, 3, n, "dlogits");
}

static dmx_status check_embedding(const dmx_op_call *call)
{
    const dmx_p_embedding *p = call->params;
    NONNEG(n); NONNEG(dim); NONNEG(vocab);
    int64_t rows = (int64_t)p->n * p->dim, table = (int64_t)p->vocab * p->dim;
    DMX_TRY(need(call, 0, p->n, "ids"));
    if (call->op == DMX_OP_EMBEDDING) {
        DMX_TRY(need(call, 1, rows ? table : 0, "table"));
        return need(call, 2, rows, "y");
    }
    DMX_TRY(need(call, 1, rows, "dy"));
    return need(call, 2, rows ? table : 0, "dtable");
}

dmx_status dmx_op_check_args(const dmx_op_call *call)
{
    switch (call->op) {
    case DMX_OP_COPY_STRIDED: return check_copy_strided(call);
    case DMX_OP_GEMM: return check_gemm(call);
    case DMX_OP_MIX_LINEAR:
    case DMX_OP_MIX_LINEAR_BWD_X:
    case DMX_OP_MIX_LINEAR_BWD_W: return check_mix_linear(call);
    case DMX_OP_FILL: return check_flat(call, ((const dmx_p_fill *)call->params)->n, 0);
    case DMX_OP_ADD: return check_flat(call, ((const dmx_p_add *)call->params)->n, 0);
    case DMX_OP_MUL: {
        const dmx_p_mul *p = call->params;
        FLAG(accumulate);
        return check_flat(call, p->n, 0);
    }
    case DMX_OP_SCALE: return check_flat(call, ((const dmx_p_scale *)call->params)->n, 0);
    case DMX_OP_AXPY: return check_flat(call, ((const dmx_p_axpy *)call->params)->n, 0);
    case DMX_OP_ADD_ROW: {
        const dmx_p_add_row *p = call->params;
        DMX_TRY(check_rows(call, p->rows, p->cols));
        int64_t n = (int64_t)p->rows * p->cols;
        DMX_TRY(need(call, 0, n, "x"));
        DMX_TRY(need(call, 1, n ? p->cols : 0, "b"));
        return need(call, 2, n, "y");
    }
    case DMX_OP_SUM_ROWS: {
        const dmx_p_sum_rows *p = call->params;
        DMX_TRY(check_rows(call, p->rows, p->cols));
        FLAG(accumulate);
        DMX_TRY(need(call, 0, (int64_t)p->rows * p->cols, "x"));
        return need(call, 1, p->cols, "y");
    }
    case DMX_OP_GELU:
    case DMX_OP_GELU_BWD:
    case DMX_OP_ELU:
    case DMX_OP_ELU_BWD:
    case DMX_OP_RELU:
    case DMX_OP_RELU_BWD: {
        const dmx_p_unary *p = call->params;
        FLAG(accumulate);
        return check_flat(call, p->n, 0);
    }
    case DMX_OP_LAYERNORM:
    case DMX_OP_LAYERNORM_BWD: return check_layernorm(call);
    case DMX_OP_SOFTMAX:
    case DMX_OP_SOFTMAX_BWD: return check_softmax(call);
    case DMX_OP_CROSS_ENTROPY:
    case DMX_OP_CROSS_ENTROPY_BWD: return check_cross_entropy(call);
    case DMX_OP_EMBEDDING:
    case DMX_OP_EMBEDDING_BWD: return check_embedding(call);
    case DMX_OP_DROPOUT: {
        const dmx_p_dropout *p = call->params;
        FLAG(accumulate);
        if (!(p->p >= 0.0f && p->p <= 1.0f))
            return dmx_fail(DMX_ERR_INVALID_ARG, "dropout: p = %g outside [0, 1]", (double)p->p);
        return check_flat(call, p->n, 0);
    }
    case DMX_OP_ADAMW: return check_flat(call, ((const dmx_p_adamw *)call->params)->n, 0);
    case DMX_OP_SGD: {
        const dmx_p_sgd *p = call->params;
        FLAG(nesterov); FLAG(first_step);
        return check_flat(call, p->n, 0);
    }
    case DMX_OP_DOT: {
        const dmx_p_reduce *p = call->params;
        DMX_TRY(check_flat(call, p->n, 1u << 2));
        return need(call, 2, 1, "out");
    }
    case DMX_OP_NORM2: {
        const dmx_p_reduce *p = call->params;
        DMX_TRY(check_flat(call, p->n, 1u << 1));
        return need(call, 1, 1, "out");
    }
    case DMX_OP_COUNT: break;
    }
    return dmx_fail(DMX_ERR_INVALID_ARG, "unknown op %d", (int)call->op);
}
