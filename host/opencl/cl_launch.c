/* Kernel launches: arguments set in order with the first failure kept, fixed local size,
 * errors that name the device, the op and the kernel; and the device's scratch buffer. */
#include <stdio.h>

#include "opencl/cl_internal.h"

cl_mem dmx_cl_mem_of(const dmx_op_call *call, int i)
{
    const dmx_arg *a = &call->args[i];
    return a->buf ? (cl_mem)a->buf->impl : NULL;
}

dmx_status dmx_cl_begin(dmx_device *dev, const dmx_op_call *call, dmx_cl_prog prog,
                        const char *kernel, dmx_cl_launch *L)
{
    dmx_cl_device *cd = dmx_cl_dev(dev);
    *L = (dmx_cl_launch){.cd = cd, .op = dmx_op_name(call->op), .op_id = call->op,
                         .kname = kernel};
    return dmx_cl_kernel(cd, prog, kernel, &L->kernel);
}

void dmx_cl_arg_raw(dmx_cl_launch *L, size_t size, const void *value)
{
    if (L->err != CL_SUCCESS)
        return;
    L->err = clSetKernelArg(L->kernel, L->next_arg, size, value);
    if (L->err != CL_SUCCESS)
        L->failed_arg = L->next_arg;
    L->next_arg++;
}

void dmx_cl_arg_mem(dmx_cl_launch *L, cl_mem mem, size_t elem_offset)
{
    /* An absent optional argument is a NULL pointer in the kernel, which never reads it. */
    dmx_cl_arg_raw(L, sizeof(cl_mem), mem ? (const void *)&mem : NULL);
    cl_ulong off = elem_offset;
    dmx_cl_arg_raw(L, sizeof off, &off);
}

void dmx_cl_arg_call(dmx_cl_launch *L, const dmx_op_call *call, int i)
{
    dmx_cl_arg_mem(L, dmx_cl_mem_of(call, i), call->args[i].buf ? call->args[i].offset : 0);
}

void dmx_cl_arg_i32(dmx_cl_launch *L, int32_t v)
{
    cl_int x = v;
    dmx_cl_arg_raw(L, sizeof x, &x);
}

void dmx_cl_arg_u32(dmx_cl_launch *L, uint32_t v)
{
    cl_uint x = v;
    dmx_cl_arg_raw(L, sizeof x, &x);
}

void dmx_cl_arg_f32(dmx_cl_launch *L, float v)
{
    cl_float x = v;
    dmx_cl_arg_raw(L, sizeof x, &x);
}

dmx_status dmx_cl_run(dmx_cl_launch *L, size_t g0, size_t g1, size_t g2)
{
    dmx_cl_device *cd = L->cd;
    if (L->err != CL_SUCCESS)
        return dmx_cl_fail(cd, L->err, "setting argument %u of kernel %s", L->failed_arg,
                           L->kname);
    if (g0 == 0 || g1 == 0 || g2 == 0)
        return DMX_OK;
    size_t global[3] = {g0 * DMX_CL_WG, g1, g2}, local[3] = {DMX_CL_WG, 1, 1};
    cl_uint dims = g2 > 1 ? 3 : g1 > 1 ? 2 : 1;
    cl_event ev = NULL;
    cl_int err = clEnqueueNDRangeKernel(cd->queue, L->kernel, dims, NULL, global, local, 0, NULL,
                                        cd->profile ? &ev : NULL);
    if (err != CL_SUCCESS)
        return dmx_cl_fail(cd, err, "launching kernel %s on %zu x %zu x %zu work-groups",
                           L->kname, g0, g1, g2);
    if (ev)
        DMX_TRY(dmx_cl_profile_event(cd, L->op_id, ev));
    cd->last_op = L->op;
    if (cd->sync_each_op) {
        err = clFinish(cd->queue);
        if (err != CL_SUCCESS)
            return dmx_cl_fail(cd, err, "kernel %s failed while running", L->kname);
    }
    return DMX_OK;
}

dmx_status dmx_cl_profile_event(dmx_cl_device *cd, dmx_op op, cl_event ev)
{
    cl_ulong start = 0, end = 0;
    cl_int err = clWaitForEvents(1, &ev);
    if (err == CL_SUCCESS)
        err = clGetEventProfilingInfo(ev, CL_PROFILING_COMMAND_START, sizeof start, &start, NULL);
    if (err == CL_SUCCESS)
        err = clGetEventProfilingInfo(ev, CL_PROFILING_COMMAND_END, sizeof end, &end, NULL);
    clReleaseEvent(ev);
    if (err != CL_SUCCESS)
        return dmx_cl_fail(cd, err, "%s: reading its profiling event", dmx_op_name(op));
    cd->op_seconds[op] += end > start ? 1e-9 * (double)(end - start) : 0.0;
    cd->op_launches[op]++;
    return DMX_OK;
}

void dmx_cl_profile_report(const dmx_cl_device *cd)
{
    char heading[256];
    snprintf(heading, sizeof heading, "%s: kernel time per op (DIMIX_OPENCL_PROFILE)", cd->label);
    dmx_log_op_times(heading, cd->op_seconds, cd->op_launches, "kernels");
}

dmx_status dmx_cl_run_1d(dmx_cl_launch *L, size_t n)
{
    return dmx_cl_run(L, (n + DMX_CL_WG - 1) / DMX_CL_WG, 1, 1);
}

dmx_status dmx_cl_scratch(dmx_cl_device *cd, size_t bytes, cl_mem *out)
{
    if (bytes == 0)
        bytes = 4;
    if (cd->scratch && cd->scratch_bytes >= bytes) {
        *out = cd->scratch;
        return DMX_OK;
    }
    /* Grow by half again so a sequence of growing requests reallocates rarely. Releasing the
     * old buffer is safe: OpenCL keeps it alive until queued kernels that use it finish. */
    size_t want = bytes + bytes / 2;
    cl_int err = CL_SUCCESS;
    cl_mem mem = clCreateBuffer(cd->context, CL_MEM_READ_WRITE, want, NULL, &err);
    if (err != CL_SUCCESS) {
        want = bytes;
        mem = clCreateBuffer(cd->context, CL_MEM_READ_WRITE, want, NULL, &err);
    }
    if (err != CL_SUCCESS)
        return dmx_cl_fail(cd, err, "allocating %zu bytes of scratch memory", bytes);
    if (cd->scratch)
        clReleaseMemObject(cd->scratch);
    cd->scratch = mem;
    cd->scratch_bytes = want;
    *out = mem;
    return DMX_OK;
}

int dmx_cl_row_chunks(int rows, int *rows_per_chunk)
{
    int chunks = rows / 256;
    chunks = chunks < 1 ? 1 : chunks > 64 ? 64 : chunks;
    int per = rows > 0 ? (rows + chunks - 1) / chunks : 1;
    *rows_per_chunk = per;
    return rows > 0 ? (rows + per - 1) / per : 1;
}

int dmx_cl_pow2_ceil(int v)
{
    int p = 1;
    while (p < v && p < (1 << 30))
        p <<= 1;
    return p;
}

int dmx_cl_pow2_floor(int v)
{
    int p = 1;
    while (p * 2 <= v && p < (1 << 30))
        p <<= 1;
    return p;
}
