/* The fast CPU device ("cpu"): what users and `--device auto` get when there is
 * no GPU. Same host-memory buffers as the reference ("cpu-ref"); its op table
 * starts as a copy of the reference table, so it is complete, and the fast
 * kernels (host/cpu/fast_*.c) replace the ops that dominate a Mixer's training
 * step. The parity suite checks it against "cpu-ref" like any other device. */
#include <pthread.h>
#include <stdio.h>
#include <string.h>

#include "cpu/cpu_host.h"
#include "cpu/fast_kernels.h"
#include "cpu/fast_simd.h"

static dmx_op_fn fast_ops[DMX_OP_COUNT];

static void fill_table(void)
{
    memcpy(fast_ops, dmx_cpu_ref_ops, sizeof fast_ops);
    fast_ops[DMX_OP_MIX_LINEAR] = dmx_fast_mix_linear;
    fast_ops[DMX_OP_MIX_LINEAR_BWD_X] = dmx_fast_mix_linear_bwd_x;
    fast_ops[DMX_OP_MIX_LINEAR_BWD_W] = dmx_fast_mix_linear_bwd_w;
    fast_ops[DMX_OP_MIX_MLP] = dmx_fast_mix_mlp;
    fast_ops[DMX_OP_MIX_MLP_BWD] = dmx_fast_mix_mlp_bwd;
    fast_ops[DMX_OP_GELU] = dmx_fast_gelu;
    fast_ops[DMX_OP_GELU_BWD] = dmx_fast_gelu_bwd;
    fast_ops[DMX_OP_ELU] = dmx_fast_elu;
    fast_ops[DMX_OP_ELU_BWD] = dmx_fast_elu_bwd;
    fast_ops[DMX_OP_LAYERNORM] = dmx_fast_layernorm;
    fast_ops[DMX_OP_LAYERNORM_BWD] = dmx_fast_layernorm_bwd;
}

static dmx_status fast_init(void)
{
    static pthread_once_t once = PTHREAD_ONCE_INIT;
    pthread_once(&once, fill_table);
    return dmx_cpu_host_init();
}

static dmx_status fast_device_info(int index, dmx_device_info *out)
{
    (void)index;
    char what[64];
    snprintf(what, sizeof what, "CPU (fast kernels, SIMD %s)",
             dmx_fast_simd_name(dmx_fast_simd_level()));
    dmx_cpu_host_fill_info(out, what);
    return DMX_OK;
}

const dmx_backend dmx_cpu_fast_backend = {
    .name = "cpu",
    .kind = DMX_BACKEND_CPU,
    .init = fast_init,
    .device_count = dmx_cpu_host_device_count,
    .why_none = dmx_cpu_host_why_none,
    .device_info = fast_device_info,
    .device_open = dmx_cpu_host_device_open,
    .device_close = dmx_cpu_host_device_close,
    .buffer_alloc = dmx_cpu_host_buffer_alloc,
    .buffer_free = dmx_cpu_host_buffer_free,
    .buffer_write = dmx_cpu_host_buffer_write,
    .buffer_read = dmx_cpu_host_buffer_read,
    .buffer_copy = dmx_cpu_host_buffer_copy,
    .sync = dmx_cpu_host_sync,
    .supports = NULL,
    .concurrent_calls = true,
    .ops = fast_ops,
};
