/* The OpenCL implementation of every device operator (host/ops/ops.def): dmx_cl_<op>, one
 * launcher file per op family (cl_<family>.c), the kernels in cl/<family>.cl. */
#ifndef DMX_OPENCL_CL_OPS_H
#define DMX_OPENCL_CL_OPS_H

#include "opencl/cl_internal.h"

#define DMX_OP(id, name, n_in, n_out, opt, ptype) \
    dmx_status dmx_cl_##name(dmx_device *dev, const dmx_op_call *call);
#include "ops/ops.def"
#undef DMX_OP

#endif
