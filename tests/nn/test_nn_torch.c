/* The CPU reference against PyTorch: tests/data/nn_*.safetensors (tools/make_fixtures.py) hold
 * each module's weights, an input, PyTorch's output (computed in float64) and the gradients of
 * L = sum(output * r). The modules load the weights by their SPEC section 6 names, and output,
 * input gradient and every parameter gradient must match with a relative error under 1e-5:
 *   err = max_i |got_i - want_i| / max(max_i |want_i|, 1e-2)
 * Every fixture tensor but one kind has max |want| above 0.015, so the floor changes nothing
 * there; it exists for gradients that are zero analytically: the key bias of attention (a
 * shift of every key's score by the same q.bk cancels in the softmax), where PyTorch's float64
 * gives ~1e-17 and float32 rounding ~2e-8. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "nn_test.h"

#define MAX_REL_ERR 1e-5
#define REL_FLOOR 1e-2

typedef enum fixture_kind {
    FX_BUTTERFLY_LINEAR_B2,
    FX_BUTTERFLY_LINEAR_B4,
    FX_MONARCH,
    FX_BUTTERFLY_MLP,
    FX_MIXER_BLOCK,
    FX_BUTTERFLY_ATTENTION,
    FX_IMLP,
} fixture_kind;

typedef struct fixture {
    fixture_kind kind;
    const char *file;
} fixture;

typedef struct modules {
    dmx_nn_butterfly_linear bfly;
    dmx_nn_butterfly_mlp bmlp;
    dmx_nn_mixer_block mixer;
    dmx_nn_butterfly_attention attn[2];
    dmx_nn_imlp imlp;
} modules;

/* Declares the fixture's module with the configuration tools/make_fixtures.py used. */
static void declare(const fixture *fx, dmx_params *ps, modules *m)
{
    dmx_mix_config tok = {DMX_MIX_BUTTERFLY_MLP, 4, 2}, ch = {DMX_MIX_BUTTERFLY_MLP, 3, 2};
    dmx_block_config blk = {.dim = 8, .heads = 2, .hidden = 16, .pre_norm = false, .eps = 1e-5f};
    dmx_imlp_config im = {.tokens = 8, .width = 4, .inner = 8, .n_iter = 2, .n_power = 3,
                          .coeff = 0.9f};
    switch (fx->kind) {
    case FX_BUTTERFLY_LINEAR_B2:
        DMX_ASSERT_OK(dmx_butterfly_linear_init(ps, "bfly", 16, 2, 0, DMX_BUTTERFLY_ORTHO, false,
                                                &m->bfly));
        break;
    case FX_BUTTERFLY_LINEAR_B4:
        DMX_ASSERT_OK(dmx_butterfly_linear_init(ps, "bfly", 64, 4, 0, DMX_BUTTERFLY_UNIFORM, true,
                                                &m->bfly));
        break;
    case FX_MONARCH:
        DMX_ASSERT_OK(dmx_monarch_init(ps, "monarch", 16, DMX_BUTTERFLY_UNIFORM, true, &m->bfly));
        break;
    case FX_BUTTERFLY_MLP:
        DMX_ASSERT_OK(dmx_butterfly_mlp_init(ps, "bmlp", 32, 8, 2, &m->bmlp));
        break;
    case FX_MIXER_BLOCK:
        DMX_ASSERT_OK(dmx_mixer_block_init(ps, "blocks.0", 16, 9, &tok, &ch, 1e-5f, &m->mixer));
        break;
    case FX_BUTTERFLY_ATTENTION:
        DMX_ASSERT_OK(dmx_butterfly_attention_init(ps, "blocks.0", &blk, 4, 0, &m->attn[0]));
        DMX_ASSERT_OK(dmx_butterfly_attention_init(ps, "blocks.1", &blk, 4, 1, &m->attn[1]));
        break;
    case FX_IMLP:
        DMX_ASSERT_OK(dmx_imlp_init(ps, "blocks.0.token_mix", &im, &m->imlp));
        break;
    }
}

