/* The fast CPU kernels (host/cpu/fast_*.c), one per op they replace in the
 * "cpu" device's table. Same contract as the reference (host/ops/op_params.h);
 * results agree with "cpu-ref" within the parity tolerances, and each output
 * element is summed by one thread in a fixed order, so they are bitwise the
 * same for any OpenMP thread count. */
#ifndef DMX_CPU_FAST_KERNELS_H
#define DMX_CPU_FAST_KERNELS_H

#include <stdbool.h>

#include "device/backend.h"
#include "ops/op_params.h"

dmx_status dmx_fast_mix_linear(dmx_device *dev, const dmx_op_call *call);
dmx_status dmx_fast_mix_linear_bwd_x(dmx_device *dev, const dmx_op_call *call);
dmx_status dmx_fast_mix_linear_bwd_w(dmx_device *dev, const dmx_op_call *call);
dmx_status dmx_fast_mix_mlp(dmx_device *dev, const dmx_op_call *call);
dmx_status dmx_fast_mix_mlp_bwd(dmx_device *dev, const dmx_op_call *call);
/* a = GELU(u) and d *= GELU'(u) over n elements (fast_activation.c; OpenMP inside). */
void dmx_fast_gelu_pair(const float *u, float *a, float *d, int64_t n);
dmx_status dmx_fast_gelu(dmx_device *dev, const dmx_op_call *call);
/* The AVX-512 table GELU (fast_gelu_avx512.c): GELU, GELU' (dx (+)= dy GELU'(x)), the pair
 * above, and Phi, phi (for its test). Each returns false, doing nothing, where it was not
 * built (not x86-64); the caller checks the processor has AVX-512. */
bool dmx_fast_gelu_avx512(const float *x, float *y, int64_t n);
bool dmx_fast_gelu_bwd_avx512(const float *x, const float *dy, float *dx, int64_t n,
                              int accumulate);
bool dmx_fast_gelu_pair_avx512(const float *u, float *a, float *d, int64_t n);
bool dmx_fast_normal_cdf_pdf_avx512(const float *x, float *cdf, float *pdf, int64_t n);
dmx_status dmx_fast_gelu_bwd(dmx_device *dev, const dmx_op_call *call);
dmx_status dmx_fast_elu(dmx_device *dev, const dmx_op_call *call);
dmx_status dmx_fast_elu_bwd(dmx_device *dev, const dmx_op_call *call);
dmx_status dmx_fast_layernorm(dmx_device *dev, const dmx_op_call *call);
dmx_status dmx_fast_layernorm_bwd(dmx_device *dev, const dmx_op_call *call);

/* dst[c * rows + r] (+)= src[r * cols + c] (fast_transpose.c; OpenMP inside). */
void dmx_fast_transpose(const float *src, int64_t rows, int64_t cols, float *dst,
                        int accumulate);

/* The BLAS-shaped cases (fast_mix_blas.c): 1 done, 0 not this shape. */
bool dmx_fast_blas_covers(const dmx_p_mix_linear *p);
int dmx_fast_blas_mix_linear(const dmx_p_mix_linear *p, const float *x, const float *W,
                             const float *c, float *y);
int dmx_fast_blas_mix_linear_bwd_w(const dmx_p_mix_linear *p, const float *dy, const float *x,
                                   float *dW, float *dc);

#endif
