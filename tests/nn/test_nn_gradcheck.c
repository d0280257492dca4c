/* Every module's gradients (input and every trainable parameter) against central finite
 * differences of L = sum(out * r). */
#include <stdlib.h>

#include "gradcheck.h"
#include "nn_test.h"

typedef dmx_status (*module_forward)(dmx_ctx *ctx, const void *m, dmx_tensor *x, dmx_tensor *mask,
                                     int axis, dmx_tensor **y);

typedef struct module_case {
    module_forward forward;
    const void *module;
    dmx_tensor *mask;
    int axis;
    bool eval; /* run in eval mode (no spectral-norm power iterations between evaluations) */
} module_case;

static dmx_status run_case(dmx_ctx *ctx, dmx_tensor *const *in, dmx_tensor **out, void *user)
{
    const module_case *c = user;
    dmx_ctx_set_training(ctx, !c->eval);
    return c->forward(ctx, c->module, in[0], c->mask, c->axis, out);
}

static dmx_status block_fwd(dmx_ctx *c, const void *m, dmx_tensor *x, dmx_tensor *k, int a,
                            dmx_tensor **y);
static dmx_status bfly_attention_fwd(dmx_ctx *c, const void *m, dmx_tensor *x, dmx_tensor *k,
                                     int a, dmx_tensor **y);

/* Gradchecks x and every trainable parameter of the store. */
static void check_module(nn_env *env, const char *what, module_case *c, int ndim,
                         const int64_t *shape, uint64_t seed)
{
    /* Deep modules (layernorm, softmax, two norms) sum many float outputs into L: a wider
     * step keeps the finite-difference rounding noise (~1e-6 / (2 eps)) under the tolerance. */
    double eps = c->forward == bfly_attention_fwd || c->forward == block_fwd ? 1e-2 : 1e-3;
    dmx_test_rng rng = {seed};
    int64_t n = 1;
    for (int k = 0; k < ndim; k++)
        n *= shape[k];
    float *data = malloc((size_t)n * sizeof *data);
    dmx_test_fill(&rng, data, (size_t)n, -1, 1);
    dmx_tensor *inputs[64];
    int count = 0;
    DMX_ASSERT_OK(dmx_test_leaf(env->dev, "x", ndim, shape, data, &inputs[count++]));
    for (int i = 0; i < dmx_params_count(env->ps); i++) {
        dmx_tensor *p = dmx_params_at(env->ps, i);
        if (p->flags & DMX_TENSOR_REQUIRES_GRAD) {
            assert_true(count < 64);
            inputs[count++] = p;
        }
    }
    dmx_gradcheck_opts opts = {.eps = eps, .max_checks = 24, .seed = seed};
    DMX_ASSERT_GRADCHECK(env->dev, what, run_case, c, inputs, count, &opts);
    dmx_test_leaf_free(inputs[0]);
    free(data);
}

static dmx_tensor *half_masked(nn_env *env, int64_t B, int64_t S, int64_t from)
{
    float *m = malloc(B * S * sizeof *m);
    for (int64_t i = 0; i < B * S; i++)
        m[i] = i / S == B - 1 && i % S >= from ? -1e30f : 0.0f;
    const int64_t shape[2] = {B, S};
    dmx_tensor *t = NULL;
    DMX_ASSERT_OK(dmx_tensor_from_host(env->ctx, DMX_F32, 2, shape, m, "mask", &t));
    free(m);
    return t;
}

/* ---- forward adapters ---- */

static dmx_status linear_fwd(dmx_ctx *c, const void *m, dmx_tensor *x, dmx_tensor *k, int a,
                             dmx_tensor **y)
{
    (void)k;
    return dmx_linear_forward(c, m, x, a, y);
}

static dmx_status mlp_fwd(dmx_ctx *c, const void *m, dmx_tensor *x, dmx_tensor *k, int a,
                          dmx_tensor **y)
{
    (void)k;
    return dmx_mlp_forward(c, m, x, a, y);
}

static dmx_status layernorm_fwd(dmx_ctx *c, const void *m, dmx_tensor *x, dmx_tensor *k, int a,
                                dmx_tensor **y)
{
    (void)k, (void)a;
    return dmx_layernorm_forward(c, m, x, y);
}

static dmx_status bfly_linear_fwd(dmx_ctx *c, const void *m, dmx_tensor *x, dmx_tensor *k, int a,
                                  dmx_tensor **y)
{
    (void)k;
    return dmx_butterfly_linear_forward(c, m, x, a, y);
}

