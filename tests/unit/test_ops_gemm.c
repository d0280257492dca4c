/* Linear maps against naive double loops: dmx_matmul (all transposes, batched, shared B,
 * alpha), dmx_linear, and at the device-op level gemm (beta != 0, beta = 0 over NaN, padded
 * leading dimensions, batch strides, K = 0) and the mix_linear kernels (forward over NaN,
 * backward for x with accumulate 0 and 1, backward for W and bias always +=). */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "op_harness.h"

/* C_b = alpha op(A_b) op(B_b) + beta C_b, exactly as op_params.h states it. */
static void gemm_naive(const dmx_p_gemm *p, const float *A, const float *B, float *C)
{
    for (int b = 0; b < p->batch; b++)
        for (int m = 0; m < p->M; m++)
            for (int n = 0; n < p->N; n++) {
                const float *Ab = A + (size_t)b * p->stride_a, *Bb = B + (size_t)b * p->stride_b;
                double acc = 0.0;
                for (int k = 0; k < p->K; k++) {
                    double a = p->trans_a ? Ab[k * p->lda + m] : Ab[m * p->lda + k];
                    double v = p->trans_b ? Bb[n * p->ldb + k] : Bb[k * p->ldb + n];
                    acc += a * v;
                }
                float *c = C + (size_t)b * p->stride_c + m * p->ldc + n;
                *c = (float)(p->alpha * acc + (p->beta != 0.0f ? p->beta * (double)*c : 0.0));
            }
}

/* Elements an operand spans: (batch - 1) stride + rows * ld. */
static size_t span(int batch, int stride, int rows, int ld)
{
    return (size_t)(batch - 1) * stride + (size_t)rows * ld;
}

static void run_gemm_case(dmx_device *dev, const dmx_p_gemm *p, int c_prefill_nan)
{
    const int a_rows = p->trans_a ? p->K : p->M, b_rows = p->trans_b ? p->N : p->K;
    const size_t na = span(p->batch, p->stride_a, a_rows, p->lda);
    const size_t nb = span(p->batch, p->stride_b, b_rows, p->ldb);
    const size_t nc = span(p->batch, p->stride_c, p->M, p->ldc);
    float *A = malloc(na * 4), *B = malloc(nb * 4), *C0 = malloc(nc * 4);
    float *want = malloc(nc * 4), *got = malloc(nc * 4);
    dmx_test_rng rng = {(uint64_t)(na * 31 + nb)};
    dmx_test_fill(&rng, A, na, -1, 1);
    dmx_test_fill(&rng, B, nb, -1, 1);
    dmx_test_fill(&rng, C0, nc, -1, 1);
    /* Padding that op(A) and op(B) must never read is NaN; so is C when beta = 0 says "do not
     * read". Padding in C must keep its value. */
    for (int b = 0; b < p->batch; b++) {
        for (int r = 0; r < a_rows; r++)
            for (int k = p->trans_a ? p->M : p->K; k < p->lda; k++)
                A[(size_t)b * p->stride_a + r * p->lda + k] = NAN;
        for (int r = 0; r < b_rows; r++)
            for (int k = p->trans_b ? p->K : p->N; k < p->ldb; k++)
                B[(size_t)b * p->stride_b + r * p->ldb + k] = NAN;
        if (c_prefill_nan)
            for (int m = 0; m < p->M; m++)
                for (int n = 0; n < p->N; n++)
                    C0[(size_t)b * p->stride_c + m * p->ldc + n] = NAN;
    }
    memcpy(want, C0, nc * 4);
    gemm_naive(p, A, B, want);
    dmx_arg aa = dmx_optest_arg(dev, A, na), ab = dmx_optest_arg(dev, B, nb);
    dmx_arg ac = dmx_optest_arg(dev, C0, nc);
    DMX_OPTEST_RUN(dev, DMX_OP_GEMM, p, aa, ab, ac);
    dmx_optest_read(ac, got);
    char what[128];
    snprintf(what, sizeof what, "gemm ta %d tb %d M %d N %d K %d batch %d alpha %g beta %g",
             p->trans_a, p->trans_b, p->M, p->N, p->K, p->batch, (double)p->alpha,
             (double)p->beta);
    DMX_ASSERT_CLOSE(what, got, want, nc, 1e-5, 1e-5);
    dmx_optest_free(aa, "A"), dmx_optest_free(ab, "B"), dmx_optest_free(ac, "C");
    free(A), free(B), free(C0), free(want), free(got);
}

