/* The Vulkan instance (one per process), the validation layer's messenger, and the physical
 * devices dimix can use with what they can do. A missing loader or driver is not an error: the
 * backend has no devices and says why. */
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/error.h"
#include "core/log.h"
#include "vulkan/vk_internal.h"

#define DMX_VK_VALIDATION_LAYER "VK_LAYER_KHRONOS_validation"

static VkInstance instance = VK_NULL_HANDLE;
static VkDebugUtilsMessengerEXT messenger = VK_NULL_HANDLE;
static dmx_vk_physical physicals[DMX_VK_MAX_PHYSICAL];
static int n_physicals;
static char why_none[1024];
static bool validation_on;
static atomic_uint validation_error_count;
static char validation_first_message[2048];

int dmx_vk_physical_count(void) { return n_physicals; }
const char *dmx_vk_why_none(void) { return why_none; }
bool dmx_vk_validation_enabled(void) { return validation_on; }
uint32_t dmx_vk_validation_errors(void) { return atomic_load(&validation_error_count); }
const char *dmx_vk_validation_first(void) { return validation_first_message; }

const dmx_vk_physical *dmx_vk_physical_get(int index)
{
    return index >= 0 && index < n_physicals ? &physicals[index] : NULL;
}

/* ---- validation ---- */

static VKAPI_ATTR VkBool32 VKAPI_CALL on_validation_message(
    VkDebugUtilsMessageSeverityFlagBitsEXT severity, VkDebugUtilsMessageTypeFlagsEXT types,
    const VkDebugUtilsMessengerCallbackDataEXT *data, void *user)
{
    (void)types, (void)user;
    const char *text = data && data->pMessage ? data->pMessage : "(no message)";
    if (severity & VK_DEBUG_UTILS_MESSAGE_SEVERITY_ERROR_BIT_EXT) {
        if (atomic_fetch_add(&validation_error_count, 1) == 0)
            snprintf(validation_first_message, sizeof validation_first_message, "%s", text);
        dmx_log(DMX_LOG_ERROR, "Vulkan validation error: %s", text);
    } else if (severity & VK_DEBUG_UTILS_MESSAGE_SEVERITY_WARNING_BIT_EXT) {
        dmx_log(DMX_LOG_WARN, "Vulkan validation warning: %s", text);
    }
    return VK_FALSE; /* never abort the call */
}

static bool instance_layer_present(const char *name)
{
    uint32_t n = 0;
    if (dmx_vk.vkEnumerateInstanceLayerProperties(&n, NULL) != VK_SUCCESS || n == 0)
        return false;
    VkLayerProperties *layers = calloc(n, sizeof *layers);
    bool found = false;
    if (layers && dmx_vk.vkEnumerateInstanceLayerProperties(&n, layers) == VK_SUCCESS)
        for (uint32_t i = 0; i < n && !found; i++)
            found = strcmp(layers[i].layerName, name) == 0;
    free(layers);
    return found;
}

static bool instance_extension_present(const char *layer, const char *name)
{
    uint32_t n = 0;
    if (dmx_vk.vkEnumerateInstanceExtensionProperties(layer, &n, NULL) != VK_SUCCESS || n == 0)
        return false;
    VkExtensionProperties *ext = calloc(n, sizeof *ext);
    bool found = false;
    if (ext && dmx_vk.vkEnumerateInstanceExtensionProperties(layer, &n, ext) == VK_SUCCESS)
        for (uint32_t i = 0; i < n && !found; i++)
            found = strcmp(ext[i].extensionName, name) == 0;
    free(ext);
    return found;
}

/* DIMIX_VK_VALIDATION: unset or "0" off; "1" the Khronos layer; "sync" the layer plus its
 * synchronization checks (barriers between dependent dispatches). */
static const char *validation_mode(void)
{
    const char *v = getenv("DIMIX_VK_VALIDATION");
    return v && *v && strcmp(v, "0") != 0 ? v : NULL;
}

static const VkDebugUtilsMessengerCreateInfoEXT messenger_info = {
    .sType = VK_STRUCTURE_TYPE_DEBUG_UTILS_MESSENGER_CREATE_INFO_EXT,
    .messageSeverity = VK_DEBUG_UTILS_MESSAGE_SEVERITY_ERROR_BIT_EXT |
                       VK_DEBUG_UTILS_MESSAGE_SEVERITY_WARNING_BIT_EXT,
    .messageType = VK_DEBUG_UTILS_MESSAGE_TYPE_GENERAL_BIT_EXT |
                   VK_DEBUG_UTILS_MESSAGE_TYPE_VALIDATION_BIT_EXT |
                   VK_DEBUG_UTILS_MESSAGE_TYPE_PERFORMANCE_BIT_EXT,
    .pfnUserCallback = on_validation_message,
};