static dmx_status forward(const fixture *fx, dmx_ctx *ctx, const modules *m, dmx_tensor *x,
                          dmx_tensor *mask, dmx_tensor **y)
{
    dmx_tensor *mid = NULL;
    switch (fx->kind) {
    case FX_BUTTERFLY_LINEAR_B2:
    case FX_MONARCH:
        return dmx_butterfly_linear_forward(ctx, &m->bfly, x, -1, y);
    case FX_BUTTERFLY_LINEAR_B4:
        return dmx_butterfly_linear_forward(ctx, &m->bfly, x, 1, y);
    case FX_BUTTERFLY_MLP:
        return dmx_butterfly_mlp_forward(ctx, &m->bmlp, x, -1, y);
    case FX_MIXER_BLOCK:
        return dmx_mixer_block_forward(ctx, &m->mixer, x, y);
    case FX_BUTTERFLY_ATTENTION:
        if (dmx_butterfly_attention_forward(ctx, &m->attn[0], x, mask, &mid) != DMX_OK)
            return DMX_ERR_INVALID_ARG;
        return dmx_butterfly_attention_forward(ctx, &m->attn[1], mid, mask, y);
    case FX_IMLP:
        return dmx_imlp_forward(ctx, &m->imlp, x, 1, y);
    }
    return DMX_ERR_INVALID_ARG;
}

/* Host copy of a fixture tensor (malloc'd); *info receives its description. */
static float *load(const dmx_st_file *f, const char *name, const dmx_st_tensor_info **info)
{
    const dmx_st_tensor_info *t = dmx_st_find(f, name);
    if (!t)
        fail_msg("%s: no tensor %s", dmx_st_path(f), name);
    float *data = malloc((size_t)(t->numel ? t->numel : 1) * sizeof *data);
    DMX_ASSERT_OK(dmx_st_read(f, name, DMX_ST_F32, data, (size_t)t->numel * sizeof *data));
    if (info)
        *info = t;
    return data;
}

typedef struct error_log {
    double worst;          /* over tensors compared by plain relative error */
    char worst_name[160];
    double floored;        /* over analytically zero tensors (max |want| under the floor) */
} error_log;

/* Relative error of got against the fixture tensor `name`; fails above MAX_REL_ERR. */
static void compare(const dmx_st_file *f, const char *name, const dmx_tensor *got_t,
                    error_log *log)
{
    const dmx_st_tensor_info *info = NULL;
    float *want = load(f, name, &info), *got = dmx_test_read(got_t);
    if (info->numel != dmx_tensor_numel(got_t))
        fail_msg("%s: %s has %lld elements, the module's %lld", dmx_st_path(f), name,
                 (long long)info->numel, (long long)dmx_tensor_numel(got_t));
    double diff = 0, scale = 0;
    int64_t at = 0;
    for (int64_t i = 0; i < info->numel; i++) {
        double d = fabs((double)got[i] - want[i]);
        if (!(d <= diff)) /* NaN lands here and stays */
            diff = d, at = i;
        scale = fmax(scale, fabs((double)want[i]));
    }
    double err = diff / fmax(scale, REL_FLOOR);
    if (scale < REL_FLOOR)
        log->floored = fmax(log->floored, err);
    else if (!(err <= log->worst) || log->worst_name[0] == 0) {
        log->worst = err;
        snprintf(log->worst_name, sizeof log->worst_name, "%s", name);
    }
    if (!(err < MAX_REL_ERR))
        fail_msg("%s: %s: relative error %.3g (|diff| %.3g at %lld: got %.9g, want %.9g; "
                 "max |want| %.3g)", dmx_st_path(f), name, err, diff, (long long)at,
                 (double)got[at], (double)want[at], scale);
    free(want), free(got);
}

/* Loads every parameter of the store by name, and checks that every parameter tensor of the
 * file belongs to the store (names match both ways). */
static void load_parameters(const dmx_st_file *f, dmx_params *ps)
{
    for (int i = 0; i < dmx_params_count(ps); i++) {
        dmx_tensor *p = dmx_params_at(ps, i);
        DMX_ASSERT_OK(dmx_st_check_shape(f, p->name, p->ndim, p->shape));
        float *data = load(f, p->name, NULL);
        DMX_ASSERT_OK(dmx_params_write(ps, p->name, data, (size_t)dmx_tensor_numel(p)));
        free(data);
    }
    for (int64_t i = 0; i < dmx_st_count(f); i++) {
        const char *name = dmx_st_info_at(f, i)->name;
        bool fixture_own = !strcmp(name, "input") || !strcmp(name, "output") ||
                           !strcmp(name, "r") || !strcmp(name, "mask") ||
                           !strncmp(name, "grad.", 5) || !strncmp(name, "updated.", 8);
        if (!fixture_own && !dmx_params_find(ps, name))
            fail_msg("%s: tensor %s is no parameter of the module", dmx_st_path(f), name);
    }
}

