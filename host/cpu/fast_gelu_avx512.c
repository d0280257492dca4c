/* GELU on AVX-512 for the fast CPU device: Phi and phi from tables instead of exp, erf and a
 * division. For a = |x| < 6 the interval i = floor(16 a / 6) and u = 16 a / 6 - (i + 1/2)
 * give Phi(-a) and phi(a) as degree-6 polynomials in u whose 16 sets of coefficients sit in
 * registers, one vector per power, picked per lane by a permute (tools/fit_normal_table.py
 * fits them; truncation below 1e-9). Beyond 6 both are below 1e-8 and taken as 0. Then
 * Phi(x) = Phi(-a) for x < 0, else 1 - Phi(-a), and GELU(x) = x Phi(x), GELU'(x) = Phi(x) +
 * x phi(x). About twice as fast as the exp-based code of cpu_math.h that AVX2 and other
 * processors run; Phi's and phi's absolute error, checked by tests/unit/test_cpu_math over
 * [-30, 30], is below 1e-7 like theirs. */
#include "cpu/fast_kernels.h"

#if defined(__x86_64__) && (defined(__GNUC__) || defined(__clang__))
#include <immintrin.h>

#define TARGET __attribute__((target("avx512f")))
#define INTERVALS 16
#define POWERS 7

/* worst absolute error before float rounding: tail 3.19e-10, pdf 8.43e-10 */
static const float tail_coef[7][16] = {
    {4.125152555e-06f, 8.767840927e-06f, 6.469799467e-06f, 6.518560231e-07f, -3.326346800e-06f, -3.560193854e-06f, -1.757693780e-06f, -1.361666589e-07f, 5.022801282e-07f, 4.721177498e-07f, 2.623053583e-07f, 1.071001086e-07f, 3.438998883e-08f, 8.961396407e-09f, 1.928810047e-09f, 3.467455884e-10f},
    {-6.715440153e-05f, -2.522730531e-05f, 2.355359216e-05f, 4.518835874e-05f, 3.536333859e-05f, 1.308293070e-05f, -3.236931800e-06f, -8.487552866e-06f, -6.928994948e-06f, -3.813331847e-06f, -1.605001640e-06f, -5.417783114e-07f, -1.502144791e-07f, -3.469217342e-08f, -6.734717427e-09f, -1.105863339e-09f},
    {-1.795482574e-04f, -4.235912910e-04f, -4.212097268e-04f, -2.328980894e-04f, -2.035339635e-05f, 1.013323949e-04f, 1.208272819e-04f, 8.696603198e-05f, 4.666102222e-05f, 1.990974482e-05f, 6.957516159e-06f, 2.023765589e-06f, 4.949291594e-07f, 1.024519248e-07f, 1.803662564e-08f, 2.710007952e-09f},
    {3.324061249e-03f, 2.046173333e-03f, 2.736370044e-04f, -1.070777828e-03f, -1.559945332e-03f, -1.359991580e-03f, -8.882793822e-04f, -4.641719149e-04f, -1.997600298e-04f, -7.191313159e-05f, -2.186156105e-05f, -5.647060799e-06f, -1.244820335e-06f, -2.349066365e-07f, -3.803740704e-08f, -5.294713817e-09f},
    {5.167848536e-03f, 1.346971401e-02f, 1.694578959e-02f, 1.555864850e-02f, 1.139792245e-02f, 6.896243132e-03f, 3.505316629e-03f, 1.511355095e-03f, 5.560871671e-04f, 1.753047190e-04f, 4.748240879e-05f, 1.107240995e-05f, 2.226294927e-06f, 3.864224946e-07f, 5.795358105e-08f, 7.515458151e-09f},
    {-1.469965855e-01f, -1.277128477e-01f, -9.640271617e-02f, -6.322244522e-02f, -3.602306321e-02f, -1.783270900e-02f, -7.669752302e-03f, -2.865976975e-03f, -9.304465252e-04f, -2.624445377e-04f, -6.431482801e-05f, -1.369342930e-05f, -2.533033817e-06f, -4.070966798e-07f, -5.684367486e-08f, -6.895964394e-09f},
    {4.256343118e-01f, 2.868877018e-01f, 1.742507119e-01f, 9.467574302e-02f, 4.575362496e-02f, 1.958007878e-02f, 7.394607111e-03f, 2.457901176e-03f, 7.175422901e-04f, 1.836699543e-04f, 4.116746594e-05f, 8.070944090e-06f, 1.382813489e-06f, 2.068970263e-07f, 2.701667338e-08f, 3.077333787e-09f},
};
static const float pdf_coef[7][16] = {
    {-2.018313262e-05f, -2.947371350e-06f, 1.340656516e-05f, 1.495532544e-05f, 5.429999632e-06f, -3.249783945e-06f, -5.288282442e-06f, -3.030955348e-06f, -5.634821545e-07f, 4.895454055e-07f, 5.304984786e-07f, 2.921420494e-07f, 1.140965503e-07f, 3.447608839e-08f, 8.371250387e-09f, 1.667476654e-09f},
    {-6.592018360e-05f, -1.401290451e-04f, -1.034411763e-04f, -1.047504780e-05f, 5.313761397e-05f, 5.692089176e-05f, 2.812988721e-05f, 2.200882854e-06f, -8.022632352e-06f, -7.550756146e-06f, -4.198372854e-06f, -1.715379932e-06f, -5.511853091e-07f, -1.437297115e-07f, -3.095853893e-08f, -5.569795553e-09f},
    {9.012169849e-04f, 3.372146987e-04f, -3.179171049e-04f, -6.068276401e-04f, -4.730783092e-04f, -1.735011703e-04f, 4.468531842e-05f, 1.140421221e-04f, 9.254922339e-05f, 5.070313910e-05f, 2.124691705e-05f, 7.139396997e-06f, 1.969930822e-06f, 4.526123213e-07f, 8.738024291e-08f, 1.426360148e-08f},
    {1.915162708e-03f, 4.518271539e-03f, 4.492886558e-03f, 2.484256599e-03f, 2.171219801e-04f, -1.080869281e-03f, -1.288825883e-03f, -9.276427261e-04f, -4.977207196e-04f, -2.123713226e-04f, -7.421316754e-05f, -2.158642861e-05f, -5.279029377e-06f, -1.092741544e-06f, -1.923684856e-07f, -2.890177943e-08f},
    {-2.659288734e-02f, -1.636944469e-02f, -2.188832094e-03f, 8.566517060e-03f, 1.247966956e-02f, 1.087986866e-02f, 7.106130944e-03f, 3.713315647e-03f, 1.598069145e-03f, 5.753146906e-04f, 1.749029326e-04f, 4.518223793e-05f, 9.960808951e-06f, 1.879931839e-06f, 3.044640651e-07f, 4.239053894e-08f},
    {-2.756185808e-02f, -7.183847322e-02f, -9.037754376e-02f, -8.297945908e-02f, -6.078892053e-02f, -3.677996377e-02f, -1.869502196e-02f, -8.060560297e-03f, -2.965798093e-03f, -9.349584719e-04f, -2.532395277e-04f, -5.905286993e-05f, -1.187358191e-05f, -2.060923264e-06f, -3.090866906e-07f, -4.008265075e-08f},
    {3.919908982e-01f, 3.405675943e-01f, 2.570739074e-01f, 1.685931845e-01f, 9.606150090e-02f, 4.755389126e-02f, 2.045267377e-02f, 7.642605819e-03f, 2.481190837e-03f, 6.998520113e-04f, 1.715061113e-04f, 3.651575820e-05f, 6.754736037e-06f, 1.085584858e-06f, 1.515816062e-07f, 1.838893426e-08f},
};

