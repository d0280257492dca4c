/* Opening and closing a Vulkan device: the logical device and its compute queue, the memory
 * types for buffers and staging, the one descriptor-set layout (8 storage buffers) and pipeline
 * layout (128 bytes of push constants) every shader uses, and the frames commands record into.
 *
 * Environment (tests and unusual setups):
 *   DIMIX_VK_STAGING=1        never map device buffers; go through staging copies as on a
 *                             discrete GPU (tests that path on lavapipe)
 *   DIMIX_VK_MEMORY_BUDGET=N  most device memory dimix allocates (bytes; K, M, G suffixes)
 *   DIMIX_VK_MAX_BINDING=N    a smaller maxStorageBufferRange, to test split bindings
 *   DIMIX_VK_PROFILE=1        wait for each op and print the time per op at close
 *   DIMIX_VK_SUBGROUP=0       never use subgroup operations (skinny GEMMs go to the tiled
 *                             shader, as on a device without subgroup arithmetic) */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/error.h"
#include "core/log.h"
#include "vulkan/vk_internal.h"

#define DMX_VK_DEVICE_BLOCK (256ull << 20)
#define DMX_VK_STAGING_BLOCK (64ull << 20)

static uint64_t env_bytes(const char *name, uint64_t fallback)
{
    const char *v = getenv(name);
    if (!v || !*v)
        return fallback;
    char *end = NULL;
    double x = strtod(v, &end);
    if (end == v || x <= 0)
        return fallback;
    switch (*end) {
    case 'k': case 'K': x *= 1024.0; break;
    case 'm': case 'M': x *= 1024.0 * 1024.0; break;
    case 'g': case 'G': x *= 1024.0 * 1024.0 * 1024.0; break;
    default: break;
    }
    return (uint64_t)x;
}

static bool env_flag(const char *name)
{
    const char *v = getenv(name);
    return v && *v && strcmp(v, "0") != 0;
}

/* The first memory type allowed by `bits` that has every flag of `want`, or -1. */
static int find_type(const VkPhysicalDeviceMemoryProperties *m, uint32_t bits,
                     VkMemoryPropertyFlags want)
{
    for (uint32_t i = 0; i < m->memoryTypeCount; i++)
        if ((bits & (1u << i)) && (m->memoryTypes[i].propertyFlags & want) == want)
            return (int)i;
    return -1;
}

static void setup_heap(dmx_vk_heap *h, const char *what, const VkPhysicalDeviceMemoryProperties *m,
                       int type, uint64_t block, uint64_t max_alloc)
{
    h->what = what;
    h->type = (uint32_t)type;
    h->host_visible = false;
    h->heap_size = m->memoryHeaps[m->memoryTypes[type].heapIndex].size;
    h->block_size = block;
    if (max_alloc && h->block_size > max_alloc)
        h->block_size = max_alloc;
    if (h->heap_size && h->block_size > h->heap_size / 4)
        h->block_size = h->heap_size / 4;
    h->budget = h->heap_size ? h->heap_size : UINT64_MAX;
}

/* Buffers on UMA devices (lavapipe, integrated GPUs) live in host-visible memory and are read
 * and written in place; on discrete GPUs they live in device-local memory behind staging. */
