/* The SPIR-V of every shaders/ *.comp, embedded at build time (host/vulkan/CMakeLists.txt
 * generates the table). Shaders are named after their file: "gelu" is shaders/gelu.comp. */
#ifndef DMX_VK_SHADERS_H
#define DMX_VK_SHADERS_H

#include <stddef.h>

typedef struct dmx_vk_shader {
    const char *name;
    const unsigned char *spv;
    const size_t *size;
} dmx_vk_shader;

extern const dmx_vk_shader dmx_vk_shaders[];
extern const size_t dmx_vk_shader_count;

#endif
