/* Equivalences that must hold exactly (or to rounding): identity butterflies, butterflies and
 * Monarch against the dense matrices they expand to (through gemm), butterfly attention against
 * the dense block and against a host-side gather, token mixing along an axis against
 * transpose-mix-transpose, unfold/fold, the spectral normalisation's fixed point, and the
 * fused attention and MLP paths against the ops they replace. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "nn_test.h"

/* ---- butterfly linear ---- */

static void test_identity_butterfly_is_identity(void **state)
{
    (void)state;
    const int64_t cases[][3] = {{16, 2, 0}, {64, 8, 0}, {64, 16, 0}, {48, 8, 0}, {27, 3, 0},
                                {16, 2, 7}};
    for (size_t c = 0; c < sizeof cases / sizeof cases[0]; c++) {
        nn_env env;
        nn_env_open(&env);
        dmx_nn_butterfly_linear m;
        const int64_t N = cases[c][0];
        DMX_ASSERT_OK(dmx_butterfly_linear_init(env.ps, "bfly", N, cases[c][1], (int)cases[c][2],
                                                DMX_BUTTERFLY_IDENTITY, true, &m));
        DMX_ASSERT_OK(dmx_params_allocate(env.ps, 1));
        dmx_test_rng rng = {c + 1};
        const int64_t rows[2] = {3, N}, tokens[3] = {2, N, 3};
        for (int axis_case = 0; axis_case < 2; axis_case++) {
            dmx_tensor *x = axis_case ? nn_random(&env, &rng, 3, tokens, -2, 2, "x")
                                      : nn_random(&env, &rng, 2, rows, -2, 2, "x");
            dmx_tensor *y = NULL;
            DMX_ASSERT_OK(dmx_butterfly_linear_forward(env.ctx, &m, x, axis_case ? 1 : -1, &y));
            float *got = dmx_test_read(y), *want = dmx_test_read(x);
            char what[64];
            snprintf(what, sizeof what, "identity N=%lld b=%lld axis case %d", (long long)N,
                     (long long)cases[c][1], axis_case);
            DMX_ASSERT_CLOSE(what, got, want, (size_t)dmx_tensor_numel(x), 0, 0);
            free(got), free(want);
        }
        nn_env_close(&env);
    }
}

/* Dense N x N matrix of a butterfly linear: product of its stage matrices, each built from
 * the weights with idx(j, d, r) = j b s + d s + r (SPEC section 1). */
static double *butterfly_dense(nn_env *env, const dmx_nn_butterfly_linear *m)
{
    const int64_t N = m->n, b = m->radix;
    double *M = calloc(N * N, sizeof *M), *S = malloc(N * N * sizeof *S), *T = malloc(N * N * 8);
    for (int64_t i = 0; i < N; i++)
        M[i * N + i] = 1.0;
    for (int i = 0; i < m->n_stages; i++) {
        int64_t s = 0;
        DMX_ASSERT_OK(dmx_butterfly_stride(N, b, i % m->K, &s));
        float *w = dmx_test_read(m->weight[i]);
        memset(S, 0, N * N * sizeof *S);
        for (int64_t j = 0; j < N / (b * s); j++)
            for (int64_t r = 0; r < s; r++)
                for (int64_t o = 0; o < b; o++)
                    for (int64_t d = 0; d < b; d++)
                        S[(j * b * s + o * s + r) * N + j * b * s + d * s + r] =
                            w[((j * s + r) * b + o) * b + d];
        for (int64_t p = 0; p < N; p++)
            for (int64_t q = 0; q < N; q++) {
                double acc = 0;
                for (int64_t k = 0; k < N; k++)
                    acc += S[p * N + k] * M[k * N + q];
                T[p * N + q] = acc;
            }
        memcpy(M, T, N * N * sizeof *M);
        free(w);
    }
    free(S), free(T);
    (void)env;
    return M;
}

/* y = x M^T (+ bias) through gemm, to compare with the module's output. */
static float *dense_reference(nn_env *env, dmx_tensor *x, const double *M, int64_t N,
                              dmx_tensor *bias)
{
    float *Mf = malloc(N * N * sizeof *Mf);
    for (int64_t i = 0; i < N * N; i++)
        Mf[i] = (float)M[i];
    const int64_t shape[2] = {N, N};
    dmx_tensor *tm = NULL, *y = NULL, *yb = NULL;
    DMX_ASSERT_OK(dmx_tensor_from_host(env->ctx, DMX_F32, 2, shape, Mf, "dense", &tm));
    DMX_ASSERT_OK(dmx_matmul(env->ctx, x, tm, 0, 1, 1.0f, &y));
    if (bias) {
        DMX_ASSERT_OK(dmx_add_row(env->ctx, y, bias, &yb));
        y = yb;
    }
    free(Mf);
    return dmx_test_read(y);
}

