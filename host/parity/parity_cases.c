/* Parity cases: for every device operator, shape sweeps with odd sizes (not multiples of 4, 16
 * or a work-group size), one larger shape, extreme values, accumulate and overwrite.
 * Adding an op: add a builder below and call it from dmx_parity_build_cases. */
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/error.h"
#include "parity/parity.h"

typedef struct builder {
    dmx_parity_cases *cases;
    uint64_t rng;
    bool oom;
} builder;

static uint64_t next_u64(builder *b)
{
    uint64_t z = (b->rng += 0x9E3779B97F4A7C15ull);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    return z ^ (z >> 31);
}

static float uniform(builder *b, float lo, float hi)
{
    return lo + (hi - lo) * (float)((next_u64(b) >> 40) * (1.0 / 16777216.0));
}

static dmx_parity_case *add_case(builder *b, dmx_op op, dmx_parity_class cls, const void *params,
                                 size_t params_size, const char *fmt, ...)
{
    dmx_parity_cases *cs = b->cases;
    if (cs->count == cs->cap) {
        int cap = cs->cap ? cs->cap * 2 : 256;
        dmx_parity_case *items = realloc(cs->items, (size_t)cap * sizeof *items);
        if (!items) {
            b->oom = true;
            return NULL;
        }
        cs->items = items;
        cs->cap = cap;
    }
    dmx_parity_case *c = &cs->items[cs->count++];
    memset(c, 0, sizeof *c);
    c->op = op;
    c->cls = cls;
    memcpy(c->params.bytes, params, params_size);
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(c->name, sizeof c->name, fmt, ap);
    va_end(ap);
    return c;
}

static float *arg_alloc(builder *b, dmx_parity_case *c, int i, dmx_parity_role role, size_t n)
{
    if (!c)
        return NULL;
    float *data = malloc((n ? n : 1) * sizeof *data);
    if (!data) {
        b->oom = true;
        return NULL;
    }
    c->args[i] = (dmx_parity_arg){role, n, data};
    return data;
}

static void arg_in(builder *b, dmx_parity_case *c, int i, size_t n, float lo, float hi)
{
    float *d = arg_alloc(b, c, i, DMX_PARITY_IN, n);
    for (size_t k = 0; d && k < n; k++)
        d[k] = uniform(b, lo, hi);
}

static void arg_acc(builder *b, dmx_parity_case *c, int i, size_t n, float lo, float hi)
{
    float *d = arg_alloc(b, c, i, DMX_PARITY_ACC, n);
    for (size_t k = 0; d && k < n; k++)
        d[k] = uniform(b, lo, hi);
}

/* An output: pre-filled with NaN by the runner when `acc` is 0, with data when 1. */
static void arg_result(builder *b, dmx_parity_case *c, int i, size_t n, int acc)
{
    if (acc)
        arg_acc(b, c, i, n, -1.0f, 1.0f);
    else
        arg_alloc(b, c, i, DMX_PARITY_OUT, n);
}

static void arg_in_ints(builder *b, dmx_parity_case *c, int i, size_t n, int lo, int hi)
{
    int32_t *d = (int32_t *)arg_alloc(b, c, i, DMX_PARITY_IN, n);
    for (size_t k = 0; d && k < n; k++)
        d[k] = lo + (int32_t)(next_u64(b) % (uint64_t)(hi - lo + 1));
}

static float *arg_in_values(builder *b, dmx_parity_case *c, int i, size_t n)
{
    return arg_alloc(b, c, i, DMX_PARITY_IN, n);
}

/* ---- copy_strided ---- */

static void contiguous(int ndim, const int32_t *shape, int32_t *stride)
{
    int32_t s = 1;
    for (int k = ndim - 1; k >= 0; k--) {
        stride[k] = s;
        s *= shape[k];
    }
}

static size_t span(int ndim, const int32_t *shape, const int32_t *stride)
{
    size_t last = 0;
    for (int k = 0; k < ndim; k++)
        last += (size_t)(shape[k] - 1) * (size_t)stride[k];
    return last + 1;
}

/* A gather of x (shape xs) permuted by perm, written contiguously; or the scatter back. */
static void copy_perm_case(builder *b, int ndim, const int32_t *xs, const int *perm, int scatter,
                           int acc, const char *what)
{
    int32_t xstride[DMX_MAX_DIMS_STRIDED], shape[DMX_MAX_DIMS_STRIDED];
    int32_t vstride[DMX_MAX_DIMS_STRIDED], dense[DMX_MAX_DIMS_STRIDED];
    contiguous(ndim, xs, xstride);
    for (int k = 0; k < ndim; k++) {
        shape[k] = xs[perm[k]];
        vstride[k] = xstride[perm[k]];
    }
    contiguous(ndim, shape, dense);
    dmx_p_copy_strided p = {.ndim = ndim, .accumulate = acc};
    for (int k = 0; k < ndim; k++) {
        p.shape[k] = shape[k];
        p.src_stride[k] = scatter ? dense[k] : vstride[k];
        p.dst_stride[k] = scatter ? vstride[k] : dense[k];
    }
    size_t n = span(ndim, shape, dense);
    dmx_parity_case *c = add_case(b, DMX_OP_COPY_STRIDED,
                                  acc ? DMX_PARITY_ELEMENTWISE : DMX_PARITY_BITWISE, &p, sizeof p,
                                  "%s %s acc=%d", what, scatter ? "scatter" : "gather", acc);
    arg_in(b, c, 0, n, -2, 2);
    arg_result(b, c, 1, n, acc);
}