static dmx_status choose_memory(dmx_vk_device *d)
{
    VkBufferCreateInfo probe_info = {
        .sType = VK_STRUCTURE_TYPE_BUFFER_CREATE_INFO,
        .size = 256,
        .usage = VK_BUFFER_USAGE_STORAGE_BUFFER_BIT | VK_BUFFER_USAGE_TRANSFER_SRC_BIT |
                 VK_BUFFER_USAGE_TRANSFER_DST_BIT,
    };
    VkBuffer probe;
    DMX_VK_CALL(d, dmx_vk.vkCreateBuffer(d->handle, &probe_info, NULL, &probe));
    VkMemoryRequirements req;
    dmx_vk.vkGetBufferMemoryRequirements(d->handle, probe, &req);
    dmx_vk.vkDestroyBuffer(d->handle, probe, NULL);

    const VkPhysicalDeviceMemoryProperties *m = &d->phys->memory;
    const VkMemoryPropertyFlags host = VK_MEMORY_PROPERTY_HOST_VISIBLE_BIT |
                                       VK_MEMORY_PROPERTY_HOST_COHERENT_BIT;
    const VkMemoryPropertyFlags local = VK_MEMORY_PROPERTY_DEVICE_LOCAL_BIT;
    bool uma = d->phys->info.type == DMX_DEVICE_CPU || d->phys->info.type == DMX_DEVICE_IGPU;
    bool map_device = uma && !env_flag("DIMIX_VK_STAGING");
    int dev_type = map_device ? find_type(m, req.memoryTypeBits, local | host) : -1;
    bool mapped = dev_type >= 0;
    if (dev_type < 0)
        dev_type = find_type(m, req.memoryTypeBits, local);
    if (dev_type < 0)
        dev_type = find_type(m, req.memoryTypeBits, 0);
    int stage_type = find_type(m, req.memoryTypeBits, host | VK_MEMORY_PROPERTY_HOST_CACHED_BIT);
    if (stage_type < 0)
        stage_type = find_type(m, req.memoryTypeBits, host);
    if (dev_type < 0 || stage_type < 0)
        return dmx_fail(DMX_ERR_UNSUPPORTED, "no memory type for storage buffers%s", stage_type < 0 ? " that the host can map" : "");
    setup_heap(&d->device_heap, "device", m, dev_type, DMX_VK_DEVICE_BLOCK, d->phys->max_alloc);
    d->device_heap.host_visible = mapped;
    d->device_heap.budget = env_bytes("DIMIX_VK_MEMORY_BUDGET", d->device_heap.budget);
    setup_heap(&d->staging_heap, "staging", m, stage_type, DMX_VK_STAGING_BLOCK,
               d->phys->max_alloc);
    d->staging_heap.host_visible = true;
    d->mapped = mapped;
    return DMX_OK;
}

static dmx_status create_layouts(dmx_vk_device *d)
{
    VkDescriptorSetLayoutBinding bindings[DMX_VK_BINDINGS];
    for (uint32_t i = 0; i < DMX_VK_BINDINGS; i++)
        bindings[i] = (VkDescriptorSetLayoutBinding){
            .binding = i,
            .descriptorType = VK_DESCRIPTOR_TYPE_STORAGE_BUFFER,
            .descriptorCount = 1,
            .stageFlags = VK_SHADER_STAGE_COMPUTE_BIT,
        };
    VkDescriptorSetLayoutCreateInfo set_info = {
        .sType = VK_STRUCTURE_TYPE_DESCRIPTOR_SET_LAYOUT_CREATE_INFO,
        .bindingCount = DMX_VK_BINDINGS,
        .pBindings = bindings,
    };
    DMX_VK_CALL(d, dmx_vk.vkCreateDescriptorSetLayout(d->handle, &set_info, NULL, &d->set_layout));
    VkPushConstantRange push = {VK_SHADER_STAGE_COMPUTE_BIT, 0, DMX_VK_PUSH_BYTES};
    VkPipelineLayoutCreateInfo layout_info = {
        .sType = VK_STRUCTURE_TYPE_PIPELINE_LAYOUT_CREATE_INFO,
        .setLayoutCount = 1,
        .pSetLayouts = &d->set_layout,
        .pushConstantRangeCount = 1,
        .pPushConstantRanges = &push,
    };
    DMX_VK_CALL(d, dmx_vk.vkCreatePipelineLayout(d->handle, &layout_info, NULL, &d->layout));
    return DMX_OK;
}

