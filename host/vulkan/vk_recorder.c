/* Command recording. Ops are recorded into the current frame's command buffer; a barrier goes
 * in only where an access overlaps an earlier unsynchronised one on the same memory with a
 * write on either side (read after write, write after read, write after write). A frame is
 * submitted when it holds DMX_VK_BATCH dispatches, when the host reads, or at sync; while it
 * runs the next frame records. Descriptor sets come from the frame's pool, reset when the frame
 * is reused. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/error.h"
#include "vulkan/vk_internal.h"

#define DMX_VK_MAX_PENDING 4096         /* tracked accesses before a barrier is forced */
#define DMX_VK_STAGING_MIN (4u << 20)   /* per-frame staging buffer, grown on demand */
#define DMX_VK_STAGING_MAX (64u << 20)  /* larger transfers go in pieces */
#define DMX_VK_UPDATE_MAX 65536         /* vkCmdUpdateBuffer's limit */
#define DMX_VK_MAX_COMMANDS (4 * DMX_VK_BATCH) /* transfers too: a frame is submitted past it */

static const VkAccessFlags all_device_access =
    VK_ACCESS_SHADER_READ_BIT | VK_ACCESS_SHADER_WRITE_BIT | VK_ACCESS_TRANSFER_READ_BIT |
    VK_ACCESS_TRANSFER_WRITE_BIT;
static const VkPipelineStageFlags all_device_stages =
    VK_PIPELINE_STAGE_COMPUTE_SHADER_BIT | VK_PIPELINE_STAGE_TRANSFER_BIT;

dmx_status dmx_vk_fail(dmx_vk_device *d, VkResult r, const char *call)
{
    if (r == VK_ERROR_DEVICE_LOST && d)
        d->lost = true;
    return dmx_fail(dmx_vk_status_of(r), "%s failed: %s (%d)", call,
                    dmx_vk_result_name(r), (int)r);
}

dmx_status dmx_vk_check_health(dmx_vk_device *d)
{
    if (d->lost)
        return dmx_fail(DMX_ERR_DEVICE_LOST,
                        "the device was lost (VK_ERROR_DEVICE_LOST); its buffers are gone, "
                        "close it and open it again");
    uint32_t errors = dmx_vk_validation_errors();
    if (errors > d->validation_reported) {
        d->validation_reported = errors;
        return dmx_fail(DMX_ERR_BACKEND,
                        "the Vulkan validation layer reported %u error(s); the first: %s",
                        errors, dmx_vk_validation_first());
    }
    return DMX_OK;
}

bool dmx_vk_buffer_busy(const dmx_vk_device *d, const dmx_vk_buffer *b)
{
    return b->last_serial > d->completed_serial;
}

/* ---- frames ---- */

static dmx_status frame_wait(dmx_vk_device *d, dmx_vk_frame *f)
{
    if (!f->submitted)
        return DMX_OK;
    VkResult r = dmx_vk.vkWaitForFences(d->handle, 1, &f->fence, VK_TRUE, UINT64_MAX);
    if (r != VK_SUCCESS)
        return dmx_vk_fail(d, r, "vkWaitForFences");
    DMX_VK_CALL(d, dmx_vk.vkResetFences(d->handle, 1, &f->fence));
    f->submitted = false;
    if (f->serial > d->completed_serial)
        d->completed_serial = f->serial;
    return DMX_OK;
}

static dmx_status frame_open(dmx_vk_device *d, dmx_vk_frame **out)
{
    dmx_vk_frame *f = &d->frames[d->current];
    if (!f->open) {
        DMX_TRY(frame_wait(d, f));
        DMX_VK_CALL(d, dmx_vk.vkResetDescriptorPool(d->handle, f->pool, 0));
        DMX_VK_CALL(d, dmx_vk.vkResetCommandBuffer(f->cmd, 0));
        VkCommandBufferBeginInfo begin = {
            .sType = VK_STRUCTURE_TYPE_COMMAND_BUFFER_BEGIN_INFO,
            .flags = VK_COMMAND_BUFFER_USAGE_ONE_TIME_SUBMIT_BIT,
        };
        DMX_VK_CALL(d, dmx_vk.vkBeginCommandBuffer(f->cmd, &begin));
        f->open = true;
        f->serial = ++d->next_serial;
        f->sets = f->commands = 0;
        f->bound = VK_NULL_HANDLE;
        f->staging_used = 0;
    }
    *out = f;
    return DMX_OK;
}

