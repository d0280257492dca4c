/* The Vulkan entry points dimix uses. They are loaded from the loader library at run time
 * (dlopen of libvulkan.so.1), not linked: a machine without a Vulkan loader still runs the CPU
 * and OpenCL backends, and the Vulkan backend reports why it has no devices. */
#ifndef DMX_VK_API_H
#define DMX_VK_API_H

#define VK_NO_PROTOTYPES
#include <stdbool.h>
#include <stddef.h>
#include <vulkan/vulkan.h>

#include "dimix/status.h"

/* Resolved before an instance exists. */
#define DMX_VK_GLOBAL_FUNCS(X)                \
    X(vkCreateInstance)                       \
    X(vkEnumerateInstanceExtensionProperties) \
    X(vkEnumerateInstanceLayerProperties)

/* Resolved through the instance (device functions too: the loader dispatches them). */
#define DMX_VK_INSTANCE_FUNCS(X)              \
    X(vkDestroyInstance)                      \
    X(vkEnumeratePhysicalDevices)             \
    X(vkGetPhysicalDeviceProperties)          \
    X(vkGetPhysicalDeviceProperties2)         \
    X(vkGetPhysicalDeviceFeatures)            \
    X(vkGetPhysicalDeviceMemoryProperties)    \
    X(vkGetPhysicalDeviceQueueFamilyProperties) \
    X(vkEnumerateDeviceExtensionProperties)   \
    X(vkCreateDevice)                         \
    X(vkDestroyDevice)                        \
    X(vkGetDeviceQueue)                       \
    X(vkDeviceWaitIdle)                       \
    X(vkQueueSubmit)                          \
    X(vkCreateBuffer)                         \
    X(vkDestroyBuffer)                        \
    X(vkGetBufferMemoryRequirements)          \
    X(vkAllocateMemory)                       \
    X(vkFreeMemory)                           \
    X(vkBindBufferMemory)                     \
    X(vkMapMemory)                            \
    X(vkUnmapMemory)                          \
    X(vkInvalidateMappedMemoryRanges)         \
    X(vkFlushMappedMemoryRanges)              \
    X(vkCreateShaderModule)                   \
    X(vkDestroyShaderModule)                  \
    X(vkCreatePipelineCache)                  \
    X(vkDestroyPipelineCache)                 \
    X(vkGetPipelineCacheData)                 \
    X(vkCreateComputePipelines)               \
    X(vkDestroyPipeline)                      \
    X(vkCreatePipelineLayout)                 \
    X(vkDestroyPipelineLayout)                \
    X(vkCreateDescriptorSetLayout)            \
    X(vkDestroyDescriptorSetLayout)           \
    X(vkCreateDescriptorPool)                 \
    X(vkDestroyDescriptorPool)                \
    X(vkResetDescriptorPool)                  \
    X(vkAllocateDescriptorSets)               \
    X(vkUpdateDescriptorSets)                 \
    X(vkCreateCommandPool)                    \
    X(vkDestroyCommandPool)                   \
    X(vkAllocateCommandBuffers)               \
    X(vkResetCommandBuffer)                   \
    X(vkBeginCommandBuffer)                   \
    X(vkEndCommandBuffer)                     \
    X(vkCmdBindPipeline)                      \
    X(vkCmdBindDescriptorSets)                \
    X(vkCmdPushConstants)                     \
    X(vkCmdDispatch)                          \
    X(vkCmdPipelineBarrier)                   \
    X(vkCmdCopyBuffer)                        \
    X(vkCmdUpdateBuffer)                      \
    X(vkCreateFence)                          \
    X(vkDestroyFence)                         \
    X(vkWaitForFences)                        \
    X(vkResetFences)

/* Present only with VK_EXT_debug_utils (the validation run). */
#define DMX_VK_OPTIONAL_FUNCS(X)       \
    X(vkCreateDebugUtilsMessengerEXT)  \
    X(vkDestroyDebugUtilsMessengerEXT)

typedef struct dmx_vk_api {
    PFN_vkGetInstanceProcAddr vkGetInstanceProcAddr;
#define DMX_VK_DECLARE(fn) PFN_##fn fn;
    DMX_VK_GLOBAL_FUNCS(DMX_VK_DECLARE)
    DMX_VK_INSTANCE_FUNCS(DMX_VK_DECLARE)
    DMX_VK_OPTIONAL_FUNCS(DMX_VK_DECLARE)
#undef DMX_VK_DECLARE
} dmx_vk_api;

/* The table, filled by dmx_vk_load_* (read-only afterwards). */
extern dmx_vk_api dmx_vk;

/* Opens the loader library and resolves the global functions. On failure writes why into
 * `why` (no loader, or a loader without the functions) and returns DMX_ERR_UNSUPPORTED. */
dmx_status dmx_vk_load_loader(char *why, size_t cap);

/* Resolves the instance-level functions (the optional ones may stay NULL). */
dmx_status dmx_vk_load_instance(VkInstance instance, char *why, size_t cap);

/* "VK_ERROR_DEVICE_LOST" and so on. */
const char *dmx_vk_result_name(VkResult r);

/* The dimix status for a Vulkan error code. */
dmx_status dmx_vk_status_of(VkResult r);

#endif