static dmx_status bfly_mlp_fwd(dmx_ctx *c, const void *m, dmx_tensor *x, dmx_tensor *k, int a,
                               dmx_tensor **y)
{
    (void)k;
    return dmx_butterfly_mlp_forward(c, m, x, a, y);
}

static dmx_status mixer_block_fwd(dmx_ctx *c, const void *m, dmx_tensor *x, dmx_tensor *k, int a,
                                  dmx_tensor **y)
{
    (void)k, (void)a;
    return dmx_mixer_block_forward(c, m, x, y);
}

static dmx_status attention_fwd(dmx_ctx *c, const void *m, dmx_tensor *x, dmx_tensor *k, int a,
                                dmx_tensor **y)
{
    (void)a;
    return dmx_attention_forward(c, m, x, k, y);
}

static dmx_status block_fwd(dmx_ctx *c, const void *m, dmx_tensor *x, dmx_tensor *k, int a,
                            dmx_tensor **y)
{
    (void)a;
    return dmx_transformer_block_forward(c, m, x, k, y);
}

static dmx_status bfly_attention_fwd(dmx_ctx *c, const void *m, dmx_tensor *x, dmx_tensor *k,
                                     int a, dmx_tensor **y)
{
    (void)a;
    return dmx_butterfly_attention_forward(c, m, x, k, y);
}

static dmx_status imlp_fwd(dmx_ctx *c, const void *m, dmx_tensor *x, dmx_tensor *k, int a,
                           dmx_tensor **y)
{
    (void)k;
    return dmx_imlp_forward(c, m, x, a, y);
}

/* x is the weight itself: w' = w / max(1, sigma / 0.9) with the store's u, v. */
static dmx_status spectral_fwd(dmx_ctx *c, const void *m, dmx_tensor *w, dmx_tensor *k, int a,
                               dmx_tensor **y)
{
    (void)k, (void)a;
    dmx_tensor *const *uv = m;
    return dmx_spectral_norm(c, w, uv[0], uv[1], 0, 0.9f, y, NULL);
}

static dmx_status fold_fwd(dmx_ctx *c, const void *m, dmx_tensor *x, dmx_tensor *k, int a,
                           dmx_tensor **y)
{
    (void)m, (void)k, (void)a;
    dmx_tensor *patches = NULL, *scaled = NULL;
    dmx_status s = dmx_unfold(c, x, 2, &patches);
    if (s == DMX_OK) /* something between unfold and fold */
        s = dmx_scale(c, patches, 2.0f, &scaled);
    return s == DMX_OK ? dmx_fold(c, scaled, 3, 4, 6, 2, y) : s;
}

/* ---- tests ---- */

static void test_dense_modules(void **state)
{
    (void)state;
    nn_env env;
    nn_env_open(&env);
    dmx_nn_linear lin;
    DMX_ASSERT_OK(dmx_linear_init(env.ps, "lin", 5, 4, true, &lin));
    DMX_ASSERT_OK(dmx_params_allocate(env.ps, 1));
    const int64_t s3[3] = {2, 5, 3};
    module_case c = {linear_fwd, &lin, NULL, 1, false};
    check_module(&env, "linear along axis 1", &c, 3, s3, 11);
    nn_env_close(&env);

    for (int act = DMX_ACT_GELU; act <= DMX_ACT_ELU; act++) {
        nn_env_open(&env);
        dmx_nn_mlp mlp;
        DMX_ASSERT_OK(dmx_mlp_init(env.ps, "mlp", 6, 10, 4, (dmx_activation)act, &mlp));
        DMX_ASSERT_OK(dmx_params_allocate(env.ps, 2));
        const int64_t s2[2] = {3, 6};
        module_case m = {mlp_fwd, &mlp, NULL, -1, false};
        check_module(&env, act == DMX_ACT_GELU ? "mlp gelu" : "mlp elu", &m, 2, s2, 12);
        nn_env_close(&env);
    }

    nn_env_open(&env);
    dmx_nn_layernorm ln;
    DMX_ASSERT_OK(dmx_layernorm_init(env.ps, "ln", 7, 1e-5f, &ln));
    DMX_ASSERT_OK(dmx_params_allocate(env.ps, 3));
    const float gamma[7] = {1.5f, -0.5f, 0.7f, 1.0f, 2.0f, 0.3f, -1.1f};
    DMX_ASSERT_OK(dmx_params_write(env.ps, "ln.weight", gamma, 7));
    const int64_t sl[2] = {4, 7};
    module_case l = {layernorm_fwd, &ln, NULL, -1, false};
    check_module(&env, "layernorm", &l, 2, sl, 13);
    nn_env_close(&env);
}

