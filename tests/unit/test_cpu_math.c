/* The CPU reference's vectorizable exp and erf (host/cpu/cpu_math.h), and the fast device's
 * Phi and phi (cpu_math.h's and the AVX-512 tables of fast_gelu_avx512.c), against
 * double-precision libm on a dense grid over [-30, 30] plus the special points. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>

#include "cpu/cpu_math.h"
#include "cpu/fast_kernels.h"
#include "cpu/fast_simd.h"
#include "test_util.h"

static void test_exp_relative_error(void **state)
{
    (void)state;
    double worst = 0, at = 0;
    for (int i = 0; i <= 2000000; i++) {
        float x = -87.0f + 175.0f * (float)i / 2000000.0f;
        double want = exp((double)x), got = dmx_expf(x);
        double rel = fabs(got - want) / want;
        if (rel > worst)
            worst = rel, at = x;
    }
    printf("  exp: worst relative error %.3g at %.9g\n", worst, at);
    assert_true(worst < 1.1e-7);
    assert_true(dmx_expf(0.0f) == 1.0f);
    assert_true(dmx_expf(-200.0f) >= 0.0f && dmx_expf(-200.0f) < 1e-37f);
    assert_true(isfinite(dmx_expf(200.0f)));
}

static void test_erf_absolute_error(void **state)
{
    (void)state;
    double worst = 0, at = 0;
    for (int i = 0; i <= 2000000; i++) {
        float x = -30.0f + 60.0f * (float)i / 2000000.0f;
        double err = fabs((double)dmx_erff(x) - erf((double)x));
        if (err > worst)
            worst = err, at = x;
    }
    printf("  erf: worst absolute error %.3g at %.9g\n", worst, at);
    assert_true(worst < 1.35e-7);
    assert_true(dmx_erff(0.0f) == 0.0f || fabsf(dmx_erff(0.0f)) < 2e-7f);
    assert_true(dmx_erff(30.0f) == 1.0f && dmx_erff(-30.0f) == -1.0f);
    assert_true(dmx_erff(150.0f) == 1.0f);
}

/* Phi and phi from dmx_normal_cdf_pdf (the fast device's GELU) against double libm. */
static void test_normal_cdf_pdf(void **state)
{
    (void)state;
    double worst_cdf = 0, at_cdf = 0, worst_pdf = 0, at_pdf = 0;
    for (int i = 0; i <= 2000000; i++) {
        float x = -30.0f + 60.0f * (float)i / 2000000.0f, cdf, pdf;
        dmx_normal_cdf_pdf(x, &cdf, &pdf);
        const double want_cdf = 0.5 * erfc(-(double)x / sqrt(2.0));
        const double want_pdf = exp(-0.5 * (double)x * x) / sqrt(2.0 * M_PI);
        const double ec = fabs(cdf - want_cdf), ep = fabs(pdf - want_pdf);
        if (ec > worst_cdf)
            worst_cdf = ec, at_cdf = x;
        if (ep > worst_pdf)
            worst_pdf = ep, at_pdf = x;
    }
    printf("  Phi: worst absolute error %.3g at %.9g; phi: %.3g at %.9g\n", worst_cdf, at_cdf,
           worst_pdf, at_pdf);
    assert_true(worst_cdf < 1e-7);
    assert_true(worst_pdf < 1e-7);
    float cdf, pdf;
    dmx_normal_cdf_pdf(0.0f, &cdf, &pdf);
    assert_true(cdf == 0.5f);
    dmx_normal_cdf_pdf(-40.0f, &cdf, &pdf);
    assert_true(cdf >= 0.0f && cdf < 1e-30f && pdf >= 0.0f);
    dmx_normal_cdf_pdf(40.0f, &cdf, &pdf);
    assert_true(cdf == 1.0f);
}

