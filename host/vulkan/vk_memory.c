/* Device memory: a few large VkDeviceMemory blocks per memory type, handed out in aligned
 * pieces (first fit over a sorted free list, neighbours merged on free). Requests larger than
 * half a block get a block of their own. DIMIX_VK_MEMORY_BUDGET caps what dimix allocates
 * (bytes, or with a K/M/G suffix), for sharing a GPU. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/error.h"
#include "vulkan/vk_internal.h"

typedef struct free_range {
    VkDeviceSize offset, size;
} free_range;

struct dmx_vk_block {
    dmx_vk_block *next;
    VkDeviceMemory handle;
    VkDeviceSize size;
    void *map;
    free_range *free;
    size_t n_free, cap_free;
    size_t live; /* sub-allocations in use */
};

static VkDeviceSize align_up(VkDeviceSize v, VkDeviceSize a) { return (v + a - 1) / a * a; }

static double mib(uint64_t bytes) { return (double)bytes / (1024.0 * 1024.0); }

static bool take(dmx_vk_block *b, VkDeviceSize size, VkDeviceSize align, VkDeviceSize *offset)
{
    for (size_t i = 0; i < b->n_free; i++) {
        free_range *f = &b->free[i];
        VkDeviceSize start = align_up(f->offset, align);
        if (start + size > f->offset + f->size)
            continue;
        VkDeviceSize before = start - f->offset, after = f->offset + f->size - start - size;
        if (before && after) { /* split in two: room for one more range */
            if (b->n_free == b->cap_free) {
                size_t cap = b->cap_free ? b->cap_free * 2 : 16;
                free_range *grown = realloc(b->free, cap * sizeof *grown);
                if (!grown)
                    return false;
                b->free = grown;
                b->cap_free = cap;
                f = &b->free[i];
            }
            memmove(&b->free[i + 2], &b->free[i + 1], (b->n_free - i - 1) * sizeof *f);
            b->free[i + 1] = (free_range){start + size, after};
            f->size = before;
            b->n_free++;
        } else if (before) {
            f->size = before;
        } else if (after) {
            *f = (free_range){start + size, after};
        } else {
            memmove(f, f + 1, (b->n_free - i - 1) * sizeof *f);
            b->n_free--;
        }
        *offset = start;
        b->live++;
        return true;
    }
    return false;
}

/* Returns [offset, offset + size) to the block, merging with its neighbours. */
static void give_back(dmx_vk_block *b, VkDeviceSize offset, VkDeviceSize size)
{
    size_t i = 0;
    while (i < b->n_free && b->free[i].offset < offset)
        i++;
    bool join_prev = i > 0 && b->free[i - 1].offset + b->free[i - 1].size == offset;
    bool join_next = i < b->n_free && offset + size == b->free[i].offset;
    if (join_prev && join_next) {
        b->free[i - 1].size += size + b->free[i].size;
        memmove(&b->free[i], &b->free[i + 1], (b->n_free - i - 1) * sizeof *b->free);
        b->n_free--;
    } else if (join_prev) {
        b->free[i - 1].size += size;
    } else if (join_next) {
        b->free[i].offset = offset;
        b->free[i].size += size;
    } else {
        if (b->n_free == b->cap_free) {
            size_t cap = b->cap_free ? b->cap_free * 2 : 16;
            free_range *grown = realloc(b->free, cap * sizeof *grown);
            if (!grown)
                return; /* the range is lost to this block until it is freed: no harm done */
            b->free = grown;
            b->cap_free = cap;
        }
        memmove(&b->free[i + 1], &b->free[i], (b->n_free - i) * sizeof *b->free);
        b->free[i] = (free_range){offset, size};
        b->n_free++;
    }
    b->live--;
}

