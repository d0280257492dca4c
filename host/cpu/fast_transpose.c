/* dst[c][r] (+)= src[r][c] for a rows x cols matrix: the fast CPU device's transposes (the
 * transposed butterfly stages of fast_mix_mlp.c). AVX-512 moves 16 x 16 tiles through
 * registers (16 loads, 64 shuffles, 16 stores); edges, and processors without it, take the
 * plain loop. A transpose only moves numbers (the accumulating form adds each once), so every
 * path gives the same bits. */
#include <stdint.h>

#include "cpu/cpu_kernels.h"
#include "cpu/fast_kernels.h"
#include "cpu/fast_simd.h"

static void plain_tile(const float *src, int64_t src_ld, float *dst, int64_t dst_ld,
                       int64_t rows, int64_t cols, int accumulate)
{
    for (int64_t c = 0; c < cols; c++)
        for (int64_t r = 0; r < rows; r++) {
            const float v = src[r * src_ld + c];
            dst[c * dst_ld + r] = accumulate ? dst[c * dst_ld + r] + v : v;
        }
}

#if defined(__x86_64__) && (defined(__GNUC__) || defined(__clang__))
#include <immintrin.h>
#define HAVE_AVX512_TILE 1

/* One full 16 x 16 tile. Rows pair up (unpack: 2 x 2 blocks), then pairs of pairs (shuffle:
 * 4 x 4), then 128-bit lanes across registers twice (8 x 8, 16 x 16). */
__attribute__((target("avx512f"))) static void tile16(const float *src, int64_t src_ld,
                                                      float *dst, int64_t dst_ld, int accumulate)
{
    __m512 a[16], b[16];
    for (int i = 0; i < 16; i++)
        a[i] = _mm512_loadu_ps(src + i * src_ld);
    for (int i = 0; i < 16; i += 2) {
        b[i] = _mm512_unpacklo_ps(a[i], a[i + 1]);
        b[i + 1] = _mm512_unpackhi_ps(a[i], a[i + 1]);
    }
    for (int i = 0; i < 16; i += 4)
        for (int h = 0; h < 2; h++) {
            a[i + h] = _mm512_shuffle_ps(b[i + h], b[i + h + 2], _MM_SHUFFLE(1, 0, 1, 0));
            a[i + h + 2] = _mm512_shuffle_ps(b[i + h], b[i + h + 2], _MM_SHUFFLE(3, 2, 3, 2));
        }
    /* a[i + t] (i = 0, 4, 8, 12; t < 4) holds, in 128-bit lane l, column 4 l + t' of rows
     * i..i+3 (t' = 0, 2, 1, 3 for t = 0, 1, 2, 3) */
    for (int i = 0; i < 8; i++) {
        const int lo = (i / 4) * 8 + i % 4, hi = lo + 4;
        b[i] = _mm512_shuffle_f32x4(a[lo], a[hi], _MM_SHUFFLE(2, 0, 2, 0));
        b[i + 8] = _mm512_shuffle_f32x4(a[lo], a[hi], _MM_SHUFFLE(3, 1, 3, 1));
    }
    for (int i = 0; i < 4; i++)
        for (int h = 0; h < 2; h++) {
            const int p = h * 8 + i;
            a[p] = _mm512_shuffle_f32x4(b[p], b[p + 4], _MM_SHUFFLE(2, 0, 2, 0));
            a[p + 4] = _mm512_shuffle_f32x4(b[p], b[p + 4], _MM_SHUFFLE(3, 1, 3, 1));
        }
    /* a[p] now holds one column: which one follows from the three steps above */
    static const int column_of[16] = {0, 2, 1, 3, 8, 10, 9, 11, 4, 6, 5, 7, 12, 14, 13, 15};
    for (int p = 0; p < 16; p++) {
        float *d = dst + column_of[p] * dst_ld;
        __m512 v = a[p];
        if (accumulate)
            v = _mm512_add_ps(_mm512_loadu_ps(d), v);
        _mm512_storeu_ps(d, v);
    }
}
#endif

void dmx_fast_transpose(const float *src, int64_t rows, int64_t cols, float *dst,
                        int accumulate)
{
    const int64_t rb = (rows + 15) / 16, cb = (cols + 15) / 16;
#ifdef HAVE_AVX512_TILE
    const int avx512 = dmx_fast_simd_level() == DMX_SIMD_AVX512;
#else
    const int avx512 = 0;
#endif
#pragma omp parallel for schedule(static) if (DMX_CPU_PARALLEL(rows * cols * 4))
    for (int64_t t = 0; t < rb * cb; t++) {
        const int64_t r0 = t / cb * 16, c0 = t % cb * 16;
        const int64_t nr = rows - r0 < 16 ? rows - r0 : 16, nc = cols - c0 < 16 ? cols - c0 : 16;
        const float *s = src + r0 * cols + c0;
        float *d = dst + c0 * rows + r0;
#ifdef HAVE_AVX512_TILE
        if (avx512 && nr == 16 && nc == 16) {
            tile16(s, cols, d, rows, accumulate);
            continue;
        }
#endif
        plain_tile(s, cols, d, rows, nr, nc, accumulate);
    }
    (void)avx512;
}
