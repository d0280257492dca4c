/* Prepended to every kernel file of cl/ (the host builds each program from common.cl + file).
 *
 * Conventions: every kernel runs with DMX_WG work-items per group in dimension 0 (a build
 * option set by the host; reqd_work_group_size lets the compiler and PoCL specialise once).
 * A buffer argument is a pointer plus an element offset (ulong), applied first thing.
 * Reductions run in a fixed order (a tree over the work-group, chunks summed in index order),
 * never with float atomics, so repeated runs give bitwise equal results. */
#ifndef DMX_WG
#error "build with -DDMX_WG=<work-group size>"
#endif

#define DMX_KERNEL __kernel __attribute__((reqd_work_group_size(DMX_WG, 1, 1)))

/* Index splitting: returns a / b and stores a % b in *rem. Kernels use these rather than
 * writing both a / b and a % b: LLVM pairs those into a division plus a `freeze`d remainder,
 * an instruction oclgrind 21.10's --uninitialized check cannot interpret, and the oclgrind test
 * runs the kernels as optimised. (The product-and-subtract is what a GPU does anyway.) */
inline int dmx_split(int a, int b, int *rem)
{
    const int q = a / b;
    *rem = a - q * b;
    return q;
}

inline long dmx_split_long(long a, long b, long *rem)
{
    const long q = a / b;
    *rem = a - q * b;
    return q;
}

/* GELU (exact) and its derivative, written with erfc: x Phi(x) = 0.5 x erfc(-x / sqrt 2). The
 * textbook 0.5 x (1 + erf(x / sqrt 2)) cancels catastrophically for negative x; erfc(+large)
 * is accurate to its last bit (see activation.cl). */
#define DMX_SQRT1_2 0.70710678118654752440f
#define DMX_INV_SQRT_2PI 0.39894228040143267794f

inline float dmx_gelu(float x) { return 0.5f * x * erfc(-x * DMX_SQRT1_2); }

inline float dmx_gelu_grad(float x)
{
    return 0.5f * erfc(-x * DMX_SQRT1_2) + x * DMX_INV_SQRT_2PI * exp(-0.5f * x * x);
}

/* Softmax mask entries at or below this are removed (host/ops/op_params.h). */
#define DMX_MASK_REMOVED (-1e20f)

/* The sum of v over the work-group in a fixed tree order; every work-item gets it.
 * scratch holds DMX_WG floats; every work-item must call this (it has barriers). */
inline float dmx_wg_sum(float v, __local float *scratch)
{
    const int lid = get_local_id(0);
    scratch[lid] = v;
    barrier(CLK_LOCAL_MEM_FENCE);
    for (int width = DMX_WG / 2; width > 0; width >>= 1) {
        if (lid < width)
            scratch[lid] += scratch[lid + width];
        barrier(CLK_LOCAL_MEM_FENCE);
    }
    const float total = scratch[0];
    barrier(CLK_LOCAL_MEM_FENCE); /* scratch may be reused right after */
    return total;
}

/* The maximum of v over the work-group (same contract as dmx_wg_sum). */
inline float dmx_wg_max(float v, __local float *scratch)
{
    const int lid = get_local_id(0);
    scratch[lid] = v;
    barrier(CLK_LOCAL_MEM_FENCE);
    for (int width = DMX_WG / 2; width > 0; width >>= 1) {
        if (lid < width)
            scratch[lid] = fmax(scratch[lid], scratch[lid + width]);
        barrier(CLK_LOCAL_MEM_FENCE);
    }
    const float total = scratch[0];
    barrier(CLK_LOCAL_MEM_FENCE);
    return total;
}

/* Column reductions (sum_rows, layernorm_bwd's gamma/beta): a work-group owns 32 columns and
 * DMX_WG / 32 row lanes; part holds [lanes][32] floats in local memory. */
#define DMX_COLS_TILE 32
#define DMX_ROW_LANES (DMX_WG / DMX_COLS_TILE)

/* Adds the lanes of `part` into lane 0, as a fixed tree. */
inline void dmx_reduce_lanes(__local float *part)
{
    const int lid = get_local_id(0);
    for (int width = DMX_ROW_LANES / 2; width > 0; width >>= 1) {
        if (lid < width * DMX_COLS_TILE)
            part[lid] += part[lid + width * DMX_COLS_TILE];
        barrier(CLK_LOCAL_MEM_FENCE);
    }
}
