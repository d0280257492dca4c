/* The device registry: every device of every compiled-in backend, named "cpu" (fast kernels),
 * "cpu-ref" (the reference), "opencl:N", "vulkan:N"; opening by name; and the buffer front door. */
#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/error.h"
#include "device/backend.h"

extern const dmx_backend dmx_cpu_fast_backend;
extern const dmx_backend dmx_cpu_ref_backend;
#ifdef DMX_HAVE_OPENCL
extern const dmx_backend dmx_opencl_backend;
#endif
#ifdef DMX_HAVE_VULKAN
extern const dmx_backend dmx_vulkan_backend;
#endif

/* The fast CPU device first: with no GPU, "auto" resolves to index 0. */
const dmx_backend *const dmx_backends[] = {
    &dmx_cpu_fast_backend,
    &dmx_cpu_ref_backend,
#ifdef DMX_HAVE_OPENCL
    &dmx_opencl_backend,
#endif
#ifdef DMX_HAVE_VULKAN
    &dmx_vulkan_backend,
#endif
    NULL,
};

#define DMX_MAX_BACKENDS 4

static pthread_once_t registry_once = PTHREAD_ONCE_INIT;
static int backend_ready[DMX_MAX_BACKENDS];
static char backend_init_error[DMX_MAX_BACKENDS][512];

static void registry_init(void)
{
    for (int b = 0; dmx_backends[b]; b++) {
        dmx_status s = dmx_backends[b]->init();
        backend_ready[b] = s == DMX_OK;
        if (s != DMX_OK)
            snprintf(backend_init_error[b], sizeof backend_init_error[b], "%s", dmx_last_error());
    }
    dmx_clear_error();
}

static int backend_device_count(int b)
{
    return backend_ready[b] ? dmx_backends[b]->device_count() : 0;
}

int dmx_device_count(void)
{
    pthread_once(&registry_once, registry_init);
    int n = 0;
    for (int b = 0; dmx_backends[b]; b++)
        n += backend_device_count(b);
    return n;
}

/* Maps a global index to (backend, index within it). */
static int locate(int index, int *local)
{
    pthread_once(&registry_once, registry_init);
    for (int b = 0; dmx_backends[b]; b++) {
        int n = backend_device_count(b);
        if (index < n) {
            *local = index;
            return b;
        }
        index -= n;
    }
    return -1;
}

dmx_status dmx_device_get_info(int index, dmx_device_info *out)
{
    int local = 0;
    int b = index >= 0 ? locate(index, &local) : -1;
    if (b < 0 || !out)
        return dmx_fail(DMX_ERR_INVALID_ARG, "device index %d out of range [0, %d)", index,
                        dmx_device_count());
    memset(out, 0, sizeof *out);
    DMX_TRY(dmx_backends[b]->device_info(local, out));
    if (dmx_backends[b]->kind == DMX_BACKEND_CPU) /* one device each: "cpu", "cpu-ref" */
        snprintf(out->name, sizeof out->name, "%s", dmx_backends[b]->name);
    else
        snprintf(out->name, sizeof out->name, "%s:%d", dmx_backends[b]->name, local);
    out->backend = dmx_backends[b]->kind;
    return DMX_OK;
}

const char *dmx_backend_why_none(dmx_backend_kind kind)
{
    pthread_once(&registry_once, registry_init);
    for (int b = 0; dmx_backends[b]; b++) {
        if (dmx_backends[b]->kind != kind)
            continue;
        if (!backend_ready[b])
            return backend_init_error[b];
        return backend_device_count(b) > 0 ? "" : dmx_backends[b]->why_none();
    }
    return "not built into this dimix (configured off, or its SDK was missing at configure time)";
}

const char *dmx_backend_name(dmx_backend_kind kind)
{
    switch (kind) {
    case DMX_BACKEND_CPU: return "cpu";
    case DMX_BACKEND_OPENCL: return "opencl";
    case DMX_BACKEND_VULKAN: return "vulkan";
    }
    return "unknown";
}

const char *dmx_device_type_name(dmx_device_type type)
{
    switch (type) {
    case DMX_DEVICE_CPU: return "cpu";
    case DMX_DEVICE_GPU: return "gpu";
    case DMX_DEVICE_IGPU: return "igpu";
    case DMX_DEVICE_OTHER: return "other";
    }
    return "unknown";
}

