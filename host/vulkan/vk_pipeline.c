/* Compute pipelines, one per (shader, specialization constants), created on first use through
 * the device's VkPipelineCache. Shaders come from the SPIR-V embedded in the library, or from
 * $DIMIX_SHADER_DIR/<name>.spv when that developer override is set. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/error.h"
#include "vulkan/vk_internal.h"
#include "vulkan/vk_shaders.h"

#define DMX_VK_SPIRV_MAGIC 0x07230203u
#define DMX_VK_SHADER_FILE_MAX (16u << 20)

static uint32_t hash_key(const char *shader, const uint32_t *spec, int n_spec)
{
    uint32_t h = 2166136261u; /* FNV-1a */
    for (const char *c = shader; *c; c++)
        h = (h ^ (unsigned char)*c) * 16777619u;
    for (int i = 0; i < n_spec; i++)
        h = (h ^ spec[i]) * 16777619u;
    return h;
}

static bool same_key(const dmx_vk_pipeline *p, const char *shader, const uint32_t *spec,
                     int n_spec)
{
    return p->n_spec == n_spec && strcmp(p->shader, shader) == 0 &&
           (n_spec == 0 || memcmp(p->spec, spec, (size_t)n_spec * 4) == 0);
}

/* SPIR-V words of `name` (malloc'd, 4-byte aligned as vkCreateShaderModule wants). */
static dmx_status load_from_dir(const char *dir, const char *name, uint32_t **code, size_t *size)
{
    char path[1024];
    snprintf(path, sizeof path, "%s/%s.spv", dir, name);
    FILE *f = fopen(path, "rb");
    if (!f)
        return dmx_fail(DMX_ERR_NOT_FOUND, "shader '%s' not found: %s: %s (DIMIX_SHADER_DIR=%s)",
                        name, path, strerror(errno), dir);
    long len = fseek(f, 0, SEEK_END) == 0 ? ftell(f) : -1;
    if (len <= 0 || len % 4 || len > (long)DMX_VK_SHADER_FILE_MAX || fseek(f, 0, SEEK_SET)) {
        fclose(f);
        return dmx_fail(DMX_ERR_FORMAT, "shader %s: size %ld is not a SPIR-V module", path, len);
    }
    *code = malloc((size_t)len);
    if (!*code) {
        fclose(f);
        return dmx_fail(DMX_ERR_OUT_OF_MEMORY, "shader %s: out of host memory", path);
    }
    size_t got = fread(*code, 1, (size_t)len, f);
    fclose(f);
    if (got != (size_t)len) {
        free(*code);
        return dmx_fail(DMX_ERR_IO, "shader %s: read %zu of %ld bytes", path, got, len);
    }
    *size = (size_t)len;
    return DMX_OK;
}

static dmx_status load_embedded(const char *name, uint32_t **code, size_t *size)
{
    for (size_t i = 0; i < dmx_vk_shader_count; i++) {
        if (strcmp(dmx_vk_shaders[i].name, name) != 0)
            continue;
        *size = *dmx_vk_shaders[i].size;
        *code = malloc(*size);
        if (!*code)
            return dmx_fail(DMX_ERR_OUT_OF_MEMORY, "shader %s: out of host memory", name);
        memcpy(*code, dmx_vk_shaders[i].spv, *size);
        return DMX_OK;
    }
    return dmx_fail(DMX_ERR_NOT_FOUND, "shader '%s' is not embedded in this build (%zu shaders)",
                    name, dmx_vk_shader_count);
}

static dmx_status load_spirv(const char *name, uint32_t **code, size_t *size)
{
    const char *dir = getenv("DIMIX_SHADER_DIR");
    DMX_TRY(dir && *dir ? load_from_dir(dir, name, code, size) : load_embedded(name, code, size));
    if (*size < 20 || (*code)[0] != DMX_VK_SPIRV_MAGIC) {
        free(*code);
        return dmx_fail(DMX_ERR_FORMAT, "shader '%s' is not SPIR-V (bad magic number)", name);
    }
    return DMX_OK;
}

