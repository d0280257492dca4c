/* mix_mlp (a fused butterfly-MLP stage) for the fast CPU device.
 *
 * The stage runs on slices of rows small enough that the hidden activation stays in the
 * core's L2 cache: for a slice of mc consecutive m (x, y, dx, dy slices are contiguous,
 * m being the outermost axis) the fast mix_linear and GELU kernels run one after the other
 * on the slice, with the hidden activation in a per-thread scratch buffer. The unfused stage
 * wrote that activation (and its GELU, and their gradients) to memory in full and read it
 * back op by op; here it never leaves the cache, and the backward recomputes it from x
 * instead of keeping it from the forward.
 *
 * Per slice, forward:  U = W1 x + c1, A = GELU(U), y = W2 A + c2.
 *           backward:  U = W1 x + c1, D = W2^T dy, then one pass A = GELU(U) and
 *                      D <- du = D GELU'(U) (one normal CDF/PDF per element for both);
 *                      dW2, dc2 += dy A^T, dy; dW1, dc1 += du x^T, du; dx (+)= W1^T du.
 *
 * Threads. Grouped stages with several slices give each thread whole slices: a slice's
 * tensors stay in the L2 of the core that made them (split op by op, every kernel read what
 * the other core had written, and paid a fork and join per kernel). The backward then sums
 * each slice's weight gradients into its own zeroed block and adds the blocks to dW in slice
 * order after the loop. One slice, and dense layers (whose GEMMs BLAS splits better), run
 * slice after slice with each kernel spreading its work over the threads. The slicing
 * depends only on the shape, so either way the bits are the same for any thread count.
 *
 * Transposed stages. A stage with few lanes (R2 < 16: the channel-mixing stages, whose
 * groups sit inside one row) leaves the SIMD kernels half-empty vectors: 8 outputs of a group
 * fill half of an AVX-512 register. Transposed, a slice of mc rows [mc][C] becomes [C][mc],
 * the layout of the view [1, J, D, R1, R2 mc] of the same groups (channel c = ((j D + d) R1 +
 * r1) R2 + r2 becomes a row; the slice's rows become columns). There the kernels run
 * column-vectorised, as for token mixing: every vector full, every weight a broadcast. The
 * price is one transpose in and one out per tensor, done in L2. */
#include <stdlib.h>
#include <string.h>

#include "core/error.h"
#include "cpu/cpu_scratch.h"
#include "cpu/cpu_kernels.h"
#include "cpu/fast_kernels.h"
#include "cpu/fast_simd.h"

/* Hidden elements per slice: U, A and D of this many floats, with the slice's x, y, dx, dy,
 * stay well inside a 1-2 MiB L2. */
#define SLICE_HIDDEN 65536
/* Per-slice weight-gradient blocks, at most this many floats in all (else slices run one
 * after the other, each kernel threaded). */
#define MAX_PARTIAL_FLOATS (1 << 20)

typedef struct stage_dims {
    int64_t M, J, Din, Dh, Dout, L;
} stage_dims;

/* One call of the op: its shape, its tensors, and how it is sliced. */
typedef struct stage {
    dmx_device *dev;
    const dmx_p_mix_mlp *p;
    stage_dims d;
    int transposed;
    int64_t G;             /* weight groups, J R1 */
    int64_t cin, ch, cout; /* floats per m of x, of the hidden activation, of y */
    int64_t nw1, nw2;      /* weight floats */
    int64_t mc, slices;    /* rows per slice (the last may have fewer), slice count */
    const float *x, *dy, *W1, *c1, *W2, *c2;
    float *y, *dx;
} stage;

/* A slice's buffers on the calling thread, grown once and reused: no allocation per step. */
static float *slice_scratch(size_t floats)
{
    return dmx_cpu_scratch(DMX_SCRATCH_MIX_MLP, floats);
}

/* A host buffer viewed as one op argument, so a slice can go through the fast kernels'
 * own entry points (and their fallbacks). */
typedef struct host_view {
    dmx_buffer buf;
} host_view;

