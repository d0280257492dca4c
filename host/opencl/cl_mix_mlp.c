/* mix_mlp (one butterfly-MLP stage, fused) on OpenCL, forward and backward (kernels in
 * cl/mix_mlp.cl): three launches per call at most, each over the whole view. */
#include "opencl/cl_ops.h"

/* The kernels index with 32-bit products of the view's sizes: refuse views whose tensors
 * have 2^31 elements or more (dmx_op_run has checked sizes and extents already). */
static dmx_status check(const dmx_p_mix_mlp *p)
{
    const int64_t rows = (int64_t)p->M * p->J * p->R1 * p->R2, G = (int64_t)p->J * p->R1;
    const int64_t widest = p->Din > p->Dout ? p->Din : p->Dout;
    if (rows * widest > INT32_MAX || G * p->Dh * (p->Din > p->Dout ? p->Din : p->Dout) > INT32_MAX)
        return dmx_fail(DMX_ERR_UNSUPPORTED,
                        "a tensor of the view [M %d, J %d, Din %d, Dh %d, Dout %d, R1 %d, R2 %d] "
                        "has 2^31 elements or more", p->M, p->J, p->Din, p->Dh, p->Dout, p->R1,
                        p->R2);
    return DMX_OK;
}

static void view_args(dmx_cl_launch *L, const dmx_p_mix_mlp *p)
{
    const int32_t v[7] = {p->M, p->J, p->Din, p->Dh, p->Dout, p->R1, p->R2};
    for (int i = 0; i < 7; i++)
        dmx_cl_arg_i32(L, v[i]);
}

dmx_status dmx_cl_mix_mlp(dmx_device *dev, const dmx_op_call *call)
{
    const dmx_p_mix_mlp *p = call->params;
    DMX_TRY(check(p));
    dmx_cl_launch L;
    DMX_TRY(dmx_cl_begin(dev, call, DMX_CL_PROG_MIX_MLP, "mix_mlp", &L));
    for (int i = 0; i < 6; i++)
        dmx_cl_arg_call(&L, call, i);
    view_args(&L, p);
    dmx_cl_arg_i32(&L, 0);
    dmx_cl_arg_i32(&L, p->Dh);
    return dmx_cl_run_1d(&L, (size_t)p->M * p->J * p->R1 * p->R2);
}

dmx_status dmx_cl_mix_mlp_bwd(dmx_device *dev, const dmx_op_call *call)
{
    const dmx_p_mix_mlp *p = call->params;
    DMX_TRY(check(p));
    dmx_cl_launch L;
    /* dx: dy, x, W1, c1, W2, dx */
    DMX_TRY(dmx_cl_begin(dev, call, DMX_CL_PROG_MIX_MLP, "mix_mlp_bwd_x", &L));
    for (int i = 0; i < 6; i++)
        dmx_cl_arg_call(&L, call, i);
    view_args(&L, p);
    dmx_cl_arg_i32(&L, 0);
    dmx_cl_arg_i32(&L, p->Dh);
    dmx_cl_arg_i32(&L, p->accumulate ? 0 : 1);
    DMX_TRY(dmx_cl_run_1d(&L, (size_t)p->M * p->J * p->R1 * p->R2));
    /* weights: dy, x, W1, c1, W2, dW1, dc1, dW2, dc2 */
    DMX_TRY(dmx_cl_begin(dev, call, DMX_CL_PROG_MIX_MLP, "mix_mlp_bwd_w", &L));
    for (int i = 0; i < 5; i++)
        dmx_cl_arg_call(&L, call, i);
    for (int i = 6; i < 10; i++)
        dmx_cl_arg_call(&L, call, i);
    view_args(&L, p);
    dmx_cl_arg_i32(&L, 0);
    dmx_cl_arg_i32(&L, p->M);
    return dmx_cl_run_1d(&L, (size_t)p->J * p->R1 * p->Dh);
}
