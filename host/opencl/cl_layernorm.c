/* LayerNorm on OpenCL, forward and backward (kernels in cl/layernorm.cl). */
#include "opencl/cl_ops.h"

dmx_status dmx_cl_layernorm(dmx_device *dev, const dmx_op_call *call)
{
    const dmx_p_layernorm *p = call->params;
    dmx_cl_launch L;
    DMX_TRY(dmx_cl_begin(dev, call, DMX_CL_PROG_LAYERNORM, "layernorm_fwd", &L));
    for (int i = 0; i < 6; i++)
        dmx_cl_arg_call(&L, call, i);
    dmx_cl_arg_i32(&L, p->cols);
    dmx_cl_arg_f32(&L, p->eps);
    return dmx_cl_run(&L, (size_t)p->rows, 1, 1);
}

static dmx_status backward_params(dmx_device *dev, const dmx_op_call *call,
                                  const dmx_p_layernorm *p)
{
    int rows_per_chunk = 1;
    const int chunks = dmx_cl_row_chunks(p->rows, &rows_per_chunk);
    const bool direct = chunks == 1;
    cl_mem partial = NULL;
    if (!direct)
        DMX_TRY(dmx_cl_scratch(dmx_cl_dev(dev), (size_t)chunks * 2 * p->cols * sizeof(float),
                               &partial));
    dmx_cl_launch L;
    DMX_TRY(dmx_cl_begin(dev, call, DMX_CL_PROG_LAYERNORM, "layernorm_bwd_params", &L));
    const int args[] = {0, 1, 3, 4, 6, 7}; /* dy, x, mean, rstd, dgamma, dbeta */
    for (int i = 0; i < 6; i++)
        dmx_cl_arg_call(&L, call, args[i]);
    dmx_cl_arg_mem(&L, partial, 0);
    dmx_cl_arg_i32(&L, p->rows);
    dmx_cl_arg_i32(&L, p->cols);
    dmx_cl_arg_i32(&L, rows_per_chunk);
    dmx_cl_arg_i32(&L, direct);
    DMX_TRY(dmx_cl_run(&L, ((size_t)p->cols + 31) / 32 * (size_t)chunks, 1, 1));
    if (direct)
        return DMX_OK;
    DMX_TRY(dmx_cl_begin(dev, call, DMX_CL_PROG_LAYERNORM, "layernorm_bwd_params_finish", &L));
    dmx_cl_arg_mem(&L, partial, 0);
    dmx_cl_arg_call(&L, call, 6);
    dmx_cl_arg_call(&L, call, 7);
    dmx_cl_arg_i32(&L, chunks);
    dmx_cl_arg_i32(&L, p->cols);
    return dmx_cl_run_1d(&L, (size_t)p->cols);
}

dmx_status dmx_cl_layernorm_bwd(dmx_device *dev, const dmx_op_call *call)
{
    const dmx_p_layernorm *p = call->params;
    if (p->cols == 0)
        return DMX_OK;
    dmx_cl_launch L;
    DMX_TRY(dmx_cl_begin(dev, call, DMX_CL_PROG_LAYERNORM, "layernorm_bwd_x", &L));
    for (int i = 0; i < 6; i++)
        dmx_cl_arg_call(&L, call, i);
    dmx_cl_arg_i32(&L, p->cols);
    dmx_cl_arg_i32(&L, p->accumulate);
    DMX_TRY(dmx_cl_run(&L, (size_t)p->rows, 1, 1));
    return backward_params(dev, call, p);
}