static void test_gemm_op_transposes_beta_padding_batches(void **state)
{
    (void)state;
    dmx_device *dev = dmx_test_cpu();
    const int M = 5, N = 7, K = 3;
    for (int ta = 0; ta < 2; ta++)
        for (int tb = 0; tb < 2; tb++) {
            /* Leading dimensions padded by 2, batch strides with gaps, C padded too. */
            int lda = (ta ? M : K) + 2, ldb = (tb ? K : N) + 2, ldc = N + 3;
            dmx_p_gemm p = {.trans_a = ta, .trans_b = tb, .M = M, .N = N, .K = K, .lda = lda,
                            .ldb = ldb, .ldc = ldc, .batch = 3,
                            .stride_a = (ta ? K : M) * lda + 5, .stride_b = (tb ? N : K) * ldb + 1,
                            .stride_c = M * ldc + 2, .alpha = -0.75f, .beta = 0.0f};
            run_gemm_case(dev, &p, 1); /* beta 0 over NaN */
            p.beta = 0.5f;
            run_gemm_case(dev, &p, 0);
            p.beta = 1.0f;
            p.alpha = 1.0f;
            run_gemm_case(dev, &p, 0);
        }
    /* Shared B (stride_b 0) and a single batch. */
    dmx_p_gemm shared = {.M = 4, .N = 3, .K = 9, .lda = 9, .ldb = 3, .ldc = 3, .batch = 4,
                         .stride_a = 36, .stride_b = 0, .stride_c = 12, .alpha = 2.0f};
    run_gemm_case(dev, &shared, 1);
    dmx_p_gemm single = {.M = 1, .N = 1, .K = 13, .lda = 13, .ldb = 1, .ldc = 1, .batch = 1,
                         .alpha = 1.0f, .beta = -1.0f};
    run_gemm_case(dev, &single, 0);
    dmx_device_close(dev);
}

static void test_gemm_op_k_zero(void **state)
{
    (void)state;
    dmx_device *dev = dmx_test_cpu();
    /* K = 0: the product is empty, C = beta C (beta 0: zeros, even over NaN). */
    float c0[6] = {1, 2, 3, 4, 5, 6}, got[6];
    const float dummy[1] = {7};
    for (int k = 0; k < 2; k++) {
        float beta = k ? 2.0f : 0.0f;
        dmx_arg aa = dmx_optest_arg(dev, dummy, 1), ab = dmx_optest_arg(dev, dummy, 1);
        dmx_arg ac = dmx_optest_arg(dev, k ? c0 : NULL, 6);
        dmx_p_gemm p = {.M = 2, .N = 3, .K = 0, .lda = 1, .ldb = 3, .ldc = 3, .batch = 1,
                        .alpha = 1.0f, .beta = beta};
        DMX_OPTEST_RUN(dev, DMX_OP_GEMM, &p, aa, ab, ac);
        dmx_optest_read(ac, got);
        for (int i = 0; i < 6; i++)
            if (got[i] != beta * c0[i] + 0.0f)
                fail_msg("gemm K = 0, beta %g: C[%d] = %g, want %g", (double)beta, i,
                         (double)got[i], (double)(beta * c0[i]));
        dmx_optest_free(aa, "A"), dmx_optest_free(ab, "B"), dmx_optest_free(ac, "C");
    }
    dmx_device_close(dev);
}

/* dmx_matmul: y = alpha op(a) op(b) over batch shapes [2, 3] (rank 4), a shared rank-2 b, and
 * plain rank 2, for every transpose combination. */