/* The layer and extensions validation needs; false (with why_none set) when the layer is
 * missing. `sync` says whether its synchronization checks can be turned on. */
static bool validation_extensions(const char *mode, const char **extensions, uint32_t *n_ext,
                                  bool *sync)
{
    if (!instance_layer_present(DMX_VK_VALIDATION_LAYER)) {
        snprintf(why_none, sizeof why_none,
                 "DIMIX_VK_VALIDATION=%s but the layer %s is not installed "
                 "(Debian: vulkan-validationlayers)", mode, DMX_VK_VALIDATION_LAYER);
        return false;
    }
    extensions[(*n_ext)++] = VK_EXT_DEBUG_UTILS_EXTENSION_NAME;
    *sync = strcmp(mode, "sync") == 0 &&
            instance_extension_present(DMX_VK_VALIDATION_LAYER,
                                       VK_EXT_VALIDATION_FEATURES_EXTENSION_NAME);
    if (*sync)
        extensions[(*n_ext)++] = VK_EXT_VALIDATION_FEATURES_EXTENSION_NAME;
    return true;
}

static void explain_instance_failure(VkResult r)
{
    const char *files = getenv("VK_DRIVER_FILES");
    if (!files)
        files = getenv("VK_ICD_FILENAMES");
    if (r != VK_ERROR_INCOMPATIBLE_DRIVER)
        snprintf(why_none, sizeof why_none, "vkCreateInstance failed: %s", dmx_vk_result_name(r));
    else if (files)
        snprintf(why_none, sizeof why_none, "vkCreateInstance failed: %s (no Vulkan driver "
                 "found; driver files: %.800s)", dmx_vk_result_name(r), files);
    else
        snprintf(why_none, sizeof why_none, "vkCreateInstance failed: %s (no Vulkan driver "
                 "found)", dmx_vk_result_name(r));
}

static dmx_status create_instance(void)
{
    const char *mode = validation_mode();
    const char *layers[1] = {DMX_VK_VALIDATION_LAYER}, *extensions[2];
    uint32_t n_ext = 0;
    bool sync = false;
    if (mode && !validation_extensions(mode, extensions, &n_ext, &sync))
        return DMX_ERR_UNSUPPORTED;
    VkValidationFeatureEnableEXT sync_check =
        VK_VALIDATION_FEATURE_ENABLE_SYNCHRONIZATION_VALIDATION_EXT;
    VkValidationFeaturesEXT features = {
        .sType = VK_STRUCTURE_TYPE_VALIDATION_FEATURES_EXT,
        .pNext = &messenger_info,
        .enabledValidationFeatureCount = 1,
        .pEnabledValidationFeatures = &sync_check,
    };
    VkApplicationInfo app = {
        .sType = VK_STRUCTURE_TYPE_APPLICATION_INFO,
        .pApplicationName = "dimix",
        .pEngineName = "dimix",
        .apiVersion = VK_API_VERSION_1_1,
    };
    /* The messenger also sees instance creation (pNext); sync checks only when asked. */
    VkInstanceCreateInfo info = {
        .sType = VK_STRUCTURE_TYPE_INSTANCE_CREATE_INFO,
        .pNext = !mode ? NULL : sync ? (const void *)&features : (const void *)&messenger_info,
        .pApplicationInfo = &app,
        .enabledLayerCount = mode ? 1 : 0,
        .ppEnabledLayerNames = layers,
        .enabledExtensionCount = n_ext,
        .ppEnabledExtensionNames = extensions,
    };
    VkResult r = dmx_vk.vkCreateInstance(&info, NULL, &instance);
    if (r != VK_SUCCESS) {
        explain_instance_failure(r);
        instance = VK_NULL_HANDLE;
        return DMX_ERR_UNSUPPORTED;
    }
    DMX_TRY(dmx_vk_load_instance(instance, why_none, sizeof why_none));
    if (mode) {
        if (!dmx_vk.vkCreateDebugUtilsMessengerEXT ||
            dmx_vk.vkCreateDebugUtilsMessengerEXT(instance, &messenger_info, NULL, &messenger) !=
                VK_SUCCESS) {
            snprintf(why_none, sizeof why_none,
                     "DIMIX_VK_VALIDATION=%s but the debug-utils messenger could not be created",
                     mode);
            return DMX_ERR_UNSUPPORTED;
        }
        validation_on = true;
    }
    return DMX_OK;
}

/* ---- physical devices ---- */