static void build_copy_strided(builder *b)
{
    const int32_t m2[2] = {7, 13};
    const int p2[2] = {1, 0};
    const int32_t m3[3] = {3, 5, 11};
    const int p3[3] = {2, 0, 1};
    /* butterfly stage gather on [B=3, J=2, a=4, s=3, D=5] -> [B, J, s, a, D] */
    const int32_t bf[5] = {3, 2, 4, 3, 5};
    const int pbf[5] = {0, 1, 3, 2, 4};
    /* patch unfold [B=2, C=3, Hp=3, p=4, Wp=5, p=4] -> [B, Hp, Wp, C, p, p] */
    const int32_t pu[6] = {2, 3, 3, 4, 5, 4};
    const int ppu[6] = {0, 2, 4, 1, 3, 5};
    const int32_t one[1] = {1}, id1[1] = {0}, big[2] = {67, 129};
    for (int acc = 0; acc < 2; acc++) {
        copy_perm_case(b, 1, one, id1, 0, acc, "[1]");
        copy_perm_case(b, 2, m2, p2, 0, acc, "transpose [7,13]");
        copy_perm_case(b, 3, m3, p3, 1, acc, "permute [3,5,11]");
        copy_perm_case(b, 5, bf, pbf, 0, acc, "butterfly [3,2,4,3,5]");
        copy_perm_case(b, 5, bf, pbf, 1, acc, "butterfly [3,2,4,3,5]");
        copy_perm_case(b, 6, pu, ppu, 0, acc, "unfold [2,3,3,4,5,4]");
        copy_perm_case(b, 6, pu, ppu, 1, acc, "fold [2,3,3,4,5,4]");
    }
    copy_perm_case(b, 2, big, p2, 0, 0, "transpose [67,129]");
    b->cases->items[b->cases->count - 1].large = true;
    /* A strided slice: every third element of the source, 41 of them. */
    dmx_p_copy_strided p = {.ndim = 1, .shape = {41}, .src_stride = {3}, .dst_stride = {1}};
    dmx_parity_case *c = add_case(b, DMX_OP_COPY_STRIDED, DMX_PARITY_BITWISE, &p, sizeof p,
                                  "slice stride 3");
    arg_in(b, c, 0, 121, -1, 1);
    arg_result(b, c, 1, 41, 0);
    /* Integers travel as 4-byte words unchanged. */
    c = add_case(b, DMX_OP_COPY_STRIDED, DMX_PARITY_BITWISE, &(dmx_p_copy_strided){
        .ndim = 2, .shape = {5, 9}, .src_stride = {1, 5}, .dst_stride = {9, 1}}, sizeof p,
        "int32 transpose");
    arg_in_ints(b, c, 0, 45, -100000, 100000);
    arg_result(b, c, 1, 45, 0);
}

/* ---- gemm ---- */

static void gemm_case(builder *b, int ta, int tb, int M, int N, int K, int batch, int shared_b,
                      int pad, float alpha, float beta, bool large)
{
    dmx_p_gemm p = {.trans_a = ta, .trans_b = tb, .M = M, .N = N, .K = K, .batch = batch,
                    .alpha = alpha, .beta = beta};
    p.lda = (ta ? M : K) + pad;
    p.ldb = (tb ? K : N) + pad;
    p.ldc = N + pad;
    int32_t arows = ta ? K : M, brows = tb ? N : K;
    p.stride_a = arows * p.lda + pad;
    p.stride_b = shared_b ? 0 : brows * p.ldb + pad;
    p.stride_c = M * p.ldc + pad;
    size_t na = (size_t)(batch - 1) * p.stride_a + (size_t)arows * p.lda;
    size_t nb = (size_t)(batch - 1) * p.stride_b + (size_t)brows * p.ldb;
    size_t nc = (size_t)(batch - 1) * p.stride_c + (size_t)M * p.ldc;
    dmx_parity_case *c = add_case(b, DMX_OP_GEMM, DMX_PARITY_REDUCTION, &p, sizeof p,
                                  "%c%c M=%d N=%d K=%d batch=%d%s pad=%d alpha=%g beta=%g",
                                  ta ? 'T' : 'N', tb ? 'T' : 'N', M, N, K, batch,
                                  shared_b ? " shared-B" : "", pad, alpha, beta);
    if (!c)
        return;
    c->large = large;
    arg_in(b, c, 0, na, -1, 1);
    arg_in(b, c, 1, nb, -1, 1);
    /* With padding, C has holes the op must leave alone: pre-fill it with data (the holes must
     * come back unchanged) rather than NaN. Unpadded cases check that beta = 0 ignores C. */
    arg_result(b, c, 2, nc, beta != 0.0f || pad > 0);
}

static void build_gemm(builder *b)
{
    for (int ta = 0; ta < 2; ta++)
        for (int tb = 0; tb < 2; tb++) {
            gemm_case(b, ta, tb, 1, 1, 1, 1, 0, 0, 1.0f, 0.0f, false);
            gemm_case(b, ta, tb, 7, 13, 5, 1, 0, 0, 1.0f, 0.0f, false);
            gemm_case(b, ta, tb, 33, 17, 65, 3, 0, 2, 0.5f, 0.0f, false);
            gemm_case(b, ta, tb, 9, 11, 19, 2, 1, 0, 1.0f, 1.0f, false);
            gemm_case(b, ta, tb, 5, 7, 3, 2, 0, 1, -2.0f, 0.25f, false);
        }
    gemm_case(b, 0, 1, 129, 67, 257, 1, 0, 0, 1.0f, 0.0f, true);
    gemm_case(b, 1, 0, 65, 131, 300, 2, 0, 0, 1.0f, 1.0f, true);
    /* Skinny products with long reductions (vulkan: gemm_subgroup, both of its modes):
     * matrix-vector both ways, small M and small N, batches, padding, shared B, alpha and
     * beta. Marked large: a tiled kernel simulated under oclgrind (--small) pays a whole
     * padded tile per step of K, minutes for these. */
    for (int ta = 0; ta < 2; ta++)
        for (int tb = 0; tb < 2; tb++) {
            gemm_case(b, ta, tb, 1, 1, 513, 1, 0, 0, 1.0f, 0.0f, true);
            gemm_case(b, ta, tb, 1, 37, 300, 1, 0, 0, 1.0f, 0.0f, true);
            gemm_case(b, ta, tb, 4, 19, 129, 3, 0, 1, 0.5f, 0.25f, true);
            gemm_case(b, ta, tb, 67, 1, 257, 1, 0, 0, 1.0f, 0.0f, true);
            gemm_case(b, ta, tb, 33, 3, 100, 2, 1, 0, 1.0f, 1.0f, true);
            gemm_case(b, ta, tb, 8, 5, 70, 2, 0, 2, -1.0f, 0.0f, true);
        }
    /* Past one piece of the reduction on a loop-limited device (16384): later pieces add. */
    gemm_case(b, 0, 1, 2, 3, 20000, 1, 0, 0, 1.0f, 1.0f, true);
    gemm_case(b, 0, 0, 5, 1, 20000, 2, 0, 1, 1.0f, 0.0f, true);
}

/* ---- mix_linear ---- */

typedef struct mix_view {
    int M, J, Din, Dout, R1, R2;
    const char *what;
    bool large;
} mix_view;

