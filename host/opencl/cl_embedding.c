/* Embedding lookup and scatter-add backward on OpenCL (kernels in cl/embedding.cl). */
#include "opencl/cl_ops.h"

static dmx_status check(const dmx_op_call *call, const dmx_p_embedding *p, bool backward)
{
    DMX_TRY(dmx_cl_check_sizes(call, 3, &p->n));
    const int64_t rows = (int64_t)p->n * p->dim, table = (int64_t)p->vocab * p->dim;
    DMX_TRY(dmx_cl_check_count(call, 0, p->n));
    DMX_TRY(dmx_cl_check_count(call, 1, backward ? rows : table));
    return dmx_cl_check_count(call, 2, backward ? table : rows);
}

dmx_status dmx_cl_embedding(dmx_device *dev, const dmx_op_call *call)
{
    const dmx_p_embedding *p = call->params;
    DMX_TRY(check(call, p, false));
    dmx_cl_launch L;
    DMX_TRY(dmx_cl_begin(dev, call, DMX_CL_PROG_EMBEDDING, "embedding_fwd", &L));
    for (int i = 0; i < 3; i++)
        dmx_cl_arg_call(&L, call, i);
    dmx_cl_arg_i32(&L, p->n);
    dmx_cl_arg_i32(&L, p->dim);
    dmx_cl_arg_i32(&L, p->vocab);
    return dmx_cl_run_1d(&L, (size_t)p->n * p->dim);
}

dmx_status dmx_cl_embedding_bwd(dmx_device *dev, const dmx_op_call *call)
{
    const dmx_p_embedding *p = call->params;
    DMX_TRY(check(call, p, true));
    if (p->n == 0)
        return DMX_OK;
    dmx_cl_launch L;
    DMX_TRY(dmx_cl_begin(dev, call, DMX_CL_PROG_EMBEDDING, "embedding_bwd", &L));
    for (int i = 0; i < 3; i++)
        dmx_cl_arg_call(&L, call, i);
    dmx_cl_arg_i32(&L, p->n);
    dmx_cl_arg_i32(&L, p->dim);
    dmx_cl_arg_i32(&L, p->vocab);
    const size_t blocks = ((size_t)p->vocab + 63) / 64 * (((size_t)p->dim + 63) / 64);
    return dmx_cl_run(&L, blocks, 1, 1);
}