static const char *vendor_name(uint32_t id)
{
    switch (id) {
    case 0x1002: return "AMD";
    case 0x10DE: return "NVIDIA";
    case 0x8086: return "Intel";
    case 0x13B5: return "ARM";
    case 0x5143: return "Qualcomm";
    case 0x106B: return "Apple";
    case 0x10005: return "Mesa";
    default: return "unknown vendor";
    }
}

static dmx_device_type device_type(VkPhysicalDeviceType t)
{
    switch (t) {
    case VK_PHYSICAL_DEVICE_TYPE_DISCRETE_GPU: return DMX_DEVICE_GPU;
    case VK_PHYSICAL_DEVICE_TYPE_INTEGRATED_GPU: return DMX_DEVICE_IGPU;
    case VK_PHYSICAL_DEVICE_TYPE_CPU: return DMX_DEVICE_CPU;
    default: return DMX_DEVICE_OTHER;
    }
}

static bool device_extension_present(VkPhysicalDevice pd, const char *name)
{
    uint32_t n = 0;
    if (dmx_vk.vkEnumerateDeviceExtensionProperties(pd, NULL, &n, NULL) != VK_SUCCESS || !n)
        return false;
    VkExtensionProperties *ext = calloc(n, sizeof *ext);
    bool found = false;
    if (ext && dmx_vk.vkEnumerateDeviceExtensionProperties(pd, NULL, &n, ext) == VK_SUCCESS)
        for (uint32_t i = 0; i < n && !found; i++)
            found = strcmp(ext[i].extensionName, name) == 0;
    free(ext);
    return found;
}

/* Why the device cannot run dimix's shaders, or NULL when it can. */
static const char *unusable_because(const VkPhysicalDeviceProperties *p, uint32_t queue_family)
{
    const VkPhysicalDeviceLimits *l = &p->limits;
    if (p->apiVersion < VK_API_VERSION_1_1)
        return "Vulkan 1.1 is required";
    if (queue_family == UINT32_MAX)
        return "no compute queue";
    if (l->maxComputeWorkGroupInvocations < DMX_VK_MIN_WORKGROUP ||
        l->maxComputeWorkGroupSize[0] < DMX_VK_MIN_WORKGROUP)
        return "workgroups of 256 invocations are required";
    if (l->maxComputeSharedMemorySize < 16384)
        return "16 KiB of workgroup shared memory is required";
    if (l->maxPerStageDescriptorStorageBuffers < DMX_VK_BINDINGS)
        return "8 storage buffers per stage are required";
    if (l->maxPushConstantsSize < DMX_VK_PUSH_BYTES)
        return "128 bytes of push constants are required";
    return NULL;
}

static uint32_t compute_queue_family(VkPhysicalDevice pd)
{
    uint32_t n = 0;
    dmx_vk.vkGetPhysicalDeviceQueueFamilyProperties(pd, &n, NULL);
    VkQueueFamilyProperties *q = calloc(n ? n : 1, sizeof *q);
    uint32_t found = UINT32_MAX;
    if (q) {
        dmx_vk.vkGetPhysicalDeviceQueueFamilyProperties(pd, &n, q);
        /* A compute queue without graphics is often the dedicated compute engine. */
        for (uint32_t i = 0; i < n; i++)
            if ((q[i].queueFlags & VK_QUEUE_COMPUTE_BIT) &&
                (found == UINT32_MAX || !(q[i].queueFlags & VK_QUEUE_GRAPHICS_BIT)))
                found = i;
    }
    free(q);
    return found;
}