static const mix_view mix_views[] = {
    {37, 1, 29, 13, 1, 1, "dense", false},
    {3, 1, 13, 13, 1, 29, "token mixing", false},
    {5, 7, 8, 8, 1, 1, "butterfly stage s=1", false},
    {5, 3, 4, 12, 5, 1, "butterfly stage s=5 e=3", false},
    {3, 2, 4, 4, 3, 11, "token butterfly s=3", false},
    {6, 9, 1, 3, 1, 1, "Din=1", false},
    /* the fast CPU kernels' cases: group widths 7..64, expansion 2, lane counts R1 R2 from 1
     * to 120, and one shape past their stack bound (the reference runs it) */
    {9, 3, 7, 14, 1, 1, "groups of 7 e=2", false},
    {6, 1, 11, 11, 11, 1, "radix 11 stage s=11", false},
    {5, 2, 16, 16, 2, 3, "groups of 16 R2=3", false},
    {3, 1, 64, 64, 2, 1, "groups of 64 s=2", false},
    {7, 2, 64, 32, 1, 1, "block-diagonal 64 -> 32", false},
    {4, 2, 8, 16, 8, 15, "groups of 8 e=2 R2=15", false},
    {2, 1, 64, 8, 200, 1, "lanes past the fast bound", false},
    {19, 2, 8, 16, 8, 1, "groups of 8 s=8, 19 rows", false},
    /* few rows, long reduction: vulkan's forward on gemm_subgroup (large: slow under oclgrind,
     * like the skinny gemm cases) */
    {1, 1, 300, 37, 1, 1, "dense batch 1", true},
    {4, 3, 100, 20, 1, 1, "block-diagonal batch 4", true},
    {2, 1, 20000, 3, 1, 1, "dense batch 2 Din=20000", true},
    {511, 1, 11, 11, 11, 1, "radix 11 large", true},
    {257, 8, 16, 32, 4, 1, "butterfly large", true},
    {129, 1, 121, 121, 1, 1, "dense large", true},
};

static void build_mix_linear(builder *b)
{
    for (size_t v = 0; v < sizeof mix_views / sizeof mix_views[0]; v++) {
        const mix_view *mv = &mix_views[v];
        size_t nx = (size_t)mv->M * mv->J * mv->Din * mv->R1 * mv->R2;
        size_t ny = (size_t)mv->M * mv->J * mv->Dout * mv->R1 * mv->R2;
        size_t nw = (size_t)mv->J * mv->R1 * mv->Dout * mv->Din, nc = (size_t)mv->J * mv->R1 * mv->Dout;
        for (int bias = 0; bias < 2; bias++) {
            dmx_p_mix_linear p = {.M = mv->M, .J = mv->J, .Din = mv->Din, .Dout = mv->Dout,
                                  .R1 = mv->R1, .R2 = mv->R2, .has_bias = bias};
            dmx_parity_case *c = add_case(b, DMX_OP_MIX_LINEAR, DMX_PARITY_REDUCTION, &p, sizeof p,
                                          "%s bias=%d", mv->what, bias);
            if (c)
                c->large = mv->large;
            arg_in(b, c, 0, nx, -1, 1);
            arg_in(b, c, 1, nw, -1, 1);
            if (bias)
                arg_in(b, c, 2, nc, -1, 1);
            arg_result(b, c, 3, ny, 0);
            /* bwd_w: dW and dc always accumulate */
            c = add_case(b, DMX_OP_MIX_LINEAR_BWD_W, DMX_PARITY_REDUCTION, &p, sizeof p,
                         "%s bias=%d", mv->what, bias);
            if (c)
                c->large = mv->large;
            arg_in(b, c, 0, ny, -1, 1);
            arg_in(b, c, 1, nx, -1, 1);
            arg_acc(b, c, 2, nw, -1, 1);
            if (bias)
                arg_acc(b, c, 3, nc, -1, 1);
        }
        for (int acc = 0; acc < 2; acc++) {
            dmx_p_mix_linear p = {.M = mv->M, .J = mv->J, .Din = mv->Din, .Dout = mv->Dout,
                                  .R1 = mv->R1, .R2 = mv->R2, .accumulate = acc};
            dmx_parity_case *c = add_case(b, DMX_OP_MIX_LINEAR_BWD_X, DMX_PARITY_REDUCTION, &p,
                                          sizeof p, "%s acc=%d", mv->what, acc);
            if (c)
                c->large = mv->large;
            arg_in(b, c, 0, ny, -1, 1);
            arg_in(b, c, 1, nw, -1, 1);
            arg_result(b, c, 2, nx, acc);
        }
    }
}

/* ---- mix_mlp (a fused butterfly-MLP stage) ---- */

typedef struct mlp_view {
    int M, J, Din, Dh, Dout, R1, R2;
    const char *what;
    bool large;
} mlp_view;

static const mlp_view mlp_views[] = {
    {9, 3, 7, 14, 7, 1, 1, "groups of 7 e=2", false},
    {5, 2, 4, 12, 4, 5, 1, "stage s=5 e=3", false},
    {3, 2, 4, 4, 4, 3, 11, "token stage s=3 R2=11", false},
    {6, 1, 11, 11, 11, 11, 1, "radix 11 s=11", false},
    {4, 2, 8, 16, 8, 8, 15, "groups of 8 e=2 R2=15", false},
    {7, 1, 5, 3, 9, 1, 1, "Din 5 Dh 3 Dout 9", false},
    {3, 1, 64, 256, 64, 2, 1, "groups of 64 e=4", false},
    {2, 1, 8, 16, 8, 200, 1, "200 lanes", false},
    {1, 2, 8, 16, 8, 3, 2, "M=1", false},
    {19, 2, 8, 16, 8, 8, 1, "groups of 8 s=8 e=2, 19 rows", false},
    {129, 8, 16, 32, 16, 4, 1, "butterfly large", true},
    {64, 1, 16, 64, 16, 16, 16, "16x16 stage large", true},
    /* the default model's channel stages: several slices of transposed rows, an uneven last */
    {1100, 8, 8, 16, 8, 1, 1, "channel stage 0 groups of 8 large", true},
    {1100, 1, 8, 16, 8, 8, 1, "channel stage 1 s=8 large", true},
};

