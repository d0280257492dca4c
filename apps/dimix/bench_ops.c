/* dimix bench, op suite: one butterfly stage (mix_linear with the stage's view) against a
 * dense linear of the same N, a whole butterfly-MLP layer against a dense MLP, square and skinny
 * GEMM,
 * and a transformer block on the full sequence against one butterfly-attention stage.
 * fwd runs with autograd off; fwdbwd adds the backward of sum(y) into every parameter and
 * the input, as training does. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "bench.h"
#include "core/error.h"

typedef enum op_kind { STAGE, DENSE, BMLP, MLP, GEMM, ATTN, BATTN } op_kind;

/* arg[]: kind, N (or n, or S), e, stage, rows (or batch), backward. GEMM: x [rows, N] times
 * b [N, e] (b^T [e, N] when stage = 1); rows = 0 and e = 0 mean N (square). */
enum { A_KIND, A_N, A_E, A_STAGE, A_ROWS, A_BWD };

#define ATTN_DIM 64
#define ATTN_HEADS 2

typedef struct op_state {
    const dmx_bench_case *c;
    dmx_device *dev;
    dmx_params *ps;
    dmx_ctx *ctx;
    dmx_buffer *xbuf, *bbuf; /* the input (and GEMM's second matrix), outside the arena */
    dmx_tensor x, b;
    dmx_tensor *w, *bias;    /* stage and dense */
    dmx_nn_butterfly_mlp bmlp;
    dmx_nn_mlp mlp;
    dmx_nn_transformer_block block;
    dmx_nn_butterfly_attention battn;
} op_state;

static int64_t isqrt(int64_t n)
{
    int64_t r = (int64_t)sqrt((double)n);
    while (r * r > n)
        r--;
    while ((r + 1) * (r + 1) <= n)
        r++;
    return r;
}

/* A device buffer of n floats holding uniform values in [-1, 1), as a tensor of `shape`. */
static dmx_status host_tensor(dmx_device *dev, int ndim, const int64_t *shape, uint64_t seed,
                              dmx_buffer **buf, dmx_tensor *t)
{
    int64_t n = 1;
    for (int i = 0; i < ndim; i++)
        n *= shape[i];
    float *host = malloc((size_t)n * sizeof *host);
    if (!host)
        return dmx_fail(DMX_ERR_OUT_OF_MEMORY, "bench: out of host memory");
    uint64_t z = seed * 0x9E3779B97F4A7C15ull + 1;
    for (int64_t i = 0; i < n; i++) {
        z ^= z << 13, z ^= z >> 7, z ^= z << 17;
        host[i] = (float)((double)(z >> 40) / (double)(1ull << 23) - 1.0);
    }
    dmx_status s = dmx_buffer_alloc(dev, (size_t)n * sizeof *host, buf);
    if (s == DMX_OK)
        s = dmx_buffer_write(*buf, 0, host, (size_t)n * sizeof *host);
    free(host);
    *t = (dmx_tensor){.buf = *buf, .ndim = ndim, .dtype = DMX_F32, .name = "x"};
    memcpy(t->shape, shape, (size_t)ndim * sizeof *shape);
    return s;
}

