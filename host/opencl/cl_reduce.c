/* dot and norm2 on OpenCL: two-pass work-group reductions (kernels in cl/reduce.cl). */
#include "opencl/cl_ops.h"

/* Sums x y (y absent: x^2) into args[out_arg][0], with a square root for norm2. */
static dmx_status reduce(dmx_device *dev, const dmx_op_call *call, bool with_y, int out_arg,
                         bool take_sqrt)
{
    const dmx_p_reduce *p = call->params;
    /* About 2048 elements per group, at most 256 groups. */
    int groups = (p->n + 2047) / 2048;
    groups = groups < 1 ? 1 : groups > 256 ? 256 : groups;
    const int per_group = p->n > 0 ? (p->n + groups - 1) / groups : 1;
    const bool direct = groups == 1;
    cl_mem partial = NULL;
    if (!direct)
        DMX_TRY(dmx_cl_scratch(dmx_cl_dev(dev), (size_t)groups * sizeof(float), &partial));
    dmx_cl_launch L;
    DMX_TRY(dmx_cl_begin(dev, call, DMX_CL_PROG_REDUCE, "reduce_partial", &L));
    dmx_cl_arg_call(&L, call, 0);
    if (with_y)
        dmx_cl_arg_call(&L, call, 1);
    else
        dmx_cl_arg_mem(&L, NULL, 0);
    if (direct)
        dmx_cl_arg_call(&L, call, out_arg);
    else
        dmx_cl_arg_mem(&L, partial, 0);
    dmx_cl_arg_i32(&L, p->n);
    dmx_cl_arg_i32(&L, per_group);
    dmx_cl_arg_i32(&L, direct);
    dmx_cl_arg_i32(&L, take_sqrt);
    DMX_TRY(dmx_cl_run(&L, (size_t)groups, 1, 1));
    if (direct)
        return DMX_OK;
    DMX_TRY(dmx_cl_begin(dev, call, DMX_CL_PROG_REDUCE, "reduce_finish", &L));
    dmx_cl_arg_mem(&L, partial, 0);
    dmx_cl_arg_call(&L, call, out_arg);
    dmx_cl_arg_i32(&L, groups);
    dmx_cl_arg_i32(&L, take_sqrt);
    return dmx_cl_run(&L, 1, 1, 1);
}

dmx_status dmx_cl_dot(dmx_device *dev, const dmx_op_call *call)
{
    return reduce(dev, call, true, 2, false);
}

dmx_status dmx_cl_norm2(dmx_device *dev, const dmx_op_call *call)
{
    return reduce(dev, call, false, 1, true);
}