static dmx_arg view_of(host_view *v, dmx_device *dev, const float *p, int64_t n)
{
    v->buf = (dmx_buffer){.dev = dev, .size = (size_t)n * sizeof(float), .impl = (void *)p};
    return (dmx_arg){.buf = &v->buf, .offset = 0, .count = (size_t)n};
}

static dmx_status run2(dmx_device *dev, dmx_op_fn fn, dmx_op op, const void *params,
                       const dmx_arg *args, int n)
{
    dmx_op_call call = {.op = op, .params = params};
    for (int i = 0; i < n; i++)
        call.args[i] = args[i];
    return fn(dev, &call);
}

static int dense_stage(const dmx_p_mix_mlp *p) { return p->J == 1 && p->R1 == 1; }

static int runs_transposed(const dmx_p_mix_mlp *p)
{
    return dmx_fast_simd_level() != DMX_SIMD_NONE && p->R2 < 16 && !dense_stage(p) &&
           (int64_t)p->Din * p->Dh < DMX_FAST_BLAS_GROUP &&
           (int64_t)p->Dh * p->Dout < DMX_FAST_BLAS_GROUP && p->M >= 16;
}

static stage stage_of(dmx_device *dev, const dmx_p_mix_mlp *p)
{
    stage s = {.dev = dev, .p = p};
    s.d = (stage_dims){p->M, p->J, p->Din, p->Dh, p->Dout, (int64_t)p->R1 * p->R2};
    s.transposed = runs_transposed(p);
    s.G = s.d.J * (int64_t)p->R1;
    s.cin = s.d.J * s.d.Din * s.d.L;
    s.ch = s.d.J * s.d.Dh * s.d.L;
    s.cout = s.d.J * s.d.Dout * s.d.L;
    s.nw1 = s.G * s.d.Dh * s.d.Din;
    s.nw2 = s.G * s.d.Dout * s.d.Dh;
    /* slices of at most about SLICE_HIDDEN hidden floats: dense ones as large as that (the
     * GEMM's size decides whether BLAS splits it over the threads), grouped ones equal, for
     * the threads that take them whole; transposed ones whole vectors of rows */
    const int64_t mc_max = s.ch > 0 && SLICE_HIDDEN / s.ch > 1 ? SLICE_HIDDEN / s.ch : 1;
    s.slices = s.d.M > 0 ? (s.d.M + mc_max - 1) / mc_max : 1;
    s.mc = dense_stage(p) ? mc_max : (s.d.M + s.slices - 1) / s.slices;
    if (s.transposed)
        s.mc = (s.mc + 15) / 16 * 16;
    if (s.mc < 1)
        s.mc = 1;
    s.slices = s.d.M > 0 ? (s.d.M + s.mc - 1) / s.mc : 1;
    return s;
}

/* The mix_linear view of one layer on a slice of mc rows: the stage's own, or transposed
 * [1, J, D, R1, R2 mc]. */
static dmx_p_mix_linear layer(const stage *s, int64_t mc, int32_t din, int32_t dout,
                              int has_bias, int accumulate)
{
    const dmx_p_mix_mlp *p = s->p;
    if (s->transposed)
        return (dmx_p_mix_linear){.M = 1, .J = p->J, .Din = din, .Dout = dout, .R1 = p->R1,
                                  .R2 = (int32_t)(p->R2 * mc), .has_bias = has_bias,
                                  .accumulate = accumulate};
    return (dmx_p_mix_linear){.M = (int32_t)mc, .J = p->J, .Din = din, .Dout = dout,
                              .R1 = p->R1, .R2 = p->R2, .has_bias = has_bias,
                              .accumulate = accumulate};
}

static dmx_status no_memory(const char *op)
{
    return dmx_fail(DMX_ERR_OUT_OF_MEMORY, "%s: no host memory for the hidden slice", op);
}