static dmx_status declare(op_state *st)
{
    const int *a = st->c->arg;
    const int64_t N = a[A_N], e = a[A_E];
    switch ((op_kind)a[A_KIND]) {
    case STAGE: {
        const int64_t b = isqrt(N);
        dmx_mix_view v;
        DMX_TRY(dmx_butterfly_stage_view(N, b, a[A_STAGE], a[A_ROWS], 1, &v));
        const int64_t wshape[4] = {v.J, v.R1, e * b, b}, bshape[3] = {v.J, v.R1, e * b};
        dmx_init init = {DMX_INIT_UNIFORM, (float)(1.0 / sqrt((double)b))};
        DMX_TRY(dmx_params_declare(st->ps, "w", 4, wshape, init, true, &st->w));
        return dmx_params_declare(st->ps, "b", 3, bshape, init, true, &st->bias);
    }
    case DENSE: {
        const int64_t wshape[2] = {e * N, N}, bshape[1] = {e * N};
        dmx_init init = {DMX_INIT_UNIFORM, (float)(1.0 / sqrt((double)N))};
        DMX_TRY(dmx_params_declare(st->ps, "w", 2, wshape, init, true, &st->w));
        return dmx_params_declare(st->ps, "b", 1, bshape, init, true, &st->bias);
    }
    case BMLP:
        return dmx_butterfly_mlp_init(st->ps, "bmlp", N, isqrt(N), e, &st->bmlp);
    case MLP:
        return dmx_mlp_init(st->ps, "mlp", N, e * N, N, DMX_ACT_GELU, &st->mlp);
    case GEMM:
        return DMX_OK;
    case ATTN:
    case BATTN: {
        dmx_block_config bc = {.dim = ATTN_DIM, .heads = ATTN_HEADS, .hidden = 2 * ATTN_DIM,
                               .pre_norm = true, .eps = 1e-5f};
        if (a[A_KIND] == ATTN)
            return dmx_transformer_block_init(st->ps, "block", &bc, &st->block);
        return dmx_butterfly_attention_init(st->ps, "battn", &bc, dmx_vit_radix(N), 1,
                                            &st->battn);
    }
    }
    return dmx_fail(DMX_ERR_INVALID_ARG, "bench: unknown op case");
}

static void op_teardown(void *p)
{
    op_state *st = p;
    if (!st)
        return;
    dmx_ctx_destroy(st->ctx);
    dmx_params_destroy(st->ps);
    dmx_buffer_free(st->xbuf);
    dmx_buffer_free(st->bbuf);
    free(st);
}

static dmx_status op_setup(const dmx_bench_case *c, dmx_device *dev, void **state)
{
    op_state *st = calloc(1, sizeof *st);
    if (!st)
        return dmx_fail(DMX_ERR_OUT_OF_MEMORY, "bench: out of host memory");
    *state = st;
    st->c = c;
    st->dev = dev;
    const int *a = c->arg;
    const bool bwd = a[A_BWD] != 0;
    DMX_TRY(dmx_params_create(dev, &st->ps));
    DMX_TRY(declare(st));
    DMX_TRY(dmx_params_allocate(st->ps, 1));
    DMX_TRY(dmx_ctx_create(dev, &st->ctx));
    dmx_ctx_set_grad(st->ctx, bwd);
    dmx_ctx_set_training(st->ctx, bwd);
    if (a[A_KIND] == GEMM) {
        const int64_t M = a[A_ROWS] ? a[A_ROWS] : a[A_N], K = a[A_N];
        const int64_t N = a[A_E] ? a[A_E] : a[A_N];
        const int64_t xshape[2] = {M, K}, bshape[2] = {a[A_STAGE] ? N : K, a[A_STAGE] ? K : N};
        DMX_TRY(host_tensor(dev, 2, bshape, 2, &st->bbuf, &st->b));
        return host_tensor(dev, 2, xshape, 1, &st->xbuf, &st->x);
    }
    if (a[A_KIND] == ATTN || a[A_KIND] == BATTN) {
        const int64_t shape[3] = {a[A_ROWS], a[A_N], ATTN_DIM};
        DMX_TRY(host_tensor(dev, 3, shape, 1, &st->xbuf, &st->x));
    } else {
        const int64_t shape[2] = {a[A_ROWS], a[A_N]};
        DMX_TRY(host_tensor(dev, 2, shape, 1, &st->xbuf, &st->x));
    }
    st->x.flags = bwd ? DMX_TENSOR_REQUIRES_GRAD : 0;
    return DMX_OK;
}

