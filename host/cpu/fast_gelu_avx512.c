/* GELU on AVX-512 for the fast CPU device: Phi and phi from tables instead of exp, erf and a
 * division. For a = |x| < 6 the interval i = floor(32 a / 6) and u = 32 a / 6 - (i + 1/2)
 * give Phi(-a) and phi(a) as degree-4 polynomials in u whose 32 sets of coefficients sit in
 * registers, two vectors per power, picked per lane by a two-table permute
 * (tools/fit_normal_table.py fits them; truncation below 2e-8). Beyond 6 both are below 1e-8
 * and taken as 0. Then Phi(x) = Phi(-a) for x < 0, else 1 - Phi(-a), GELU(x) = x Phi(x) =
 * max(x, 0) - a Phi(-a) and GELU'(x) = Phi(x) + x phi(x). 32 intervals of degree 4 rather
 * than 16 of degree 6: 5 permutes and 4 multiply-adds a polynomial instead of 7 and 6. About twice as fast as the exp-based code of cpu_math.h that AVX2 and other
 * processors run; Phi's and phi's absolute error, checked by tests/unit/test_cpu_math over
 * [-30, 30], is below 1e-7 like theirs. */
#include "cpu/fast_kernels.h"

#if defined(__x86_64__) && (defined(__GNUC__) || defined(__clang__))
#include <immintrin.h>

#define TARGET __attribute__((target("avx512f")))
#define INTERVALS 32
#define POWERS 5

