/* Loading the Vulkan loader at run time, and naming Vulkan result codes. */
#include "vulkan/vk_api.h"

#include <dlfcn.h>
#include <stdio.h>
#include <stdlib.h>

dmx_vk_api dmx_vk;

/* DIMIX_VULKAN_LOADER names another loader library (tests, unusual installs). */
static const char *loader_name(void)
{
    const char *env = getenv("DIMIX_VULKAN_LOADER");
    return env && *env ? env : "libvulkan.so.1";
}

dmx_status dmx_vk_load_loader(char *why, size_t cap)
{
    const char *name = loader_name();
    void *lib = dlopen(name, RTLD_NOW | RTLD_LOCAL);
    if (!lib) {
        const char *err = dlerror();
        snprintf(why, cap, "no Vulkan loader (%s); install libvulkan1 and a driver",
                 err ? err : name);
        return DMX_ERR_UNSUPPORTED;
    }
    /* The library stays loaded for the life of the process: instances live that long. */
    dmx_vk.vkGetInstanceProcAddr = (PFN_vkGetInstanceProcAddr)dlsym(lib, "vkGetInstanceProcAddr");
    if (!dmx_vk.vkGetInstanceProcAddr) {
        snprintf(why, cap, "%s has no vkGetInstanceProcAddr", name);
        return DMX_ERR_UNSUPPORTED;
    }
#define DMX_VK_RESOLVE(fn)                                                          \
    dmx_vk.fn = (PFN_##fn)dmx_vk.vkGetInstanceProcAddr(VK_NULL_HANDLE, #fn);        \
    if (!dmx_vk.fn) {                                                               \
        snprintf(why, cap, "the Vulkan loader %s lacks %s", name, #fn);             \
        return DMX_ERR_UNSUPPORTED;                                                 \
    }
    DMX_VK_GLOBAL_FUNCS(DMX_VK_RESOLVE)
#undef DMX_VK_RESOLVE
    return DMX_OK;
}

dmx_status dmx_vk_load_instance(VkInstance instance, char *why, size_t cap)
{
#define DMX_VK_RESOLVE(fn)                                                          \
    dmx_vk.fn = (PFN_##fn)dmx_vk.vkGetInstanceProcAddr(instance, #fn);              \
    if (!dmx_vk.fn) {                                                               \
        snprintf(why, cap, "the Vulkan loader does not provide %s", #fn);           \
        return DMX_ERR_UNSUPPORTED;                                                 \
    }
    DMX_VK_INSTANCE_FUNCS(DMX_VK_RESOLVE)
#undef DMX_VK_RESOLVE
#define DMX_VK_RESOLVE_OPTIONAL(fn) \
    dmx_vk.fn = (PFN_##fn)dmx_vk.vkGetInstanceProcAddr(instance, #fn);
    DMX_VK_OPTIONAL_FUNCS(DMX_VK_RESOLVE_OPTIONAL)
#undef DMX_VK_RESOLVE_OPTIONAL
    return DMX_OK;
}

const char *dmx_vk_result_name(VkResult r)
{
    switch (r) {
#define DMX_VK_NAME(code) \
    case code: return #code;
        DMX_VK_NAME(VK_SUCCESS)
        DMX_VK_NAME(VK_NOT_READY)
        DMX_VK_NAME(VK_TIMEOUT)
        DMX_VK_NAME(VK_INCOMPLETE)
        DMX_VK_NAME(VK_ERROR_OUT_OF_HOST_MEMORY)
        DMX_VK_NAME(VK_ERROR_OUT_OF_DEVICE_MEMORY)
        DMX_VK_NAME(VK_ERROR_INITIALIZATION_FAILED)
        DMX_VK_NAME(VK_ERROR_DEVICE_LOST)
        DMX_VK_NAME(VK_ERROR_MEMORY_MAP_FAILED)
        DMX_VK_NAME(VK_ERROR_LAYER_NOT_PRESENT)
        DMX_VK_NAME(VK_ERROR_EXTENSION_NOT_PRESENT)
        DMX_VK_NAME(VK_ERROR_FEATURE_NOT_PRESENT)
        DMX_VK_NAME(VK_ERROR_INCOMPATIBLE_DRIVER)
        DMX_VK_NAME(VK_ERROR_TOO_MANY_OBJECTS)
        DMX_VK_NAME(VK_ERROR_FORMAT_NOT_SUPPORTED)
        DMX_VK_NAME(VK_ERROR_FRAGMENTED_POOL)
        DMX_VK_NAME(VK_ERROR_UNKNOWN)
        DMX_VK_NAME(VK_ERROR_OUT_OF_POOL_MEMORY)
        DMX_VK_NAME(VK_ERROR_INVALID_EXTERNAL_HANDLE)
        DMX_VK_NAME(VK_ERROR_FRAGMENTATION)
        DMX_VK_NAME(VK_PIPELINE_COMPILE_REQUIRED)
#undef DMX_VK_NAME
    default: return "VK_ERROR_(unnamed)";
    }
}

dmx_status dmx_vk_status_of(VkResult r)
{
    switch (r) {
    case VK_SUCCESS: return DMX_OK;
    case VK_ERROR_OUT_OF_HOST_MEMORY:
    case VK_ERROR_OUT_OF_DEVICE_MEMORY:
    case VK_ERROR_OUT_OF_POOL_MEMORY:
    case VK_ERROR_FRAGMENTED_POOL:
    case VK_ERROR_FRAGMENTATION:
    case VK_ERROR_TOO_MANY_OBJECTS: return DMX_ERR_OUT_OF_MEMORY;
    case VK_ERROR_DEVICE_LOST: return DMX_ERR_DEVICE_LOST;
    case VK_ERROR_INCOMPATIBLE_DRIVER:
    case VK_ERROR_LAYER_NOT_PRESENT:
    case VK_ERROR_EXTENSION_NOT_PRESENT:
    case VK_ERROR_FEATURE_NOT_PRESENT: return DMX_ERR_UNSUPPORTED;
    default: return DMX_ERR_BACKEND;
    }
}