static void test_two_stage_butterfly_equals_its_dense_matrix(void **state)
{
    (void)state;
    const int64_t cases[][3] = {{64, 8, 1}, {64, 16, 0}, {16, 4, 1}, {48, 8, 1}, {16, 2, 0}};
    for (size_t c = 0; c < sizeof cases / sizeof cases[0]; c++) {
        nn_env env;
        nn_env_open(&env);
        dmx_nn_butterfly_linear m;
        const int64_t N = cases[c][0];
        DMX_ASSERT_OK(dmx_butterfly_linear_init(env.ps, "bfly", N, cases[c][1], 0,
                                                DMX_BUTTERFLY_UNIFORM, cases[c][2], &m));
        DMX_ASSERT_OK(dmx_params_allocate(env.ps, 10 + c));
        dmx_test_rng rng = {c + 20};
        const int64_t shape[2] = {5, N};
        dmx_tensor *x = nn_random(&env, &rng, 2, shape, -1, 1, "x"), *y = NULL;
        DMX_ASSERT_OK(dmx_butterfly_linear_forward(env.ctx, &m, x, -1, &y));
        double *M = butterfly_dense(&env, &m);
        float *want = dense_reference(&env, x, M, N, m.bias), *got = dmx_test_read(y);
        char what[64];
        snprintf(what, sizeof what, "butterfly N=%lld b=%lld vs gemm", (long long)N,
                 (long long)cases[c][1]);
        DMX_ASSERT_CLOSE(what, got, want, (size_t)(5 * N), 1e-5, 1e-5);
        free(M), free(want), free(got);
        nn_env_close(&env);
    }
}

/* Monarch as Dao et al. define it, M = P L P^T R: R = blockdiag(stage 0), L = blockdiag(stage 1),
 * P the transpose of the [b, b] view (its own inverse). Built without the stage index map. */
static double *monarch_dense(const dmx_nn_butterfly_linear *m)
{
    const int64_t b = m->radix, N = b * b;
    float *w1 = dmx_test_read(m->weight[0]), *w2 = dmx_test_read(m->weight[1]);
    double *R = calloc(N * N, 8), *L = calloc(N * N, 8), *M = calloc(N * N, 8);
    for (int64_t k = 0; k < b; k++)
        for (int64_t o = 0; o < b; o++)
            for (int64_t d = 0; d < b; d++) {
                R[(k * b + o) * N + k * b + d] = w1[(k * b + o) * b + d];
                L[(k * b + o) * N + k * b + d] = w2[(k * b + o) * b + d];
            }
    /* M[p][q] = sum L[P p][P k] R[k][q] with P(i b + j) = j b + i */
    for (int64_t p = 0; p < N; p++)
        for (int64_t q = 0; q < N; q++) {
            double acc = 0;
            int64_t pp = (p % b) * b + p / b;
            for (int64_t k = 0; k < N; k++)
                acc += L[pp * N + (k % b) * b + k / b] * R[k * N + q];
            M[p * N + q] = acc;
        }
    free(w1), free(w2), free(R), free(L);
    return M;
}

static void test_monarch_equals_its_dense_expansion(void **state)
{
    (void)state;
    const int64_t sizes[] = {16, 64, 9};
    for (size_t c = 0; c < sizeof sizes / sizeof sizes[0]; c++) {
        nn_env env;
        nn_env_open(&env);
        dmx_nn_butterfly_linear m;
        const int64_t N = sizes[c];
        DMX_ASSERT_OK(dmx_monarch_init(env.ps, "monarch", N, DMX_BUTTERFLY_UNIFORM, true, &m));
        assert_int_equal(m.n_stages, 2);
        DMX_ASSERT_OK(dmx_params_allocate(env.ps, 30 + c));
        dmx_test_rng rng = {c + 40};
        const int64_t shape[2] = {4, N};
        dmx_tensor *x = nn_random(&env, &rng, 2, shape, -1, 1, "x"), *y = NULL;
        DMX_ASSERT_OK(dmx_butterfly_linear_forward(env.ctx, &m, x, -1, &y));
        double *M = monarch_dense(&m);
        float *want = dense_reference(&env, x, M, N, m.bias), *got = dmx_test_read(y);
        char what[64];
        snprintf(what, sizeof what, "monarch N=%lld vs P L P^T R", (long long)N);
        DMX_ASSERT_CLOSE(what, got, want, (size_t)(4 * N), 1e-5, 1e-5);
        free(M), free(want), free(got);
        nn_env_close(&env);
    }
}

