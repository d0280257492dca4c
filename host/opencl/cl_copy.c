/* copy_strided on OpenCL (kernel in cl/copy.cl): every permutation, gather and scatter.
 * (dmx_op_run has checked ndim, sizes, strides and extents: host/ops/op_extents.c.) */
#include "opencl/cl_ops.h"

dmx_status dmx_cl_copy_strided(dmx_device *dev, const dmx_op_call *call)
{
    const dmx_p_copy_strided *p = call->params;
    cl_int8 shape, src_stride, dst_stride;
    int64_t total = 1;
    const int pad = DMX_MAX_DIMS_STRIDED - p->ndim;
    for (int k = 0; k < 8; k++) {
        int in = k - pad;
        bool real = k < DMX_MAX_DIMS_STRIDED && in >= 0;
        shape.s[k] = real ? p->shape[in] : 1;
        src_stride.s[k] = real ? p->src_stride[in] : 0;
        dst_stride.s[k] = real ? p->dst_stride[in] : 0;
        total *= shape.s[k];
    }
    if (total == 0)
        return DMX_OK;
    dmx_cl_launch L;
    DMX_TRY(dmx_cl_begin(dev, call, DMX_CL_PROG_COPY, "copy_strided", &L));
    dmx_cl_arg_call(&L, call, 0);
    dmx_cl_arg_call(&L, call, 1);
    dmx_cl_arg_raw(&L, sizeof shape, &shape);
    dmx_cl_arg_raw(&L, sizeof src_stride, &src_stride);
    dmx_cl_arg_raw(&L, sizeof dst_stride, &dst_stride);
    cl_long n = total;
    dmx_cl_arg_raw(&L, sizeof n, &n);
    dmx_cl_arg_i32(&L, p->accumulate);
    return dmx_cl_run_1d(&L, (size_t)total);
}
