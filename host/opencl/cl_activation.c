/* GELU, ELU and ReLU on OpenCL, forward and backward (kernels in cl/activation.cl). */
#include "opencl/cl_ops.h"

static dmx_status forward(dmx_device *dev, const dmx_op_call *call, const char *kernel)
{
    const dmx_p_unary *p = call->params;
    dmx_cl_launch L;
    DMX_TRY(dmx_cl_begin(dev, call, DMX_CL_PROG_ACTIVATION, kernel, &L));
    dmx_cl_arg_call(&L, call, 0);
    dmx_cl_arg_call(&L, call, 1);
    dmx_cl_arg_i32(&L, p->n);
    return dmx_cl_run_1d(&L, (size_t)p->n);
}

static dmx_status backward(dmx_device *dev, const dmx_op_call *call, const char *kernel)
{
    const dmx_p_unary *p = call->params;
    dmx_cl_launch L;
    DMX_TRY(dmx_cl_begin(dev, call, DMX_CL_PROG_ACTIVATION, kernel, &L));
    for (int i = 0; i < 3; i++)
        dmx_cl_arg_call(&L, call, i);
    dmx_cl_arg_i32(&L, p->n);
    dmx_cl_arg_i32(&L, p->accumulate);
    return dmx_cl_run_1d(&L, (size_t)p->n);
}

dmx_status dmx_cl_gelu(dmx_device *dev, const dmx_op_call *call)
{
    return forward(dev, call, "gelu");
}

dmx_status dmx_cl_elu(dmx_device *dev, const dmx_op_call *call)
{
    return forward(dev, call, "elu");
}

dmx_status dmx_cl_relu(dmx_device *dev, const dmx_op_call *call)
{
    return forward(dev, call, "relu");
}

dmx_status dmx_cl_gelu_bwd(dmx_device *dev, const dmx_op_call *call)
{
    return backward(dev, call, "gelu_bwd");
}

dmx_status dmx_cl_elu_bwd(dmx_device *dev, const dmx_op_call *call)
{
    return backward(dev, call, "elu_bwd");
}

dmx_status dmx_cl_relu_bwd(dmx_device *dev, const dmx_op_call *call)
{
    return backward(dev, call, "relu_bwd");
}