/* The frame for a new piece of work: the open one, or (when it is full) the next. Never used
 * between taking staging space and recording the copy that uses it: both belong to one frame. */
static dmx_status frame_for_work(dmx_vk_device *d, dmx_vk_frame **out)
{
    dmx_vk_frame *f = &d->frames[d->current];
    if (f->open && (f->sets >= DMX_VK_BATCH || f->commands >= DMX_VK_MAX_COMMANDS))
        DMX_TRY(dmx_vk_submit(d));
    return frame_open(d, out);
}

static void record_barrier(dmx_vk_frame *f, VkPipelineStageFlags dst_stages, VkAccessFlags dst)
{
    VkMemoryBarrier barrier = {
        .sType = VK_STRUCTURE_TYPE_MEMORY_BARRIER,
        .srcAccessMask = VK_ACCESS_SHADER_WRITE_BIT | VK_ACCESS_TRANSFER_WRITE_BIT,
        .dstAccessMask = dst,
    };
    dmx_vk.vkCmdPipelineBarrier(f->cmd, all_device_stages, dst_stages, 0, 1, &barrier, 0, NULL, 0,
                                NULL);
}

dmx_status dmx_vk_submit(dmx_vk_device *d)
{
    dmx_vk_frame *f = &d->frames[d->current];
    if (!f->open || f->commands == 0)
        return DMX_OK;
    /* Device writes become visible to host reads once the fence has signalled. */
    record_barrier(f, VK_PIPELINE_STAGE_HOST_BIT, VK_ACCESS_HOST_READ_BIT | VK_ACCESS_HOST_WRITE_BIT);
    f->open = false;
    DMX_VK_CALL(d, dmx_vk.vkEndCommandBuffer(f->cmd));
    VkSubmitInfo submit = {
        .sType = VK_STRUCTURE_TYPE_SUBMIT_INFO,
        .commandBufferCount = 1,
        .pCommandBuffers = &f->cmd,
    };
    DMX_VK_CALL(d, dmx_vk.vkQueueSubmit(d->queue, 1, &submit, f->fence));
    f->submitted = true;
    d->current = (d->current + 1) % DMX_VK_FRAMES;
    return DMX_OK;
}

dmx_status dmx_vk_finish(dmx_vk_device *d)
{
    DMX_TRY(dmx_vk_submit(d));
    for (int i = 0; i < DMX_VK_FRAMES; i++)
        DMX_TRY(frame_wait(d, &d->frames[i]));
    return DMX_OK;
}

/* ---- hazards ---- */

static bool overlaps_pending(const dmx_vk_device *d, const dmx_vk_access *a)
{
    for (size_t i = 0; i < d->n_pending; i++) {
        const dmx_vk_access *p = &d->pending[i];
        if (p->mem == a->mem && p->begin < a->end && a->begin < p->end && (p->write || a->write))
            return true;
    }
    return false;
}

/* Orders `n` new accesses after everything they depend on, then remembers them. */
static dmx_status track(dmx_vk_device *d, dmx_vk_frame *f, const dmx_vk_access *acc, int n)
{
    bool hazard = d->n_pending + (size_t)n > DMX_VK_MAX_PENDING;
    for (int i = 0; i < n && !hazard; i++)
        hazard = overlaps_pending(d, &acc[i]);
    if (hazard) {
        record_barrier(f, all_device_stages, all_device_access);
        d->n_pending = 0;
    }
    if (d->n_pending + (size_t)n > d->cap_pending) {
        size_t cap = d->cap_pending ? d->cap_pending * 2 : 256;
        while (cap < d->n_pending + (size_t)n)
            cap *= 2;
        dmx_vk_access *grown = realloc(d->pending, cap * sizeof *grown);
        if (!grown)
            return dmx_fail(DMX_ERR_OUT_OF_MEMORY, "out of host memory");
        d->pending = grown;
        d->cap_pending = cap;
    }
    for (int i = 0; i < n; i++)
        if (acc[i].end > acc[i].begin)
            d->pending[d->n_pending++] = acc[i];
    return DMX_OK;
}