/* worst absolute error before float rounding: tail 8.97e-09, pdf 1.75e-08 */
static const float tail_coef[5][32] = {
    {-5.724643811e-06f, -1.619166670e-05f, -2.394514428e-05f, -2.788314263e-05f, -2.774364810e-05f, -2.408057842e-05f, -1.803518124e-05f, -1.099365228e-05f, -4.243923248e-06f, 1.274654652e-06f, 5.081548889e-06f, 7.129926888e-06f, 7.688840028e-06f, 7.189842088e-06f, 6.087802137e-06f, 4.765499299e-06f,
     3.489376129e-06f, 2.407438783e-06f, 1.572765753e-06f, 9.763046403e-07f, 5.773438984e-07f, 3.258833382e-07f, 1.758465087e-07f, 9.082006687e-08f, 4.494072299e-08f, 2.132392760e-08f, 9.708763712e-09f, 4.244095798e-09f, 1.782170513e-09f, 7.191918881e-10f, 2.790204361e-10f, 1.041038996e-10f},
    {4.319062602e-04f, 3.874490141e-04f, 3.060737732e-04f, 2.010894977e-04f, 8.856372144e-05f, -1.606463239e-05f, -1.008458478e-04f, -1.590024937e-04f, -1.892057094e-04f, -1.946406587e-04f, -1.813443601e-04f, -1.563821926e-04f, -1.263278676e-04f, -9.630415805e-05f, -6.962201521e-05f, -4.789467649e-05f,
     -3.143031549e-05f, -1.971272226e-05f, -1.183347963e-05f, -6.806856032e-06f, -3.755368298e-06f, -1.988663478e-06f, -1.011458081e-06f, -4.943603501e-07f, -2.322978151e-07f, -1.049834892e-07f, -4.564751080e-08f, -1.910119188e-08f, -7.694183235e-09f, -2.984156338e-09f, -1.114614804e-09f, -4.010051660e-10f},
    {6.545528810e-04f, 1.895823304e-03f, 2.945169770e-03f, 3.710512996e-03f, 4.144821866e-03f, 4.249279925e-03f, 4.066840590e-03f, 3.668833770e-03f, 3.138632769e-03f, 2.556417671e-03f, 1.987997981e-03f, 1.479022257e-03f, 1.054311376e-03f, 7.209521229e-04f, 4.733541459e-04f, 2.986256718e-04f,
     1.811291536e-04f, 1.056776451e-04f, 5.933202113e-05f, 3.206682860e-05f, 1.668825277e-05f, 8.364937035e-06f, 4.039294469e-06f, 1.879408487e-06f, 8.427160108e-07f, 3.642073154e-07f, 1.517326817e-07f, 6.094276401e-08f, 2.360053735e-08f, 8.812882350e-09f, 3.173555012e-09f, 1.102143774e-09f},
    {-7.447364686e-02f, -7.190092595e-02f, -6.701904051e-02f, -6.031061885e-02f, -5.239878468e-02f, -4.395218662e-02f, -3.559357338e-02f, -2.782880235e-02f, -2.100628478e-02f, -1.530861048e-02f, -1.077095150e-02f, -7.316512539e-03f, -4.798283501e-03f, -3.038081327e-03f, -1.857139678e-03f, -1.096027363e-03f,
     -6.244962712e-04f, -3.435341336e-04f, -1.824490051e-04f, -9.355017988e-05f, -4.631047539e-05f, -2.213325543e-05f, -1.021275129e-05f, -4.549582799e-06f, -1.956733601e-06f, -8.124994873e-07f, -3.257209561e-07f, -1.260664333e-07f, -4.710687945e-08f, -1.699418153e-08f, -5.918983896e-09f, -1.990329547e-09f},
    {4.626538755e-01f, 3.892593286e-01f, 3.196241716e-01f, 2.558316414e-01f, 1.994045605e-01f, 1.512117995e-01f, 1.114695471e-01f, 7.982495082e-02f, 5.549602021e-02f, 3.743580934e-02f, 2.449090324e-02f, 1.553207459e-02f, 9.545481524e-03f, 5.682840363e-03f, 3.276455753e-03f, 1.828945340e-03f,
     9.882197791e-04f, 5.167404868e-04f, 2.614428925e-04f, 1.279658864e-04f, 6.058422311e-05f, 2.774049633e-05f, 1.228302466e-05f, 5.258778869e-06f, 2.176754738e-06f, 8.710428986e-07f, 3.369294730e-07f, 1.259722686e-07f, 4.552157231e-08f, 1.589784570e-08f, 5.365529970e-09f, 1.749914849e-09f},
};
static const float pdf_coef[5][32] = {
    {6.016805697e-05f, 4.990450798e-05f, 3.180038689e-05f, 9.974583348e-06f, -1.094859025e-05f, -2.707774796e-05f, -3.614255575e-05f, -3.779939876e-05f, -3.335302695e-05f, -2.508749279e-05f, -1.548899736e-05f, -6.613818180e-06f, 2.557237907e-07f, 4.654033088e-06f, 6.757013474e-06f, 7.110752866e-06f,
     6.371972968e-06f, 5.124575798e-06f, 3.789428766e-06f, 2.611008458e-06f, 1.690166442e-06f, 1.033510819e-06f, 5.992969327e-07f, 3.304804738e-07f, 1.736870663e-07f, 8.714532030e-08f, 4.179898288e-08f, 1.918729891e-08f, 8.436988031e-09f, 3.556490217e-09f, 1.438140068e-09f, 5.581752977e-10f},
    {1.220716760e-04f, 3.452729583e-04f, 5.106200895e-04f, 5.946167292e-04f, 5.916718102e-04f, 5.135894796e-04f, 3.846973554e-04f, 2.345486666e-04f, 9.060557830e-05f, -2.709832724e-05f, -1.083101244e-04f, -1.520240920e-04f, -1.639714892e-04f, -1.533511582e-04f, -1.298618004e-04f, -1.016670329e-04f,
     -7.445093102e-05f, -5.137230421e-05f, -3.356531517e-05f, -2.083851410e-05f, -1.232459728e-05f, -6.957597260e-06f, -3.754846369e-06f, -1.939563171e-06f, -9.599051210e-07f, -4.555374524e-07f, -2.074397501e-07f, -9.069574944e-08f, -3.809143028e-08f, -1.537452315e-08f, -5.965877373e-09f, -2.226328959e-09f},
    {-6.920533184e-03f, -6.207505800e-03f, -4.902483084e-03f, -3.219095224e-03f, -1.415193866e-03f, 2.615493316e-04f, 1.619560334e-03f, 2.550342948e-03f, 3.032852966e-03f, 3.118433877e-03f, 2.904092552e-03f, 2.503217936e-03f, 2.021203240e-03f, 1.540090469e-03f, 1.112825512e-03f, 7.651291061e-04f,
     5.018225216e-04f, 3.145490334e-04f, 1.887037870e-04f, 1.084743110e-04f, 5.980405758e-05f, 3.164627777e-05f, 1.608339655e-05f, 7.854657996e-06f, 3.687802731e-06f, 1.665204349e-06f, 7.233901941e-07f, 3.024195888e-07f, 1.217000644e-07f, 4.715345681e-08f, 1.759402707e-08f, 6.323006948e-09f},
    {-6.981891602e-03f, -2.022209925e-02f, -3.141512174e-02f, -3.957878132e-02f, -4.421141258e-02f, -4.532563865e-02f, -4.337962726e-02f, -3.913422874e-02f, -3.347875689e-02f, -2.726846526e-02f, -2.120532211e-02f, -1.577624609e-02f, -1.124599414e-02f, -7.690159423e-03f, -5.049112102e-03f, -3.185340173e-03f,
     -1.932043136e-03f, -1.127226755e-03f, -6.328735007e-04f, -3.420450266e-04f, -1.780071798e-04f, -8.922541411e-05f, -4.308543740e-05f, -2.004680214e-05f, -8.988845395e-06f, -3.884810819e-06f, -1.618447694e-06f, -6.500395298e-07f, -2.517313691e-07f, -9.400067353e-08f, -3.384981259e-08f, -1.175561649e-08f},
    {3.971929625e-01f, 3.834717538e-01f, 3.574349775e-01f, 3.216566636e-01f, 2.794601523e-01f, 2.344115813e-01f, 1.898322837e-01f, 1.484201666e-01f, 1.120334195e-01f, 8.164584782e-02f, 5.744502850e-02f, 3.902138050e-02f, 2.559084610e-02f, 1.620311427e-02f, 9.904765080e-03f, 5.845500456e-03f,
     3.330665763e-03f, 1.832197313e-03f, 9.730726501e-04f, 4.989420713e-04f, 2.469942373e-04f, 1.180471080e-04f, 5.446979227e-05f, 2.426542615e-05f, 1.043642998e-05f, 4.333590219e-06f, 1.737302959e-06f, 6.724114733e-07f, 2.512618256e-07f, 9.064623020e-08f, 3.157219857e-08f, 1.061675381e-08f},
};

