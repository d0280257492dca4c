/* Fused multi-head attention on OpenCL, forward and backward (kernels in cl/attention.cl). */
#include "opencl/cl_ops.h"

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
    dmx_cl_arg_i32(&L, (int32_t)rows_of(p));
    dmx_cl_arg_i32(&L, p->seq);
    dmx_cl_arg_i32(&L, p->heads);
    dmx_cl_arg_i32(&L, p->head_dim);
    dmx_cl_arg_f32(&L, p->scale);
    dmx_cl_arg_i32(&L, masked(call, p));
    return dmx_cl_run_1d(&L, rows_of(p));
}

/* Three launches in queue order: the row sums do . o into stats[.., 1], then dq (one
 * work-item per query row), then dk and dv (one per key row). */
dmx_status dmx_cl_attention_bwd(dmx_device *dev, const dmx_op_call *call)
{
    const dmx_p_attention *p = call->params;
    const int32_t rows = (int32_t)rows_of(p);
    dmx_cl_launch L;
    DMX_TRY(dmx_cl_begin(dev, call, DMX_CL_PROG_ATTENTION, "attention_delta", &L));
    dmx_cl_arg_call(&L, call, 4);
    dmx_cl_arg_call(&L, call, 5);
    dmx_cl_arg_call(&L, call, 6);
    dmx_cl_arg_i32(&L, rows);
    dmx_cl_arg_i32(&L, p->seq);
    dmx_cl_arg_i32(&L, p->heads);
    dmx_cl_arg_i32(&L, p->head_dim);
    DMX_TRY(dmx_cl_run_1d(&L, (size_t)rows));

    DMX_TRY(dmx_cl_begin(dev, call, DMX_CL_PROG_ATTENTION, "attention_bwd_q", &L));
    for (int i = 0; i < 3; i++)
        dmx_cl_arg_call(&L, call, i);
    arg_mask(&L, call, p);
    dmx_cl_arg_call(&L, call, 5);
    dmx_cl_arg_call(&L, call, 6);
    dmx_cl_arg_call(&L, call, 7);
    dmx_cl_arg_i32(&L, rows);
    dmx_cl_arg_i32(&L, p->seq);
    dmx_cl_arg_i32(&L, p->heads);
    dmx_cl_arg_i32(&L, p->head_dim);
    dmx_cl_arg_f32(&L, p->scale);
    dmx_cl_arg_i32(&L, masked(call, p));
    dmx_cl_arg_i32(&L, p->accumulate_q);
    DMX_TRY(dmx_cl_run_1d(&L, (size_t)rows));

    DMX_TRY(dmx_cl_begin(dev, call, DMX_CL_PROG_ATTENTION, "attention_bwd_kv", &L));
    for (int i = 0; i < 3; i++)
        dmx_cl_arg_call(&L, call, i);
    arg_mask(&L, call, p);
    dmx_cl_arg_call(&L, call, 5);
    dmx_cl_arg_call(&L, call, 6);
    dmx_cl_arg_call(&L, call, 8);
    dmx_cl_arg_call(&L, call, 9);
    dmx_cl_arg_i32(&L, rows);
    dmx_cl_arg_i32(&L, p->seq);
    dmx_cl_arg_i32(&L, p->heads);
    dmx_cl_arg_i32(&L, p->head_dim);
    dmx_cl_arg_f32(&L, p->scale);
    dmx_cl_arg_i32(&L, masked(call, p));
    dmx_cl_arg_i32(&L, p->accumulate_k);
    dmx_cl_arg_i32(&L, p->accumulate_v);
    return dmx_cl_run_1d(&L, (size_t)rows);
}