static dmx_vk_access access_of(const dmx_vk_buffer *b, VkDeviceSize offset, VkDeviceSize bytes,
                               bool write)
{
    return (dmx_vk_access){b->mem.handle, b->mem.offset + offset, b->mem.offset + offset + bytes,
                           write};
}

/* ---- dispatches ---- */

/* The descriptor for one binding and the element offset the shader adds (push word). */
static dmx_status describe_binding(dmx_vk_device *d, const char *shader, int index,
                                   const dmx_vk_binding *b, VkDescriptorBufferInfo *info,
                                   uint32_t *elem_offset)
{
    if (!b->buf || b->count == 0) {
        *info = (VkDescriptorBufferInfo){d->dummy.handle, 0, VK_WHOLE_SIZE};
        *elem_offset = 0;
        return DMX_OK;
    }
    VkDeviceSize start = (VkDeviceSize)b->offset * 4;
    VkDeviceSize base = start - start % d->offset_align;
    VkDeviceSize range = start + (VkDeviceSize)b->count * 4 - base;
    if (range > d->max_range)
        return dmx_fail(DMX_ERR_UNSUPPORTED,
                        "%s binding %d spans %.1f MiB, more than the device's "
                        "maxStorageBufferRange of %.1f MiB", shader, index,
                        (double)range / 1048576.0, (double)d->max_range / 1048576.0);
    *info = (VkDescriptorBufferInfo){b->buf->handle, base, range};
    *elem_offset = (uint32_t)((start - base) / 4);
    return DMX_OK;
}

static void fold_groups(const dmx_vk_device *d, uint64_t groups, uint32_t xyz[3])
{
    uint64_t x = groups < d->max_groups[0] ? groups : d->max_groups[0];
    uint64_t rest = (groups + x - 1) / x;
    uint64_t y = rest < d->max_groups[1] ? rest : d->max_groups[1];
    xyz[0] = (uint32_t)x;
    xyz[1] = (uint32_t)y;
    xyz[2] = (uint32_t)((rest + y - 1) / y);
}

static dmx_status bind_and_push(dmx_vk_device *d, dmx_vk_frame *f, VkPipeline pipe,
                                const VkDescriptorBufferInfo *infos, const uint32_t *push)
{
    VkDescriptorSetAllocateInfo alloc = {
        .sType = VK_STRUCTURE_TYPE_DESCRIPTOR_SET_ALLOCATE_INFO,
        .descriptorPool = f->pool,
        .descriptorSetCount = 1,
        .pSetLayouts = &d->set_layout,
    };
    VkDescriptorSet set;
    DMX_VK_CALL(d, dmx_vk.vkAllocateDescriptorSets(d->handle, &alloc, &set));
    VkWriteDescriptorSet write = {
        .sType = VK_STRUCTURE_TYPE_WRITE_DESCRIPTOR_SET,
        .dstSet = set,
        .dstBinding = 0,
        .descriptorCount = DMX_VK_BINDINGS,
        .descriptorType = VK_DESCRIPTOR_TYPE_STORAGE_BUFFER,
        .pBufferInfo = infos,
    };
    dmx_vk.vkUpdateDescriptorSets(d->handle, 1, &write, 0, NULL);
    if (f->bound != pipe) {
        dmx_vk.vkCmdBindPipeline(f->cmd, VK_PIPELINE_BIND_POINT_COMPUTE, pipe);
        f->bound = pipe;
    }
    dmx_vk.vkCmdBindDescriptorSets(f->cmd, VK_PIPELINE_BIND_POINT_COMPUTE, d->layout, 0, 1, &set,
                                   0, NULL);
    dmx_vk.vkCmdPushConstants(f->cmd, d->layout, VK_SHADER_STAGE_COMPUTE_BIT, 0,
                              DMX_VK_PUSH_BYTES, push);
    return DMX_OK;
}

