/* Per-thread host scratch for the CPU kernels: grown once and reused (no allocation per step),
 * and freed when the thread exits, so an application's short-lived threads leak nothing. */
#ifndef DMX_CPU_SCRATCH_H
#define DMX_CPU_SCRATCH_H

#include <stddef.h>

typedef enum dmx_scratch_slot {
    DMX_SCRATCH_MIX_GROUPS = 0, /* cpu_mix_linear.c: gathered groups */
    DMX_SCRATCH_MIX_BIAS,       /* cpu_mix_linear.c: transposed bias */
    DMX_SCRATCH_FAST_WEIGHTS,   /* fast_mix_linear.c: rearranged weights */
    DMX_SCRATCH_LAYERNORM,      /* fast_layernorm.c: per-block partial sums */
    DMX_SCRATCH_MIX_MLP,        /* fast_mix_mlp.c: hidden slices */
    DMX_SCRATCH_MIX_MLP_GRADS,  /* fast_mix_mlp.c: per-slice weight gradients */
    DMX_SCRATCH_SIMD_PANEL,     /* fast_mix_simd.c: weight panels */
    DMX_SCRATCH_SLOTS
} dmx_scratch_slot;

/* At least `floats` floats, 64-byte aligned, of this thread's buffer `slot` (contents not kept when it grows);
 * NULL when out of memory. */
float *dmx_cpu_scratch(dmx_scratch_slot slot, size_t floats);

#endif
