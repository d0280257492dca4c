/* The OpenCL backend: every device of every platform ("opencl:N" in platform order), one
 * context and one in-order queue per opened device, buffers as cl_mem. */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "opencl/cl_ops.h"

#define DMX_CL_MAX_DEVICES 64
#define DMX_CL_PLATFORM_NOT_FOUND_KHR (-1001)

typedef struct dmx_cl_entry {
    cl_platform_id platform;
    cl_device_id device;
} dmx_cl_entry;

static dmx_cl_entry cl_entries[DMX_CL_MAX_DEVICES];
static int cl_entry_count;
static char cl_why_none_text[512];

/* Devices open now. CLBlast caches compiled GEMM programs per context and keeps them (and so
 * the contexts) alive; when the last device closes those entries are dead, so they go. */
static pthread_mutex_t open_lock = PTHREAD_MUTEX_INITIALIZER;
static int open_devices;

static const dmx_op_fn cl_ops[DMX_OP_COUNT] = {
#define DMX_OP(id, name, n_in, n_out, opt, ptype) [DMX_OP_##id] = dmx_cl_##name,
#include "ops/ops.def"
#undef DMX_OP
};

/* ---- enumeration ---- */

static void platform_string(cl_platform_id p, cl_platform_info what, char *out, size_t cap)
{
    out[0] = '\0';
    if (clGetPlatformInfo(p, what, cap, out, NULL) != CL_SUCCESS)
        snprintf(out, cap, "?");
    out[cap - 1] = '\0';
}

static void device_string(cl_device_id d, cl_device_info what, char *out, size_t cap)
{
    out[0] = '\0';
    if (clGetDeviceInfo(d, what, cap, out, NULL) != CL_SUCCESS)
        snprintf(out, cap, "?");
    out[cap - 1] = '\0';
}

static void add_platform_devices(cl_platform_id platform, size_t *empty_len)
{
    cl_uint n = 0;
    cl_int err = clGetDeviceIDs(platform, CL_DEVICE_TYPE_ALL, 0, NULL, &n);
    if (err != CL_SUCCESS || n == 0) {
        char name[128];
        platform_string(platform, CL_PLATFORM_NAME, name, sizeof name);
        *empty_len += (size_t)snprintf(cl_why_none_text + *empty_len,
                                       *empty_len < sizeof cl_why_none_text
                                           ? sizeof cl_why_none_text - *empty_len : 0,
                                       "%splatform '%s' has no devices (%s)",
                                       *empty_len ? "; " : "", name, dmx_cl_error_name(err));
        return;
    }
    cl_device_id ids[DMX_CL_MAX_DEVICES];
    if (n > DMX_CL_MAX_DEVICES)
        n = DMX_CL_MAX_DEVICES;
    if (clGetDeviceIDs(platform, CL_DEVICE_TYPE_ALL, n, ids, NULL) != CL_SUCCESS)
        return;
    for (cl_uint i = 0; i < n && cl_entry_count < DMX_CL_MAX_DEVICES; i++)
        cl_entries[cl_entry_count++] = (dmx_cl_entry){platform, ids[i]};
}

/* No platform or no ICD is not an error: the backend has 0 devices and says why. */
static dmx_status opencl_init(void)
{
    if (!dmx_cl_api_load(cl_why_none_text, sizeof cl_why_none_text))
        return DMX_OK;
    cl_uint n_platforms = 0;
    cl_int err = clGetPlatformIDs(0, NULL, &n_platforms);
    if (err != CL_SUCCESS || n_platforms == 0) {
        snprintf(cl_why_none_text, sizeof cl_why_none_text,
                 "no OpenCL platform found (%s): install an OpenCL driver (an ICD such as "
                 "pocl-opencl-icd or the GPU vendor's) and check /etc/OpenCL/vendors or "
                 "OCL_ICD_VENDORS",
                 err == CL_SUCCESS ? "0 platforms" : dmx_cl_error_name(err));
        return DMX_OK;
    }
    cl_platform_id platforms[16];
    if (n_platforms > 16)
        n_platforms = 16;
    err = clGetPlatformIDs(n_platforms, platforms, NULL);
    if (err != CL_SUCCESS) {
        snprintf(cl_why_none_text, sizeof cl_why_none_text, "clGetPlatformIDs failed: %s (%d)",
                 dmx_cl_error_name(err), (int)err);
        return DMX_OK;
    }
    size_t why_len = 0;
    for (cl_uint p = 0; p < n_platforms; p++)
        add_platform_devices(platforms[p], &why_len);
    return DMX_OK;
}