static void test_matmul_all_forms(void **state)
{
    (void)state;
    dmx_device *dev = dmx_test_cpu();
    dmx_ctx *ctx = NULL;
    DMX_ASSERT_OK(dmx_ctx_create(dev, &ctx));
    const int M = 5, N = 3, K = 7, nb = 6;
    dmx_test_rng rng = {61};
    float *a = malloc(nb * M * K * 4), *b = malloc(nb * K * N * 4), *want = malloc(nb * M * N * 4);
    dmx_test_fill(&rng, a, (size_t)nb * M * K, -1, 1);
    dmx_test_fill(&rng, b, (size_t)nb * K * N, -1, 1);
    for (int form = 0; form < 3; form++) /* 0 batched, 1 shared b, 2 rank 2 */
        for (int ta = 0; ta < 2; ta++)
            for (int tb = 0; tb < 2; tb++) {
                const int batched = form != 2, bshared = form == 1;
                const int64_t ashape[4] = {2, 3, ta ? K : M, ta ? M : K};
                const int64_t bshape[4] = {2, 3, tb ? N : K, tb ? K : N};
                DMX_ASSERT_OK(dmx_test_poison_arena(ctx, 1 << 16));
                dmx_tensor *tA, *tB, *ty;
                DMX_ASSERT_OK(dmx_tensor_from_host(ctx, DMX_F32, batched ? 4 : 2,
                                                   batched ? ashape : ashape + 2, a, "a", &tA));
                DMX_ASSERT_OK(dmx_tensor_from_host(ctx, DMX_F32, batched && !bshared ? 4 : 2,
                                                   batched && !bshared ? bshape : bshape + 2, b,
                                                   "b", &tB));
                DMX_ASSERT_OK(dmx_matmul(ctx, tA, tB, ta, tb, -1.5f, &ty));
                assert_int_equal(ty->ndim, batched ? 4 : 2);
                assert_int_equal(ty->shape[ty->ndim - 2], M);
                assert_int_equal(ty->shape[ty->ndim - 1], N);
                dmx_p_gemm p = {.trans_a = ta, .trans_b = tb, .M = M, .N = N, .K = K,
                                .lda = ta ? M : K, .ldb = tb ? K : N, .ldc = N,
                                .batch = batched ? nb : 1, .stride_a = M * K,
                                .stride_b = bshared ? 0 : K * N, .stride_c = M * N,
                                .alpha = -1.5f};
                gemm_naive(&p, a, b, want);
                float *got = dmx_test_read(ty);
                char what[64];
                snprintf(what, sizeof what, "matmul form %d ta %d tb %d", form, ta, tb);
                DMX_ASSERT_CLOSE(what, got, want, (size_t)p.batch * M * N, 1e-5, 1e-5);
                free(got);
            }
    /* Shapes that do not fit name both operands. */
    const int64_t s1[3] = {2, 3, 4}, s2[3] = {3, 4, 5};
    dmx_tensor *t1, *t2, *ty;
    DMX_ASSERT_OK(dmx_tensor_new(ctx, DMX_F32, 3, s1, "lhs", &t1));
    DMX_ASSERT_OK(dmx_tensor_new(ctx, DMX_F32, 3, s2, "rhs", &t2));
    DMX_ASSERT_FAILS(dmx_matmul(ctx, t1, t2, 0, 0, 1.0f, &ty), DMX_ERR_SHAPE,
                     "a (lhs) [2, 3, 4] and b (rhs) [3, 4, 5] do not fit");
    DMX_ASSERT_FAILS(dmx_matmul(ctx, t1, t1, 0, 0, 1.0f, &ty), DMX_ERR_SHAPE, "do not fit");
    free(a), free(b), free(want);
    dmx_ctx_destroy(ctx);
    dmx_device_close(dev);
}

