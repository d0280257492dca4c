/* AdamW and SGD steps on OpenCL (kernels in cl/optim.cl). */
#include "opencl/cl_ops.h"

dmx_status dmx_cl_adamw(dmx_device *dev, const dmx_op_call *call)
{
    const dmx_p_adamw *a = call->params;
    dmx_cl_launch L;
    DMX_TRY(dmx_cl_begin(dev, call, DMX_CL_PROG_OPTIM, "adamw", &L));
    for (int i = 0; i < 4; i++)
        dmx_cl_arg_call(&L, call, i);
    dmx_cl_arg_i32(&L, a->n);
    const float f[] = {a->lr, a->beta1, a->beta2, a->eps, a->weight_decay, a->step_size,
                       a->bc2_sqrt};
    for (size_t k = 0; k < sizeof f / sizeof *f; k++)
        dmx_cl_arg_f32(&L, f[k]);
    return dmx_cl_run_1d(&L, (size_t)a->n);
}

dmx_status dmx_cl_sgd(dmx_device *dev, const dmx_op_call *call)
{
    const dmx_p_sgd *s = call->params;
    dmx_cl_launch L;
    DMX_TRY(dmx_cl_begin(dev, call, DMX_CL_PROG_OPTIM, "sgd", &L));
    for (int i = 0; i < 3; i++)
        dmx_cl_arg_call(&L, call, i);
    dmx_cl_arg_i32(&L, s->n);
    dmx_cl_arg_f32(&L, s->lr);
    dmx_cl_arg_f32(&L, s->momentum);
    dmx_cl_arg_f32(&L, s->dampening);
    dmx_cl_arg_f32(&L, s->weight_decay);
    dmx_cl_arg_i32(&L, s->nesterov);
    dmx_cl_arg_i32(&L, s->first_step);
    return dmx_cl_run_1d(&L, (size_t)s->n);
}