static dmx_tensor *host_tensor(nn_env *env, const dmx_st_file *f, const char *name)
{
    const dmx_st_tensor_info *info = NULL;
    float *data = load(f, name, &info);
    dmx_tensor *t = NULL;
    DMX_ASSERT_OK(dmx_tensor_from_host(env->ctx, DMX_F32, info->ndim, info->shape, data, name, &t));
    free(data);
    return t;
}

static void run_fixture(const fixture *fx)
{
    char path[512];
    snprintf(path, sizeof path, "%s/tests/data/%s.safetensors", DIMIX_SOURCE_DIR, fx->file);
    dmx_st_file *f = NULL;
    DMX_ASSERT_OK(dmx_st_open(path, &f));
    nn_env env;
    nn_env_open(&env);
    modules *m = calloc(1, sizeof *m);
    declare(fx, env.ps, m);
    DMX_ASSERT_OK(dmx_params_allocate(env.ps, 1));
    load_parameters(f, env.ps);

    const dmx_st_tensor_info *xi = NULL;
    float *xh = load(f, "input", &xi);
    dmx_tensor *x = NULL, *y = NULL, *prod = NULL, *loss = NULL;
    DMX_ASSERT_OK(dmx_test_leaf(env.dev, "input", xi->ndim, xi->shape, xh, &x));
    dmx_tensor *mask = dmx_st_find(f, "mask") ? host_tensor(&env, f, "mask") : NULL;
    DMX_ASSERT_OK(forward(fx, env.ctx, m, x, mask, &y));
    DMX_ASSERT_OK(dmx_mul(env.ctx, y, host_tensor(&env, f, "r"), &prod));
    DMX_ASSERT_OK(dmx_sum_rows(env.ctx, prod, dmx_tensor_numel(prod), 1.0f, &loss));
    DMX_ASSERT_OK(dmx_backward(env.ctx, loss));

    error_log out = {0}, grads = {0};
    compare(f, "output", y, &out);
    compare(f, "grad.input", x->grad, &grads);
    for (int i = 0; i < dmx_params_count(env.ps); i++) {
        dmx_tensor *p = dmx_params_at(env.ps, i);
        char name[192];
        if (p->flags & DMX_TENSOR_REQUIRES_GRAD) {
            snprintf(name, sizeof name, "grad.%s", p->name);
            compare(f, name, p->grad, &grads);
        } else { /* a buffer: spectral-norm u, v after the training-mode update */
            snprintf(name, sizeof name, "updated.%s", p->name);
            compare(f, name, p, &out);
        }
    }
    printf("  %-24s output %.2e   gradients %.2e (largest: %s)", fx->file, out.worst,
           grads.worst, grads.worst_name);
    if (grads.floored > 0)
        printf("; zero gradients %.2e", grads.floored);
    printf("\n");
    fflush(stdout); /* keep the line before cmocka's own report */
    dmx_test_leaf_free(x);
    free(xh);
    free(m);
    nn_env_close(&env);
    dmx_st_close(f);
}

static void test_matches_pytorch(void **state)
{
    const fixture *fx = *state;
    run_fixture(fx);
}

static const fixture fixtures[] = {
    {FX_BUTTERFLY_LINEAR_B2, "nn_butterfly_linear_b2"},
    {FX_BUTTERFLY_LINEAR_B4, "nn_butterfly_linear_b4"},
    {FX_MONARCH, "nn_monarch"},
    {FX_BUTTERFLY_MLP, "nn_butterfly_mlp"},
    {FX_MIXER_BLOCK, "nn_mixer_block"},
    {FX_BUTTERFLY_ATTENTION, "nn_butterfly_attention"},
    {FX_IMLP, "nn_imlp"},
};

int main(void)
{
    struct CMUnitTest tests[sizeof fixtures / sizeof fixtures[0]];
    for (size_t i = 0; i < sizeof fixtures / sizeof fixtures[0]; i++)
        tests[i] = (struct CMUnitTest){fixtures[i].file, test_matches_pytorch, NULL, NULL,
                                       (void *)&fixtures[i]};
    return cmocka_run_group_tests(tests, NULL, NULL);
}
