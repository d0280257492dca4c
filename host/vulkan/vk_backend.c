/* The Vulkan backend's entry in the device registry (host/device/backend.h). Every entry point
 * takes the device lock: pipelines are created lazily and frames rotate, so two threads on one
 * device must take turns. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "core/error.h"
#include "vulkan/vk_ops.h"

static dmx_status vk_init(void) { return dmx_vk_instance_init(); }
static int vk_device_count(void) { return dmx_vk_physical_count(); }
static const char *vk_why_none(void) { return dmx_vk_why_none(); }

static dmx_status vk_device_info(int index, dmx_device_info *out)
{
    const dmx_vk_physical *p = dmx_vk_physical_get(index);
    if (!p)
        return dmx_fail(DMX_ERR_INVALID_ARG, "no Vulkan device %d", index);
    *out = p->info;
    return DMX_OK;
}

static dmx_status vk_device_open(dmx_device *dev)
{
    dmx_vk_device *d = NULL;
    DMX_TRY(dmx_vk_device_create(dev, &d));
    dev->impl = d;
    return DMX_OK;
}

/* DIMIX_VK_PROFILE: one line per op that ran, slowest first, through the log (stderr by
 * default). */
static void print_profile(const dmx_device *dev, const dmx_vk_device *d)
{
    char heading[256];
    snprintf(heading, sizeof heading, "%s: time per op (DIMIX_VK_PROFILE)", dev->info.name);
    dmx_log_op_times(heading, d->op_seconds, d->op_calls, "calls");
}

static void vk_device_close(dmx_device *dev)
{
    if (dev->impl && dmx_vk_of(dev)->profile)
        print_profile(dev, dmx_vk_of(dev));
    dmx_vk_device_destroy(dev->impl);
    dev->impl = NULL;
}

static dmx_status vk_buffer_alloc(dmx_buffer *buf)
{
    dmx_vk_device *d = dmx_vk_of(buf->dev);
    dmx_vk_buffer *b = calloc(1, sizeof *b);
    if (!b)
        return dmx_fail(DMX_ERR_OUT_OF_MEMORY, "out of host memory");
    pthread_mutex_lock(&d->lock);
    dmx_status s = dmx_vk_check_health(d);
    if (s == DMX_OK)
        s = dmx_vk_buffer_create(d, &d->device_heap, buf->size, b);
    pthread_mutex_unlock(&d->lock);
    if (s != DMX_OK) {
        free(b);
        return s;
    }
    buf->impl = b;
    return DMX_OK;
}

static void vk_buffer_free(dmx_buffer *buf)
{
    dmx_vk_device *d = dmx_vk_of(buf->dev);
    dmx_vk_buffer *b = buf->impl;
    if (!b)
        return;
    pthread_mutex_lock(&d->lock);
    /* Recorded work may still use it (a lost device returns at once from the wait). */
    if (dmx_vk_buffer_busy(d, b) && (d->lost || dmx_vk_finish(d) != DMX_OK))
        dmx_vk.vkDeviceWaitIdle(d->handle);
    dmx_vk_buffer_destroy(d, b);
    pthread_mutex_unlock(&d->lock);
    free(b);
    buf->impl = NULL;
}

static dmx_status vk_buffer_write(dmx_buffer *buf, size_t offset, const void *src, size_t bytes)
{
    dmx_vk_device *d = dmx_vk_of(buf->dev);
    dmx_vk_buffer *b = buf->impl;
    pthread_mutex_lock(&d->lock);
    dmx_status s = dmx_vk_check_health(d);
    if (s == DMX_OK) {
        /* An idle mapped buffer is written in place; otherwise the write is recorded in order. */
        if (b->mem.map && !dmx_vk_buffer_busy(d, b))
            memcpy((char *)b->mem.map + offset, src, bytes);
        else
            s = dmx_vk_record_upload(d, b, offset, src, bytes);
    }
    pthread_mutex_unlock(&d->lock);
    return s;
}

