/* The CPU reference backend: one device ("cpu-ref"), buffers in host memory. It is the parity
 * arbiter every other device is checked against, so its kernels stay plain; the fast CPU device
 * ("cpu", host/cpu/fast_backend.c) shares its buffer functions and takes its kernel for every op
 * it does not speed up. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "core/error.h"
#include "cpu/cpu_blas.h"
#include "cpu/cpu_host.h"
#include "cpu/cpu_kernels.h"

#ifdef _OPENMP
#include <omp.h>
#endif

const dmx_op_fn dmx_cpu_ref_ops[DMX_OP_COUNT] = {
#define DMX_OP(id, name, n_in, n_out, opt, ptype) [DMX_OP_##id] = dmx_cpu_##name,
#include "ops/ops.def"
#undef DMX_OP
};

float *dmx_cpu_f32(const dmx_op_call *call, int i)
{
    const dmx_arg *a = &call->args[i];
    return a->buf ? (float *)a->buf->impl + a->offset : NULL;
}

int32_t *dmx_cpu_i32(const dmx_op_call *call, int i)
{
    const dmx_arg *a = &call->args[i];
    return a->buf ? (int32_t *)a->buf->impl + a->offset : NULL;
}

dmx_status dmx_cpu_host_init(void)
{
    dmx_cpu_blas_init();
    return DMX_OK;
}
int dmx_cpu_host_device_count(void) { return 1; }
const char *dmx_cpu_host_why_none(void) { return ""; }

static uint64_t host_memory_bytes(void)
{
    long pages = sysconf(_SC_PHYS_PAGES), page = sysconf(_SC_PAGESIZE);
    return pages > 0 && page > 0 ? (uint64_t)pages * (uint64_t)page : 0;
}

void dmx_cpu_host_fill_info(dmx_device_info *out, const char *description)
{
    snprintf(out->description, sizeof out->description, "%s", description);
    snprintf(out->vendor, sizeof out->vendor, "dimix");
#ifdef _OPENMP
    snprintf(out->driver, sizeof out->driver, "OpenMP %d threads, %s", omp_get_max_threads(),
             dmx_cpu_blas_present() ? "BLAS" : "no BLAS: plain GEMM");
    out->compute_units = (uint32_t)omp_get_max_threads();
#else
    snprintf(out->driver, sizeof out->driver, "single thread, %s",
             dmx_cpu_blas_present() ? "BLAS" : "no BLAS: plain GEMM");
    out->compute_units = 1;
#endif
    out->type = DMX_DEVICE_CPU;
    out->memory_bytes = host_memory_bytes();
    out->max_alloc_bytes = out->memory_bytes;
    out->max_binding_bytes = out->memory_bytes;
    out->max_workgroup_size = 1;
}

static dmx_status cpu_device_info(int index, dmx_device_info *out)
{
    (void)index;
    dmx_cpu_host_fill_info(out, "CPU reference (plain kernels, the parity arbiter)");
    return DMX_OK;
}

dmx_status dmx_cpu_host_device_open(dmx_device *dev)
{
    dev->impl = NULL;
    return DMX_OK;
}

void dmx_cpu_host_device_close(dmx_device *dev) { (void)dev; }

dmx_status dmx_cpu_host_buffer_alloc(dmx_buffer *buf)
{
    /* 64-byte alignment for SIMD; size rounded up as aligned_alloc requires. */
    size_t size = (buf->size + 63) & ~(size_t)63;
    buf->impl = aligned_alloc(64, size);
    if (!buf->impl)
        return dmx_fail(DMX_ERR_OUT_OF_MEMORY, "out of host memory (%zu bytes)", buf->size);
    return DMX_OK;
}

void dmx_cpu_host_buffer_free(dmx_buffer *buf) { free(buf->impl); }

dmx_status dmx_cpu_host_buffer_write(dmx_buffer *buf, size_t offset, const void *src, size_t n)
{
    memcpy((char *)buf->impl + offset, src, n);
    return DMX_OK;
}

dmx_status dmx_cpu_host_buffer_read(dmx_buffer *buf, size_t offset, void *dst, size_t n)
{
    memcpy(dst, (const char *)buf->impl + offset, n);
    return DMX_OK;
}

dmx_status dmx_cpu_host_buffer_copy(dmx_buffer *src, size_t so, dmx_buffer *dst, size_t doff,
                                    size_t n)
{
    memmove((char *)dst->impl + doff, (const char *)src->impl + so, n);
    return DMX_OK;
}

dmx_status dmx_cpu_host_sync(dmx_device *dev)
{
    (void)dev;
    return DMX_OK;
}

const dmx_backend dmx_cpu_ref_backend = {
    .name = "cpu-ref",
    .kind = DMX_BACKEND_CPU,
    .init = dmx_cpu_host_init,
    .device_count = dmx_cpu_host_device_count,
    .why_none = dmx_cpu_host_why_none,
    .device_info = cpu_device_info,
    .device_open = dmx_cpu_host_device_open,
    .device_close = dmx_cpu_host_device_close,
    .buffer_alloc = dmx_cpu_host_buffer_alloc,
    .buffer_free = dmx_cpu_host_buffer_free,
    .buffer_write = dmx_cpu_host_buffer_write,
    .buffer_read = dmx_cpu_host_buffer_read,
    .buffer_copy = dmx_cpu_host_buffer_copy,
    .sync = dmx_cpu_host_sync,
    .supports = NULL,
    .concurrent_calls = true,
    .ops = dmx_cpu_ref_ops,
};