typedef struct normal_table {
    __m512 tail[POWERS][2], pdf[POWERS][2]; /* intervals 0..15, 16..31 */
} normal_table;

TARGET static void table_load(normal_table *t)
{
    for (int k = 0; k < POWERS; k++)
        for (int h = 0; h < 2; h++) {
            t->tail[k][h] = _mm512_loadu_ps(tail_coef[k] + 16 * h);
            t->pdf[k][h] = _mm512_loadu_ps(pdf_coef[k] + 16 * h);
        }
}

/* The interval and the offset in it of a = |x|, and whether a is past the table. */
typedef struct table_point {
    __m512i i;
    __m512 a, u;
    __mmask16 far;
} table_point;

TARGET static inline __attribute__((always_inline)) table_point point_of(__m512 x)
{
    table_point p;
    p.a = _mm512_abs_ps(x);
    const __m512 s = _mm512_mul_ps(p.a, _mm512_set1_ps((float)INTERVALS / 6.0f));
    p.i = _mm512_cvttps_epi32(_mm512_min_ps(s, _mm512_set1_ps(INTERVALS - 1)));
    p.u = _mm512_sub_ps(s, _mm512_add_ps(_mm512_cvtepi32_ps(p.i), _mm512_set1_ps(0.5f)));
    p.far = _mm512_cmp_ps_mask(p.a, _mm512_set1_ps(6.0f), _CMP_GE_OQ);
    return p;
}

/* One table's polynomial at p (meaningless past the table: callers mask p.far). */
TARGET static inline __attribute__((always_inline)) __m512
poly(const __m512 c[POWERS][2], const table_point *p)
{
    __m512 r = _mm512_permutex2var_ps(c[0][0], p->i, c[0][1]);
    _Pragma("GCC unroll 8") for (int k = 1; k < POWERS; k++)
        r = _mm512_fmadd_ps(r, p->u, _mm512_permutex2var_ps(c[k][0], p->i, c[k][1]));
    return r;
}

/* Phi(x) and, when pdf is not NULL, phi(x) for 16 lanes. NaN stays NaN. */
TARGET static inline __attribute__((always_inline)) void
cdf_pdf(const normal_table *t, __m512 x, __m512 *cdf, __m512 *pdf)
{
    const table_point p = point_of(x);
    const __m512 tail = _mm512_mask_mov_ps(poly(t->tail, &p), p.far, _mm512_setzero_ps());
    const __mmask16 neg = _mm512_cmp_ps_mask(x, _mm512_setzero_ps(), _CMP_LT_OQ);
    *cdf = _mm512_mask_mov_ps(_mm512_sub_ps(_mm512_set1_ps(1.0f), tail), neg, tail);
    if (pdf)
        *pdf = _mm512_mask_mov_ps(poly(t->pdf, &p), p.far, _mm512_setzero_ps());
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
        const table_point p = point_of(v);
        /* x Phi(x) = max(x, 0) - a Phi(-a) on both sides of 0; past the table a Phi(-a) is 0
         * (so GELU(inf) = inf); NaN stays NaN through a */
        const __m512 tail_a = _mm512_maskz_mul_ps((__mmask16)~p.far, p.a, poly(t.tail, &p));
        const __m512 g = _mm512_sub_ps(_mm512_max_ps(v, _mm512_setzero_ps()), tail_a);
        _mm512_mask_storeu_ps(y + i, m, g);
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