static dmx_status new_block(dmx_vk_device *d, dmx_vk_heap *heap, VkDeviceSize size,
                            dmx_vk_block **out)
{
    if (heap->allocated + size > heap->budget)
        return dmx_fail(DMX_ERR_OUT_OF_MEMORY,
                        "out of device memory: %.1f MiB of %s memory requested with %.1f MiB "
                        "in use, limit %.1f MiB%s", mib(size), heap->what,
                        mib(heap->allocated), mib(heap->budget),
                        heap->budget < heap->heap_size ? " (DIMIX_VK_MEMORY_BUDGET)" : "");
    dmx_vk_block *b = calloc(1, sizeof *b);
    if (!b)
        return dmx_fail(DMX_ERR_OUT_OF_MEMORY, "out of host memory");
    VkMemoryAllocateInfo info = {
        .sType = VK_STRUCTURE_TYPE_MEMORY_ALLOCATE_INFO,
        .allocationSize = size,
        .memoryTypeIndex = heap->type,
    };
    VkResult r = dmx_vk.vkAllocateMemory(d->handle, &info, NULL, &b->handle);
    if (r != VK_SUCCESS) {
        free(b);
        dmx_status s = dmx_vk_fail(d, r, "vkAllocateMemory");
        return dmx_fail_context(s, "allocating %.1f MiB of %s memory (%.1f MiB in use): ",
                                mib(size), heap->what, mib(heap->allocated));
    }
    if (heap->host_visible) {
        r = dmx_vk.vkMapMemory(d->handle, b->handle, 0, VK_WHOLE_SIZE, 0, &b->map);
        if (r != VK_SUCCESS) {
            dmx_vk.vkFreeMemory(d->handle, b->handle, NULL);
            free(b);
            return dmx_vk_fail(d, r, "vkMapMemory");
        }
    }
    b->size = size;
    b->free = malloc(16 * sizeof *b->free);
    if (!b->free) {
        if (b->map)
            dmx_vk.vkUnmapMemory(d->handle, b->handle);
        dmx_vk.vkFreeMemory(d->handle, b->handle, NULL);
        free(b);
        return dmx_fail(DMX_ERR_OUT_OF_MEMORY, "out of host memory");
    }
    b->cap_free = 16;
    b->n_free = 1;
    b->free[0] = (free_range){0, size};
    b->next = heap->blocks;
    heap->blocks = b;
    heap->allocated += size;
    *out = b;
    return DMX_OK;
}

static void drop_block(dmx_vk_device *d, dmx_vk_heap *heap, dmx_vk_block *b)
{
    for (dmx_vk_block **p = &heap->blocks; *p; p = &(*p)->next)
        if (*p == b) {
            *p = b->next;
            break;
        }
    if (b->map)
        dmx_vk.vkUnmapMemory(d->handle, b->handle);
    dmx_vk.vkFreeMemory(d->handle, b->handle, NULL);
    heap->allocated -= b->size;
    free(b->free);
    free(b);
}

dmx_status dmx_vk_memory_alloc(dmx_vk_device *d, dmx_vk_heap *heap,
                               const VkMemoryRequirements *req, dmx_vk_memory *out)
{
    memset(out, 0, sizeof *out);
    if (!(req->memoryTypeBits & (1u << heap->type)))
        return dmx_fail(DMX_ERR_BACKEND,
                        "buffers cannot live in memory type %u (allowed types 0x%x)", heap->type, req->memoryTypeBits);
    VkDeviceSize align = req->alignment ? req->alignment : 1, offset = 0;
    dmx_vk_block *b = NULL;
    if (req->size <= heap->block_size / 2) {
        for (b = heap->blocks; b; b = b->next)
            if (b->size == heap->block_size && take(b, req->size, align, &offset))
                break;
        if (!b) {
            DMX_TRY(new_block(d, heap, heap->block_size, &b));
            if (!take(b, req->size, align, &offset))
                return dmx_fail(DMX_ERR_OUT_OF_MEMORY, "out of host memory");
        }
    } else {
        DMX_TRY(new_block(d, heap, req->size, &b));
        if (!take(b, req->size, align, &offset))
            return dmx_fail(DMX_ERR_OUT_OF_MEMORY, "out of host memory");
    }
    out->block = b;
    out->handle = b->handle;
    out->offset = offset;
    out->size = req->size;
    out->map = b->map ? (char *)b->map + offset : NULL;
    return DMX_OK;
}

void dmx_vk_memory_free(dmx_vk_device *d, dmx_vk_heap *heap, dmx_vk_memory *m)
{
    dmx_vk_block *b = m->block;
    if (!b)
        return;
    give_back(b, m->offset, m->size);
    /* Keep one empty shared block for the next allocation; return the rest to the driver. */
    if (b->live == 0) {
        bool keep = b->size == heap->block_size;
        for (dmx_vk_block *o = heap->blocks; o && keep; o = o->next)
            if (o != b && o->size == heap->block_size && o->live == 0)
                keep = false;
        if (!keep)
            drop_block(d, heap, b);
    }
    memset(m, 0, sizeof *m);
}

void dmx_vk_heap_release(dmx_vk_device *d, dmx_vk_heap *heap)
{
    while (heap->blocks)
        drop_block(d, heap, heap->blocks);
}