/* ---- butterfly attention ---- */

static dmx_tensor *key_mask(nn_env *env, int64_t B, int64_t S, int64_t padded_from)
{
    float *m = malloc(B * S * sizeof *m);
    for (int64_t b = 0; b < B; b++)
        for (int64_t t = 0; t < S; t++)
            m[b * S + t] = b == B - 1 && t >= padded_from ? -1e30f : 0.0f;
    const int64_t shape[2] = {B, S};
    dmx_tensor *t = NULL;
    DMX_ASSERT_OK(dmx_tensor_from_host(env->ctx, DMX_F32, 2, shape, m, "mask", &t));
    free(m);
    return t;
}

static void test_butterfly_attention_with_full_radix_is_dense(void **state)
{
    (void)state;
    for (int pre = 0; pre < 2; pre++) {
        nn_env env;
        nn_env_open(&env);
        const int64_t B = 2, S = 12, D = 8;
        dmx_block_config cfg = {.dim = D, .heads = 2, .hidden = 16, .pre_norm = pre, .eps = 1e-5f};
        dmx_nn_butterfly_attention m;
        DMX_ASSERT_OK(dmx_butterfly_attention_init(env.ps, "blocks.0", &cfg, S, 0, &m));
        DMX_ASSERT_OK(dmx_params_allocate(env.ps, 5));
        dmx_test_rng rng = {50 + pre};
        const int64_t shape[3] = {B, S, D};
        dmx_tensor *x = nn_random(&env, &rng, 3, shape, -1, 1, "x");
        dmx_tensor *mask = key_mask(&env, B, S, 9), *yb = NULL, *yd = NULL;
        DMX_ASSERT_OK(dmx_butterfly_attention_forward(env.ctx, &m, x, mask, &yb));
        DMX_ASSERT_OK(dmx_transformer_block_forward(env.ctx, &m.block, x, mask, &yd));
        float *got = dmx_test_read(yb), *want = dmx_test_read(yd);
        DMX_ASSERT_CLOSE("butterfly attention a = S vs dense block", got, want, B * S * D, 0, 0);
        free(got), free(want);
        nn_env_close(&env);
    }
}

/* One forward and backward of an attention module through the composed ops (fused = 0) or
 * the fused ATTENTION op (1): output, input gradient and every parameter gradient, and the
 * number of device ops it took. */
typedef struct attention_run {
    float *y, *dx, *dparams[8];
    size_t counts[8];
    int n_params;
    uint64_t ops;
} attention_run;

static attention_run run_attention(int fused, const float *xh, const float *mh, const float *rh)
{
    setenv("DIMIX_FUSED_ATTENTION", fused ? "1" : "0", 1);
    nn_env env;
    nn_env_open(&env);
    const int64_t B = 3, S = 10, D = 12;
    dmx_nn_attention m;
    DMX_ASSERT_OK(dmx_attention_init(env.ps, "attn", D, 3, &m));
    DMX_ASSERT_OK(dmx_params_allocate(env.ps, 9));
    const int64_t shape[3] = {B, S, D}, mshape[2] = {B, S};
    dmx_tensor *x = NULL, *mask = NULL, *r = NULL, *y = NULL, *prod = NULL, *loss = NULL;
    DMX_ASSERT_OK(dmx_test_leaf(env.dev, "x", 3, shape, xh, &x));
    DMX_ASSERT_OK(dmx_tensor_from_host(env.ctx, DMX_F32, 2, mshape, mh, "mask", &mask));
    DMX_ASSERT_OK(dmx_tensor_from_host(env.ctx, DMX_F32, 3, shape, rh, "r", &r));
    dmx_device_counters before, after;
    dmx_device_counters_get(env.dev, &before);
    DMX_ASSERT_OK(dmx_attention_forward(env.ctx, &m, x, mask, &y));
    DMX_ASSERT_OK(dmx_mul(env.ctx, y, r, &prod));
    DMX_ASSERT_OK(dmx_sum_rows(env.ctx, prod, dmx_tensor_numel(prod), 1.0f, &loss));
    DMX_ASSERT_OK(dmx_backward(env.ctx, loss));
    dmx_device_counters_get(env.dev, &after);
    attention_run run = {.y = dmx_test_read(y), .dx = dmx_test_read(x->grad),
                         .ops = after.ops - before.ops};
    run.n_params = dmx_params_count(env.ps);
    assert_int_equal(run.n_params, 8); /* q, k, v, o: weight and bias */
    for (int i = 0; i < run.n_params; i++) {
        dmx_tensor *p = dmx_params_at(env.ps, i);
        run.dparams[i] = dmx_test_read(p->grad);
        run.counts[i] = (size_t)dmx_tensor_numel(p);
    }
    dmx_test_leaf_free(x);
    nn_env_close(&env);
    unsetenv("DIMIX_FUSED_ATTENTION");
    return run;
}