static int opencl_device_count(void) { return cl_entry_count; }

static const char *opencl_why_none(void)
{
    return cl_why_none_text[0] ? cl_why_none_text : "no OpenCL device found";
}

static bool platform_is(cl_platform_id p, const char *needle)
{
    char text[256];
    platform_string(p, CL_PLATFORM_NAME, text, sizeof text);
    if (strstr(text, needle))
        return true;
    platform_string(p, CL_PLATFORM_VENDOR, text, sizeof text);
    return strstr(text, needle) != NULL;
}

static dmx_device_type device_type_of(cl_device_id d)
{
    cl_device_type type = 0;
    cl_bool unified = CL_FALSE;
    clGetDeviceInfo(d, CL_DEVICE_TYPE, sizeof type, &type, NULL);
    if (type & CL_DEVICE_TYPE_GPU) {
        clGetDeviceInfo(d, CL_DEVICE_HOST_UNIFIED_MEMORY, sizeof unified, &unified, NULL);
        return unified ? DMX_DEVICE_IGPU : DMX_DEVICE_GPU;
    }
    return type & CL_DEVICE_TYPE_CPU ? DMX_DEVICE_CPU : DMX_DEVICE_OTHER;
}

/* The SIMD width where the vendor reports it (NVIDIA warp, AMD wavefront); 0 otherwise. */
static uint32_t subgroup_size_of(cl_device_id d)
{
    char ext[4096];
    device_string(d, CL_DEVICE_EXTENSIONS, ext, sizeof ext);
    cl_uint width = 0;
    if (strstr(ext, "cl_nv_device_attribute_query"))
        clGetDeviceInfo(d, 0x4003 /* CL_DEVICE_WARP_SIZE_NV */, sizeof width, &width, NULL);
    else if (strstr(ext, "cl_amd_device_attribute_query"))
        clGetDeviceInfo(d, 0x4043 /* CL_DEVICE_WAVEFRONT_WIDTH_AMD */, sizeof width, &width, NULL);
    return width;
}

static dmx_status opencl_device_info(int index, dmx_device_info *out)
{
    if (index < 0 || index >= cl_entry_count)
        return dmx_fail(DMX_ERR_INVALID_ARG, "opencl device %d out of range", index);
    cl_device_id d = cl_entries[index].device;
    cl_platform_id p = cl_entries[index].platform;
    char driver[64], version[128], platform_name[64];
    device_string(d, CL_DEVICE_NAME, out->description, sizeof out->description);
    device_string(d, CL_DEVICE_VENDOR, out->vendor, sizeof out->vendor);
    device_string(d, CL_DRIVER_VERSION, driver, sizeof driver);
    device_string(d, CL_DEVICE_VERSION, version, sizeof version);
    platform_string(p, CL_PLATFORM_NAME, platform_name, sizeof platform_name);
    snprintf(out->driver, sizeof out->driver, "%s %s; %s", platform_name, driver, version);
    out->type = device_type_of(d);
    cl_ulong mem = 0, max_alloc = 0, local = 0;
    size_t wg = 0;
    cl_uint units = 0;
    clGetDeviceInfo(d, CL_DEVICE_GLOBAL_MEM_SIZE, sizeof mem, &mem, NULL);
    clGetDeviceInfo(d, CL_DEVICE_MAX_MEM_ALLOC_SIZE, sizeof max_alloc, &max_alloc, NULL);
    clGetDeviceInfo(d, CL_DEVICE_LOCAL_MEM_SIZE, sizeof local, &local, NULL);
    clGetDeviceInfo(d, CL_DEVICE_MAX_WORK_GROUP_SIZE, sizeof wg, &wg, NULL);
    clGetDeviceInfo(d, CL_DEVICE_MAX_COMPUTE_UNITS, sizeof units, &units, NULL);
    out->memory_bytes = mem;
    out->max_alloc_bytes = max_alloc;
    out->max_binding_bytes = max_alloc;
    out->max_workgroup_size = (uint32_t)wg;
    out->shared_memory_bytes = (uint32_t)local;
    out->compute_units = units;
    out->subgroup_size = subgroup_size_of(d);
    out->quirks = platform_is(p, "Portable Computing Language") ? DMX_QUIRK_SLOW_COMPILE : 0;
    return DMX_OK;
}