typedef struct normal_table {
    __m512 tail[POWERS], pdf[POWERS];
} normal_table;

TARGET static void table_load(normal_table *t)
{
    for (int k = 0; k < POWERS; k++) {
        t->tail[k] = _mm512_loadu_ps(tail_coef[k]);
        t->pdf[k] = _mm512_loadu_ps(pdf_coef[k]);
    }
}

/* Phi(x) and, when pdf is not NULL, phi(x) for 16 lanes. NaN stays NaN. */
TARGET static inline __attribute__((always_inline)) void
cdf_pdf(const normal_table *t, __m512 x, __m512 *cdf, __m512 *pdf)
{
    const __m512 a = _mm512_abs_ps(x);
    const __m512 s = _mm512_mul_ps(a, _mm512_set1_ps((float)INTERVALS / 6.0f));
    const __m512i i = _mm512_cvttps_epi32(_mm512_min_ps(s, _mm512_set1_ps(INTERVALS - 1)));
    const __m512 u = _mm512_sub_ps(s, _mm512_add_ps(_mm512_cvtepi32_ps(i), _mm512_set1_ps(0.5f)));
    const __mmask16 far = _mm512_cmp_ps_mask(a, _mm512_set1_ps(6.0f), _CMP_GE_OQ);
    __m512 tail = _mm512_permutexvar_ps(i, t->tail[0]);
    for (int k = 1; k < POWERS; k++)
        tail = _mm512_fmadd_ps(tail, u, _mm512_permutexvar_ps(i, t->tail[k]));
    tail = _mm512_mask_mov_ps(tail, far, _mm512_setzero_ps());
    const __mmask16 neg = _mm512_cmp_ps_mask(x, _mm512_setzero_ps(), _CMP_LT_OQ);
    *cdf = _mm512_mask_mov_ps(_mm512_sub_ps(_mm512_set1_ps(1.0f), tail), neg, tail);
    if (pdf) {
        __m512 p = _mm512_permutexvar_ps(i, t->pdf[0]);
        for (int k = 1; k < POWERS; k++)
            p = _mm512_fmadd_ps(p, u, _mm512_permutexvar_ps(i, t->pdf[k]));
        *pdf = _mm512_mask_mov_ps(p, far, _mm512_setzero_ps());
    }
}

