/* TEMPORARY (branch `fused` only, never merged like this): the OpenCL MIX_MLP kernels are being
 * written on branch `fused-gpu`; until then the op reports itself unsupported. */
#include "core/error.h"
#include "opencl/cl_ops.h"

dmx_status dmx_cl_mix_mlp(dmx_device *dev, const dmx_op_call *call)
{
    (void)dev, (void)call;
    return dmx_fail(DMX_ERR_UNSUPPORTED, "opencl: mix_mlp is not written yet");
}

dmx_status dmx_cl_mix_mlp_bwd(dmx_device *dev, const dmx_op_call *call)
{
    (void)dev, (void)call;
    return dmx_fail(DMX_ERR_UNSUPPORTED, "opencl: mix_mlp_bwd is not written yet");
}