static dmx_status create_pipeline(dmx_vk_device *d, const char *shader, const uint32_t *spec,
                                  int n_spec, VkPipeline *out)
{
    uint32_t *code = NULL;
    size_t size = 0;
    DMX_TRY(load_spirv(shader, &code, &size));
    VkShaderModuleCreateInfo module_info = {
        .sType = VK_STRUCTURE_TYPE_SHADER_MODULE_CREATE_INFO,
        .codeSize = size,
        .pCode = code,
    };
    VkShaderModule module;
    VkResult r = dmx_vk.vkCreateShaderModule(d->handle, &module_info, NULL, &module);
    free(code);
    if (r != VK_SUCCESS)
        return dmx_fail_context(dmx_vk_fail(d, r, "vkCreateShaderModule"), "shader %s: ",
                                shader);
    VkSpecializationMapEntry entries[DMX_VK_MAX_SPEC];
    for (int i = 0; i < n_spec; i++)
        entries[i] = (VkSpecializationMapEntry){(uint32_t)i, (uint32_t)i * 4, 4};
    VkSpecializationInfo spec_info = {
        .mapEntryCount = (uint32_t)n_spec,
        .pMapEntries = entries,
        .dataSize = (size_t)n_spec * 4,
        .pData = spec,
    };
    VkComputePipelineCreateInfo info = {
        .sType = VK_STRUCTURE_TYPE_COMPUTE_PIPELINE_CREATE_INFO,
        .stage = {
            .sType = VK_STRUCTURE_TYPE_PIPELINE_SHADER_STAGE_CREATE_INFO,
            .stage = VK_SHADER_STAGE_COMPUTE_BIT,
            .module = module,
            .pName = "main",
            .pSpecializationInfo = n_spec ? &spec_info : NULL,
        },
        .layout = d->layout,
    };
    r = dmx_vk.vkCreateComputePipelines(d->handle, d->cache, 1, &info, NULL, out);
    dmx_vk.vkDestroyShaderModule(d->handle, module, NULL);
    if (r != VK_SUCCESS)
        return dmx_fail_context(dmx_vk_fail(d, r, "vkCreateComputePipelines"), "shader %s: ",
                                shader);
    d->cache_dirty = true;
    return DMX_OK;
}

dmx_status dmx_vk_pipeline_get(dmx_vk_device *d, const char *shader, const uint32_t *spec,
                               int n_spec, VkPipeline *out)
{
    if (n_spec > DMX_VK_MAX_SPEC)
        return dmx_fail(DMX_ERR_INVALID_ARG, "%s: %d specialization constants", shader, n_spec);
    uint32_t slot = hash_key(shader, spec, n_spec) % DMX_VK_PIPELINE_SLOTS;
    for (int probe = 0; probe < DMX_VK_PIPELINE_SLOTS; probe++) {
        dmx_vk_pipeline *p = &d->pipelines[(slot + (uint32_t)probe) % DMX_VK_PIPELINE_SLOTS];
        if (p->handle && same_key(p, shader, spec, n_spec)) {
            *out = p->handle;
            return DMX_OK;
        }
        if (!p->handle) {
            if (d->n_pipelines >= DMX_VK_PIPELINE_SLOTS * 3 / 4)
                return dmx_fail(DMX_ERR_OUT_OF_MEMORY, "more than %d pipeline variants",
                                DMX_VK_PIPELINE_SLOTS * 3 / 4);
            DMX_TRY(create_pipeline(d, shader, spec, n_spec, &p->handle));
            p->shader = shader;
            p->n_spec = n_spec;
            if (n_spec)
                memcpy(p->spec, spec, (size_t)n_spec * 4);
            d->n_pipelines++;
            *out = p->handle;
            return DMX_OK;
        }
    }
    return dmx_fail(DMX_ERR_OUT_OF_MEMORY, "pipeline table full");
}

void dmx_vk_pipelines_release(dmx_vk_device *d)
{
    for (int i = 0; i < DMX_VK_PIPELINE_SLOTS; i++)
        if (d->pipelines[i].handle) {
            dmx_vk.vkDestroyPipeline(d->handle, d->pipelines[i].handle, NULL);
            d->pipelines[i].handle = VK_NULL_HANDLE;
        }
    d->n_pipelines = 0;
}