static void test_linear_on_the_last_axis(void **state)
{
    (void)state;
    dmx_device *dev = dmx_test_cpu();
    dmx_ctx *ctx = NULL;
    DMX_ASSERT_OK(dmx_ctx_create(dev, &ctx));
    enum { R0 = 2, R1 = 3, K = 5, N = 4 };
    dmx_test_rng rng = {67};
    float x[R0 * R1 * K], w[N * K], bias[N], want[R0 * R1 * N];
    dmx_test_fill(&rng, x, R0 * R1 * K, -1, 1);
    dmx_test_fill(&rng, w, N * K, -1, 1);
    dmx_test_fill(&rng, bias, N, -1, 1);
    const int64_t xs[3] = {R0, R1, K}, ws[2] = {N, K}, bs = N;
    for (int with_bias = 0; with_bias < 2; with_bias++) {
        DMX_ASSERT_OK(dmx_test_poison_arena(ctx, 1 << 16));
        dmx_tensor *tx, *tw, *tb, *ty;
        DMX_ASSERT_OK(dmx_tensor_from_host(ctx, DMX_F32, 3, xs, x, "x", &tx));
        DMX_ASSERT_OK(dmx_tensor_from_host(ctx, DMX_F32, 2, ws, w, "w", &tw));
        DMX_ASSERT_OK(dmx_tensor_from_host(ctx, DMX_F32, 1, &bs, bias, "bias", &tb));
        DMX_ASSERT_OK(dmx_linear(ctx, tx, tw, with_bias ? tb : NULL, &ty));
        assert_int_equal(ty->ndim, 3);
        assert_int_equal(ty->shape[0], R0);
        assert_int_equal(ty->shape[1], R1);
        assert_int_equal(ty->shape[2], N);
        for (int r = 0; r < R0 * R1; r++) /* y = x W^T + bias */
            for (int n = 0; n < N; n++) {
                double acc = with_bias ? bias[n] : 0.0;
                for (int k = 0; k < K; k++)
                    acc += (double)x[r * K + k] * w[n * K + k];
                want[r * N + n] = (float)acc;
            }
        float *got = dmx_test_read(ty);
        DMX_ASSERT_CLOSE(with_bias ? "linear with bias" : "linear", got, want, R0 * R1 * N, 1e-6,
                         1e-6);
        free(got);
    }
    const int64_t bad[2] = {N, K + 1};
    dmx_tensor *tx, *tw, *ty;
    DMX_ASSERT_OK(dmx_tensor_new(ctx, DMX_F32, 3, xs, "x", &tx));
    DMX_ASSERT_OK(dmx_tensor_new(ctx, DMX_F32, 2, bad, "w_bad", &tw));
    DMX_ASSERT_FAILS(dmx_linear(ctx, tx, tw, NULL, &ty), DMX_ERR_SHAPE, "weight (w_bad) [4, 6]");
    dmx_ctx_destroy(ctx);
    dmx_device_close(dev);
}

/* ---- mix_linear kernels ---- */

typedef struct mix_view {
    int M, J, Din, Dout, R1, R2;
} mix_view;

static size_t xi(const mix_view *v, int m, int j, int d, int r1, int r2)
{
    return ((((size_t)m * v->J + j) * v->Din + d) * v->R1 + r1) * v->R2 + r2;
}
static size_t yi(const mix_view *v, int m, int j, int o, int r1, int r2)
{
    return ((((size_t)m * v->J + j) * v->Dout + o) * v->R1 + r1) * v->R2 + r2;
}
static size_t wi(const mix_view *v, int j, int r1, int o, int d)
{
    return (((size_t)j * v->R1 + r1) * v->Dout + o) * v->Din + d;
}

/* The dense view (goes to BLAS) and strided views (loops), all with odd sizes. */
static const mix_view mix_views[] = {
    {7, 1, 5, 3, 1, 1}, {3, 1, 5, 5, 1, 7}, {2, 3, 3, 3, 3, 1},
    {3, 2, 3, 5, 3, 3}, {1, 5, 3, 1, 1, 1},
};

/* Host data of one view: inputs, upstream gradient, and starting values for += targets. */
typedef struct mix_data {
    const mix_view *v;
    size_t nx, ny, nw, nc;
    float *x, *w, *c, *dy, *dx0, *dw0, *dc0, *want, *got;
} mix_data;

