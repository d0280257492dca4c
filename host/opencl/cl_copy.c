/* copy_strided on OpenCL (kernel in cl/copy.cl): every permutation, gather and scatter. */
#include "opencl/cl_ops.h"

/* The largest element index a view reaches (strides may be negative: then the smallest is
 * checked too). */
static dmx_status check_view(const dmx_op_call *call, int arg, const int32_t *shape,
                             const int32_t *stride, int ndim)
{
    int64_t lo = 0, hi = 0;
    for (int k = 0; k < ndim; k++) {
        int64_t reach = (int64_t)(shape[k] - 1) * stride[k];
        if (reach > 0)
            hi += reach;
        else
            lo += reach;
    }
    if (lo < 0)
        return dmx_fail(DMX_ERR_INVALID_ARG,
                        "argument %d: the view reaches %lld elements before its offset", arg,
                        (long long)-lo);
    return dmx_cl_check_count(call, arg, hi + 1);
}

dmx_status dmx_cl_copy_strided(dmx_device *dev, const dmx_op_call *call)
{
    const dmx_p_copy_strided *p = call->params;
    if (p->ndim < 0 || p->ndim > DMX_MAX_DIMS_STRIDED)
        return dmx_fail(DMX_ERR_INVALID_ARG, "ndim %d outside [0, %d]", p->ndim,
                        DMX_MAX_DIMS_STRIDED);
    DMX_TRY(dmx_cl_check_sizes(call, p->ndim, p->shape));
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
    DMX_TRY(check_view(call, 0, p->shape, p->src_stride, p->ndim));
    DMX_TRY(check_view(call, 1, p->shape, p->dst_stride, p->ndim));
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
