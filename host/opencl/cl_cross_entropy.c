/* Cross-entropy with label smoothing on OpenCL (kernels in cl/cross_entropy.cl). */
#include "opencl/cl_ops.h"

dmx_status dmx_cl_cross_entropy(dmx_device *dev, const dmx_op_call *call)
{
    const dmx_p_cross_entropy *p = call->params;
    dmx_cl_launch L;
    DMX_TRY(dmx_cl_begin(dev, call, DMX_CL_PROG_CROSS_ENTROPY, "cross_entropy_fwd", &L));
    for (int i = 0; i < 3; i++)
        dmx_cl_arg_call(&L, call, i);
    dmx_cl_arg_i32(&L, p->cols);
    dmx_cl_arg_f32(&L, p->smoothing);
    return dmx_cl_run(&L, (size_t)p->rows, 1, 1);
}

dmx_status dmx_cl_cross_entropy_bwd(dmx_device *dev, const dmx_op_call *call)
{
    const dmx_p_cross_entropy *p = call->params;
    dmx_cl_launch L;
    DMX_TRY(dmx_cl_begin(dev, call, DMX_CL_PROG_CROSS_ENTROPY, "cross_entropy_bwd", &L));
    for (int i = 0; i < 4; i++)
        dmx_cl_arg_call(&L, call, i);
    dmx_cl_arg_i32(&L, p->cols);
    dmx_cl_arg_f32(&L, p->smoothing);
    dmx_cl_arg_f32(&L, p->scale);
    dmx_cl_arg_i32(&L, p->accumulate);
    return dmx_cl_run(&L, (size_t)p->rows, 1, 1);
}