static void build_mix_mlp(builder *b)
{
    for (size_t v = 0; v < sizeof mlp_views / sizeof mlp_views[0]; v++) {
        const mlp_view *mv = &mlp_views[v];
        const size_t rows = (size_t)mv->M * mv->J * mv->R1 * mv->R2, G = (size_t)mv->J * mv->R1;
        const size_t nx = rows * mv->Din, ny = rows * mv->Dout;
        const size_t nw1 = G * mv->Dh * mv->Din, nc1 = G * mv->Dh;
        const size_t nw2 = G * mv->Dout * mv->Dh, nc2 = G * mv->Dout;
        dmx_p_mix_mlp p = {.M = mv->M, .J = mv->J, .Din = mv->Din, .Dh = mv->Dh,
                           .Dout = mv->Dout, .R1 = mv->R1, .R2 = mv->R2};
        dmx_parity_case *c = add_case(b, DMX_OP_MIX_MLP, DMX_PARITY_REDUCTION, &p, sizeof p,
                                      "%s", mv->what);
        if (c)
            c->large = mv->large;
        arg_in(b, c, 0, nx, -2, 2);
        arg_in(b, c, 1, nw1, -1, 1);
        arg_in(b, c, 2, nc1, -1, 1);
        arg_in(b, c, 3, nw2, -1, 1);
        arg_in(b, c, 4, nc2, -1, 1);
        arg_result(b, c, 5, ny, 0);
        for (int acc = 0; acc < 2; acc++) {
            p.accumulate = acc;
            c = add_case(b, DMX_OP_MIX_MLP_BWD, DMX_PARITY_REDUCTION, &p, sizeof p, "%s acc=%d",
                         mv->what, acc);
            if (c)
                c->large = mv->large;
            arg_in(b, c, 0, ny, -1, 1);
            arg_in(b, c, 1, nx, -2, 2);
            arg_in(b, c, 2, nw1, -1, 1);
            arg_in(b, c, 3, nc1, -1, 1);
            arg_in(b, c, 4, nw2, -1, 1);
            arg_result(b, c, 5, nx, acc);
            /* the weight and bias gradients always accumulate */
            arg_acc(b, c, 6, nw1, -1, 1);
            arg_acc(b, c, 7, nc1, -1, 1);
            arg_acc(b, c, 8, nw2, -1, 1);
            arg_acc(b, c, 9, nc2, -1, 1);
        }
    }
}

/* ---- elementwise ---- */

static const int elementwise_sizes[] = {1, 37, 1001, 65537};

static void build_elementwise(builder *b)
{
    for (size_t s = 0; s < sizeof elementwise_sizes / sizeof elementwise_sizes[0]; s++) {
        int n = elementwise_sizes[s];
        bool large = n > 10000;
        const uint32_t patterns[2] = {0x3f800000u, 0xdeadbeefu};
        dmx_p_fill pf = {.n = n, .bits = patterns[s % 2]};
        dmx_parity_case *c = add_case(b, DMX_OP_FILL, DMX_PARITY_BITWISE, &pf, sizeof pf,
                                      "n=%d bits=%08x", n, pf.bits);
        if (c)
            c->large = large;
        arg_result(b, c, 0, (size_t)n, 0);

        dmx_p_add pa = {.n = n};
        c = add_case(b, DMX_OP_ADD, DMX_PARITY_ELEMENTWISE, &pa, sizeof pa, "n=%d", n);
        if (c)
            c->large = large;
        arg_in(b, c, 0, (size_t)n, -10, 10);
        arg_in(b, c, 1, (size_t)n, -10, 10);
        arg_result(b, c, 2, (size_t)n, 0);

        for (int acc = 0; acc < 2; acc++) {
            dmx_p_mul pm = {.n = n, .accumulate = acc};
            c = add_case(b, DMX_OP_MUL, DMX_PARITY_ELEMENTWISE, &pm, sizeof pm, "n=%d acc=%d", n,
                         acc);
            if (c)
                c->large = large;
            arg_in(b, c, 0, (size_t)n, -3, 3);
            arg_in(b, c, 1, (size_t)n, -3, 3);
            arg_result(b, c, 2, (size_t)n, acc);
        }

        dmx_p_scale ps = {.n = n, .alpha = -0.37f};
        c = add_case(b, DMX_OP_SCALE, DMX_PARITY_ELEMENTWISE, &ps, sizeof ps, "n=%d", n);
        if (c)
            c->large = large;
        arg_in(b, c, 0, (size_t)n, -10, 10);
        arg_result(b, c, 1, (size_t)n, 0);

        dmx_p_axpy px = {.n = n, .alpha = 1.7f};
        c = add_case(b, DMX_OP_AXPY, DMX_PARITY_ELEMENTWISE, &px, sizeof px, "n=%d", n);
        if (c)
            c->large = large;
        arg_in(b, c, 0, (size_t)n, -10, 10);
        arg_acc(b, c, 1, (size_t)n, -10, 10);
    }
    const int shapes[][2] = {{1, 1}, {37, 13}, {5, 129}, {1000, 3}};
    for (size_t s = 0; s < sizeof shapes / sizeof shapes[0]; s++) {
        int rows = shapes[s][0], cols = shapes[s][1];
        dmx_p_add_row pr = {.rows = rows, .cols = cols};
        dmx_parity_case *c = add_case(b, DMX_OP_ADD_ROW, DMX_PARITY_ELEMENTWISE, &pr, sizeof pr,
                                      "[%d, %d]", rows, cols);
        arg_in(b, c, 0, (size_t)rows * cols, -5, 5);
        arg_in(b, c, 1, (size_t)cols, -5, 5);
        arg_result(b, c, 2, (size_t)rows * cols, 0);
    }
    const int sum_shapes[][2] = {{1, 7}, {37, 13}, {1000, 3}, {3, 1000}, {4099, 17}};
    for (size_t s = 0; s < sizeof sum_shapes / sizeof sum_shapes[0]; s++)
        for (int acc = 0; acc < 2; acc++) {
            int rows = sum_shapes[s][0], cols = sum_shapes[s][1];
            dmx_p_sum_rows p = {.rows = rows, .cols = cols, .scale = acc ? 1.0f : 1.0f / rows,
                                .accumulate = acc};
            dmx_parity_case *c = add_case(b, DMX_OP_SUM_ROWS, DMX_PARITY_REDUCTION, &p, sizeof p,
                                          "[%d, %d] scale=%g acc=%d", rows, cols, p.scale, acc);
            if (c)
                c->large = rows > 2000;
            arg_in(b, c, 0, (size_t)rows * cols, -1, 1);
            arg_result(b, c, 1, (size_t)cols, acc);
        }
}

/* ---- activations ---- */

static void activation_cases(builder *b, dmx_op fwd, dmx_op bwd, float lo, float hi,
                             const char *range)
{
    const int sizes[] = {37, 1001};
    for (size_t s = 0; s < 2; s++) {
        int n = sizes[s];
        dmx_p_unary p = {.n = n};
        dmx_parity_case *c = add_case(b, fwd, DMX_PARITY_TRANSCENDENTAL, &p, sizeof p,
                                      "n=%d %s", n, range);
        arg_in(b, c, 0, (size_t)n, lo, hi);
        arg_result(b, c, 1, (size_t)n, 0);
        for (int acc = 0; acc < 2; acc++) {
            p.accumulate = acc;
            c = add_case(b, bwd, DMX_PARITY_TRANSCENDENTAL, &p, sizeof p, "n=%d %s acc=%d", n,
                         range, acc);
            arg_in(b, c, 0, (size_t)n, lo, hi);
            arg_in(b, c, 1, (size_t)n, -1, 1);
            arg_result(b, c, 2, (size_t)n, acc);
        }
    }
}