static mix_data mix_data_make(const mix_view *v, dmx_test_rng *rng)
{
    mix_data d = {.v = v, .nx = xi(v, v->M, 0, 0, 0, 0), .ny = yi(v, v->M, 0, 0, 0, 0),
                  .nw = wi(v, v->J, 0, 0, 0), .nc = (size_t)v->J * v->R1 * v->Dout};
    float **bufs[7] = {&d.x, &d.w, &d.c, &d.dy, &d.dx0, &d.dw0, &d.dc0};
    const size_t sizes[7] = {d.nx, d.nw, d.nc, d.ny, d.nx, d.nw, d.nc};
    for (int i = 0; i < 7; i++) {
        *bufs[i] = malloc(sizes[i] * 4);
        dmx_test_fill(rng, *bufs[i], sizes[i], -1, 1);
    }
    d.want = malloc((d.nx + d.ny + d.nw) * 4);
    d.got = malloc((d.nx + d.ny + d.nw) * 4);
    return d;
}

static void mix_data_free(mix_data *d)
{
    free(d->x), free(d->w), free(d->c), free(d->dy), free(d->dx0), free(d->dw0), free(d->dc0);
    free(d->want), free(d->got);
}

/* y = sum_d W x + c over a NaN-prefilled y. */
static void check_mix_forward(dmx_device *dev, mix_data *d, dmx_p_mix_linear p, size_t k)
{
    const mix_view *v = d->v;
    dmx_arg ax = dmx_optest_arg(dev, d->x, d->nx), aw = dmx_optest_arg(dev, d->w, d->nw);
    dmx_arg ac = dmx_optest_arg(dev, d->c, d->nc), ay = dmx_optest_arg(dev, NULL, d->ny);
    p.has_bias = 1;
    DMX_OPTEST_RUN(dev, DMX_OP_MIX_LINEAR, &p, ax, aw, ac, ay);
    for (int m = 0; m < v->M; m++)
        for (int j = 0; j < v->J; j++)
            for (int o = 0; o < v->Dout; o++)
                for (int r1 = 0; r1 < v->R1; r1++)
                    for (int r2 = 0; r2 < v->R2; r2++) {
                        double acc = d->c[(j * v->R1 + r1) * v->Dout + o];
                        for (int i = 0; i < v->Din; i++)
                            acc += (double)d->w[wi(v, j, r1, o, i)] * d->x[xi(v, m, j, i, r1, r2)];
                        d->want[yi(v, m, j, o, r1, r2)] = (float)acc;
                    }
    dmx_optest_read(ay, d->got);
    char what[64];
    snprintf(what, sizeof what, "mix_linear view %zu", k);
    DMX_ASSERT_CLOSE(what, d->got, d->want, d->ny, 1e-5, 1e-5);
    dmx_optest_free(ax, "x"), dmx_optest_free(aw, "W"), dmx_optest_free(ac, "c");
    dmx_optest_free(ay, "y");
}

/* dx (+)= sum_o W dy, with accumulate 0 (over NaN) and 1. */
static void check_mix_bwd_x(dmx_device *dev, mix_data *d, dmx_p_mix_linear p, size_t k)
{
    const mix_view *v = d->v;
    for (int acc = 0; acc < 2; acc++) {
        dmx_arg ady = dmx_optest_arg(dev, d->dy, d->ny), aw = dmx_optest_arg(dev, d->w, d->nw);
        dmx_arg adx = dmx_optest_arg(dev, acc ? d->dx0 : NULL, d->nx);
        p.accumulate = acc;
        DMX_OPTEST_RUN(dev, DMX_OP_MIX_LINEAR_BWD_X, &p, ady, aw, adx);
        for (int m = 0; m < v->M; m++)
            for (int j = 0; j < v->J; j++)
                for (int i = 0; i < v->Din; i++)
                    for (int r1 = 0; r1 < v->R1; r1++)
                        for (int r2 = 0; r2 < v->R2; r2++) {
                            double s = acc ? d->dx0[xi(v, m, j, i, r1, r2)] : 0.0;
                            for (int o = 0; o < v->Dout; o++)
                                s += (double)d->w[wi(v, j, r1, o, i)] *
                                     d->dy[yi(v, m, j, o, r1, r2)];
                            d->want[xi(v, m, j, i, r1, r2)] = (float)s;
                        }
        dmx_optest_read(adx, d->got);
        char what[64];
        snprintf(what, sizeof what, "mix_linear_bwd_x view %zu accumulate %d", k, acc);
        DMX_ASSERT_CLOSE(what, d->got, d->want, d->nx, 1e-5, 1e-5);
        dmx_optest_free(ady, "dy"), dmx_optest_free(aw, "W"), dmx_optest_free(adx, "dx");
    }
}