/* The fused op computes what the composed ops compute, with a padded tail on one batch row and
 * every key removed on another, and takes fewer ops. */
static void test_fused_attention_matches_composed(void **state)
{
    (void)state;
    const int64_t B = 3, S = 10, D = 12, n = B * S * D;
    dmx_test_rng rng = {71};
    float *xh = malloc(n * 4), *rh = malloc(n * 4), mh[3 * 10];
    dmx_test_fill(&rng, xh, (size_t)n, -1, 1);
    dmx_test_fill(&rng, rh, (size_t)n, -1, 1);
    for (int64_t t = 0; t < B * S; t++)
        mh[t] = t / S == 1 ? (t % S >= 7 ? -1e30f : 0.0f) : t / S == 2 ? -1e30f : 0.0f;
    attention_run a = run_attention(0, xh, mh, rh), b = run_attention(1, xh, mh, rh);
    printf("  attention forward + backward: %llu ops composed, %llu fused\n",
           (unsigned long long)a.ops, (unsigned long long)b.ops);
    assert_true(b.ops < a.ops);
    DMX_ASSERT_CLOSE("fused attention output", b.y, a.y, (size_t)n, 1e-6, 1e-5);
    DMX_ASSERT_CLOSE("fused attention dx", b.dx, a.dx, (size_t)n, 1e-6, 1e-5);
    for (int i = 0; i < a.n_params; i++) {
        DMX_ASSERT_CLOSE("fused attention parameter gradient", b.dparams[i], a.dparams[i],
                         a.counts[i], 1e-6, 1e-5);
        free(a.dparams[i]), free(b.dparams[i]);
    }
    free(a.y), free(a.dx), free(b.y), free(b.dx), free(xh), free(rh);
}

/* One forward and backward of a GELU MLP along `axis` of x [3, 7, 5] on device `dev_name`,
 * through fc1, GELU, fc2 (fused = 0) or one mix_mlp (1): output, input gradient and the four
 * parameter gradients, and the device ops it took. */
typedef struct mlp_run {
    float *y, *dx, *dparams[4];
    size_t counts[4];
    int64_t ny;
    uint64_t ops;
} mlp_run;