dmx_status dmx_vk_dispatch(dmx_vk_device *d, const char *shader, const uint32_t *spec, int n_spec,
                           const dmx_vk_binding *bindings, int n_bindings, const void *params,
                           size_t params_bytes, uint64_t groups)
{
    if (groups == 0)
        return DMX_OK;
    if (n_bindings > DMX_VK_BINDINGS ||
        params_bytes > DMX_VK_PUSH_BYTES - DMX_VK_PUSH_OFFSETS * 4)
        return dmx_fail(DMX_ERR_INVALID_ARG, "%s: %d bindings and %zu bytes of parameters "
                        "do not fit", shader, n_bindings, params_bytes);
    DMX_TRY(dmx_vk_check_health(d));
    VkPipeline pipe;
    DMX_TRY(dmx_vk_pipeline_get(d, shader, spec, n_spec, &pipe));
    uint32_t push[DMX_VK_PUSH_BYTES / 4] = {0};
    VkDescriptorBufferInfo infos[DMX_VK_BINDINGS];
    dmx_vk_access acc[DMX_VK_BINDINGS];
    int n_acc = 0;
    for (int i = 0; i < DMX_VK_BINDINGS; i++) {
        dmx_vk_binding none = {0};
        const dmx_vk_binding *b = i < n_bindings ? &bindings[i] : &none;
        DMX_TRY(describe_binding(d, shader, i, b, &infos[i], &push[i]));
        if (b->buf && b->count && b->access)
            acc[n_acc++] = access_of(b->buf, (VkDeviceSize)b->offset * 4,
                                     (VkDeviceSize)b->count * 4, b->access & DMX_VK_WRITE);
    }
    memcpy(push + DMX_VK_PUSH_OFFSETS, params, params_bytes);
    uint32_t xyz[3];
    fold_groups(d, groups, xyz);
    if (xyz[2] > d->max_groups[2])
        return dmx_fail(DMX_ERR_UNSUPPORTED, "%s needs %llu workgroups, more than the device "
                        "can dispatch", shader, (unsigned long long)groups);
    dmx_vk_frame *f;
    DMX_TRY(frame_for_work(d, &f));
    DMX_TRY(track(d, f, acc, n_acc));
    DMX_TRY(bind_and_push(d, f, pipe, infos, push));
    dmx_vk.vkCmdDispatch(f->cmd, xyz[0], xyz[1], xyz[2]);
    f->sets++;
    f->commands++;
    for (int i = 0; i < n_bindings; i++)
        if (bindings[i].buf)
            bindings[i].buf->last_serial = f->serial;
    return DMX_OK;
}

/* ---- transfers ---- */

/* Records a copy into frame f (already open: see frame_for_work). */
static dmx_status copy_in_frame(dmx_vk_device *d, dmx_vk_frame *f, dmx_vk_buffer *src,
                                VkDeviceSize src_offset, dmx_vk_buffer *dst,
                                VkDeviceSize dst_offset, VkDeviceSize bytes)
{
    dmx_vk_access acc[2] = {access_of(src, src_offset, bytes, false),
                            access_of(dst, dst_offset, bytes, true)};
    DMX_TRY(track(d, f, acc, 2));
    VkBufferCopy region = {src_offset, dst_offset, bytes};
    dmx_vk.vkCmdCopyBuffer(f->cmd, src->handle, dst->handle, 1, &region);
    f->commands++;
    src->last_serial = dst->last_serial = f->serial;
    return DMX_OK;
}

dmx_status dmx_vk_record_copy(dmx_vk_device *d, dmx_vk_buffer *src, VkDeviceSize src_offset,
                              dmx_vk_buffer *dst, VkDeviceSize dst_offset, VkDeviceSize bytes)
{
    if (bytes == 0)
        return DMX_OK;
    DMX_TRY(dmx_vk_check_health(d));
    dmx_vk_frame *f;
    DMX_TRY(frame_for_work(d, &f));
    return copy_in_frame(d, f, src, src_offset, dst, dst_offset, bytes);
}