static dmx_status create_frames(dmx_vk_device *d)
{
    VkCommandPoolCreateInfo pool_info = {
        .sType = VK_STRUCTURE_TYPE_COMMAND_POOL_CREATE_INFO,
        .flags = VK_COMMAND_POOL_CREATE_RESET_COMMAND_BUFFER_BIT,
        .queueFamilyIndex = d->phys->queue_family,
    };
    DMX_VK_CALL(d, dmx_vk.vkCreateCommandPool(d->handle, &pool_info, NULL, &d->cmd_pool));
    VkDescriptorPoolSize sizes = {VK_DESCRIPTOR_TYPE_STORAGE_BUFFER,
                                  DMX_VK_BATCH * DMX_VK_BINDINGS};
    VkDescriptorPoolCreateInfo desc_info = {
        .sType = VK_STRUCTURE_TYPE_DESCRIPTOR_POOL_CREATE_INFO,
        .maxSets = DMX_VK_BATCH,
        .poolSizeCount = 1,
        .pPoolSizes = &sizes,
    };
    for (int i = 0; i < DMX_VK_FRAMES; i++) {
        dmx_vk_frame *f = &d->frames[i];
        VkCommandBufferAllocateInfo cmd_info = {
            .sType = VK_STRUCTURE_TYPE_COMMAND_BUFFER_ALLOCATE_INFO,
            .commandPool = d->cmd_pool,
            .level = VK_COMMAND_BUFFER_LEVEL_PRIMARY,
            .commandBufferCount = 1,
        };
        DMX_VK_CALL(d, dmx_vk.vkAllocateCommandBuffers(d->handle, &cmd_info, &f->cmd));
        VkFenceCreateInfo fence_info = {.sType = VK_STRUCTURE_TYPE_FENCE_CREATE_INFO};
        DMX_VK_CALL(d, dmx_vk.vkCreateFence(d->handle, &fence_info, NULL, &f->fence));
        DMX_VK_CALL(d, dmx_vk.vkCreateDescriptorPool(d->handle, &desc_info, NULL, &f->pool));
    }
    return DMX_OK;
}

static dmx_status create_device(dmx_vk_device *d)
{
    float priority = 1.0f;
    VkDeviceQueueCreateInfo queue = {
        .sType = VK_STRUCTURE_TYPE_DEVICE_QUEUE_CREATE_INFO,
        .queueFamilyIndex = d->phys->queue_family,
        .queueCount = 1,
        .pQueuePriorities = &priority,
    };
    VkDeviceCreateInfo info = {
        .sType = VK_STRUCTURE_TYPE_DEVICE_CREATE_INFO,
        .queueCreateInfoCount = 1,
        .pQueueCreateInfos = &queue,
    };
    DMX_VK_CALL(d, dmx_vk.vkCreateDevice(d->phys->handle, &info, NULL, &d->handle));
    dmx_vk.vkGetDeviceQueue(d->handle, d->phys->queue_family, 0, &d->queue);
    return DMX_OK;
}

static void set_limits(dmx_vk_device *d)
{
    const VkPhysicalDeviceLimits *l = &d->phys->props.limits;
    d->max_range = l->maxStorageBufferRange;
    uint64_t forced = env_bytes("DIMIX_VK_MAX_BINDING", 0);
    if (forced >= 4096 && forced < d->max_range)
        d->max_range = forced;
    d->offset_align = l->minStorageBufferOffsetAlignment > 4 ? l->minStorageBufferOffsetAlignment
                                                             : 4;
    for (int i = 0; i < 3; i++)
        d->max_groups[i] = l->maxComputeWorkGroupCount[i];
    d->loop_limit = d->phys->info.quirks & DMX_QUIRK_LOOP_LIMIT;
}

/* The subgroup GEMM needs subgroupAdd (basic and arithmetic operations) in compute shaders and a
 * workgroup of whole subgroups: 256 invocations, or the subgroup size when that is larger. The
 * device opened with Vulkan 1.1, so the properties are always queried; a device reporting no
 * compute subgroups, or DIMIX_VK_SUBGROUP=0, keeps the tiled kernel. */