/* Lists what exists, for "unknown device" messages. */
static void describe_devices(char *out, size_t cap)
{
    size_t len = 0;
    out[0] = '\0';
    int n = dmx_device_count();
    for (int i = 0; i < n && len < cap; i++) {
        dmx_device_info info;
        if (dmx_device_get_info(i, &info) == DMX_OK)
            len += (size_t)snprintf(out + len, cap - len, "%s%s", i ? ", " : "", info.name);
    }
    for (int b = 0; dmx_backends[b] && len < cap; b++)
        if (!backend_ready[b] || backend_device_count(b) == 0)
            len += (size_t)snprintf(out + len, cap - len, "; %s: none (%s)", dmx_backends[b]->name,
                                    backend_ready[b] ? dmx_backends[b]->why_none()
                                                     : backend_init_error[b]);
}

/* Whether `name` ("opencl:0") names a backend dimix knows but this build lacks. */
static bool backend_missing(const char *name)
{
    static const char *const known[] = {"opencl", "vulkan"};
    for (size_t k = 0; k < sizeof known / sizeof known[0]; k++) {
        size_t n = strlen(known[k]);
        if (strncmp(name, known[k], n) != 0 || name[n] != ':')
            continue;
        for (int b = 0; dmx_backends[b]; b++)
            if (strcmp(dmx_backends[b]->name, known[k]) == 0)
                return false;
        return true;
    }
    return false;
}

/* Resolves "auto": the first GPU (discrete before integrated), else the fast CPU device. */
static int resolve_auto(void)
{
    int n = dmx_device_count(), igpu = -1;
    for (int i = 0; i < n; i++) {
        dmx_device_info info;
        if (dmx_device_get_info(i, &info) != DMX_OK)
            continue;
        if (info.type == DMX_DEVICE_GPU)
            return i;
        if (info.type == DMX_DEVICE_IGPU && igpu < 0)
            igpu = i;
    }
    return igpu >= 0 ? igpu : 0;
}

static int resolve_name(const char *name)
{
    if (strcmp(name, "auto") == 0)
        return resolve_auto();
    int n = dmx_device_count();
    for (int i = 0; i < n; i++) {
        dmx_device_info info;
        if (dmx_device_get_info(i, &info) == DMX_OK && strcmp(info.name, name) == 0)
            return i;
    }
    return -1;
}

dmx_status dmx_device_open(const char *name, dmx_device **out)
{
    if (!out)
        return dmx_fail(DMX_ERR_INVALID_ARG, "dmx_device_open: out is NULL");
    *out = NULL;
    if (!name || !*name)
        name = getenv("DIMIX_DEVICE");
    if (!name || !*name)
        name = "auto";
    int index = resolve_name(name);
    if (index < 0 && backend_missing(name))
        return dmx_fail(DMX_ERR_NOT_FOUND,
                        "device '%s': this dimix was built without that backend (its driver "
                        "headers or libraries were missing at configure time)", name);
    if (index < 0) {
        char list[1024];
        describe_devices(list, sizeof list);
        return dmx_fail(DMX_ERR_NOT_FOUND,
                        "unknown device '%s' (names are cpu, cpu-ref, opencl:N, vulkan:N, "
                        "auto); "
                        "present: %s", name, list);
    }
    int local = 0;
    int b = locate(index, &local);
    dmx_device *dev = calloc(1, sizeof *dev);
    if (!dev)
        return dmx_fail(DMX_ERR_OUT_OF_MEMORY, "dmx_device_open: out of host memory");
    dev->backend = dmx_backends[b];
    dev->index = local;
    pthread_mutexattr_t attr;
    bool lock_made = pthread_mutexattr_init(&attr) == 0 &&
                     pthread_mutexattr_settype(&attr, PTHREAD_MUTEX_RECURSIVE) == 0 &&
                     pthread_mutex_init(&dev->lock, &attr) == 0;
    pthread_mutexattr_destroy(&attr);
    if (!lock_made) {
        free(dev);
        return dmx_fail(DMX_ERR_OUT_OF_MEMORY, "opening device %s: cannot create its lock", name);
    }
    dmx_status s = dmx_device_get_info(index, &dev->info);
    if (s == DMX_OK)
        s = dev->backend->device_open(dev);
    if (s != DMX_OK) {
        pthread_mutex_destroy(&dev->lock);
        free(dev);
        return dmx_fail_context(s, "opening device %s: ", name);
    }
    *out = dev;
    return DMX_OK;
}

void dmx_device_close(dmx_device *dev)
{
    if (!dev)
        return;
    dev->backend->device_close(dev);
    pthread_mutex_destroy(&dev->lock);
    free(dev);
}

bool dmx_device_call_begin(dmx_device *dev)
{
    if (dev->backend->concurrent_calls)
        return false;
    pthread_mutex_lock(&dev->lock);
    return true;
}