/* Forward of rows [m0, m0 + mc). */
static dmx_status fwd_slice(const stage *s, int64_t m0, int64_t mc)
{
    const int64_t nin = mc * s->cin, nh = mc * s->ch, nout = mc * s->cout;
    const int64_t mt = s->transposed ? s->mc : 0; /* rows of the transposed buffers */
    float *U = slice_scratch((size_t)(2 * s->mc * s->ch + mt * (s->cin + s->cout)));
    if (!U)
        return no_memory("mix_mlp");
    float *A = U + s->mc * s->ch, *xT = A + s->mc * s->ch, *yT = xT + mt * s->cin;
    const float *in = s->x + m0 * s->cin;
    float *out = s->y + m0 * s->cout;
    if (s->transposed) {
        dmx_fast_transpose(in, mc, s->cin, xT, 0);
        in = xT;
        out = yT;
    }
    const dmx_p_mix_linear l1 = layer(s, mc, s->p->Din, s->p->Dh, 1, 0);
    const dmx_p_mix_linear l2 = layer(s, mc, s->p->Dh, s->p->Dout, 1, 0);
    const dmx_p_unary act = {.n = (int32_t)nh};
    host_view v[4];
    DMX_TRY(run2(s->dev, dmx_fast_mix_linear, DMX_OP_MIX_LINEAR, &l1,
                 (dmx_arg[]){view_of(&v[0], s->dev, in, nin), view_of(&v[1], s->dev, s->W1, s->nw1),
                             view_of(&v[2], s->dev, s->c1, s->G * s->d.Dh),
                             view_of(&v[3], s->dev, U, nh)},
                 4));
    DMX_TRY(run2(s->dev, dmx_fast_gelu, DMX_OP_GELU, &act,
                 (dmx_arg[]){view_of(&v[0], s->dev, U, nh), view_of(&v[1], s->dev, A, nh)}, 2));
    DMX_TRY(run2(s->dev, dmx_fast_mix_linear, DMX_OP_MIX_LINEAR, &l2,
                 (dmx_arg[]){view_of(&v[0], s->dev, A, nh), view_of(&v[1], s->dev, s->W2, s->nw2),
                             view_of(&v[2], s->dev, s->c2, s->G * s->d.Dout),
                             view_of(&v[3], s->dev, out, nout)},
                 4));
    if (s->transposed)
        dmx_fast_transpose(yT, s->cout, mc, s->y + m0 * s->cout, 0);
    return DMX_OK;
}