/* Exact extreme points: zero, the limits, and large magnitudes. */
static void activation_extremes(builder *b, dmx_op fwd, dmx_op bwd)
{
    static const float points[] = {-150.0f, -30.0f, -10.0f, -1e-8f, 0.0f, 1e-8f, 1.0f,
                                   10.0f,   30.0f,  150.0f, -0.5f,  0.5f, 5.0f, -5.0f};
    const int n = (int)(sizeof points / sizeof points[0]);
    dmx_p_unary p = {.n = n};
    dmx_parity_case *c = add_case(b, fwd, DMX_PARITY_TRANSCENDENTAL, &p, sizeof p, "extremes");
    float *x = arg_in_values(b, c, 0, (size_t)n);
    if (x)
        memcpy(x, points, sizeof points);
    arg_result(b, c, 1, (size_t)n, 0);
    c = add_case(b, bwd, DMX_PARITY_TRANSCENDENTAL, &p, sizeof p, "extremes");
    x = arg_in_values(b, c, 0, (size_t)n);
    if (x)
        memcpy(x, points, sizeof points);
    arg_in(b, c, 1, (size_t)n, -1, 1);
    arg_result(b, c, 2, (size_t)n, 0);
}

static void build_activations(builder *b)
{
    activation_cases(b, DMX_OP_GELU, DMX_OP_GELU_BWD, -5, 5, "[-5,5]");
    activation_cases(b, DMX_OP_GELU, DMX_OP_GELU_BWD, -30, 30, "[-30,30]");
    activation_extremes(b, DMX_OP_GELU, DMX_OP_GELU_BWD);
    activation_cases(b, DMX_OP_ELU, DMX_OP_ELU_BWD, -5, 5, "[-5,5]");
    activation_extremes(b, DMX_OP_ELU, DMX_OP_ELU_BWD);
    activation_cases(b, DMX_OP_RELU, DMX_OP_RELU_BWD, -5, 5, "[-5,5]");
    activation_extremes(b, DMX_OP_RELU, DMX_OP_RELU_BWD);
}

/* ---- layernorm ---- */

static void build_layernorm(builder *b)
{
    const int shapes[][2] = {{1, 7}, {13, 37}, {5, 513}, {257, 121}};
    const float eps[2] = {1e-5f, 1e-6f};
    for (size_t s = 0; s < sizeof shapes / sizeof shapes[0]; s++) {
        int rows = shapes[s][0], cols = shapes[s][1];
        size_t n = (size_t)rows * cols;
        bool large = rows > 100;
        dmx_p_layernorm p = {.rows = rows, .cols = cols, .eps = eps[s % 2]};
        dmx_parity_case *c = add_case(b, DMX_OP_LAYERNORM, DMX_PARITY_TRANSCENDENTAL, &p, sizeof p,
                                      "[%d, %d] eps=%g", rows, cols, p.eps);
        if (c)
            c->large = large;
        arg_in(b, c, 0, n, -3, 5); /* a non-zero mean */
        arg_in(b, c, 1, (size_t)cols, 0.5f, 1.5f);
        arg_in(b, c, 2, (size_t)cols, -1, 1);
        arg_result(b, c, 3, n, 0);
        arg_result(b, c, 4, (size_t)rows, 0);
        arg_result(b, c, 5, (size_t)rows, 0);
        for (int acc = 0; acc < 2; acc++) {
            p.accumulate = acc;
            c = add_case(b, DMX_OP_LAYERNORM_BWD, DMX_PARITY_REDUCTION, &p, sizeof p,
                         "[%d, %d] acc=%d", rows, cols, acc);
            if (!c)
                return;
            c->large = large;
            arg_in(b, c, 0, n, -1, 1);
            float *x = arg_in_values(b, c, 1, n);
            arg_in(b, c, 2, (size_t)cols, 0.5f, 1.5f);
            float *mean = arg_in_values(b, c, 3, (size_t)rows);
            float *rstd = arg_in_values(b, c, 4, (size_t)rows);
            if (!x || !mean || !rstd)
                return;
            /* Consistent statistics, as the forward would have saved them. */
            for (int r = 0; r < rows; r++) {
                double sum = 0, sq = 0;
                for (int k = 0; k < cols; k++)
                    sum += x[(size_t)r * cols + k] = uniform(b, -3, 5);
                double mu = sum / cols;
                for (int k = 0; k < cols; k++)
                    sq += (x[(size_t)r * cols + k] - mu) * (x[(size_t)r * cols + k] - mu);
                mean[r] = (float)mu;
                rstd[r] = (float)(1.0 / sqrt(sq / cols + p.eps));
            }
            arg_result(b, c, 5, n, acc);
            arg_acc(b, c, 6, (size_t)cols, -1, 1);
            arg_acc(b, c, 7, (size_t)cols, -1, 1);
        }
    }
}

/* ---- softmax ---- */

static void build_softmax(builder *b)
{
    const int shapes[][2] = {{7, 13}, {33, 5}, {3, 1025}, {1, 1}, {509, 67}};
    for (size_t s = 0; s < sizeof shapes / sizeof shapes[0]; s++) {
        int rows = shapes[s][0], cols = shapes[s][1];
        size_t n = (size_t)rows * cols;
        bool large = rows > 400;
        dmx_p_softmax p = {.rows = rows, .cols = cols, .scale = 0.125f, .mask_group = 1};
        dmx_parity_case *c = add_case(b, DMX_OP_SOFTMAX, DMX_PARITY_TRANSCENDENTAL, &p, sizeof p,
                                      "[%d, %d] scale=0.125", rows, cols);
        if (c)
            c->large = large;
        arg_in(b, c, 0, n, -8, 8);
        arg_result(b, c, 2, n, 0);
        for (int acc = 0; acc < 2; acc++) {
            p.accumulate = acc;
            c = add_case(b, DMX_OP_SOFTMAX_BWD, DMX_PARITY_REDUCTION, &p, sizeof p,
                         "[%d, %d] acc=%d", rows, cols, acc);
            if (c)
                c->large = large;
            float *y = arg_in_values(b, c, 0, n);
            for (int r = 0; y && r < rows; r++) { /* rows of a real softmax */
                double sum = 0;
                for (int k = 0; k < cols; k++)
                    sum += y[(size_t)r * cols + k] = uniform(b, 0.01f, 1.0f);
                for (int k = 0; k < cols; k++)
                    y[(size_t)r * cols + k] = (float)(y[(size_t)r * cols + k] / sum);
            }
            arg_in(b, c, 1, n, -1, 1);
            arg_result(b, c, 2, n, acc);
        }
    }
    /* Extreme logits and masks: 12 rows in 3 mask groups of 4; mask row 1 removes everything,
     * row 2 removes some entries with -1e30 and -inf and adds ordinary values to others. */
    const int rows = 12, cols = 19;
    dmx_p_softmax p = {.rows = rows, .cols = cols, .scale = 1.0f, .has_mask = 1,
                       .mask_group = 4};
    dmx_parity_case *c = add_case(b, DMX_OP_SOFTMAX, DMX_PARITY_TRANSCENDENTAL, &p, sizeof p,
                                  "logits +-100, masks, fully masked rows");
    float *x = arg_in_values(b, c, 0, (size_t)rows * cols);
    float *mask = arg_in_values(b, c, 1, (size_t)3 * cols);
    if (!x || !mask)
        return;
    for (int k = 0; k < rows * cols; k++)
        x[k] = k % 3 == 0 ? 100.0f : k % 3 == 1 ? -100.0f : uniform(b, -100, 100);
    for (int k = 0; k < cols; k++) {
        mask[k] = 0.0f;
        mask[cols + k] = -1e30f;
        mask[2 * cols + k] = k % 4 == 0 ? -1e30f : k % 4 == 1 ? -INFINITY : uniform(b, -5, 0);
    }
    arg_result(b, c, 2, (size_t)rows * cols, 0);
}

