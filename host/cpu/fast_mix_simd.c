/* Register-blocked SIMD kernels for the fast mix_linear (fast_mix_simd.h),
 * built for AVX-512 and AVX2 and chosen at run time by what the processor has
 * (or by DIMIX_CPU_SIMD=avx512|avx2|none). Other processors, and shapes these
 * kernels do not cover, take the portable loops of fast_mix_linear.c.
 *
 * Three forward/bwd_x layouts, by the 5-D view x[M, J, K, R1, R2]:
 *   R2 >= 16 (token mixing): columns r2 are the vector lanes, weights broadcast;
 *   R1 = R2 = 1 (stage 0, block-diagonal): the outputs of a group are the lanes, rows
 *     broadcast one element at a time against a transposed weight panel;
 *   otherwise (later stages, L = R1 R2 lanes of different groups): lanes carry their own
 *     weights, laid out once per call in a panel.
 * The weight gradient accumulates rows into register tiles of outputs x inputs. */
#include <stdlib.h>
#include <string.h>

#include "cpu/cpu_scratch.h"
#include "cpu/cpu_kernels.h"
#include "cpu/fast_simd.h"

/* Token mixing (R2 this wide) runs column-vectorised. */
#define WIDE_R2 16
/* Rows per task of the row-blocked layouts: enough to amortise a task, small enough to
 * spread 4096 rows over many threads. */
#define ROW_BLOCK 64

typedef struct mix_apply {
    const float *in, *W, *bias; /* bias c[J, R1, kout] or NULL */
    float *out;
    int64_t M, J, R1, R2, kin, kout;
    int64_t wg, a_so, a_sk; /* group g's A[o][k] = W[g wg + o a_so + k a_sk] */
    int accumulate;
} mix_apply;

typedef struct mix_grad {
    const float *dy, *x;
    float *dW, *dc; /* dc may be NULL */
    int64_t M, J, Din, Dout, R1, R2;
} mix_grad;

/* Weight panels, per calling thread, grown once and reused: no allocation per step. */
static float *panel_get(int64_t floats)
{
    return dmx_cpu_scratch(DMX_SCRATCH_SIMD_PANEL, (size_t)floats);
}

#if defined(__x86_64__) && (defined(__GNUC__) || defined(__clang__))
#define DMX_HAVE_X86_SIMD 1
#include <immintrin.h>

/* ---- AVX-512 ---- */
#define SFX(name) name##_avx512
#define TARGET __attribute__((target("avx512f")))
#define VL 16
#define vf __m512
#define V_MASK(n) ((__mmask16)((n) >= 16 ? 0xFFFFu : (n) <= 0 ? 0u : (1u << (n)) - 1u))
#define V_ZERO() _mm512_setzero_ps()
#define V_SET1(x) _mm512_set1_ps(x)
#define V_LOADN(p, n) _mm512_maskz_loadu_ps(V_MASK(n), (p))
#define V_STOREN(p, v, n) _mm512_mask_storeu_ps((p), V_MASK(n), (v))
#define V_FMA(a, b, c) _mm512_fmadd_ps((a), (b), (c))
#define V_ADD(a, b) _mm512_add_ps((a), (b))
#define ROWS_MR1 8
#define ROWS_MR2 8
#define ROWS_MR3 6
#define ROWS_MR4 5
#define LANES_MR 4
#define LANES_OB 4
#define COLS_NC 4
#define ROWW_OB1 8
#define ROWW_OB2 8
#define ROWW_OB3 6
#define ROWW_OB4 5
#define TILE_OB 4
#define TILE_KB 4
#include "cpu/fast_mix_simd.h"
#undef SFX
#undef TARGET
#undef VL
#undef vf
#undef V_MASK
#undef V_ZERO
#undef V_SET1
#undef V_LOADN
#undef V_STOREN
#undef V_FMA
#undef V_ADD
#undef ROWS_MR1
#undef ROWS_MR2
#undef ROWS_MR3
#undef ROWS_MR4
#undef LANES_MR
#undef LANES_OB
#undef COLS_NC
#undef ROWW_OB1
#undef ROWW_OB2
#undef ROWW_OB3
#undef ROWW_OB4
#undef TILE_OB
#undef TILE_KB

/* ---- AVX2 + FMA (16 registers: smaller tiles) ---- */
static const int32_t avx2_mask_table[16] = {-1, -1, -1, -1, -1, -1, -1, -1, 0, 0, 0, 0, 0, 0, 0, 0};
#define SFX(name) name##_avx2
#define TARGET __attribute__((target("avx2,fma")))
#define VL 8
#define vf __m256
#define V_MASK(n) \
    _mm256_loadu_si256((const __m256i *)(avx2_mask_table + 8 - ((n) >= 8 ? 8 : (n) <= 0 ? 0 : (n))))
