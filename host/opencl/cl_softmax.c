/* Row softmax on OpenCL, forward and backward (kernels in cl/softmax.cl). */
#include "opencl/cl_ops.h"

dmx_status dmx_cl_softmax(dmx_device *dev, const dmx_op_call *call)
{
    const dmx_p_softmax *p = call->params;
    const bool masked = p->has_mask && call->args[1].buf;
    const int group = p->mask_group > 0 ? p->mask_group : 1;
    dmx_cl_launch L;
    DMX_TRY(dmx_cl_begin(dev, call, DMX_CL_PROG_SOFTMAX, "softmax_fwd", &L));
    dmx_cl_arg_call(&L, call, 0);
    if (masked)
        dmx_cl_arg_call(&L, call, 1);
    else
        dmx_cl_arg_mem(&L, NULL, 0);
    dmx_cl_arg_call(&L, call, 2);
    dmx_cl_arg_i32(&L, p->cols);
    dmx_cl_arg_f32(&L, p->scale);
    dmx_cl_arg_i32(&L, masked);
    dmx_cl_arg_i32(&L, group);
    return dmx_cl_run(&L, (size_t)p->rows, 1, 1);
}

dmx_status dmx_cl_softmax_bwd(dmx_device *dev, const dmx_op_call *call)
{
    const dmx_p_softmax *p = call->params;
    dmx_cl_launch L;
    DMX_TRY(dmx_cl_begin(dev, call, DMX_CL_PROG_SOFTMAX, "softmax_bwd", &L));
    for (int i = 0; i < 3; i++)
        dmx_cl_arg_call(&L, call, i);
    dmx_cl_arg_i32(&L, p->cols);
    dmx_cl_arg_f32(&L, p->scale);
    dmx_cl_arg_i32(&L, p->accumulate);
    return dmx_cl_run(&L, (size_t)p->rows, 1, 1);
}
