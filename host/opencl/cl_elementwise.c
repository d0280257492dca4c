/* Elementwise ops and sum_rows on OpenCL (kernels in cl/elementwise.cl). */
#include "opencl/cl_ops.h"

/* Flat kernels handle 4 elements per work-item. */
static size_t quads(int32_t n) { return ((size_t)n + 3) / 4; }

dmx_status dmx_cl_fill(dmx_device *dev, const dmx_op_call *call)
{
    const dmx_p_fill *p = call->params;
    dmx_cl_launch L;
    DMX_TRY(dmx_cl_begin(dev, call, DMX_CL_PROG_ELEMENTWISE, "fill", &L));
    dmx_cl_arg_call(&L, call, 0);
    dmx_cl_arg_i32(&L, p->n);
    dmx_cl_arg_u32(&L, p->bits);
    return dmx_cl_run_1d(&L, quads(p->n));
}

dmx_status dmx_cl_add(dmx_device *dev, const dmx_op_call *call)
{
    const dmx_p_add *p = call->params;
    dmx_cl_launch L;
    DMX_TRY(dmx_cl_begin(dev, call, DMX_CL_PROG_ELEMENTWISE, "add", &L));
    for (int i = 0; i < 3; i++)
        dmx_cl_arg_call(&L, call, i);
    dmx_cl_arg_i32(&L, p->n);
    return dmx_cl_run_1d(&L, quads(p->n));
}

dmx_status dmx_cl_mul(dmx_device *dev, const dmx_op_call *call)
{
    const dmx_p_mul *p = call->params;
    dmx_cl_launch L;
    DMX_TRY(dmx_cl_begin(dev, call, DMX_CL_PROG_ELEMENTWISE, "mul", &L));
    for (int i = 0; i < 3; i++)
        dmx_cl_arg_call(&L, call, i);
    dmx_cl_arg_i32(&L, p->n);
    dmx_cl_arg_i32(&L, p->accumulate);
    return dmx_cl_run_1d(&L, quads(p->n));
}

/* scale and axpy share their signature: (x, y, n, alpha). */
static dmx_status scale_like(dmx_device *dev, const dmx_op_call *call, const char *kernel,
                             int32_t n, float alpha)
{
    dmx_cl_launch L;
    DMX_TRY(dmx_cl_begin(dev, call, DMX_CL_PROG_ELEMENTWISE, kernel, &L));
    dmx_cl_arg_call(&L, call, 0);
    dmx_cl_arg_call(&L, call, 1);
    dmx_cl_arg_i32(&L, n);
    dmx_cl_arg_f32(&L, alpha);
    return dmx_cl_run_1d(&L, quads(n));
}

dmx_status dmx_cl_scale(dmx_device *dev, const dmx_op_call *call)
{
    const dmx_p_scale *p = call->params;
    return scale_like(dev, call, "scale", p->n, p->alpha);
}

dmx_status dmx_cl_clip_scale(dmx_device *dev, const dmx_op_call *call)
{
    const dmx_p_clip_scale *p = call->params;
    dmx_cl_launch L;
    DMX_TRY(dmx_cl_begin(dev, call, DMX_CL_PROG_ELEMENTWISE, "clip_scale", &L));
    dmx_cl_arg_call(&L, call, 0);
    dmx_cl_arg_call(&L, call, 1);
    dmx_cl_arg_i32(&L, p->n);
    dmx_cl_arg_f32(&L, p->threshold);
    dmx_cl_arg_f32(&L, p->numerator);
    return dmx_cl_run_1d(&L, quads(p->n));
}

dmx_status dmx_cl_clip_scale_bwd(dmx_device *dev, const dmx_op_call *call)
{
    const dmx_p_clip_scale *p = call->params;
    dmx_cl_launch L;
    DMX_TRY(dmx_cl_begin(dev, call, DMX_CL_PROG_ELEMENTWISE, "clip_scale_bwd", &L));
    for (int i = 0; i < 3; i++)
        dmx_cl_arg_call(&L, call, i);
    dmx_cl_arg_f32(&L, p->threshold);
    dmx_cl_arg_f32(&L, p->numerator);
    dmx_cl_arg_i32(&L, p->accumulate);
    return dmx_cl_run_1d(&L, 1);
}

dmx_status dmx_cl_axpy(dmx_device *dev, const dmx_op_call *call)
{
    const dmx_p_axpy *p = call->params;
    return scale_like(dev, call, "axpy", p->n, p->alpha);
}

dmx_status dmx_cl_add_row(dmx_device *dev, const dmx_op_call *call)
{
    const dmx_p_add_row *p = call->params;
    const size_t n = (size_t)p->rows * (size_t)p->cols;
    dmx_cl_launch L;
    DMX_TRY(dmx_cl_begin(dev, call, DMX_CL_PROG_ELEMENTWISE, "add_row", &L));
    for (int i = 0; i < 3; i++)
        dmx_cl_arg_call(&L, call, i);
    dmx_cl_arg_i32(&L, p->rows);
    dmx_cl_arg_i32(&L, p->cols);
    return dmx_cl_run_1d(&L, (size_t)n);
}

dmx_status dmx_cl_sum_rows(dmx_device *dev, const dmx_op_call *call)
{
    const dmx_p_sum_rows *p = call->params;
    dmx_cl_device *cd = dmx_cl_dev(dev);
    int rows_per_chunk = 1;
    const int chunks = dmx_cl_row_chunks(p->rows, &rows_per_chunk);
    const bool direct = chunks == 1;
    cl_mem partial = NULL;
    if (!direct)
        DMX_TRY(dmx_cl_scratch(cd, (size_t)chunks * p->cols * sizeof(float), &partial));
    const size_t col_tiles = ((size_t)p->cols + 31) / 32;
    dmx_cl_launch L;
    DMX_TRY(dmx_cl_begin(dev, call, DMX_CL_PROG_ELEMENTWISE, "sum_rows_partial", &L));
    dmx_cl_arg_call(&L, call, 0);
    if (direct)
        dmx_cl_arg_call(&L, call, 1);
    else
        dmx_cl_arg_mem(&L, partial, 0);
    dmx_cl_arg_i32(&L, p->rows);
    dmx_cl_arg_i32(&L, p->cols);
    dmx_cl_arg_i32(&L, rows_per_chunk);
    dmx_cl_arg_i32(&L, direct);
    dmx_cl_arg_f32(&L, p->scale);
    dmx_cl_arg_i32(&L, p->accumulate);
    DMX_TRY(dmx_cl_run(&L, col_tiles * (size_t)chunks, 1, 1));
    if (direct)
        return DMX_OK;
    DMX_TRY(dmx_cl_begin(dev, call, DMX_CL_PROG_ELEMENTWISE, "sum_rows_finish", &L));
    dmx_cl_arg_mem(&L, partial, 0);
    dmx_cl_arg_call(&L, call, 1);
    dmx_cl_arg_i32(&L, chunks);
    dmx_cl_arg_i32(&L, p->cols);
    dmx_cl_arg_f32(&L, p->scale);
    dmx_cl_arg_i32(&L, p->accumulate);
    return dmx_cl_run_1d(&L, (size_t)p->cols);
}