/* Room for `bytes` in the open frame's staging buffer (submitting the frame when it is full).
 * Returns the offset, or fails; `bytes` is at most DMX_VK_STAGING_MAX. */
static dmx_status staging_take(dmx_vk_device *d, VkDeviceSize bytes, dmx_vk_frame **out,
                               VkDeviceSize *offset)
{
    dmx_vk_frame *f = NULL;
    DMX_TRY(frame_for_work(d, &f));
    if (f->staging_used + bytes > f->staging.size && f->staging_used > 0) {
        DMX_TRY(dmx_vk_submit(d));
        DMX_TRY(frame_open(d, &f));
    }
    if (bytes > f->staging.size) { /* fresh frame: nothing uses its staging buffer */
        VkDeviceSize want = f->staging.size ? f->staging.size : DMX_VK_STAGING_MIN;
        while (want < bytes)
            want *= 2;
        dmx_vk_buffer_destroy(d, &f->staging);
        DMX_TRY(dmx_vk_buffer_create(d, &d->staging_heap, want, &f->staging));
    }
    *offset = f->staging_used;
    f->staging_used += (bytes + 15) & ~(VkDeviceSize)15;
    *out = f;
    return DMX_OK;
}

dmx_status dmx_vk_record_upload(dmx_vk_device *d, dmx_vk_buffer *dst, VkDeviceSize offset,
                                const void *src, VkDeviceSize bytes)
{
    DMX_TRY(dmx_vk_check_health(d));
    if (bytes <= DMX_VK_UPDATE_MAX && offset % 4 == 0 && bytes % 4 == 0) {
        /* Small writes travel inside the command buffer. */
        dmx_vk_frame *f;
        DMX_TRY(frame_for_work(d, &f));
        dmx_vk_access acc = access_of(dst, offset, bytes, true);
        DMX_TRY(track(d, f, &acc, 1));
        dmx_vk.vkCmdUpdateBuffer(f->cmd, dst->handle, offset, bytes, src);
        f->commands++;
        dst->last_serial = f->serial;
        return DMX_OK;
    }
    for (VkDeviceSize done = 0; done < bytes;) {
        VkDeviceSize piece = bytes - done < DMX_VK_STAGING_MAX ? bytes - done : DMX_VK_STAGING_MAX;
        dmx_vk_frame *f = NULL;
        VkDeviceSize at = 0;
        DMX_TRY(staging_take(d, piece, &f, &at));
        memcpy((char *)f->staging.mem.map + at, (const char *)src + done, piece);
        DMX_TRY(copy_in_frame(d, f, &f->staging, at, dst, offset + done, piece));
        done += piece;
    }
    return DMX_OK;
}

dmx_status dmx_vk_download(dmx_vk_device *d, dmx_vk_buffer *src, VkDeviceSize offset, void *dst,
                           VkDeviceSize bytes)
{
    DMX_TRY(dmx_vk_check_health(d));
    if (src->mem.map) {
        if (dmx_vk_buffer_busy(d, src))
            DMX_TRY(dmx_vk_finish(d));
        memcpy(dst, (const char *)src->mem.map + offset, bytes);
        return dmx_vk_check_health(d);
    }
    for (VkDeviceSize done = 0; done < bytes;) {
        VkDeviceSize piece = bytes - done < DMX_VK_STAGING_MAX ? bytes - done : DMX_VK_STAGING_MAX;
        dmx_vk_frame *f = NULL;
        VkDeviceSize at = 0;
        DMX_TRY(staging_take(d, piece, &f, &at));
        DMX_TRY(copy_in_frame(d, f, src, offset + done, &f->staging, at, piece));
        DMX_TRY(dmx_vk_finish(d));
        memcpy((char *)dst + done, (const char *)f->staging.mem.map + at, piece);
        done += piece;
    }
    return dmx_vk_check_health(d);
}

void dmx_vk_recorder_release(dmx_vk_device *d)
{
    free(d->pending);
    d->pending = NULL;
    d->n_pending = d->cap_pending = 0;
}
