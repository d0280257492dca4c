/* The CPU reference: one function per device operator (host/ops/ops.def), plain C with
 * OpenMP over independent outputs. Each output element is computed by one thread in a fixed
 * order, so results are bitwise repeatable whatever the thread count. */
#ifndef DMX_CPU_KERNELS_H
#define DMX_CPU_KERNELS_H

#include "device/backend.h"

/* A loop runs in parallel only when its work (elements touched or multiply-adds) reaches
 * DMX_CPU_PARALLEL_MIN. Below that, opening a parallel region costs more than the loop: a few
 * microseconds on an idle machine, but on an oversubscribed one (tests beside a build, or
 * OpenBLAS's pthreads spinning beside OpenMP's) every barrier waits for a descheduled thread,
 * milliseconds per op. Each output is still computed by one thread in a fixed order, so results
 * do not depend on this choice. */
#define DMX_CPU_PARALLEL_MIN 32768
#define DMX_CPU_PARALLEL(work) ((int64_t)(work) >= DMX_CPU_PARALLEL_MIN)

/* Host pointer of argument i (NULL for an absent optional argument). */
float *dmx_cpu_f32(const dmx_op_call *call, int i);
int32_t *dmx_cpu_i32(const dmx_op_call *call, int i);

/* Elementwise unary ops (dmx_p_unary) over chunks spread on OpenMP threads: a span function
 * does [0, n) of one chunk. Shared by the reference and the fast device's activations. */
typedef void (*dmx_cpu_fwd_span)(const float *restrict x, float *restrict y, int64_t n);
typedef void (*dmx_cpu_bwd_span)(const float *restrict x, const float *restrict dy,
                                 float *restrict dx, int64_t n, int accumulate);
dmx_status dmx_cpu_unary_forward(const dmx_op_call *call, dmx_cpu_fwd_span span);
dmx_status dmx_cpu_unary_backward(const dmx_op_call *call, dmx_cpu_bwd_span span);

#define DMX_OP(id, name, n_in, n_out, opt, ptype) \
    dmx_status dmx_cpu_##name(dmx_device *dev, const dmx_op_call *call);
#include "ops/ops.def"
#undef DMX_OP

#endif