static dmx_status vk_buffer_read(dmx_buffer *buf, size_t offset, void *dst, size_t bytes)
{
    dmx_vk_device *d = dmx_vk_of(buf->dev);
    pthread_mutex_lock(&d->lock);
    dmx_status s = dmx_vk_download(d, buf->impl, offset, dst, bytes);
    pthread_mutex_unlock(&d->lock);
    return s;
}

static dmx_status vk_buffer_copy(dmx_buffer *src, size_t so, dmx_buffer *dst, size_t doff,
                                 size_t n)
{
    dmx_vk_device *d = dmx_vk_of(src->dev);
    dmx_vk_buffer *s_buf = src->impl, *d_buf = dst->impl;
    pthread_mutex_lock(&d->lock);
    dmx_status s;
    if (s_buf == d_buf && so < doff + n && doff < so + n) {
        /* vkCmdCopyBuffer forbids overlap within a buffer: go through scratch (memmove). */
        dmx_vk_buffer *tmp = NULL;
        s = dmx_vk_scratch(d, n, &tmp);
        if (s == DMX_OK)
            s = dmx_vk_record_copy(d, s_buf, so, tmp, 0, n);
        if (s == DMX_OK)
            s = dmx_vk_record_copy(d, tmp, 0, d_buf, doff, n);
    } else {
        s = dmx_vk_record_copy(d, s_buf, so, d_buf, doff, n);
    }
    pthread_mutex_unlock(&d->lock);
    return s;
}

static dmx_status vk_sync(dmx_device *dev)
{
    dmx_vk_device *d = dmx_vk_of(dev);
    pthread_mutex_lock(&d->lock);
    dmx_status s = dmx_vk_check_health(d);
    if (s == DMX_OK)
        s = dmx_vk_finish(d);
    if (s == DMX_OK)
        s = dmx_vk_check_health(d);
    pthread_mutex_unlock(&d->lock);
    return s;
}

typedef dmx_status (*vk_op_fn)(dmx_vk_device *d, const dmx_op_call *call);

static const vk_op_fn vk_ops[DMX_OP_COUNT] = {
#define DMX_OP(id, name, n_in, n_out, opt, ptype) [DMX_OP_##id] = dmx_vk_##name,
#include "ops/ops.def"
#undef DMX_OP
};

static double now_seconds(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + 1e-9 * (double)t.tv_nsec;
}

static dmx_status vk_run_op(dmx_device *dev, const dmx_op_call *call)
{
    dmx_vk_device *d = dmx_vk_of(dev);
    pthread_mutex_lock(&d->lock);
    dmx_status s = dmx_vk_check_health(d);
    if (s == DMX_OK && d->profile) {
        /* Profiling: drain what came before, then time this op to completion. */
        s = dmx_vk_finish(d);
        double t0 = now_seconds();
        if (s == DMX_OK)
            s = vk_ops[call->op](d, call);
        if (s == DMX_OK)
            s = dmx_vk_finish(d);
        d->op_seconds[call->op] += now_seconds() - t0;
        d->op_calls[call->op]++;
    } else if (s == DMX_OK) {
        s = vk_ops[call->op](d, call);
    }
    pthread_mutex_unlock(&d->lock);
    return s;
}

static const dmx_op_fn vk_op_table[DMX_OP_COUNT] = {
#define DMX_OP(id, name, n_in, n_out, opt, ptype) [DMX_OP_##id] = vk_run_op,
#include "ops/ops.def"
#undef DMX_OP
};

const dmx_backend dmx_vulkan_backend = {
    .name = "vulkan",
    .kind = DMX_BACKEND_VULKAN,
    .init = vk_init,
    .device_count = vk_device_count,
    .why_none = vk_why_none,
    .device_info = vk_device_info,
    .device_open = vk_device_open,
    .device_close = vk_device_close,
    .buffer_alloc = vk_buffer_alloc,
    .buffer_free = vk_buffer_free,
    .buffer_write = vk_buffer_write,
    .buffer_read = vk_buffer_read,
    .buffer_copy = vk_buffer_copy,
    .sync = vk_sync,
    .supports = NULL,
    .ops = vk_op_table,
};