/* ---- cross_entropy ---- */

static void build_cross_entropy(builder *b)
{
    const int shapes[][2] = {{7, 10}, {13, 100}, {3, 1001}, {1, 1}, {257, 37}};
    for (size_t s = 0; s < sizeof shapes / sizeof shapes[0]; s++)
        for (int smooth = 0; smooth < 2; smooth++) {
            int rows = shapes[s][0], cols = shapes[s][1];
            size_t n = (size_t)rows * cols;
            float range = s == 1 ? 100.0f : 4.0f;
            dmx_p_cross_entropy p = {.rows = rows, .cols = cols,
                                     .smoothing = smooth ? 0.1f : 0.0f, .scale = 1.0f / rows};
            dmx_parity_case *c = add_case(b, DMX_OP_CROSS_ENTROPY, DMX_PARITY_TRANSCENDENTAL, &p,
                                          sizeof p, "[%d, %d] logits +-%g smoothing=%g", rows,
                                          cols, range, p.smoothing);
            if (c)
                c->large = rows > 200;
            arg_in(b, c, 0, n, -range, range);
            arg_in_ints(b, c, 1, (size_t)rows, 0, cols - 1);
            arg_result(b, c, 2, (size_t)rows, 0);
            for (int acc = 0; acc < 2; acc++) {
                p.accumulate = acc;
                c = add_case(b, DMX_OP_CROSS_ENTROPY_BWD, DMX_PARITY_TRANSCENDENTAL, &p, sizeof p,
                             "[%d, %d] logits +-%g smoothing=%g acc=%d", rows, cols, range,
                             p.smoothing, acc);
                if (c)
                    c->large = rows > 200;
                arg_in(b, c, 0, n, -range, range);
                arg_in_ints(b, c, 1, (size_t)rows, 0, cols - 1);
                arg_in(b, c, 2, 1, 0.5f, 2.0f);
                arg_result(b, c, 3, n, acc);
            }
        }
    /* Out-of-range labels give NaN rows on every device. */
    dmx_p_cross_entropy p = {.rows = 4, .cols = 5, .scale = 0.25f};
    dmx_parity_case *c = add_case(b, DMX_OP_CROSS_ENTROPY, DMX_PARITY_TRANSCENDENTAL, &p, sizeof p,
                                  "labels out of range");
    arg_in(b, c, 0, 20, -2, 2);
    int32_t *labels = (int32_t *)arg_in_values(b, c, 1, 4);
    if (labels)
        labels[0] = 2, labels[1] = -1, labels[2] = 5, labels[3] = 4;
    arg_result(b, c, 2, 4, 0);
    c = add_case(b, DMX_OP_CROSS_ENTROPY_BWD, DMX_PARITY_TRANSCENDENTAL, &p, sizeof p,
                 "labels out of range");
    arg_in(b, c, 0, 20, -2, 2);
    labels = (int32_t *)arg_in_values(b, c, 1, 4);
    if (labels)
        labels[0] = 2, labels[1] = -1, labels[2] = 5, labels[3] = 4;
    arg_in(b, c, 2, 1, 1, 1);
    arg_result(b, c, 3, 20, 0);
}

/* ---- embedding ---- */

static void build_embedding(builder *b)
{
    const int shapes[][3] = {{37, 13, 11}, {1, 1, 1}, {4099, 64, 18}, {301, 7, 257}};
    for (size_t s = 0; s < sizeof shapes / sizeof shapes[0]; s++) {
        int n = shapes[s][0], dim = shapes[s][1], vocab = shapes[s][2];
        dmx_p_embedding p = {.n = n, .dim = dim, .vocab = vocab};
        bool large = n > 4000;
        /* ids include out-of-range values (-1 and vocab) and many repeats */
        dmx_parity_case *c = add_case(b, DMX_OP_EMBEDDING, DMX_PARITY_BITWISE, &p, sizeof p,
                                      "n=%d dim=%d vocab=%d", n, dim, vocab);
        if (c)
            c->large = large;
        arg_in_ints(b, c, 0, (size_t)n, -1, vocab);
        arg_in(b, c, 1, (size_t)vocab * dim, -1, 1);
        arg_result(b, c, 2, (size_t)n * dim, 0);
        c = add_case(b, DMX_OP_EMBEDDING_BWD, DMX_PARITY_REDUCTION, &p, sizeof p,
                     "n=%d dim=%d vocab=%d", n, dim, vocab);
        if (c)
            c->large = large;
        arg_in_ints(b, c, 0, (size_t)n, -1, vocab);
        arg_in(b, c, 1, (size_t)n * dim, -1, 1);
        arg_acc(b, c, 2, (size_t)vocab * dim, -1, 1);
    }
}

/* ---- dropout ---- */

