/* Fused multi-head attention on OpenCL, forward and backward (kernels in cl/attention.cl). */
#include "opencl/cl_ops.h"
#include "ops/attention_tiling.h"

/* Floats per local-memory tile (DMX_ATTN_TILE in cl/attention.cl); two tiles per kernel. */
#define ATTN_TILE 2048

static dmx_attention_tiling tiling_of(const dmx_p_attention *p)
{
    return dmx_attention_tiling_of(p, DMX_CL_WG, ATTN_TILE);
}

static void arg_tiling(dmx_cl_launch *L, const dmx_attention_tiling *t)
{
    dmx_cl_arg_i32(L, t->group_rows);
    dmx_cl_arg_i32(L, t->pairs);
    dmx_cl_arg_i32(L, t->tile);
}

static size_t rows_of(const dmx_p_attention *p)
{
    return (size_t)p->batch * (size_t)p->heads * (size_t)p->seq;
}

/* The optional mask (argument 3) as a kernel argument. */
static void arg_mask(dmx_cl_launch *L, const dmx_op_call *call, const dmx_p_attention *p)
{
    if (p->has_mask && call->args[3].buf)
        dmx_cl_arg_call(L, call, 3);
    else
        dmx_cl_arg_mem(L, NULL, 0);
}

static int32_t masked(const dmx_op_call *call, const dmx_p_attention *p)
{
    return p->has_mask && call->args[3].buf;
}

/* rows, seq, heads, head_dim: the shape arguments every attention kernel takes. */
static void arg_shape(dmx_cl_launch *L, const dmx_p_attention *p)
{
    dmx_cl_arg_i32(L, (int32_t)rows_of(p));
    dmx_cl_arg_i32(L, p->seq);
    dmx_cl_arg_i32(L, p->heads);
    dmx_cl_arg_i32(L, p->head_dim);
}

dmx_status dmx_cl_attention(dmx_device *dev, const dmx_op_call *call)
{
    const dmx_p_attention *p = call->params;
    dmx_cl_launch L;
    DMX_TRY(dmx_cl_begin(dev, call, DMX_CL_PROG_ATTENTION, "attention_fwd", &L));
    for (int i = 0; i < 3; i++)
        dmx_cl_arg_call(&L, call, i);
    arg_mask(&L, call, p);
    dmx_cl_arg_call(&L, call, 4);
    dmx_cl_arg_call(&L, call, 5);
    arg_shape(&L, p);
    dmx_cl_arg_f32(&L, p->scale);
    dmx_cl_arg_i32(&L, masked(call, p));
    const dmx_attention_tiling t = tiling_of(p);
    arg_tiling(&L, &t);
    return dmx_cl_run(&L, t.groups, 1, 1);
}

/* A backward pass over q, k, v, mask, do and stats into `n_out` outputs (call arguments
 * from `first_out`), then the shape, scale, mask flag and the outputs' accumulate flags. */
static dmx_status run_backward_pass(dmx_device *dev, const dmx_op_call *call, const char *kernel,
                                    int first_out, int n_out)
{
    const dmx_p_attention *p = call->params;
    const int32_t acc[3] = {p->accumulate_q, p->accumulate_k, p->accumulate_v};
    dmx_cl_launch L;
    DMX_TRY(dmx_cl_begin(dev, call, DMX_CL_PROG_ATTENTION, kernel, &L));
    for (int i = 0; i < 3; i++)
        dmx_cl_arg_call(&L, call, i);
    arg_mask(&L, call, p);
    dmx_cl_arg_call(&L, call, 5);
    dmx_cl_arg_call(&L, call, 6);
    for (int i = 0; i < n_out; i++)
        dmx_cl_arg_call(&L, call, first_out + i);
    arg_shape(&L, p);
    dmx_cl_arg_f32(&L, p->scale);
    dmx_cl_arg_i32(&L, masked(call, p));
    for (int i = 0; i < n_out; i++)
        dmx_cl_arg_i32(&L, acc[first_out - 7 + i]);
    const dmx_attention_tiling t = tiling_of(p);
    arg_tiling(&L, &t);
    return dmx_cl_run(&L, t.groups, 1, 1);
}

/* Three launches in queue order: the row sums do . o into stats[.., 1], then dq (one
 * work-item per query row), then dk and dv (one per key row). */
dmx_status dmx_cl_attention_bwd(dmx_device *dev, const dmx_op_call *call)
{
    const dmx_p_attention *p = call->params;
    dmx_cl_launch L;
    DMX_TRY(dmx_cl_begin(dev, call, DMX_CL_PROG_ATTENTION, "attention_delta", &L));
    dmx_cl_arg_call(&L, call, 4);
    dmx_cl_arg_call(&L, call, 5);
    dmx_cl_arg_call(&L, call, 6);
    arg_shape(&L, p);
    DMX_TRY(dmx_cl_run_1d(&L, rows_of(p)));
    DMX_TRY(run_backward_pass(dev, call, "attention_bwd_q", 7, 1));
    return run_backward_pass(dev, call, "attention_bwd_kv", 8, 2);
}