static dmx_status forward(op_state *st, dmx_tensor **y)
{
    const int *a = st->c->arg;
    dmx_ctx *ctx = st->ctx;
    switch ((op_kind)a[A_KIND]) {
    case STAGE: {
        const int64_t N = a[A_N], b = isqrt(N);
        dmx_mix_view v;
        DMX_TRY(dmx_butterfly_stage_view(N, b, a[A_STAGE], a[A_ROWS], 1, &v));
        return dmx_mix_linear(ctx, &st->x, st->w, st->bias, v.M, v.J, v.Din, v.R1, v.R2, y);
    }
    case DENSE:
        return dmx_linear(ctx, &st->x, st->w, st->bias, y);
    case BMLP:
        return dmx_butterfly_mlp_forward(ctx, &st->bmlp, &st->x, 1, y);
    case MLP:
        return dmx_mlp_forward(ctx, &st->mlp, &st->x, 1, y);
    case GEMM:
        return dmx_matmul(ctx, &st->x, &st->b, 0, a[A_STAGE], 1.0f, y);
    case ATTN:
        return dmx_transformer_block_forward(ctx, &st->block, &st->x, NULL, y);
    case BATTN:
        return dmx_butterfly_attention_forward(ctx, &st->battn, &st->x, NULL, y);
    }
    return dmx_fail(DMX_ERR_INVALID_ARG, "bench: unknown op case");
}

static dmx_status op_iter(void *p)
{
    op_state *st = p;
    DMX_TRY(dmx_ctx_reset(st->ctx));
    st->x.grad = NULL;
    dmx_tensor *y = NULL;
    if (!st->c->arg[A_BWD]) {
        DMX_TRY(forward(st, &y));
        return dmx_device_sync(st->dev);
    }
    DMX_TRY(dmx_params_zero_grad(st->ps));
    DMX_TRY(forward(st, &y));
    dmx_tensor *cols = NULL, *sum = NULL; /* loss = sum(y): d loss / dy = 1 */
    DMX_TRY(dmx_sum_rows(st->ctx, y, y->shape[0], 1.0f, &cols));
    DMX_TRY(dmx_sum_rows(st->ctx, cols, dmx_tensor_numel(cols), 1.0f, &sum));
    DMX_TRY(dmx_backward(st->ctx, sum));
    return dmx_device_sync(st->dev);
}

static dmx_bench_memory op_memory(void *p)
{
    op_state *st = p;
    dmx_bench_memory m = dmx_bench_store_memory(st->ps, st->ctx);
    m.activations += dmx_buffer_size(st->xbuf) + (st->bbuf ? dmx_buffer_size(st->bbuf) : 0);
    return m;
}

static int64_t op_params(void *p)
{
    op_state *st = p;
    return st->c->arg[A_KIND] == GEMM ? -1 : dmx_params_trainable_count(st->ps);
}

static bool add_op(dmx_bench_list *l, const dmx_bench_options *opts, const char *vs,
                   const char *unit, double work, int kind, int n, int e, int stage, int rows,
                   int bwd, const char *fmt_name)
{
    dmx_bench_case c = {.suite = DMX_BENCH_OPS, .unit = unit, .work = work,
                        .setup = op_setup, .iter = op_iter, .memory = op_memory,
                        .params = op_params, .teardown = op_teardown,
                        .arg = {kind, n, e, stage, rows, bwd}};
    snprintf(c.name, sizeof c.name, "%s", fmt_name);
    snprintf(c.vs, sizeof c.vs, "%s", vs ? vs : "");
    if (kind == ATTN || kind == BATTN)
        c.batch = rows;
    return dmx_bench_add(l, &c, opts);
}