static void build_dropout(builder *b)
{
    const float probs[] = {0.0f, 0.1f, 0.5f, 0.9f};
    const int sizes[] = {37, 1001, 65537};
    for (size_t s = 0; s < 3; s++)
        for (size_t k = 0; k < 4; k++)
            for (int acc = 0; acc < 2; acc++) {
                dmx_p_dropout p = {.n = sizes[s], .p = probs[k], .seed_lo = 0x1234u + (uint32_t)k,
                                   .seed_hi = 77u * (uint32_t)s, .offset = 1000u * (uint32_t)s,
                                   .accumulate = acc};
                dmx_parity_case *c = add_case(b, DMX_OP_DROPOUT, DMX_PARITY_ELEMENTWISE, &p,
                                              sizeof p, "n=%d p=%g acc=%d", p.n, p.p, acc);
                if (c)
                    c->large = sizes[s] > 10000;
                arg_in(b, c, 0, (size_t)p.n, -2, 2);
                arg_result(b, c, 1, (size_t)p.n, acc);
            }
}

/* ---- optimizers ---- */

static void build_optimizers(builder *b)
{
    const int sizes[] = {37, 1001, 65537};
    for (size_t s = 0; s < 3; s++) {
        int n = sizes[s];
        for (int t = 1; t <= 1000; t *= 10) {
            float lr = 1e-3f, b1 = 0.9f, b2 = 0.999f;
            dmx_p_adamw p = {.n = n, .lr = lr, .beta1 = b1, .beta2 = b2, .eps = 1e-8f,
                             .weight_decay = t == 10 ? 0.0f : 0.05f,
                             .step_size = lr / (1.0f - powf(b1, (float)t)),
                             .bc2_sqrt = sqrtf(1.0f - powf(b2, (float)t))};
            dmx_parity_case *c = add_case(b, DMX_OP_ADAMW, DMX_PARITY_TRANSCENDENTAL, &p, sizeof p,
                                          "n=%d step=%d wd=%g", n, t, p.weight_decay);
            if (c)
                c->large = n > 10000;
            arg_in(b, c, 0, (size_t)n, -1, 1);
            arg_acc(b, c, 1, (size_t)n, -1, 1);
            arg_acc(b, c, 2, (size_t)n, -0.1f, 0.1f);
            arg_acc(b, c, 3, (size_t)n, 0.0f, 0.01f); /* v >= 0 */
        }
        const struct { float momentum, dampening, wd; int nesterov, first; } sgd[] = {
            {0.0f, 0.0f, 0.0f, 0, 0}, {0.9f, 0.0f, 5e-4f, 0, 1}, {0.9f, 0.0f, 5e-4f, 0, 0},
            {0.9f, 0.0f, 0.0f, 1, 0}, {0.9f, 0.1f, 1e-2f, 0, 0}};
        for (size_t k = 0; k < sizeof sgd / sizeof sgd[0]; k++) {
            dmx_p_sgd p = {.n = n, .lr = 0.1f, .momentum = sgd[k].momentum,
                           .dampening = sgd[k].dampening, .weight_decay = sgd[k].wd,
                           .nesterov = sgd[k].nesterov, .first_step = sgd[k].first};
            dmx_parity_case *c = add_case(b, DMX_OP_SGD, DMX_PARITY_ELEMENTWISE, &p, sizeof p,
                                          "n=%d momentum=%g dampening=%g wd=%g nesterov=%d "
                                          "first=%d", n, p.momentum, p.dampening, p.weight_decay,
                                          p.nesterov, p.first_step);
            if (c)
                c->large = n > 10000;
            arg_in(b, c, 0, (size_t)n, -1, 1);
            arg_acc(b, c, 1, (size_t)n, -1, 1);
            arg_acc(b, c, 2, (size_t)n, -1, 1);
        }
    }
}

/* ---- reductions ---- */

static void build_reductions(builder *b)
{
    const int sizes[] = {1, 37, 1001, 100003};
    for (size_t s = 0; s < 4; s++) {
        int n = sizes[s];
        dmx_p_reduce p = {.n = n};
        dmx_parity_case *c = add_case(b, DMX_OP_DOT, DMX_PARITY_REDUCTION, &p, sizeof p, "n=%d",
                                      n);
        if (c)
            c->large = n > 10000;
        /* positive terms: with mixed signs a draw can cancel to near 0, where any other
         * summation order misses a bound relative to the result (a 1001-term draw did on
         * lavapipe: 7.8e-5 of a result far smaller than the terms' sum, float rounding of
         * the terms); this way the check measures the order of the sums, as intended */
        arg_in(b, c, 0, (size_t)n, 0.1f, 1);
        arg_in(b, c, 1, (size_t)n, 0.1f, 1);
        arg_result(b, c, 2, 1, 0);
        c = add_case(b, DMX_OP_NORM2, DMX_PARITY_REDUCTION, &p, sizeof p, "n=%d", n);
        if (c)
            c->large = n > 10000;
        arg_in(b, c, 0, (size_t)n, -1, 1);
        arg_result(b, c, 1, 1, 0);
        /* a norm in [1, 2]: threshold 0.5 always scales (by 0.5 / g, then by 1 / g: the
         * normalisation), 5 never does */
        for (int k = 0; k < 3; k++) {
            dmx_p_clip_scale q = {.n = n, .threshold = k == 1 ? 5.0f : 0.5f,
                                  .numerator = k == 2 ? 1.0f : k == 1 ? 5.0f : 0.5f};
            c = add_case(b, DMX_OP_CLIP_SCALE, DMX_PARITY_ELEMENTWISE, &q, sizeof q,
                         "n=%d threshold=%g numerator=%g", n, (double)q.threshold,
                         (double)q.numerator);
            if (c)
                c->large = n > 10000;
            arg_in(b, c, 0, 1, 1, 2);
            arg_acc(b, c, 1, (size_t)n, -10, 10);
        }
    }
    /* its derivative: norms in [1, 2] against thresholds 0.5 (scaled) and 5 (not), both
     * output modes */
    for (int k = 0; k < 4; k++) {
        dmx_p_clip_scale q = {.n = 1, .threshold = k % 2 ? 5.0f : 0.5f, .numerator = 0.7f,
                              .accumulate = k / 2};
        dmx_parity_case *c = add_case(b, DMX_OP_CLIP_SCALE_BWD, DMX_PARITY_ELEMENTWISE, &q,
                                      sizeof q, "threshold=%g acc=%d", (double)q.threshold,
                                      q.accumulate);
        arg_in(b, c, 0, 1, 1, 2);
        arg_in(b, c, 1, 1, -10, 10);
        arg_result(b, c, 2, 1, q.accumulate);
    }
}

/* ---- attention ---- */

/* stats[.., 0] = log sum_j exp(z_ij) of the case's q, k and mask (the forward's), so that the
 * backward's probabilities are those of a real forward. */