static __mmask16 lanes(int64_t n) { return n >= 16 ? (__mmask16)0xFFFF : (__mmask16)((1u << n) - 1u); }

/* dy GELU'(v) = dy (Phi(v) + v phi(v)), with Phi(v) for callers that want GELU too. */
TARGET static inline __attribute__((always_inline)) __m512
grad(const normal_table *t, __m512 v, __m512 dy, __m512 *cdf)
{
    __m512 pdf;
    cdf_pdf(t, v, cdf, &pdf);
    return _mm512_mul_ps(dy, _mm512_fmadd_ps(v, pdf, *cdf));
}

TARGET bool dmx_fast_gelu_avx512(const float *x, float *y, int64_t n)
{
    normal_table t;
    table_load(&t);
    for (int64_t i = 0; i < n; i += 16) {
        const __mmask16 m = lanes(n - i);
        const __m512 v = _mm512_maskz_loadu_ps(m, x + i);
        __m512 cdf;
        cdf_pdf(&t, v, &cdf, NULL);
        _mm512_mask_storeu_ps(y + i, m, _mm512_mul_ps(v, cdf));
    }
    return true;
}

TARGET bool dmx_fast_gelu_bwd_avx512(const float *x, const float *dy, float *dx, int64_t n,
                                     int accumulate)
{
    normal_table t;
    table_load(&t);
    for (int64_t i = 0; i < n; i += 16) {
        const __mmask16 m = lanes(n - i);
        __m512 cdf, g = grad(&t, _mm512_maskz_loadu_ps(m, x + i), _mm512_maskz_loadu_ps(m, dy + i),
                             &cdf);
        if (accumulate)
            g = _mm512_add_ps(_mm512_maskz_loadu_ps(m, dx + i), g);
        _mm512_mask_storeu_ps(dx + i, m, g);
    }
    return true;
}

/* a = GELU(u), d <- d GELU'(u) in one pass. */
TARGET bool dmx_fast_gelu_pair_avx512(const float *u, float *a, float *d, int64_t n)
{
    normal_table t;
    table_load(&t);
    for (int64_t i = 0; i < n; i += 16) {
        const __mmask16 m = lanes(n - i);
        const __m512 v = _mm512_maskz_loadu_ps(m, u + i);
        __m512 cdf;
        const __m512 g = grad(&t, v, _mm512_maskz_loadu_ps(m, d + i), &cdf);
        _mm512_mask_storeu_ps(a + i, m, _mm512_mul_ps(v, cdf));
        _mm512_mask_storeu_ps(d + i, m, g);
    }
    return true;
}

TARGET bool dmx_fast_normal_cdf_pdf_avx512(const float *x, float *cdf, float *pdf, int64_t n)
{
    normal_table t;
    table_load(&t);
    for (int64_t i = 0; i < n; i += 16) {
        const __mmask16 m = lanes(n - i);
        __m512 c, p;
        cdf_pdf(&t, _mm512_maskz_loadu_ps(m, x + i), &c, &p);
        _mm512_mask_storeu_ps(cdf + i, m, c);
        _mm512_mask_storeu_ps(pdf + i, m, p);
    }
    return true;
}

#else /* not x86-64: the portable code of cpu_math.h runs instead */

bool dmx_fast_gelu_avx512(const float *x, float *y, int64_t n)
{
    (void)x, (void)y, (void)n;
    return false;
}

bool dmx_fast_gelu_bwd_avx512(const float *x, const float *dy, float *dx, int64_t n,
                              int accumulate)
{
    (void)x, (void)dy, (void)dx, (void)n, (void)accumulate;
    return false;
}

bool dmx_fast_gelu_pair_avx512(const float *u, float *a, float *d, int64_t n)
{
    (void)u, (void)a, (void)d, (void)n;
    return false;
}

bool dmx_fast_normal_cdf_pdf_avx512(const float *x, float *cdf, float *pdf, int64_t n)
{
    (void)x, (void)cdf, (void)pdf, (void)n;
    return false;
}

#endif
