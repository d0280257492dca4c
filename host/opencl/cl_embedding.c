/* Embedding lookup and scatter-add backward on OpenCL (kernels in cl/embedding.cl). */
#include "opencl/cl_ops.h"

dmx_status dmx_cl_embedding(dmx_device *dev, const dmx_op_call *call)
{
    const dmx_p_embedding *p = call->params;
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