/* Backward of rows [m0, m0 + mc); the weight gradients add into g = {dW1, dc1, dW2, dc2}. */
static dmx_status bwd_slice(const stage *s, int64_t m0, int64_t mc, float *const g[4])
{
    const int64_t nin = mc * s->cin, nh = mc * s->ch, nout = mc * s->cout;
    const int64_t mt = s->transposed ? s->mc : 0;
    float *U = slice_scratch((size_t)(3 * s->mc * s->ch + mt * (2 * s->cin + s->cout)));
    if (!U)
        return no_memory("mix_mlp_bwd");
    float *A = U + s->mc * s->ch, *D = A + s->mc * s->ch, *xT = D + s->mc * s->ch;
    float *dxT = xT + mt * s->cin, *dyT = dxT + mt * s->cin;
    const float *x = s->x + m0 * s->cin, *dy = s->dy + m0 * s->cout;
    float *dx = s->dx + m0 * s->cin;
    int dx_accumulate = s->p->accumulate;
    if (s->transposed) {
        dmx_fast_transpose(x, mc, s->cin, xT, 0);
        dmx_fast_transpose(dy, mc, s->cout, dyT, 0);
        x = xT;
        dy = dyT;
        dx = dxT;
        dx_accumulate = 0;
    }
    const dmx_p_mix_linear l1 = layer(s, mc, s->p->Din, s->p->Dh, 1, 0);
    const dmx_p_mix_linear l2 = layer(s, mc, s->p->Dh, s->p->Dout, 1, 0);
    const dmx_p_mix_linear l1_dx = layer(s, mc, s->p->Din, s->p->Dh, 0, dx_accumulate);
    dmx_device *dev = s->dev;
    host_view v[4];
    /* U = W1 x + c1; D = W2^T dy; then one pass: A = GELU(U), D <- du = D GELU'(U) */
    DMX_TRY(run2(dev, dmx_fast_mix_linear, DMX_OP_MIX_LINEAR, &l1,
                 (dmx_arg[]){view_of(&v[0], dev, x, nin), view_of(&v[1], dev, s->W1, s->nw1),
                             view_of(&v[2], dev, s->c1, s->G * s->d.Dh), view_of(&v[3], dev, U, nh)},
                 4));
    DMX_TRY(run2(dev, dmx_fast_mix_linear_bwd_x, DMX_OP_MIX_LINEAR_BWD_X, &l2,
                 (dmx_arg[]){view_of(&v[0], dev, dy, nout), view_of(&v[1], dev, s->W2, s->nw2),
                             view_of(&v[2], dev, D, nh)},
                 3));
    dmx_fast_gelu_pair(U, A, D, nh);
    /* dW2 += dy A^T, dc2 += dy; dW1 += du x^T, dc1 += du; dx (+)= W1^T du */
    DMX_TRY(run2(dev, dmx_fast_mix_linear_bwd_w, DMX_OP_MIX_LINEAR_BWD_W, &l2,
                 (dmx_arg[]){view_of(&v[0], dev, dy, nout), view_of(&v[1], dev, A, nh),
                             view_of(&v[2], dev, g[2], s->nw2),
                             view_of(&v[3], dev, g[3], s->G * s->d.Dout)},
                 4));
    DMX_TRY(run2(dev, dmx_fast_mix_linear_bwd_w, DMX_OP_MIX_LINEAR_BWD_W, &l1,
                 (dmx_arg[]){view_of(&v[0], dev, D, nh), view_of(&v[1], dev, x, nin),
                             view_of(&v[2], dev, g[0], s->nw1),
                             view_of(&v[3], dev, g[1], s->G * s->d.Dh)},
                 4));
    DMX_TRY(run2(dev, dmx_fast_mix_linear_bwd_x, DMX_OP_MIX_LINEAR_BWD_X, &l1_dx,
                 (dmx_arg[]){view_of(&v[0], dev, D, nh), view_of(&v[1], dev, s->W1, s->nw1),
                             view_of(&v[2], dev, dx, nin)},
                 3));
    if (s->transposed)
        dmx_fast_transpose(dxT, s->cin, mc, s->dx + m0 * s->cin, s->p->accumulate);
    return DMX_OK;
}

/* Whether the slices go to the threads whole (see the top). */
static int slices_in_parallel(const stage *s, int64_t partial_floats)
{
    return !dense_stage(s->p) && s->slices > 1 && partial_floats <= MAX_PARTIAL_FLOATS;
}

static int64_t rows_of(const stage *s, int64_t i)
{
    const int64_t m0 = i * s->mc;
    return s->d.M - m0 < s->mc ? s->d.M - m0 : s->mc;
}

/* A worker's failure, carried to the calling thread (whose error message is thread-local). */
typedef struct slice_failure {
    dmx_status status;
    char message[256];
} slice_failure;

static void note_failure(slice_failure *f, dmx_status st)
{
#pragma omp critical(dmx_mix_mlp_failure)
    if (f->status == DMX_OK) {
        f->status = st;
        strncpy(f->message, dmx_last_error(), sizeof f->message - 1);
    }
}

