/* Dropout on OpenCL with the Philox mask every backend shares (kernel in cl/dropout.cl). */
#include "opencl/cl_ops.h"

dmx_status dmx_cl_dropout(dmx_device *dev, const dmx_op_call *call)
{
    const dmx_p_dropout *p = call->params;
    /* The same float expression as the CPU reference, so kept values are bitwise equal. */
    const float keep_scale = p->p < 1.0f ? 1.0f / (1.0f - p->p) : 0.0f;
    dmx_cl_launch L;
    DMX_TRY(dmx_cl_begin(dev, call, DMX_CL_PROG_DROPOUT, "dropout", &L));
    dmx_cl_arg_call(&L, call, 0);
    dmx_cl_arg_call(&L, call, 1);
    dmx_cl_arg_i32(&L, p->n);
    dmx_cl_arg_f32(&L, p->p);
    dmx_cl_arg_f32(&L, keep_scale);
    dmx_cl_arg_u32(&L, p->seed_lo);
    dmx_cl_arg_u32(&L, p->seed_hi);
    dmx_cl_arg_u32(&L, p->offset);
    dmx_cl_arg_i32(&L, p->accumulate);
    return dmx_cl_run_1d(&L, (size_t)p->n);
}