/* ---- devices ---- */

static bool env_flag(const char *name, bool fallback)
{
    const char *v = getenv(name);
    if (!v || !*v)
        return fallback;
    return !(strcmp(v, "0") == 0 || strcmp(v, "off") == 0 || strcmp(v, "no") == 0);
}

/* The kernels need DMX_CL_WG work-items per group and a few KiB of local memory. */
static dmx_status check_limits(const dmx_cl_device *cd, const dmx_device_info *info)
{
    if (info->max_workgroup_size < DMX_CL_WG)
        return dmx_fail(DMX_ERR_UNSUPPORTED,
                        "%s: work-groups of %d work-items are needed, the device allows %u",
                        cd->label, DMX_CL_WG, info->max_workgroup_size);
    if (info->shared_memory_bytes < 24 * 1024)
        return dmx_fail(DMX_ERR_UNSUPPORTED,
                        "%s: 24 KiB of local memory are needed, the device has %u bytes",
                        cd->label, info->shared_memory_bytes);
    cl_bool compiler = CL_FALSE;
    clGetDeviceInfo(cd->device, CL_DEVICE_COMPILER_AVAILABLE, sizeof compiler, &compiler, NULL);
    if (!compiler)
        return dmx_fail(DMX_ERR_UNSUPPORTED, "%s: the driver has no OpenCL C compiler", cd->label);
    return DMX_OK;
}

static void opencl_device_close(dmx_device *dev)
{
    dmx_cl_device *cd = dmx_cl_dev(dev);
    if (!cd)
        return;
    if (cd->queue)
        clFinish(cd->queue);
    if (cd->profile)
        dmx_cl_profile_report(cd);
    dmx_cl_release_programs(cd);
    if (cd->scratch)
        clReleaseMemObject(cd->scratch);
    if (cd->queue)
        clReleaseCommandQueue(cd->queue);
    if (cd->context)
        clReleaseContext(cd->context);
    bool was_open = cd->counted_open;
    free(cd);
    dev->impl = NULL;
    if (was_open) {
        pthread_mutex_lock(&open_lock);
        if (--open_devices == 0 && dmx_cl_clblast_load())
            CLBlastClearCache();
        pthread_mutex_unlock(&open_lock);
    }
}

static dmx_status opencl_device_open(dmx_device *dev)
{
    if (dev->index < 0 || dev->index >= cl_entry_count)
        return dmx_fail(DMX_ERR_INVALID_ARG, "opencl device %d out of range", dev->index);
    dmx_cl_device *cd = calloc(1, sizeof *cd);
    if (!cd)
        return dmx_fail(DMX_ERR_OUT_OF_MEMORY, "opening %s: out of host memory", dev->info.name);
    dev->impl = cd;
    cd->platform = cl_entries[dev->index].platform;
    cd->device = cl_entries[dev->index].device;
    cd->is_pocl = platform_is(cd->platform, "Portable Computing Language");
    cd->sync_each_op = env_flag("DIMIX_OPENCL_SYNC", false);
    cd->profile = env_flag("DIMIX_OPENCL_PROFILE", false);
    cd->use_clblast = env_flag("DIMIX_OPENCL_CLBLAST", true) && dmx_cl_clblast_load();
    snprintf(cd->label, sizeof cd->label, "%s (%s)", dev->info.name, dev->info.description);
    dmx_status s = check_limits(cd, &dev->info);
    cl_int err = CL_SUCCESS;
    if (s == DMX_OK) {
        cl_context_properties props[] = {CL_CONTEXT_PLATFORM, (cl_context_properties)cd->platform,
                                         0};
        cd->context = clCreateContext(props, 1, &cd->device, NULL, NULL, &err);
        if (err != CL_SUCCESS)
            s = dmx_cl_fail(cd, err, "clCreateContext");
    }
    if (s == DMX_OK) {
        cd->queue = clCreateCommandQueue(cd->context, cd->device,
                                         cd->profile ? CL_QUEUE_PROFILING_ENABLE : 0, &err);
        if (err != CL_SUCCESS)
            s = dmx_cl_fail(cd, err, "clCreateCommandQueue");
    }
    if (s == DMX_OK) {
        pthread_mutex_lock(&open_lock);
        open_devices++;
        cd->counted_open = true;
        pthread_mutex_unlock(&open_lock);
        s = dmx_cl_build_all(cd);
    }
    if (s != DMX_OK)
        opencl_device_close(dev);
    return s;
}