static void set_subgroups(dmx_vk_device *d, const char *name)
{
    const dmx_vk_physical *p = d->phys;
    const VkSubgroupFeatureFlags need = VK_SUBGROUP_FEATURE_BASIC_BIT |
                                        VK_SUBGROUP_FEATURE_ARITHMETIC_BIT;
    const uint32_t size = p->subgroup_size;
    const uint32_t wg = size > DMX_VK_MIN_WORKGROUP ? size : DMX_VK_MIN_WORKGROUP;
    const bool compute = (p->subgroup_stages & VK_SHADER_STAGE_COMPUTE_BIT) != 0;
    const bool arithmetic = (p->subgroup_operations & need) == need;
    const bool fits = size > 0 && wg % size == 0 &&
                      wg <= p->props.limits.maxComputeWorkGroupInvocations &&
                      wg <= p->props.limits.maxComputeWorkGroupSize[0];
    const char *v = getenv("DIMIX_VK_SUBGROUP");
    const bool off = v && strcmp(v, "0") == 0;
    d->subgroup_size = size;
    d->subgroup_wg = wg;
    d->subgroup_gemm = compute && arithmetic && fits && !off;
    dmx_log(DMX_LOG_INFO,
            "%s: subgroup size %u, compute stage %s, arithmetic %s: subgroup GEMM %s", name,
            size, compute ? "yes" : "no", arithmetic ? "yes" : "no",
            d->subgroup_gemm ? "on" : off ? "off (DIMIX_VK_SUBGROUP=0)" : "off (unsupported)");
}

dmx_status dmx_vk_device_create(dmx_device *dev, dmx_vk_device **out)
{
    *out = NULL;
    dmx_vk_device *d = calloc(1, sizeof *d);
    if (!d)
        return dmx_fail(DMX_ERR_OUT_OF_MEMORY, "out of host memory");
    d->phys = dmx_vk_physical_get(dev->index);
    pthread_mutex_init(&d->lock, NULL);
    d->validation_reported = dmx_vk_validation_errors();
    d->profile = env_flag("DIMIX_VK_PROFILE");
    dmx_status s = d->phys ? create_device(d)
                           : dmx_fail(DMX_ERR_NOT_FOUND, "no Vulkan device %d", dev->index);
    if (s == DMX_OK) {
        set_limits(d);
        set_subgroups(d, dev->info.name);
        s = choose_memory(d);
    }
    if (s == DMX_OK)
        s = create_layouts(d);
    if (s == DMX_OK) {
        dmx_vk_pipeline_cache_open(d);
        s = create_frames(d);
    }
    if (s == DMX_OK)
        s = dmx_vk_buffer_create(d, &d->device_heap, 256, &d->dummy);
    if (s != DMX_OK) {
        dmx_vk_device_destroy(d);
        return s;
    }
    *out = d;
    return DMX_OK;
}

void dmx_vk_device_destroy(dmx_vk_device *d)
{
    if (!d)
        return;
    if (d->handle) {
        /* Nothing may be destroyed while the device still runs it; a lost device returns at
         * once from the wait. */
        if (d->lost || dmx_vk_finish(d) != DMX_OK)
            dmx_vk.vkDeviceWaitIdle(d->handle);
        for (int i = 0; i < DMX_VK_FRAMES; i++) {
            dmx_vk_frame *f = &d->frames[i];
            dmx_vk_buffer_destroy(d, &f->staging);
            if (f->pool)
                dmx_vk.vkDestroyDescriptorPool(d->handle, f->pool, NULL);
            if (f->fence)
                dmx_vk.vkDestroyFence(d->handle, f->fence, NULL);
        }
        if (d->cmd_pool)
            dmx_vk.vkDestroyCommandPool(d->handle, d->cmd_pool, NULL);
        dmx_vk_buffer_destroy(d, &d->dummy);
        dmx_vk_buffer_destroy(d, &d->scratch);
        dmx_vk_pipelines_release(d);
        dmx_vk_pipeline_cache_close(d);
        if (d->layout)
            dmx_vk.vkDestroyPipelineLayout(d->handle, d->layout, NULL);
        if (d->set_layout)
            dmx_vk.vkDestroyDescriptorSetLayout(d->handle, d->set_layout, NULL);
        dmx_vk_heap_release(d, &d->device_heap);
        dmx_vk_heap_release(d, &d->staging_heap);
        dmx_vk.vkDestroyDevice(d->handle, NULL);
    }
    dmx_vk_recorder_release(d);
    pthread_mutex_destroy(&d->lock);
    free(d);
}