void dmx_device_call_end(dmx_device *dev, bool locked)
{
    if (locked)
        pthread_mutex_unlock(&dev->lock);
}

/* Counter updates from concurrent calls (CPU devices) must not lose increments. */
static void count(dmx_device *dev, uint64_t *counter, int64_t delta)
{
    pthread_mutex_lock(&dev->lock);
    *counter += (uint64_t)delta;
    pthread_mutex_unlock(&dev->lock);
}

void dmx_device_count_op(dmx_device *dev, uint64_t arg_bytes)
{
    pthread_mutex_lock(&dev->lock);
    dev->counters.ops++;
    dev->counters.op_bytes += arg_bytes;
    pthread_mutex_unlock(&dev->lock);
}

const dmx_device_info *dmx_device_info_of(const dmx_device *dev) { return dev ? &dev->info : NULL; }

void dmx_device_counters_get(const dmx_device *dev, dmx_device_counters *out)
{
    if (!out)
        return;
    *out = (dmx_device_counters){0};
    if (!dev)
        return;
    dmx_device *d = (dmx_device *)dev; /* the lock, not the device, changes */
    pthread_mutex_lock(&d->lock);
    *out = d->counters;
    pthread_mutex_unlock(&d->lock);
}

dmx_status dmx_device_sync(dmx_device *dev)
{
    if (!dev)
        return dmx_fail(DMX_ERR_INVALID_ARG, "dmx_device_sync: device is NULL");
    bool locked = dmx_device_call_begin(dev);
    dmx_status s = dev->backend->sync(dev);
    dmx_device_call_end(dev, locked);
    return s == DMX_OK ? s : dmx_fail_context(s, "%s: ", dev->info.name);
}

/* ---- buffers ---- */

dmx_status dmx_buffer_alloc(dmx_device *dev, size_t bytes, dmx_buffer **out)
{
    if (!dev || !out)
        return dmx_fail(DMX_ERR_INVALID_ARG, "dmx_buffer_alloc: NULL device or out");
    *out = NULL;
    if (bytes == 0)
        bytes = 4; /* a zero-size tensor still gets a valid handle */
    if (dev->info.max_alloc_bytes && bytes > dev->info.max_alloc_bytes)
        return dmx_fail(DMX_ERR_OUT_OF_MEMORY,
                        "%s: buffer of %zu bytes exceeds the device's largest allocation "
                        "(%llu bytes)", dev->info.name, bytes,
                        (unsigned long long)dev->info.max_alloc_bytes);
    dmx_buffer *buf = calloc(1, sizeof *buf);
    if (!buf)
        return dmx_fail(DMX_ERR_OUT_OF_MEMORY, "dmx_buffer_alloc: out of host memory");
    buf->dev = dev;
    buf->size = bytes;
    bool locked = dmx_device_call_begin(dev);
    dmx_status s = dev->backend->buffer_alloc(buf);
    dmx_device_call_end(dev, locked);
    if (s != DMX_OK) {
        free(buf);
        return dmx_fail_context(s, "%s: allocating %zu bytes: ", dev->info.name, bytes);
    }
    pthread_mutex_lock(&dev->lock);
    dev->counters.buffers++;
    dev->counters.buffer_bytes += bytes;
    pthread_mutex_unlock(&dev->lock);
    *out = buf;
    return DMX_OK;
}

void dmx_buffer_free(dmx_buffer *buf)
{
    if (!buf)
        return;
    dmx_device *dev = buf->dev;
    bool locked = dmx_device_call_begin(dev);
    dev->backend->buffer_free(buf);
    dmx_device_call_end(dev, locked);
    pthread_mutex_lock(&dev->lock);
    dev->counters.buffers--;
    dev->counters.buffer_bytes -= buf->size;
    pthread_mutex_unlock(&dev->lock);
    free(buf);
}

size_t dmx_buffer_size(const dmx_buffer *buf) { return buf ? buf->size : 0; }

dmx_device *dmx_buffer_device(const dmx_buffer *buf) { return buf ? buf->dev : NULL; }

static dmx_status check_range(const char *what, const dmx_buffer *buf, size_t offset, size_t bytes)
{
    if (!buf)
        return dmx_fail(DMX_ERR_INVALID_ARG, "%s: buffer is NULL", what);
    if (offset > buf->size || bytes > buf->size - offset)
        return dmx_fail(DMX_ERR_INVALID_ARG,
                        "%s: range [%zu, %zu) outside the buffer of %zu bytes on %s", what, offset,
                        offset + bytes, buf->size, buf->dev->info.name);
    return DMX_OK;
}