static mlp_run run_mlp(const char *dev_name, int fused, int axis, int64_t hidden,
                       const float *xh)
{
    setenv("DIMIX_FUSED_MLP", fused ? "1" : "0", 1);
    dmx_device *dev = NULL;
    DMX_ASSERT_OK(dmx_device_open(dev_name, &dev));
    dmx_ctx *ctx = NULL;
    dmx_params *ps = NULL;
    DMX_ASSERT_OK(dmx_ctx_create(dev, &ctx));
    DMX_ASSERT_OK(dmx_params_create(dev, &ps));
    const int64_t shape[3] = {3, 7, 5}, n = shape[axis];
    dmx_nn_mlp m;
    DMX_ASSERT_OK(dmx_mlp_init(ps, "mlp", n, hidden, n, DMX_ACT_GELU, &m));
    DMX_ASSERT_OK(dmx_params_allocate(ps, 13));
    dmx_tensor *x = NULL, *r = NULL, *y = NULL, *prod = NULL, *loss = NULL;
    DMX_ASSERT_OK(dmx_test_leaf(dev, "x", 3, shape, xh, &x));
    dmx_test_rng rng = {83};
    float rh[3 * 7 * 5];
    dmx_test_fill(&rng, rh, 3 * 7 * 5, -1, 1);
    DMX_ASSERT_OK(dmx_tensor_from_host(ctx, DMX_F32, 3, shape, rh, "r", &r));
    dmx_device_counters before, after;
    dmx_device_counters_get(dev, &before);
    DMX_ASSERT_OK(dmx_mlp_forward(ctx, &m, x, axis, &y));
    assert_int_equal(y->ndim, 3);
    for (int d = 0; d < 3; d++)
        assert_int_equal(y->shape[d], shape[d]);
    DMX_ASSERT_OK(dmx_mul(ctx, y, r, &prod));
    DMX_ASSERT_OK(dmx_sum_rows(ctx, prod, dmx_tensor_numel(prod), 1.0f, &loss));
    DMX_ASSERT_OK(dmx_backward(ctx, loss));
    dmx_device_counters_get(dev, &after);
    mlp_run run = {.y = dmx_test_read(y), .dx = dmx_test_read(x->grad),
                   .ny = dmx_tensor_numel(y), .ops = after.ops - before.ops};
    assert_int_equal(dmx_params_count(ps), 4);
    for (int i = 0; i < 4; i++) {
        dmx_tensor *p = dmx_params_at(ps, i);
        run.dparams[i] = dmx_test_read(p->grad);
        run.counts[i] = (size_t)dmx_tensor_numel(p);
    }
    dmx_test_leaf_free(x);
    dmx_params_destroy(ps);
    dmx_ctx_destroy(ctx);
    dmx_device_close(dev);
    unsetenv("DIMIX_FUSED_MLP");
    return run;
}

/* A GELU MLP as one mix_mlp (the fast CPU device's default) computes what fc1, GELU and fc2
 * compute, along the last axis (channel mixing) and a middle one (token mixing, R2 > 1), with
 * hidden wider and narrower than the axis, on both CPU devices. */
static void test_fused_mlp_matches_composed(void **state)
{
    (void)state;
    const char *devices[2] = {"cpu-ref", "cpu"};
    const int axes[2] = {2, 1};
    const int64_t hiddens[2] = {9, 4};
    dmx_test_rng rng = {82};
    float xh[3 * 7 * 5];
    dmx_test_fill(&rng, xh, 3 * 7 * 5, -2, 2);
    for (int dv = 0; dv < 2; dv++)
        for (int a = 0; a < 2; a++)
            for (int h = 0; h < 2; h++) {
                mlp_run c = run_mlp(devices[dv], 0, axes[a], hiddens[h], xh);
                mlp_run f = run_mlp(devices[dv], 1, axes[a], hiddens[h], xh);
                printf("  %s, axis %d, hidden %lld: %llu ops composed, %llu fused\n",
                       devices[dv], axes[a], (long long)hiddens[h], (unsigned long long)c.ops,
                       (unsigned long long)f.ops);
                assert_true(f.ops < c.ops);
                DMX_ASSERT_CLOSE("fused mlp output", f.y, c.y, (size_t)c.ny, 1e-6, 1e-5);
                DMX_ASSERT_CLOSE("fused mlp dx", f.dx, c.dx, (size_t)c.ny, 1e-6, 1e-5);
                for (int i = 0; i < 4; i++) {
                    DMX_ASSERT_CLOSE("fused mlp parameter gradient", f.dparams[i],
                                     c.dparams[i], c.counts[i], 1e-6, 1e-5);
                    free(c.dparams[i]), free(f.dparams[i]);
                }
                free(c.y), free(c.dx), free(f.y), free(f.dx);
            }
}

/* Gathers the stage groups on the host (idx formula), runs the block on them as a batch,
 * scatters back on the host, and compares with the module. */
