/* TEMPORARY (branch `fused` only, never merged like this): the Vulkan MIX_MLP shaders are being
 * written on branch `fused-gpu`; until then the op reports itself unsupported. */
#include "core/error.h"
#include "vulkan/vk_ops.h"

dmx_status dmx_vk_mix_mlp(dmx_vk_device *d, const dmx_op_call *call)
{
    (void)d, (void)call;
    return dmx_fail(DMX_ERR_UNSUPPORTED, "vulkan: mix_mlp is not written yet");
}

dmx_status dmx_vk_mix_mlp_bwd(dmx_vk_device *d, const dmx_op_call *call)
{
    (void)d, (void)call;
    return dmx_fail(DMX_ERR_UNSUPPORTED, "vulkan: mix_mlp_bwd is not written yet");
}