static void test_butterfly_linear_and_monarch(void **state)
{
    (void)state;
    /* N, b, n_stages, init, bias, axis */
    const int cases[][6] = {{16, 2, 0, DMX_BUTTERFLY_ORTHO, 0, -1},
                            {16, 4, 0, DMX_BUTTERFLY_UNIFORM, 1, 1},
                            {48, 8, 0, DMX_BUTTERFLY_UNIFORM, 1, -1},
                            {8, 2, 5, DMX_BUTTERFLY_UNIFORM, 0, -1}};
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        nn_env env;
        nn_env_open(&env);
        dmx_nn_butterfly_linear m;
        DMX_ASSERT_OK(dmx_butterfly_linear_init(env.ps, "bfly", cases[i][0], cases[i][1],
                                                cases[i][2], (dmx_butterfly_init)cases[i][3],
                                                cases[i][4], &m));
        DMX_ASSERT_OK(dmx_params_allocate(env.ps, 20 + i));
        const int64_t rows[2] = {3, cases[i][0]}, tokens[3] = {2, cases[i][0], 3};
        module_case c = {bfly_linear_fwd, &m, NULL, cases[i][5], false};
        if (cases[i][5] == 1)
            check_module(&env, "butterfly linear (token axis)", &c, 3, tokens, 21 + i);
        else
            check_module(&env, "butterfly linear", &c, 2, rows, 21 + i);
        nn_env_close(&env);
    }
    nn_env env;
    nn_env_open(&env);
    dmx_nn_butterfly_linear mon;
    DMX_ASSERT_OK(dmx_monarch_init(env.ps, "monarch", 16, DMX_BUTTERFLY_UNIFORM, true, &mon));
    DMX_ASSERT_OK(dmx_params_allocate(env.ps, 25));
    const int64_t rows[2] = {3, 16};
    module_case c = {bfly_linear_fwd, &mon, NULL, -1, false};
    check_module(&env, "monarch", &c, 2, rows, 26);
    nn_env_close(&env);
}

static void test_butterfly_mlp_and_mixer_block(void **state)
{
    (void)state;
    nn_env env;
    nn_env_open(&env);
    dmx_nn_butterfly_mlp a;
    DMX_ASSERT_OK(dmx_butterfly_mlp_init(env.ps, "bmlp", 16, 4, 2, &a));
    DMX_ASSERT_OK(dmx_params_allocate(env.ps, 30));
    const int64_t rows[2] = {3, 16};
    module_case c = {bfly_mlp_fwd, &a, NULL, -1, false};
    check_module(&env, "butterfly mlp", &c, 2, rows, 31);
    nn_env_close(&env);

    nn_env_open(&env);
    DMX_ASSERT_OK(dmx_butterfly_mlp_init(env.ps, "bmlp", 32, 8, 1, &a)); /* strides (1, 4) */
    DMX_ASSERT_OK(dmx_params_allocate(env.ps, 32));
    const int64_t tokens[3] = {2, 32, 3};
    c.axis = 1;
    check_module(&env, "butterfly mlp (token axis)", &c, 3, tokens, 33);
    nn_env_close(&env);

    nn_env_open(&env);
    dmx_nn_mixer_block mb;
    dmx_mix_config tok = {DMX_MIX_DENSE, 0, 2}, ch = {DMX_MIX_BUTTERFLY_MLP, 3, 2};
    DMX_ASSERT_OK(dmx_mixer_block_init(env.ps, "blocks.0", 8, 9, &tok, &ch, 1e-5f, &mb));
    DMX_ASSERT_OK(dmx_params_allocate(env.ps, 34));
    const int64_t seq[3] = {2, 8, 9};
    module_case m = {mixer_block_fwd, &mb, NULL, 0, false};
    check_module(&env, "mixer block", &m, 3, seq, 35);
    nn_env_close(&env);
}