static void check_attention_stage(int64_t S, int64_t a, int stage, bool pre)
{
    nn_env env;
    nn_env_open(&env);
    const int64_t B = 2, D = 8;
    dmx_block_config cfg = {.dim = D, .heads = 2, .hidden = 16, .pre_norm = pre, .eps = 1e-5f};
    dmx_nn_butterfly_attention m;
    DMX_ASSERT_OK(dmx_butterfly_attention_init(env.ps, "blocks.0", &cfg, a, stage, &m));
    DMX_ASSERT_OK(dmx_params_allocate(env.ps, 6));
    dmx_test_rng rng = {60 + stage};
    const int64_t shape[3] = {B, S, D};
    dmx_tensor *x = nn_random(&env, &rng, 3, shape, -1, 1, "x");
    dmx_tensor *mask = key_mask(&env, B, S, S - a);
    dmx_tensor *y = NULL, *xg = NULL, *mg = NULL, *yg = NULL;
    DMX_ASSERT_OK(dmx_butterfly_attention_forward(env.ctx, &m, x, mask, &y));
    int64_t s = 0;
    DMX_ASSERT_OK(dmx_butterfly_stride(S, a, stage, &s));
    const int64_t J = S / (a * s), G = B * J * s;
    float *xh = dmx_test_read(x), *mh = dmx_test_read(mask);
    float *xgh = malloc(B * S * D * 4), *mgh = malloc(B * S * 4), *want = malloc(B * S * D * 4);
    for (int64_t b = 0; b < B; b++)
        for (int64_t j = 0; j < J; j++)
            for (int64_t r = 0; r < s; r++)
                for (int64_t d = 0; d < a; d++) {
                    int64_t g = (b * J + j) * s + r, t = j * a * s + d * s + r;
                    mgh[g * a + d] = mh[b * S + t];
                    memcpy(xgh + (g * a + d) * D, xh + (b * S + t) * D, D * 4);
                }
    const int64_t gshape[3] = {G, a, D}, mshape[2] = {G, a};
    DMX_ASSERT_OK(dmx_tensor_from_host(env.ctx, DMX_F32, 3, gshape, xgh, "xg", &xg));
    DMX_ASSERT_OK(dmx_tensor_from_host(env.ctx, DMX_F32, 2, mshape, mgh, "mg", &mg));
    DMX_ASSERT_OK(dmx_transformer_block_forward(env.ctx, &m.block, xg, mg, &yg));
    float *ygh = dmx_test_read(yg), *got = dmx_test_read(y);
    for (int64_t b = 0; b < B; b++)
        for (int64_t j = 0; j < J; j++)
            for (int64_t r = 0; r < s; r++)
                for (int64_t d = 0; d < a; d++) {
                    int64_t g = (b * J + j) * s + r, t = j * a * s + d * s + r;
                    memcpy(want + (b * S + t) * D, ygh + (g * a + d) * D, D * 4);
                }
    char what[80];
    snprintf(what, sizeof what, "butterfly attention S=%lld a=%lld stage %d", (long long)S,
             (long long)a, stage);
    DMX_ASSERT_CLOSE(what, got, want, B * S * D, 0, 0);
    free(xh), free(mh), free(xgh), free(mgh), free(want), free(ygh), free(got);
    nn_env_close(&env);
}

static void test_butterfly_attention_runs_the_block_on_each_group(void **state)
{
    (void)state;
    check_attention_stage(16, 4, 0, false);
    check_attention_stage(16, 4, 1, false);
    check_attention_stage(12, 4, 1, true); /* strides (1, 3) */
    check_attention_stage(64, 8, 1, true);
}

/* ---- mixing along an axis ---- */

typedef dmx_status (*axis_forward)(dmx_ctx *ctx, const void *m, dmx_tensor *x, int axis,
                                   dmx_tensor **y);

static dmx_status mixer_fwd(dmx_ctx *ctx, const void *m, dmx_tensor *x, int axis, dmx_tensor **y)
{
    return dmx_mixer_forward(ctx, m, x, axis, y);
}

static dmx_status imlp_fwd(dmx_ctx *ctx, const void *m, dmx_tensor *x, int axis, dmx_tensor **y)
{
    return dmx_imlp_forward(ctx, m, x, axis, y);
}

/* f along axis 1 of [B, S, C] equals transpose, f along the last axis, transpose back. */
static void check_token_axis(nn_env *env, axis_forward f, const void *m, int64_t S,
                             const char *what)
{
    dmx_test_rng rng = {77};
    const int64_t shape[3] = {2, S, 5};
    const int perm[3] = {0, 2, 1};
    dmx_tensor *x = nn_random(env, &rng, 3, shape, -1, 1, "x"), *y = NULL, *xt, *yt, *yb;
    DMX_ASSERT_OK(f(env->ctx, m, x, 1, &y));
    DMX_ASSERT_OK(dmx_permute(env->ctx, x, perm, &xt));
    DMX_ASSERT_OK(f(env->ctx, m, xt, -1, &yt));
    DMX_ASSERT_OK(dmx_permute(env->ctx, yt, perm, &yb));
    float *got = dmx_test_read(y), *want = dmx_test_read(yb);
    DMX_ASSERT_CLOSE(what, got, want, (size_t)(2 * S * 5), 1e-6, 1e-5);
    free(got), free(want);
}