dmx_status dmx_buffer_write(dmx_buffer *buf, size_t offset, const void *src, size_t bytes)
{
    DMX_TRY(check_range("dmx_buffer_write", buf, offset, bytes));
    if (bytes == 0)
        return DMX_OK;
    if (!src)
        return dmx_fail(DMX_ERR_INVALID_ARG, "dmx_buffer_write: source is NULL");
    if (buf->plan) {
        dmx_plan_note_range(buf, offset, bytes);
        return DMX_OK;
    }
    count(buf->dev, &buf->dev->counters.writes, 1);
    count(buf->dev, &buf->dev->counters.write_bytes, (int64_t)bytes);
    bool locked = dmx_device_call_begin(buf->dev);
    dmx_status s = buf->dev->backend->buffer_write(buf, offset, src, bytes);
    dmx_device_call_end(buf->dev, locked);
    return s == DMX_OK ? s : dmx_fail_context(s, "%s: buffer write: ", buf->dev->info.name);
}

dmx_status dmx_buffer_read(dmx_buffer *buf, size_t offset, void *dst, size_t bytes)
{
    DMX_TRY(check_range("dmx_buffer_read", buf, offset, bytes));
    if (bytes == 0)
        return DMX_OK;
    if (!dst)
        return dmx_fail(DMX_ERR_INVALID_ARG, "dmx_buffer_read: destination is NULL");
    if (buf->plan) {
        /* A planning pass has no values: it reads ones (1.0f), so host code that divides by
         * what it reads (a spectral norm's sigma) stays finite. Shapes never depend on it. */
        dmx_plan_note_range(buf, offset, bytes);
        const float one = 1.0f;
        for (size_t i = 0; i + 4 <= bytes; i += 4)
            memcpy((unsigned char *)dst + i, &one, 4);
        return DMX_OK;
    }
    count(buf->dev, &buf->dev->counters.reads, 1);
    count(buf->dev, &buf->dev->counters.read_bytes, (int64_t)bytes);
    bool locked = dmx_device_call_begin(buf->dev);
    dmx_status s = buf->dev->backend->buffer_read(buf, offset, dst, bytes);
    dmx_device_call_end(buf->dev, locked);
    return s == DMX_OK ? s : dmx_fail_context(s, "%s: buffer read: ", buf->dev->info.name);
}

dmx_status dmx_buffer_copy(dmx_buffer *src, size_t src_offset, dmx_buffer *dst, size_t dst_offset,
                           size_t bytes)
{
    DMX_TRY(check_range("dmx_buffer_copy (source)", src, src_offset, bytes));
    DMX_TRY(check_range("dmx_buffer_copy (destination)", dst, dst_offset, bytes));
    if (src->dev != dst->dev)
        return dmx_fail(DMX_ERR_INVALID_ARG,
                        "dmx_buffer_copy: buffers on different devices (%s, %s); read to the host "
                        "and write instead", src->dev->info.name, dst->dev->info.name);
    if (bytes == 0)
        return DMX_OK;
    if (src->plan || dst->plan) {
        if (src->plan)
            dmx_plan_note_range(src, src_offset, bytes);
        if (dst->plan)
            dmx_plan_note_range(dst, dst_offset, bytes);
        return DMX_OK;
    }
    bool locked = dmx_device_call_begin(src->dev);
    dmx_status s = src->dev->backend->buffer_copy(src, src_offset, dst, dst_offset, bytes);
    dmx_device_call_end(src->dev, locked);
    return s == DMX_OK ? s : dmx_fail_context(s, "%s: buffer copy: ", src->dev->info.name);
}

dmx_status dmx_buffer_fill(dmx_buffer *buf, size_t offset, size_t bytes, uint32_t pattern)
{
    DMX_TRY(check_range("dmx_buffer_fill", buf, offset, bytes));
    if (offset % 4 || bytes % 4)
        return dmx_fail(DMX_ERR_INVALID_ARG,
                        "dmx_buffer_fill: offset %zu and size %zu must be multiples of 4", offset,
                        bytes);
    if (bytes / 4 > INT32_MAX)
        return dmx_fail(DMX_ERR_INVALID_ARG, "dmx_buffer_fill: %zu bytes is too many", bytes);
    if (bytes == 0)
        return DMX_OK;
    dmx_p_fill p = {.n = (int32_t)(bytes / 4), .bits = pattern};
    dmx_op_call call = {.op = DMX_OP_FILL, .params = &p};
    call.args[0] = (dmx_arg){buf, offset / 4, bytes / 4};
    return dmx_op_run(buf->dev, &call);
}