dmx_status dmx_fast_mix_mlp(dmx_device *dev, const dmx_op_call *call)
{
    const dmx_p_mix_mlp *p = call->params;
    if (p->M == 0 || (int64_t)p->J * p->R1 * p->R2 == 0 || p->Dout == 0)
        return DMX_OK;
    if (p->Din == 0 || p->Dh == 0) /* y = c2 on every row: nothing to fuse */
        return dmx_cpu_mix_mlp(dev, call);
    stage s = stage_of(dev, p);
    s.x = dmx_cpu_f32(call, 0), s.W1 = dmx_cpu_f32(call, 1), s.c1 = dmx_cpu_f32(call, 2);
    s.W2 = dmx_cpu_f32(call, 3), s.c2 = dmx_cpu_f32(call, 4), s.y = dmx_cpu_f32(call, 5);
    if (!slices_in_parallel(&s, 0)) {
        for (int64_t i = 0; i < s.slices; i++)
            DMX_TRY(fwd_slice(&s, i * s.mc, rows_of(&s, i)));
        return DMX_OK;
    }
    slice_failure failure = {DMX_OK, ""};
#pragma omp parallel for schedule(static)
    for (int64_t i = 0; i < s.slices; i++) {
        const dmx_status st = fwd_slice(&s, i * s.mc, rows_of(&s, i));
        if (st != DMX_OK)
            note_failure(&failure, st);
    }
    return failure.status == DMX_OK ? DMX_OK : dmx_fail(failure.status, "%s", failure.message);
}

dmx_status dmx_fast_mix_mlp_bwd(dmx_device *dev, const dmx_op_call *call)
{
    const dmx_p_mix_mlp *p = call->params;
    if (p->M == 0 || (int64_t)p->J * p->R1 * p->R2 == 0 || p->Din == 0 || p->Dh == 0 ||
        p->Dout == 0)
        return dmx_cpu_mix_mlp_bwd(dev, call);
    stage s = stage_of(dev, p);
    s.dy = dmx_cpu_f32(call, 0), s.x = dmx_cpu_f32(call, 1), s.W1 = dmx_cpu_f32(call, 2);
    s.c1 = dmx_cpu_f32(call, 3), s.W2 = dmx_cpu_f32(call, 4), s.dx = dmx_cpu_f32(call, 5);
    float *const grads[4] = {dmx_cpu_f32(call, 6), dmx_cpu_f32(call, 7), dmx_cpu_f32(call, 8),
                             dmx_cpu_f32(call, 9)};
    const int64_t sizes[4] = {s.nw1, s.G * s.d.Dh, s.nw2, s.G * s.d.Dout};
    const int64_t per_slice = sizes[0] + sizes[1] + sizes[2] + sizes[3];
    if (!slices_in_parallel(&s, s.slices * per_slice)) {
        for (int64_t i = 0; i < s.slices; i++)
            DMX_TRY(bwd_slice(&s, i * s.mc, rows_of(&s, i), grads));
        return DMX_OK;
    }
    /* each slice's gradients in its own block (on the calling thread's scratch slot) */
    float *blocks = dmx_cpu_scratch(DMX_SCRATCH_MIX_MLP_GRADS, (size_t)(s.slices * per_slice));
    if (!blocks)
        return dmx_fail(DMX_ERR_OUT_OF_MEMORY, "mix_mlp_bwd: no host memory for %lld slices' "
                        "weight gradients", (long long)s.slices);
    slice_failure failure = {DMX_OK, ""};
#pragma omp parallel for schedule(static)
    for (int64_t i = 0; i < s.slices; i++) {
        float *block = blocks + i * per_slice, *g[4];
        memset(block, 0, (size_t)per_slice * sizeof *block);
        int64_t at = 0;
        for (int t = 0; t < 4; at += sizes[t], t++)
            g[t] = block + at;
        const dmx_status st = bwd_slice(&s, i * s.mc, rows_of(&s, i), g);
        if (st != DMX_OK)
            note_failure(&failure, st);
    }
    if (failure.status != DMX_OK)
        return dmx_fail(failure.status, "%s", failure.message);
    /* dW += the blocks in slice order: each element by one thread, the same sums for any
     * thread count */
    int64_t offset = 0;
    for (int t = 0; t < 4; offset += sizes[t], t++) {
        float *dst = grads[t];
        const int64_t n = sizes[t];
#pragma omp parallel for schedule(static) if (DMX_CPU_PARALLEL(n * s.slices))
        for (int64_t e = 0; e < n; e++) {
            float acc = dst[e];
            for (int64_t i = 0; i < s.slices; i++)
                acc += blocks[i * per_slice + offset + e];
            dst[e] = acc;
        }
    }
    return DMX_OK;
}