static void attention_lse(const dmx_p_attention *p, const float *q, const float *k,
                          const float *mask, float *stats)
{
    const int S = p->seq, H = p->heads, dh = p->head_dim, ld = H * dh;
    for (int b = 0; b < p->batch; b++)
        for (int h = 0; h < H; h++)
            for (int i = 0; i < S; i++) {
                double zmax = -INFINITY, sum = 0;
                double z[200];
                for (int j = 0; j < S; j++) {
                    const float m = mask ? mask[b * S + j] : 0.0f;
                    double d = 0;
                    for (int c = 0; c < dh; c++)
                        d += (double)q[(b * S + i) * ld + h * dh + c] *
                             k[(b * S + j) * ld + h * dh + c];
                    z[j] = m <= DMX_MASK_REMOVED ? -INFINITY : p->scale * d + m;
                    zmax = z[j] > zmax ? z[j] : zmax;
                }
                for (int j = 0; j < S && zmax > -INFINITY; j++)
                    sum += exp(z[j] - zmax);
                float *st = stats + 2 * ((size_t)(b * H + h) * S + i);
                st[0] = zmax > -INFINITY ? (float)(zmax + log(sum)) : 0.0f;
                st[1] = 0.0f;
            }
}

static void build_attention(builder *b)
{
    /* batch, seq, heads, head_dim, mask kind: 0 none, 1 some keys removed (-1e30, -inf) and
     * ordinary values, 2 one batch row with every key removed. The device kernels stream keys
     * through tiles: S 33 starts a work-group mid-pair, S 128 and 24 take several tiles, S 2
     * with 64-wide heads takes work-groups of fewer rows. The last column marks the larger
     * shapes (skipped under oclgrind, which simulates every work-item). */
    const int shapes[][6] = {{3, 7, 2, 5, 0, 0},  {2, 16, 1, 64, 1, 0}, {5, 9, 3, 13, 2, 0},
                             {1, 1, 1, 1, 0, 0},  {4, 33, 2, 16, 1, 0}, {2, 128, 2, 32, 1, 1},
                             {3, 2, 4, 64, 1, 0}, {7, 24, 3, 48, 2, 1}};
    for (size_t s = 0; s < sizeof shapes / sizeof shapes[0]; s++) {
        const int B = shapes[s][0], S = shapes[s][1], H = shapes[s][2], dh = shapes[s][3];
        const int mask_kind = shapes[s][4];
        const size_t n = (size_t)B * S * H * dh, n_stats = (size_t)B * H * S * 2;
        const bool large = shapes[s][5];
        dmx_p_attention p = {.batch = B, .seq = S, .heads = H, .head_dim = dh,
                             .scale = 1.0f / sqrtf((float)dh), .has_mask = mask_kind != 0};
        float *q = NULL, *k = NULL, *mask = NULL;
        /* The same q, k and mask for the forward and the backward cases. */
        float *qkm = malloc((2 * n + (size_t)B * S) * sizeof *qkm);
        if (!qkm) {
            b->oom = true;
            return;
        }
        q = qkm, k = qkm + n;
        for (size_t e = 0; e < 2 * n; e++)
            qkm[e] = uniform(b, -2, 2);
        if (mask_kind) {
            mask = qkm + 2 * n;
            for (int e = 0; e < B * S; e++)
                mask[e] = e % 5 == 1 ? -1e30f : e % 5 == 3 ? -INFINITY : uniform(b, -3, 0);
            if (mask_kind == 2)
                for (int j = 0; j < S; j++)
                    mask[S + j] = -1e30f; /* batch row 1: every key removed */
        }
        for (int pass = 0; pass < 3; pass++) { /* forward, backward overwrite, accumulate */
            const int acc = pass == 2;
            p.accumulate_q = p.accumulate_k = p.accumulate_v = acc;
            dmx_parity_case *c = add_case(b, pass ? DMX_OP_ATTENTION_BWD : DMX_OP_ATTENTION,
                                          DMX_PARITY_REDUCTION, &p, sizeof p,
                                          "B=%d S=%d heads=%d d=%d mask=%d%s", B, S, H, dh,
                                          mask_kind, pass ? (acc ? " acc=1" : " acc=0") : "");
            if (!c)
                break;
            c->large = large;
            float *cq = arg_in_values(b, c, 0, n), *ck = arg_in_values(b, c, 1, n);
            if (cq && ck) {
                memcpy(cq, q, n * sizeof *q);
                memcpy(ck, k, n * sizeof *k);
            }
            arg_in(b, c, 2, n, -1, 1);
            if (mask) {
                float *cm = arg_in_values(b, c, 3, (size_t)B * S);
                if (cm)
                    memcpy(cm, mask, (size_t)B * S * sizeof *mask);
            }
            if (!pass) {
                arg_result(b, c, 4, n, 0);
                arg_result(b, c, 5, n_stats, 0);
                continue;
            }
            arg_in(b, c, 4, n, -1, 1); /* o: any values (the backward only forms do . o) */
            arg_in(b, c, 5, n, -1, 1);
            float *st = arg_alloc(b, c, 6, DMX_PARITY_ACC, n_stats);
            if (st)
                attention_lse(&p, q, k, mask, st);
            for (int g = 7; g < 10; g++)
                arg_result(b, c, g, n, acc);
        }
        free(qkm);
    }
}

dmx_status dmx_parity_build_cases(dmx_parity_cases *cases)
{
    memset(cases, 0, sizeof *cases);
    builder b = {.cases = cases, .rng = 20261122};
    build_copy_strided(&b);
    build_gemm(&b);
    build_mix_linear(&b);
    build_mix_mlp(&b);
    build_elementwise(&b);
    build_activations(&b);
    build_layernorm(&b);
    build_softmax(&b);
    build_cross_entropy(&b);
    build_embedding(&b);
    build_dropout(&b);
    build_optimizers(&b);
    build_reductions(&b);
    build_attention(&b);
    if (b.oom) {
        dmx_parity_free_cases(cases);
        return dmx_fail(DMX_ERR_OUT_OF_MEMORY, "parity: out of host memory building cases");
    }
    /* Every op must have at least one case: the suite covers the whole list. */
    for (int op = 0; op < DMX_OP_COUNT; op++) {
        int n = 0;
        for (int i = 0; i < cases->count; i++)
            n += cases->items[i].op == (dmx_op)op;
        if (n == 0) {
            dmx_parity_free_cases(cases);
            return dmx_fail(DMX_ERR_INVALID_ARG, "parity: op %s has no case",
                            dmx_op_name((dmx_op)op));
        }
    }
    return DMX_OK;
}

void dmx_parity_free_cases(dmx_parity_cases *cases)
{
    for (int i = 0; i < cases->count; i++)
        for (int a = 0; a < DMX_MAX_ARGS; a++)
            free(cases->items[i].args[a].data);
    free(cases->items);
    memset(cases, 0, sizeof *cases);
}