static void test_token_axis_equals_transposed_mixing(void **state)
{
    (void)state;
    nn_env env;
    nn_env_open(&env);
    dmx_nn_mixer dense, bfly;
    dmx_nn_imlp imlp;
    dmx_mix_config dc = {DMX_MIX_DENSE, 0, 2}, bc = {DMX_MIX_BUTTERFLY_MLP, 4, 2};
    dmx_imlp_config ic = {.tokens = 16, .width = 6, .inner = 12, .n_iter = 2, .n_power = 0};
    DMX_ASSERT_OK(dmx_mixer_init(env.ps, "dense", 16, &dc, &dense));
    DMX_ASSERT_OK(dmx_mixer_init(env.ps, "bfly", 16, &bc, &bfly));
    DMX_ASSERT_OK(dmx_imlp_init(env.ps, "imlp", &ic, &imlp));
    DMX_ASSERT_OK(dmx_params_allocate(env.ps, 8));
    check_token_axis(&env, mixer_fwd, &dense, 16, "dense token mixing");
    check_token_axis(&env, mixer_fwd, &bfly, 16, "butterfly MLP token mixing");
    check_token_axis(&env, imlp_fwd, &imlp, 16, "iMLP token mixing");
    nn_env_close(&env);
}

/* ---- patches ---- */

static void test_unfold_order_and_fold_inverse(void **state)
{
    (void)state;
    nn_env env;
    nn_env_open(&env);
    const int64_t B = 2, C = 3, H = 6, W = 4, k = 2, L = (H / k) * (W / k), P = C * k * k;
    dmx_test_rng rng = {3};
    const int64_t shape[4] = {B, C, H, W};
    dmx_tensor *x = nn_random(&env, &rng, 4, shape, -1, 1, "img"), *y = NULL, *back = NULL;
    DMX_ASSERT_OK(dmx_unfold(env.ctx, x, k, &y));
    assert_true(y->ndim == 3 && y->shape[1] == L && y->shape[2] == P);
    float *xh = dmx_test_read(x), *yh = dmx_test_read(y), *want = malloc(B * L * P * 4);
    for (int64_t b = 0; b < B; b++)
        for (int64_t py = 0; py < H / k; py++)
            for (int64_t px = 0; px < W / k; px++)
                for (int64_t c = 0; c < C; c++)
                    for (int64_t ky = 0; ky < k; ky++)
                        for (int64_t kx = 0; kx < k; kx++)
                            want[(b * L + py * (W / k) + px) * P + (c * k + ky) * k + kx] =
                                xh[((b * C + c) * H + py * k + ky) * W + px * k + kx];
    DMX_ASSERT_CLOSE("unfold (c, ky, kx) order", yh, want, B * L * P, 0, 0);
    DMX_ASSERT_OK(dmx_fold(env.ctx, y, C, H, W, k, &back));
    float *bh = dmx_test_read(back);
    DMX_ASSERT_CLOSE("fold(unfold(x))", bh, xh, B * C * H * W, 0, 0);
    dmx_tensor *bad = NULL;
    DMX_ASSERT_FAILS(dmx_unfold(env.ctx, x, 4, &bad), DMX_ERR_SHAPE, "6 x 4 image");
    DMX_ASSERT_FAILS(dmx_fold(env.ctx, y, 2, H, W, k, &bad), DMX_ERR_SHAPE, "must be [B, 6, 8]");
    free(xh), free(yh), free(want), free(bh);
    nn_env_close(&env);
}

/* ---- spectral normalisation ---- */

static double host_sigma(const float *w, int64_t rows, int64_t cols)
{
    double *v = malloc(cols * 8), *u = malloc(rows * 8), sigma = 0;
    for (int64_t i = 0; i < cols; i++)
        v[i] = 1.0 + 0.1 * (double)i;
    for (int it = 0; it < 500; it++) {
        double n = 0;
        for (int64_t r = 0; r < rows; r++) {
            u[r] = 0;
            for (int64_t c = 0; c < cols; c++)
                u[r] += w[r * cols + c] * v[c];
            n += u[r] * u[r];
        }
        sigma = sqrt(n);
        double m = 0;
        for (int64_t c = 0; c < cols; c++) {
            v[c] = 0;
            for (int64_t r = 0; r < rows; r++)
                v[c] += w[r * cols + c] * u[r] / sigma;
            m += v[c] * v[c];
        }
        for (int64_t c = 0; c < cols; c++)
            v[c] /= sqrt(m);
    }
    free(u), free(v);
    return sigma;
}