/* ---- buffers ---- */

static dmx_status opencl_buffer_alloc(dmx_buffer *buf)
{
    dmx_cl_device *cd = dmx_cl_dev(buf->dev);
    cl_int err = CL_SUCCESS;
    cl_mem mem = clCreateBuffer(cd->context, CL_MEM_READ_WRITE, buf->size, NULL, &err);
    if (err != CL_SUCCESS)
        return dmx_cl_fail(cd, err, "clCreateBuffer of %zu bytes", buf->size);
    buf->impl = mem;
    return DMX_OK;
}

static void opencl_buffer_free(dmx_buffer *buf)
{
    if (buf->impl)
        clReleaseMemObject((cl_mem)buf->impl);
}

/* A deferred failure (a kernel that failed while running) surfaces at the next wait; the
 * message names the op queued last, and DIMIX_OPENCL_SYNC=1 pins it to the exact op. */
static dmx_status wait_failed(dmx_cl_device *cd, cl_int err, const char *what)
{
    return dmx_cl_fail(cd, err, "%s (work queued up to op %s failed; DIMIX_OPENCL_SYNC=1 "
                       "waits after every op to find the one)", what,
                       cd->last_op ? cd->last_op : "none");
}

static dmx_status opencl_buffer_write(dmx_buffer *buf, size_t offset, const void *src, size_t n)
{
    dmx_cl_device *cd = dmx_cl_dev(buf->dev);
    /* Blocking: the caller may reuse `src` as soon as this returns. */
    cl_int err = clEnqueueWriteBuffer(cd->queue, (cl_mem)buf->impl, CL_TRUE, offset, n, src, 0,
                                      NULL, NULL);
    return err == CL_SUCCESS ? DMX_OK : wait_failed(cd, err, "clEnqueueWriteBuffer");
}

static dmx_status opencl_buffer_read(dmx_buffer *buf, size_t offset, void *dst, size_t n)
{
    dmx_cl_device *cd = dmx_cl_dev(buf->dev);
    cl_int err = clEnqueueReadBuffer(cd->queue, (cl_mem)buf->impl, CL_TRUE, offset, n, dst, 0,
                                     NULL, NULL);
    return err == CL_SUCCESS ? DMX_OK : wait_failed(cd, err, "clEnqueueReadBuffer");
}

static dmx_status opencl_buffer_copy(dmx_buffer *src, size_t so, dmx_buffer *dst, size_t doff,
                                     size_t n)
{
    dmx_cl_device *cd = dmx_cl_dev(src->dev);
    cl_mem s = (cl_mem)src->impl, d = (cl_mem)dst->impl;
    cl_int err;
    if (s == d && so < doff + n && doff < so + n) {
        /* OpenCL forbids overlapping copies within one buffer: go through scratch. */
        cl_mem tmp = NULL;
        DMX_TRY(dmx_cl_scratch(cd, n, &tmp));
        err = clEnqueueCopyBuffer(cd->queue, s, tmp, so, 0, n, 0, NULL, NULL);
        if (err == CL_SUCCESS)
            err = clEnqueueCopyBuffer(cd->queue, tmp, d, 0, doff, n, 0, NULL, NULL);
    } else {
        err = clEnqueueCopyBuffer(cd->queue, s, d, so, doff, n, 0, NULL, NULL);
    }
    return err == CL_SUCCESS ? DMX_OK : dmx_cl_fail(cd, err, "clEnqueueCopyBuffer");
}

static dmx_status opencl_sync(dmx_device *dev)
{
    dmx_cl_device *cd = dmx_cl_dev(dev);
    cl_int err = clFinish(cd->queue);
    return err == CL_SUCCESS ? DMX_OK : wait_failed(cd, err, "clFinish");
}

const dmx_backend dmx_opencl_backend = {
    .name = "opencl",
    .kind = DMX_BACKEND_OPENCL,
    .init = opencl_init,
    .device_count = opencl_device_count,
    .why_none = opencl_why_none,
    .device_info = opencl_device_info,
    .device_open = opencl_device_open,
    .device_close = opencl_device_close,
    .buffer_alloc = opencl_buffer_alloc,
    .buffer_free = opencl_buffer_free,
    .buffer_write = opencl_buffer_write,
    .buffer_read = opencl_buffer_read,
    .buffer_copy = opencl_buffer_copy,
    .sync = opencl_sync,
    .supports = NULL,
    .ops = cl_ops,
};
