/* Which SIMD kernels the fast CPU device runs: the best the processor has
 * (AVX-512, else AVX2 with FMA), or less when DIMIX_CPU_SIMD=avx2|none says so;
 * without either, the portable loops. The choice never changes what is
 * computed, only the rounding of sums (checked against cpu-ref like any path). */
#ifndef DMX_CPU_FAST_SIMD_H
#define DMX_CPU_FAST_SIMD_H

#include "ops/op_params.h"

typedef enum dmx_simd_level {
    DMX_SIMD_NONE = 0,
    DMX_SIMD_AVX2 = 1,
    DMX_SIMD_AVX512 = 2,
} dmx_simd_level;

/* What the processor supports. */
dmx_simd_level dmx_fast_simd_best(void);
/* What the kernels use (chosen on first call). */
dmx_simd_level dmx_fast_simd_level(void);
/* For tests: use `level` (at most the best); returns the level set. */
dmx_simd_level dmx_fast_simd_force(dmx_simd_level level);
const char *dmx_fast_simd_name(dmx_simd_level level);

/* mix_linear, its bwd_x and bwd_w on the SIMD kernels (same arguments as the ops in
 * host/ops/op_params.h): 1 done, 0 not covered (the caller runs the portable path),
 * -1 out of host memory. */
/* Groups at least this large (Din x Dout) go to BLAS: from 32 x 32 on, its packed GEMMs beat
 * these kernels (measured: butterfly-MLP at N = 4096, b = 64, 1.26x slower here than cpu-ref). */
#define DMX_FAST_BLAS_GROUP 1024

int dmx_fast_simd_mix_linear(const dmx_p_mix_linear *p, const float *x, const float *W,
                             const float *c, float *y);
int dmx_fast_simd_mix_linear_bwd_x(const dmx_p_mix_linear *p, const float *dy, const float *W,
                                   float *dx);
int dmx_fast_simd_mix_linear_bwd_w(const dmx_p_mix_linear *p, const float *dy, const float *x,
                                   float *dW, float *dc);

#endif