static void test_attention_modules(void **state)
{
    (void)state;
    const int64_t B = 2, S = 8, D = 8;
    const int64_t seq[3] = {B, S, D};
    nn_env env;
    nn_env_open(&env);
    dmx_nn_attention at;
    DMX_ASSERT_OK(dmx_attention_init(env.ps, "attn", D, 2, &at));
    DMX_ASSERT_OK(dmx_params_allocate(env.ps, 40));
    module_case c = {attention_fwd, &at, half_masked(&env, B, S, 5), 0, false};
    check_module(&env, "attention with key mask", &c, 3, seq, 41);
    nn_env_close(&env);

    for (int pre = 0; pre < 2; pre++) {
        nn_env_open(&env);
        dmx_block_config cfg = {.dim = D, .heads = 2, .hidden = 16, .pre_norm = pre, .eps = 1e-5f};
        dmx_nn_transformer_block blk;
        DMX_ASSERT_OK(dmx_transformer_block_init(env.ps, "blocks.0", &cfg, &blk));
        DMX_ASSERT_OK(dmx_params_allocate(env.ps, 42 + pre));
        module_case b = {block_fwd, &blk, half_masked(&env, B, S, 6), 0, false};
        check_module(&env, pre ? "pre-norm block" : "post-norm block", &b, 3, seq, 43 + pre);
        nn_env_close(&env);
    }

    for (int stage = 0; stage < 2; stage++) {
        nn_env_open(&env);
        dmx_block_config cfg = {.dim = D, .heads = 2, .hidden = 16, .eps = 1e-5f};
        dmx_nn_butterfly_attention ba;
        DMX_ASSERT_OK(dmx_butterfly_attention_init(env.ps, "blocks.0", &cfg, 4, stage, &ba));
        DMX_ASSERT_OK(dmx_params_allocate(env.ps, 45 + stage));
        const int64_t seq16[3] = {B, 16, D};
        module_case b = {bfly_attention_fwd, &ba, half_masked(&env, B, 16, 11), 0, false};
        check_module(&env, stage ? "butterfly attention stage 1" : "butterfly attention stage 0",
                     &b, 3, seq16, 47 + stage);
        nn_env_close(&env);
    }
}

static void test_spectral_norm_and_imlp(void **state)
{
    (void)state;
    nn_env env;
    nn_env_open(&env);
    dmx_tensor *uv[2];
    const int64_t us[1] = {5}, vs[1] = {4}, ws[2] = {5, 4};
    DMX_ASSERT_OK(dmx_params_declare(env.ps, "u", 1, us, (dmx_init){DMX_INIT_UNIT_NORMAL, 0},
                                     false, &uv[0]));
    DMX_ASSERT_OK(dmx_params_declare(env.ps, "v", 1, vs, (dmx_init){DMX_INIT_UNIT_NORMAL, 0},
                                     false, &uv[1]));
    DMX_ASSERT_OK(dmx_params_allocate(env.ps, 50));
    module_case c = {spectral_fwd, uv, NULL, 0, false};
    check_module(&env, "spectral norm (sigma > coeff)", &c, 2, ws, 51);
    nn_env_close(&env);

    for (int eval = 0; eval < 2; eval++) {
        nn_env_open(&env);
        dmx_nn_imlp im;
        /* Training with n_power = 0 keeps u, v fixed between evaluations; eval skips them. */
        dmx_imlp_config ic = {.tokens = 6, .width = 4, .inner = 8, .n_iter = 2,
                              .n_power = eval ? 3 : 0};
        DMX_ASSERT_OK(dmx_imlp_init(env.ps, "imlp", &ic, &im));
        DMX_ASSERT_OK(dmx_params_allocate(env.ps, 52 + eval));
        /* fa well above the bound (normalised path), fb well inside it (plain path). */
        float fa[32], fb[32];
        DMX_ASSERT_OK(dmx_params_read(env.ps, "imlp.fa.weight", fa, 32));
        DMX_ASSERT_OK(dmx_params_read(env.ps, "imlp.fb.weight", fb, 32));
        for (int i = 0; i < 32; i++)
            fa[i] *= 4.0f, fb[i] *= 0.2f;
        DMX_ASSERT_OK(dmx_params_write(env.ps, "imlp.fa.weight", fa, 32));
        DMX_ASSERT_OK(dmx_params_write(env.ps, "imlp.fb.weight", fb, 32));
        const int64_t seq[3] = {2, 6, 3};
        module_case m = {imlp_fwd, &im, NULL, 1, eval};
        check_module(&env, eval ? "imlp (eval)" : "imlp (training, n_power 0)", &m, 3, seq,
                     54 + eval);
        nn_env_close(&env);
    }
}

static void test_unfold_fold(void **state)
{
    (void)state;
    nn_env env;
    nn_env_open(&env);
    DMX_ASSERT_OK(dmx_params_allocate(env.ps, 60));
    const int64_t img[4] = {2, 3, 4, 6};
    module_case c = {fold_fwd, NULL, NULL, 0, false};
    check_module(&env, "unfold -> scale -> fold", &c, 4, img, 61);
    nn_env_close(&env);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_dense_modules),
        cmocka_unit_test(test_butterfly_linear_and_monarch),
        cmocka_unit_test(test_butterfly_mlp_and_mixer_block),
        cmocka_unit_test(test_attention_modules),
        cmocka_unit_test(test_spectral_norm_and_imlp),
        cmocka_unit_test(test_unfold_fold),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