static void fill_info(dmx_vk_physical *p, const VkPhysicalDeviceSubgroupProperties *sub,
                      const VkPhysicalDeviceDriverProperties *drv, bool have_driver)
{
    const VkPhysicalDeviceProperties *props = &p->props;
    dmx_device_info *info = &p->info;
    snprintf(info->description, sizeof info->description, "%.127s", props->deviceName);
    snprintf(info->vendor, sizeof info->vendor, "%s (0x%04x)", vendor_name(props->vendorID),
             props->vendorID);
    uint32_t api = props->apiVersion;
    if (have_driver)
        snprintf(info->driver, sizeof info->driver, "%.40s %.32s, Vulkan %u.%u.%u", drv->driverName,
                 drv->driverInfo, VK_API_VERSION_MAJOR(api), VK_API_VERSION_MINOR(api),
                 VK_API_VERSION_PATCH(api));
    else
        snprintf(info->driver, sizeof info->driver, "driver 0x%08x, Vulkan %u.%u.%u",
                 props->driverVersion, VK_API_VERSION_MAJOR(api), VK_API_VERSION_MINOR(api),
                 VK_API_VERSION_PATCH(api));
    info->type = device_type(props->deviceType);
    for (uint32_t h = 0; h < p->memory.memoryHeapCount; h++)
        if (p->memory.memoryHeaps[h].flags & VK_MEMORY_HEAP_DEVICE_LOCAL_BIT)
            info->memory_bytes += p->memory.memoryHeaps[h].size;
    info->max_alloc_bytes = p->max_alloc;
    if (info->memory_bytes && info->max_alloc_bytes > info->memory_bytes)
        info->max_alloc_bytes = info->memory_bytes;
    info->max_binding_bytes = props->limits.maxStorageBufferRange;
    info->max_workgroup_size = props->limits.maxComputeWorkGroupInvocations;
    info->shared_memory_bytes = props->limits.maxComputeSharedMemorySize;
    info->compute_units = 0; /* Vulkan does not report them */
    info->subgroup_size = sub->subgroupSize;
    p->subgroup_size = sub->subgroupSize;
    p->subgroup_stages = sub->supportedStages;
    p->subgroup_operations = sub->supportedOperations;
    bool llvmpipe = (have_driver && drv->driverID == VK_DRIVER_ID_MESA_LLVMPIPE) ||
                    strncmp(props->deviceName, "llvmpipe", 8) == 0;
    if (llvmpipe)
        info->quirks |= DMX_QUIRK_LOOP_LIMIT;
    if (!(sub->supportedOperations & VK_SUBGROUP_FEATURE_SHUFFLE_BIT))
        info->quirks |= DMX_QUIRK_NO_SUBGROUP_SHUFFLE;
}

static void describe_physical(dmx_vk_physical *p)
{
    VkPhysicalDeviceDriverProperties drv = {.sType = VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_DRIVER_PROPERTIES};
    VkPhysicalDeviceMaintenance3Properties m3 = {
        .sType = VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_MAINTENANCE_3_PROPERTIES};
    VkPhysicalDeviceSubgroupProperties sub = {
        .sType = VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_SUBGROUP_PROPERTIES, .pNext = &m3};
    /* Driver properties are core in 1.2; chain them only where the device knows them. */
    bool have_driver = p->props.apiVersion >= VK_API_VERSION_1_2 ||
                       device_extension_present(p->handle, "VK_KHR_driver_properties");
    if (have_driver)
        m3.pNext = &drv;
    VkPhysicalDeviceProperties2 props2 = {.sType = VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_PROPERTIES_2,
                                          .pNext = &sub};
    dmx_vk.vkGetPhysicalDeviceProperties2(p->handle, &props2);
    dmx_vk.vkGetPhysicalDeviceMemoryProperties(p->handle, &p->memory);
    p->max_alloc = m3.maxMemoryAllocationSize;
    fill_info(p, &sub, &drv, have_driver);
}

static void enumerate(void)
{
    uint32_t n = 0;
    VkResult r = dmx_vk.vkEnumeratePhysicalDevices(instance, &n, NULL);
    if (r != VK_SUCCESS || n == 0) {
        snprintf(why_none, sizeof why_none, "%s", r != VK_SUCCESS
                 ? "vkEnumeratePhysicalDevices failed"
                 : "the Vulkan loader found no physical device (is a driver installed?)");
        return;
    }
    VkPhysicalDevice handles[DMX_VK_MAX_PHYSICAL];
    if (n > DMX_VK_MAX_PHYSICAL)
        n = DMX_VK_MAX_PHYSICAL;
    r = dmx_vk.vkEnumeratePhysicalDevices(instance, &n, handles);
    if (r != VK_SUCCESS && r != VK_INCOMPLETE) {
        snprintf(why_none, sizeof why_none, "vkEnumeratePhysicalDevices: %s",
                 dmx_vk_result_name(r));
        return;
    }
    size_t len = (size_t)snprintf(why_none, sizeof why_none, "no usable device:");
    for (uint32_t i = 0; i < n; i++) {
        dmx_vk_physical *p = &physicals[n_physicals];
        memset(p, 0, sizeof *p);
        p->handle = handles[i];
        dmx_vk.vkGetPhysicalDeviceProperties(p->handle, &p->props);
        p->queue_family = compute_queue_family(p->handle);
        const char *why = unusable_because(&p->props, p->queue_family);
        if (why) {
            if (len < sizeof why_none)
                len += (size_t)snprintf(why_none + len, sizeof why_none - len, " %s (%s);",
                                        p->props.deviceName, why);
            continue;
        }
        describe_physical(p);
        n_physicals++;
    }
}

dmx_status dmx_vk_instance_init(void)
{
    dmx_status s = dmx_vk_load_loader(why_none, sizeof why_none);
    if (s == DMX_OK)
        s = create_instance();
    if (s == DMX_OK)
        enumerate();
    if (n_physicals > 0)
        why_none[0] = '\0';
    return DMX_OK; /* no device is not an error: the registry lists why_none */
}