static void test_spectral_norm_scales_to_coeff(void **state)
{
    (void)state;
    nn_env env;
    nn_env_open(&env);
    dmx_tensor *w, *u, *v;
    const int64_t ws[2] = {6, 4}, us[1] = {6}, vs[1] = {4};
    DMX_ASSERT_OK(dmx_params_declare(env.ps, "w", 2, ws, (dmx_init){DMX_INIT_UNIFORM, 2}, true,
                                     &w));
    DMX_ASSERT_OK(dmx_params_declare(env.ps, "u", 1, us, (dmx_init){DMX_INIT_UNIT_NORMAL, 0}, false,
                                     &u));
    DMX_ASSERT_OK(dmx_params_declare(env.ps, "v", 1, vs, (dmx_init){DMX_INIT_UNIT_NORMAL, 0}, false,
                                     &v));
    DMX_ASSERT_OK(dmx_params_allocate(env.ps, 9));
    float *wh = dmx_test_read(w), u0[6], u1[6];
    double truth = host_sigma(wh, 6, 4);
    assert_true(truth > 1.0);
    /* Eval mode: no iteration, u and v untouched. */
    dmx_ctx_set_training(env.ctx, false);
    dmx_tensor *wn = NULL;
    float sigma = 0;
    DMX_ASSERT_OK(dmx_tensor_to_host(u, u0, sizeof u0));
    DMX_ASSERT_OK(dmx_spectral_norm(env.ctx, w, u, v, 30, 0.9f, &wn, &sigma));
    DMX_ASSERT_OK(dmx_tensor_to_host(u, u1, sizeof u1));
    DMX_ASSERT_CLOSE("u in eval mode", u1, u0, 6, 0, 0);
    /* Training: 200 power iterations converge; w' then has spectral norm coeff. */
    dmx_ctx_set_training(env.ctx, true);
    DMX_ASSERT_OK(dmx_spectral_norm(env.ctx, w, u, v, 200, 0.9f, &wn, &sigma));
    if (fabs(sigma - truth) > 1e-4 * truth)
        fail_msg("sigma %.7g, largest singular value %.7g", sigma, truth);
    assert_ptr_not_equal(wn, w);
    float *wnh = dmx_test_read(wn);
    for (int i = 0; i < 24; i++)
        if (fabs(wnh[i] - wh[i] * 0.9 / sigma) > 1e-6)
            fail_msg("w'[%d] = %g, w / (sigma / 0.9) = %g", i, wnh[i], wh[i] * 0.9 / sigma);
    if (fabs(host_sigma(wnh, 6, 4) - 0.9) > 1e-4)
        fail_msg("sigma(w') = %.7g, expected 0.9", host_sigma(wnh, 6, 4));
    /* A weight already inside the bound comes out unchanged (the device decides, no read). */
    const float small[24] = {0.01f, -0.02f, 0.03f};
    DMX_ASSERT_OK(dmx_params_write(env.ps, "w", small, 24));
    DMX_ASSERT_OK(dmx_spectral_norm(env.ctx, w, u, v, 3, 0.9f, &wn, NULL));
    float *kept = dmx_test_read(wn);
    DMX_ASSERT_CLOSE("w' inside the bound", kept, small, 24, 0, 0);
    free(wh), free(wnh), free(kept);
    nn_env_close(&env);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_identity_butterfly_is_identity),
        cmocka_unit_test(test_two_stage_butterfly_equals_its_dense_matrix),
        cmocka_unit_test(test_monarch_equals_its_dense_expansion),
        cmocka_unit_test(test_butterfly_attention_with_full_radix_is_dense),
        cmocka_unit_test(test_butterfly_attention_runs_the_block_on_each_group),
        cmocka_unit_test(test_fused_attention_matches_composed),
        cmocka_unit_test(test_fused_mlp_matches_composed),
        cmocka_unit_test(test_token_axis_equals_transposed_mixing),
        cmocka_unit_test(test_unfold_order_and_fold_inverse),
        cmocka_unit_test(test_spectral_norm_scales_to_coeff),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
