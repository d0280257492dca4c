/* VkBuffers placed on sub-allocated memory, and the scratch buffer ops borrow for temporaries. */
#include <string.h>

#include "core/error.h"
#include "vulkan/vk_internal.h"

dmx_status dmx_vk_buffer_create(dmx_vk_device *d, dmx_vk_heap *heap, VkDeviceSize size,
                                dmx_vk_buffer *out)
{
    memset(out, 0, sizeof *out);
    /* Whole 16-byte words, so a range bound at an aligned-down offset never passes the end. */
    size = (size + 15) & ~(VkDeviceSize)15;
    VkBufferCreateInfo info = {
        .sType = VK_STRUCTURE_TYPE_BUFFER_CREATE_INFO,
        .size = size,
        .usage = VK_BUFFER_USAGE_STORAGE_BUFFER_BIT | VK_BUFFER_USAGE_TRANSFER_SRC_BIT |
                 VK_BUFFER_USAGE_TRANSFER_DST_BIT,
        .sharingMode = VK_SHARING_MODE_EXCLUSIVE,
    };
    DMX_VK_CALL(d, dmx_vk.vkCreateBuffer(d->handle, &info, NULL, &out->handle));
    VkMemoryRequirements req;
    dmx_vk.vkGetBufferMemoryRequirements(d->handle, out->handle, &req);
    dmx_status s = dmx_vk_memory_alloc(d, heap, &req, &out->mem);
    if (s == DMX_OK) {
        VkResult r = dmx_vk.vkBindBufferMemory(d->handle, out->handle, out->mem.handle,
                                               out->mem.offset);
        if (r != VK_SUCCESS) {
            dmx_vk_memory_free(d, heap, &out->mem);
            s = dmx_vk_fail(d, r, "vkBindBufferMemory");
        }
    }
    if (s != DMX_OK) {
        dmx_vk.vkDestroyBuffer(d->handle, out->handle, NULL);
        memset(out, 0, sizeof *out);
        return s;
    }
    out->size = size;
    out->heap = heap;
    return DMX_OK;
}

void dmx_vk_buffer_destroy(dmx_vk_device *d, dmx_vk_buffer *b)
{
    if (!b->handle)
        return;
    dmx_vk.vkDestroyBuffer(d->handle, b->handle, NULL);
    dmx_vk_memory_free(d, b->heap, &b->mem);
    memset(b, 0, sizeof *b);
}

dmx_status dmx_vk_scratch(dmx_vk_device *d, size_t bytes, dmx_vk_buffer **out)
{
    if (d->scratch.size < bytes) {
        /* Replacing it while recorded work still uses it would pull memory from under it. */
        if (d->scratch.handle && dmx_vk_buffer_busy(d, &d->scratch))
            DMX_TRY(dmx_vk_finish(d));
        dmx_vk_buffer_destroy(d, &d->scratch);
        size_t want = bytes < (1u << 20) ? (1u << 20) : bytes;
        DMX_TRY(dmx_vk_buffer_create(d, &d->device_heap, want, &d->scratch));
    }
    *out = &d->scratch;
    return DMX_OK;
}