bool dmx_bench_ops_cases(dmx_bench_list *l, const dmx_bench_options *opts)
{
    const int rows = opts->quick ? 256 : 4096;
    const int Ns[] = {256, 1024, 4096};
    const int n_N = opts->quick ? 2 : 3;
    static const char *const pass[2] = {"fwd", "fwdbwd"};
    char name[DMX_BENCH_NAME], vs[DMX_BENCH_NAME];
    bool ok = true;
    for (int k = 0; k < n_N; k++)
        for (int e = 1; e <= 2; e++)
            for (int bwd = 0; bwd <= 1; bwd++) {
                const int N = Ns[k], b = (int)isqrt(N);
                const double passes = bwd ? 3.0 : 1.0; /* backward: twice the forward's work */
                const double stage_gf = passes * 2.0 * rows * N * e * b / 1e9;
                const double dense_gf = passes * 2.0 * rows * (double)N * e * N / 1e9;
                snprintf(vs, sizeof vs, "ops/dense/N%d/e%d/%s", N, e, pass[bwd]);
                ok = ok && add_op(l, opts, NULL, "GFLOP/s", dense_gf, DENSE, N, e, 0, rows, bwd,
                                  vs);
                for (int s = 0; s < 2; s++) {
                    snprintf(name, sizeof name, "ops/stage%d/N%d/e%d/%s", s, N, e, pass[bwd]);
                    ok = ok && add_op(l, opts, vs, "GFLOP/s", stage_gf, STAGE, N, e, s, rows,
                                      bwd, name);
                }
                snprintf(vs, sizeof vs, "ops/mlp/N%d/e%d/%s", N, e, pass[bwd]);
                ok = ok && add_op(l, opts, NULL, "GFLOP/s", 2 * dense_gf, MLP, N, e, 0, rows,
                                  bwd, vs);
                snprintf(name, sizeof name, "ops/bmlp/N%d/e%d/%s", N, e, pass[bwd]);
                ok = ok && add_op(l, opts, vs, "GFLOP/s", 4 * stage_gf, BMLP, N, e, 0, rows, bwd,
                                  name);
            }
    const int gemms[] = {512, 1024, 2048, 4096};
    for (int k = 0; k < (opts->quick ? 2 : 4); k++) {
        snprintf(name, sizeof name, "ops/gemm/%d", gemms[k]);
        ok = ok && add_op(l, opts, NULL, "GFLOP/s", 2.0 * pow(gemms[k], 3) / 1e9, GEMM,
                          gemms[k], 0, 0, 0, 0, name);
    }
    /* Skinny products (batch-1 inference x W^T, matrix-vector W v as in the spectral norm's
     * power iteration), K = 1024: on Vulkan these take gemm_subgroup where the device has
     * subgroup arithmetic (DIMIX_VK_SUBGROUP=0: the tiled kernel). */
    static const struct { int m, n, tb; const char *what; } skinny[] = {
        {1, 1024, 1, "M1/N1024/NT"}, {4, 1024, 1, "M4/N1024/NT"}, {1, 1024, 0, "M1/N1024/NN"},
        {1024, 1, 0, "M1024/N1/NN"},
    };
    for (size_t k = 0; k < sizeof skinny / sizeof *skinny; k++) {
        snprintf(name, sizeof name, "ops/gemm_skinny/%s/K1024", skinny[k].what);
        ok = ok && add_op(l, opts, NULL, "GFLOP/s", 2.0 * skinny[k].m * skinny[k].n * 1024 / 1e9,
                          GEMM, 1024, skinny[k].n, skinny[k].tb, skinny[k].m, 0, name);
    }
    const int Ss[] = {256, 1024, 2048};
    const int batch = 4;
    for (int k = 0; k < (opts->quick ? 1 : 3); k++)
        for (int bwd = 0; bwd <= 1; bwd++) {
            snprintf(vs, sizeof vs, "ops/attn/S%d/%s", Ss[k], pass[bwd]);
            ok = ok && add_op(l, opts, NULL, "seq/s", batch, ATTN, Ss[k], 0, 0, batch, bwd, vs);
            snprintf(name, sizeof name, "ops/battn/S%d/%s", Ss[k], pass[bwd]);
            ok = ok && add_op(l, opts, vs, "seq/s", batch, BATTN, Ss[k], 0, 1, batch, bwd, name);
        }
    return ok;
}