/* The AVX-512 tables, where the processor has AVX-512 (else skipped, and said so). */
static void test_normal_cdf_pdf_avx512(void **state)
{
    (void)state;
    if (dmx_fast_simd_best() != DMX_SIMD_AVX512) {
        printf("  skipped: this processor has no AVX-512, the table path never runs here\n");
        skip();
    }
    enum { N = 2000001 };
    float *x = malloc(N * sizeof *x), *cdf = malloc(N * sizeof *cdf), *pdf = malloc(N * 4);
    assert_non_null(x), assert_non_null(cdf), assert_non_null(pdf);
    for (int i = 0; i < N; i++)
        x[i] = -30.0f + 60.0f * (float)i / (float)(N - 1);
    assert_true(dmx_fast_normal_cdf_pdf_avx512(x, cdf, pdf, N));
    double worst_cdf = 0, at_cdf = 0, worst_pdf = 0, at_pdf = 0;
    for (int i = 0; i < N; i++) {
        const double want_cdf = 0.5 * erfc(-(double)x[i] / sqrt(2.0));
        const double want_pdf = exp(-0.5 * (double)x[i] * x[i]) / sqrt(2.0 * M_PI);
        const double ec = fabs(cdf[i] - want_cdf), ep = fabs(pdf[i] - want_pdf);
        if (ec > worst_cdf)
            worst_cdf = ec, at_cdf = x[i];
        if (ep > worst_pdf)
            worst_pdf = ep, at_pdf = x[i];
    }
    printf("  AVX-512 tables: Phi worst absolute error %.3g at %.9g; phi: %.3g at %.9g\n",
           worst_cdf, at_cdf, worst_pdf, at_pdf);
    assert_true(worst_cdf < 1e-7);
    assert_true(worst_pdf < 1e-7);
    /* the special points, and NaN staying NaN; 7 elements: a masked tail */
    float sx[7] = {0.0f, -0.0f, 40.0f, -40.0f, INFINITY, -INFINITY, NAN}, sc[7], sp[7];
    assert_true(dmx_fast_normal_cdf_pdf_avx512(sx, sc, sp, 7));
    assert_true(fabsf(sc[0] - 0.5f) < 1e-7f && fabsf(sc[1] - 0.5f) < 1e-7f);
    assert_true(sc[2] == 1.0f && sc[3] == 0.0f && sc[4] == 1.0f && sc[5] == 0.0f);
    assert_true(sp[2] == 0.0f && sp[3] == 0.0f && sp[4] == 0.0f && sp[5] == 0.0f);
    assert_true(isnan(sc[6]) && isnan(sp[6]));
    /* GELU itself has its own form, max(x, 0) - |x| Phi(-|x|): within 1e-7 of x Phi(x)
     * beyond the rounding of the result to float (half an ulp) */
    assert_true(dmx_fast_gelu_avx512(x, cdf, N));
    double worst_gelu = 0, at_gelu = 0;
    for (int i = 0; i < N; i++) {
        const double want = (double)x[i] * 0.5 * erfc(-(double)x[i] / sqrt(2.0));
        const float w = fabsf((float)want);
        const double e = fabs(cdf[i] - want) - 0.5 * (nextafterf(w, INFINITY) - w);
        if (e > worst_gelu)
            worst_gelu = e, at_gelu = x[i];
    }
    printf("  AVX-512 GELU: worst absolute error %.3g at %.9g (beyond the result's rounding)\n",
           worst_gelu, at_gelu);
    assert_true(worst_gelu < 1e-7);
    assert_true(dmx_fast_gelu_avx512(sx, sc, 7));
    assert_true(sc[0] == 0.0f && sc[2] == 40.0f && sc[3] == 0.0f && sc[4] == INFINITY);
    assert_true(isnan(sc[6]));
    free(x), free(cdf), free(pdf);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_exp_relative_error),
        cmocka_unit_test(test_erf_absolute_error),
        cmocka_unit_test(test_normal_cdf_pdf),
        cmocka_unit_test(test_normal_cdf_pdf_avx512),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