/* The expected dW (into want[0, nw)) and dc (into want[nw, nw + nc)), both += onto dw0, dc0. */
static void mix_bwd_w_naive(mix_data *d)
{
    const mix_view *v = d->v;
    for (int j = 0; j < v->J; j++)
        for (int r1 = 0; r1 < v->R1; r1++)
            for (int o = 0; o < v->Dout; o++) {
                double sc = d->dc0[(j * v->R1 + r1) * v->Dout + o];
                for (int i = 0; i < v->Din; i++) {
                    double s = d->dw0[wi(v, j, r1, o, i)];
                    for (int m = 0; m < v->M; m++)
                        for (int r2 = 0; r2 < v->R2; r2++)
                            s += (double)d->dy[yi(v, m, j, o, r1, r2)] *
                                 d->x[xi(v, m, j, i, r1, r2)];
                    d->want[wi(v, j, r1, o, i)] = (float)s;
                }
                for (int m = 0; m < v->M; m++)
                    for (int r2 = 0; r2 < v->R2; r2++)
                        sc += d->dy[yi(v, m, j, o, r1, r2)];
                d->want[d->nw + (j * v->R1 + r1) * v->Dout + o] = (float)sc;
            }
}

/* dW += sum_{m, r2} dy x and dc += sum_{m, r2} dy, with and without the bias. */
static void check_mix_bwd_w(dmx_device *dev, mix_data *d, dmx_p_mix_linear p, size_t k)
{
    mix_bwd_w_naive(d);
    for (int bias = 0; bias < 2; bias++) {
        dmx_arg ady = dmx_optest_arg(dev, d->dy, d->ny), ax = dmx_optest_arg(dev, d->x, d->nx);
        dmx_arg adw = dmx_optest_arg(dev, d->dw0, d->nw);
        dmx_arg adc = bias ? dmx_optest_arg(dev, d->dc0, d->nc) : (dmx_arg){0};
        p.has_bias = bias;
        p.accumulate = 1;
        DMX_OPTEST_RUN(dev, DMX_OP_MIX_LINEAR_BWD_W, &p, ady, ax, adw, adc);
        char what[64];
        dmx_optest_read(adw, d->got);
        snprintf(what, sizeof what, "mix_linear_bwd_w view %zu (dW)", k);
        DMX_ASSERT_CLOSE(what, d->got, d->want, d->nw, 1e-5, 1e-5);
        if (bias) {
            dmx_optest_read(adc, d->got);
            snprintf(what, sizeof what, "mix_linear_bwd_w view %zu (dc)", k);
            DMX_ASSERT_CLOSE(what, d->got, d->want + d->nw, d->nc, 1e-5, 1e-5);
        }
        dmx_optest_free(ady, "dy"), dmx_optest_free(ax, "x"), dmx_optest_free(adw, "dW");
        dmx_optest_free(adc, "dc");
    }
}

static void test_mix_linear_kernels(void **state)
{
    (void)state;
    dmx_device *dev = dmx_test_cpu();
    dmx_test_rng rng = {71};
    for (size_t k = 0; k < sizeof mix_views / sizeof mix_views[0]; k++) {
        const mix_view *v = &mix_views[k];
        mix_data d = mix_data_make(v, &rng);
        dmx_p_mix_linear p = {.M = v->M, .J = v->J, .Din = v->Din, .Dout = v->Dout,
                              .R1 = v->R1, .R2 = v->R2};
        check_mix_forward(dev, &d, p, k);
        check_mix_bwd_x(dev, &d, p, k);
        check_mix_bwd_w(dev, &d, p, k);
        mix_data_free(&d);
    }
    dmx_device_close(dev);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_gemm_op_transposes_beta_padding_batches),
        cmocka_unit_test(test_gemm_op_k_zero),
        cmocka_unit_test(test_matmul_all_forms),
        cmocka_unit_test(test_linear_on_the_last_axis),
        cmocka_unit_test(test_mix_linear_kernels),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