#define V_ZERO() _mm256_setzero_ps()
#define V_SET1(x) _mm256_set1_ps(x)
#define V_LOADN(p, n) _mm256_maskload_ps((p), V_MASK(n))
#define V_STOREN(p, v, n) _mm256_maskstore_ps((p), V_MASK(n), (v))
#define V_FMA(a, b, c) _mm256_fmadd_ps((a), (b), (c))
#define V_ADD(a, b) _mm256_add_ps((a), (b))
#define ROWS_MR1 8
#define ROWS_MR2 5
#define ROWS_MR3 3
#define ROWS_MR4 2
#define LANES_MR 3
#define LANES_OB 3
#define COLS_NC 2
#define ROWW_OB1 8
#define ROWW_OB2 5
#define ROWW_OB3 3
#define ROWW_OB4 2
#define TILE_OB 3
#define TILE_KB 3
#include "cpu/fast_mix_simd.h"
#undef SFX
#undef TARGET
#undef VL
#undef vf
#undef V_MASK
#undef V_ZERO
#undef V_SET1
#undef V_LOADN
#undef V_STOREN
#undef V_FMA
#undef V_ADD
#endif

static int simd_level = -1; /* -1: not chosen yet */

dmx_simd_level dmx_fast_simd_best(void)
{
#ifdef DMX_HAVE_X86_SIMD
    __builtin_cpu_init();
    if (__builtin_cpu_supports("avx512f"))
        return DMX_SIMD_AVX512;
    if (__builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma"))
        return DMX_SIMD_AVX2;
#endif
    return DMX_SIMD_NONE;
}

const char *dmx_fast_simd_name(dmx_simd_level level)
{
    return level == DMX_SIMD_AVX512 ? "avx512" : level == DMX_SIMD_AVX2 ? "avx2" : "none";
}

dmx_simd_level dmx_fast_simd_level(void)
{
    int level = __atomic_load_n(&simd_level, __ATOMIC_RELAXED);
    if (level < 0) {
        level = dmx_fast_simd_best();
        const char *want = getenv("DIMIX_CPU_SIMD");
        if (want && strcmp(want, "none") == 0)
            level = DMX_SIMD_NONE;
        else if (want && strcmp(want, "avx2") == 0 && level >= DMX_SIMD_AVX2)
            level = DMX_SIMD_AVX2;
        __atomic_store_n(&simd_level, level, __ATOMIC_RELAXED);
    }
    return (dmx_simd_level)level;
}

dmx_simd_level dmx_fast_simd_force(dmx_simd_level level)
{
    const dmx_simd_level best = dmx_fast_simd_best();
    if (level > best)
        level = best;
    __atomic_store_n(&simd_level, (int)level, __ATOMIC_RELAXED);
    return level;
}

/* Dense layers (one group: a channel MLP, or a token MLP over R2 columns) stay with BLAS,
 * which packs their larger matrices better (measured: e1-dense train 8% slower here). */
static int dense(int64_t J, int64_t R1, int64_t R2)
{
    (void)R2;
    return J == 1 && R1 == 1;
}

static int blas_group(int64_t Din, int64_t Dout) { return Din * Dout >= DMX_FAST_BLAS_GROUP; }

static int run_apply(const mix_apply *a)
{
    if (a->kin <= 0 || a->kout <= 0 || a->M <= 0 || dense(a->J, a->R1, a->R2) ||
        blas_group(a->kin, a->kout))
        return 0;
#ifdef DMX_HAVE_X86_SIMD
    switch (dmx_fast_simd_level()) {
    case DMX_SIMD_AVX512:
        return apply_avx512(a);
    case DMX_SIMD_AVX2:
        return apply_avx2(a);
    case DMX_SIMD_NONE:
        break;
    }
#else
    (void)a;
#endif
    return 0;
}

int dmx_fast_simd_mix_linear(const dmx_p_mix_linear *p, const float *x, const float *W,
                             const float *c, float *y)
{
    const mix_apply a = {.in = x, .W = W, .bias = p->has_bias ? c : NULL, .out = y, .M = p->M,
                         .J = p->J, .R1 = p->R1, .R2 = p->R2, .kin = p->Din, .kout = p->Dout,
                         .wg = (int64_t)p->Dout * p->Din, .a_so = p->Din, .a_sk = 1,
                         .accumulate = 0};
    return run_apply(&a);
}

int dmx_fast_simd_mix_linear_bwd_x(const dmx_p_mix_linear *p, const float *dy, const float *W,
                                   float *dx)
{
    const mix_apply a = {.in = dy, .W = W, .bias = NULL, .out = dx, .M = p->M, .J = p->J,
                         .R1 = p->R1, .R2 = p->R2, .kin = p->Dout, .kout = p->Din,
                         .wg = (int64_t)p->Dout * p->Din, .a_so = 1, .a_sk = p->Din,
                         .accumulate = p->accumulate};
    return run_apply(&a);
}

int dmx_fast_simd_mix_linear_bwd_w(const dmx_p_mix_linear *p, const float *dy, const float *x,
                                   float *dW, float *dc)
{
    const mix_grad a = {.dy = dy, .x = x, .dW = dW, .dc = p->has_bias ? dc : NULL, .M = p->M,
                        .J = p->J, .Din = p->Din, .Dout = p->Dout, .R1 = p->R1, .R2 = p->R2};
    if (a.Din <= 0 || a.Dout <= 0 || a.M <= 0 || dense(a.J, a.R1, a.R2) ||
        blas_group(a.Din, a.Dout))
        return 0;
#ifdef DMX_HAVE_X86_SIMD
    switch (dmx_fast_simd_level()) {
    case DMX_SIMD_AVX512:
        return grad_w_avx512(&a);
    case DMX_SIMD_AVX2:
        return grad_w_avx2(&a);
    case DMX_SIMD_NONE:
        break;
    }
#else
    (void)a;
#endif
    return 0;
}
