/* The VkPipelineCache on disk, so pipelines compile once per driver rather than once per run.
 *
 * File: $XDG_CACHE_HOME/dimix (else ~/.cache/dimix) /vulkan-VVVV-DDDD-DRIVERVER-UUID.bin, keyed
 * by vendorID, deviceID, driverVersion and pipelineCacheUUID. A file whose header does not match
 * this device, or that the driver rejects, is ignored (and replaced at close). Writes go to a
 * temporary file renamed over the old one, so a crash never leaves half a cache.
 * DIMIX_VK_PIPELINE_CACHE=0 turns the disk cache off. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "core/error.h"
#include "vulkan/vk_internal.h"

#define DMX_VK_CACHE_FILE_MAX (256u << 20)

static bool cache_dir(char *out, size_t cap)
{
    const char *xdg = getenv("XDG_CACHE_HOME"), *home = getenv("HOME");
    int n;
    if (xdg && *xdg)
        n = snprintf(out, cap, "%s/dimix", xdg);
    else if (home && *home)
        n = snprintf(out, cap, "%s/.cache/dimix", home);
    else
        return false;
    return n > 0 && (size_t)n < cap;
}

/* mkdir -p for the last two components at most ($XDG_CACHE_HOME may not exist yet). */
static bool make_dir(const char *dir)
{
    if (mkdir(dir, 0755) == 0 || errno == EEXIST)
        return true;
    char parent[1024];
    snprintf(parent, sizeof parent, "%s", dir);
    char *slash = strrchr(parent, '/');
    if (!slash || slash == parent)
        return false;
    *slash = '\0';
    if (mkdir(parent, 0755) != 0 && errno != EEXIST)
        return false;
    return mkdir(dir, 0755) == 0 || errno == EEXIST;
}

static void cache_path(const dmx_vk_physical *p, const char *dir, char *out, size_t cap)
{
    char uuid[2 * VK_UUID_SIZE + 1];
    for (unsigned i = 0; i < VK_UUID_SIZE; i++)
        snprintf(uuid + 2 * i, 3, "%02x", p->props.pipelineCacheUUID[i]);
    snprintf(out, cap, "%s/vulkan-%04x-%04x-%08x-%s.bin", dir, p->props.vendorID,
             p->props.deviceID, p->props.driverVersion, uuid);
}

/* Whether `data` starts with a pipeline-cache header for this very device. */
static bool header_matches(const dmx_vk_physical *p, const unsigned char *data, size_t size)
{
    uint32_t words[4];
    if (size < 16 + VK_UUID_SIZE)
        return false;
    memcpy(words, data, sizeof words);
    return words[0] >= 16 + VK_UUID_SIZE && words[0] <= size &&
           words[1] == VK_PIPELINE_CACHE_HEADER_VERSION_ONE && words[2] == p->props.vendorID &&
           words[3] == p->props.deviceID &&
           memcmp(data + 16, p->props.pipelineCacheUUID, VK_UUID_SIZE) == 0;
}

static unsigned char *read_cache_file(const char *path, size_t *size)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return NULL;
    unsigned char *data = NULL;
    long len = fseek(f, 0, SEEK_END) == 0 ? ftell(f) : -1;
    if (len > 0 && len <= (long)DMX_VK_CACHE_FILE_MAX && fseek(f, 0, SEEK_SET) == 0) {
        data = malloc((size_t)len);
        if (data && fread(data, 1, (size_t)len, f) != (size_t)len) {
            free(data);
            data = NULL;
        }
    }
    fclose(f);
    *size = data ? (size_t)len : 0;
    return data;
}

static VkResult create_cache(dmx_vk_device *d, const void *data, size_t size)
{
    VkPipelineCacheCreateInfo info = {
        .sType = VK_STRUCTURE_TYPE_PIPELINE_CACHE_CREATE_INFO,
        .initialDataSize = size,
        .pInitialData = data,
    };
    return dmx_vk.vkCreatePipelineCache(d->handle, &info, NULL, &d->cache);
}

void dmx_vk_pipeline_cache_open(dmx_vk_device *d)
{
    d->cache = VK_NULL_HANDLE;
    d->cache_path[0] = '\0';
    const char *env = getenv("DIMIX_VK_PIPELINE_CACHE");
    char dir[768];
    if (!(env && strcmp(env, "0") == 0) && cache_dir(dir, sizeof dir))
        cache_path(d->phys, dir, d->cache_path, sizeof d->cache_path);
    size_t size = 0;
    unsigned char *data = d->cache_path[0] ? read_cache_file(d->cache_path, &size) : NULL;
    bool usable = data && header_matches(d->phys, data, size);
    /* A file the driver rejects is no worse than no file. */
    if (!(usable && create_cache(d, data, size) == VK_SUCCESS)) {
        d->cache = VK_NULL_HANDLE;
        if (create_cache(d, NULL, 0) != VK_SUCCESS)
            d->cache = VK_NULL_HANDLE; /* pipelines still build without a cache */
        d->cache_dirty = data != NULL; /* replace the unusable file */
    }
    free(data);
}

static void write_cache(dmx_vk_device *d)
{
    size_t size = 0;
    if (dmx_vk.vkGetPipelineCacheData(d->handle, d->cache, &size, NULL) != VK_SUCCESS || !size)
        return;
    void *data = malloc(size);
    if (!data)
        return;
    char dir[1024], tmp[1100];
    snprintf(dir, sizeof dir, "%s", d->cache_path);
    char *slash = strrchr(dir, '/');
    if (slash)
        *slash = '\0';
    snprintf(tmp, sizeof tmp, "%s.tmp.%ld", d->cache_path, (long)getpid());
    if (dmx_vk.vkGetPipelineCacheData(d->handle, d->cache, &size, data) == VK_SUCCESS &&
        make_dir(dir)) {
        FILE *f = fopen(tmp, "wb");
        bool ok = f && fwrite(data, 1, size, f) == size;
        if (f)
            ok = fclose(f) == 0 && ok;
        if (ok)
            ok = rename(tmp, d->cache_path) == 0;
        if (!ok)
            remove(tmp); /* a cache that cannot be written only costs compile time */
    }
    free(data);
}

void dmx_vk_pipeline_cache_close(dmx_vk_device *d)
{
    if (!d->cache)
        return;
    if (d->cache_dirty && d->cache_path[0])
        write_cache(d);
    dmx_vk.vkDestroyPipelineCache(d->handle, d->cache, NULL);
    d->cache = VK_NULL_HANDLE;
}
