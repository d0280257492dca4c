/* gemm and mix_linear (forward, backward to x, backward to W and bias) on the tiled shader
 * core (shaders/tile_gemm.glsl); skinny gemms with long reductions on subgroups
 * (shaders/gemm_subgroup.comp) where the device has subgroup arithmetic.
 *
 * The host's part: pick a tile shape that wastes the least padding for the output, cut the
 * reduction into pieces that keep lavapipe's loop trips bounded (later pieces accumulate), run
 * batches or rows in pieces whose bindings fit maxStorageBufferRange, and for the weight
 * gradient split the long reduction over the batch across workgroups (partial sums, then
 * reduce_slices in a fixed order: deterministic, no atomics). */
#include <string.h>

#include "core/error.h"
#include "vulkan/vk_ops.h"

/* Reduction length one invocation may walk on a device with DMX_QUIRK_LOOP_LIMIT: 1024 steps
 * of 16 at about one loop trip each, far below lavapipe's ~65535. */
#define DMX_VK_DEPTH_PIECE 16384u
/* Split the weight-gradient reduction until there are about this many workgroups. */
#define DMX_VK_TARGET_GROUPS 256u
#define DMX_VK_MIN_SLICE 1024u
#define DMX_VK_MAX_SLICES 4096u /* for parallelism; reduce_slices walks them one by one */
#define DMX_VK_PARTIALS_MAX (16u << 20) /* floats of partial sums per round */

typedef struct tile_shape {
    uint32_t rows, cols, thread_rows; /* an invocation owns thread_rows x 4 outputs */
} tile_shape;

/* Every shape has (rows / thread_rows) * (cols / 4) = 256 invocations and fits 16 KiB of
 * shared memory. */
static const tile_shape shapes[] = {
    {64, 64, 4}, {128, 32, 4}, {32, 32, 1}, {16, 64, 1}, {64, 16, 1}, {128, 16, 2}, {8, 128, 1},
};

static tile_shape choose_shape(uint64_t rows, uint64_t cols)
{
    tile_shape best = shapes[0];
    uint64_t best_area = UINT64_MAX;
    for (size_t i = 0; i < sizeof shapes / sizeof *shapes; i++) {
        const tile_shape *s = &shapes[i];
        uint64_t area = dmx_vk_ceil_div(rows, s->rows) * s->rows *
                        dmx_vk_ceil_div(cols, s->cols) * s->cols;
        if (area < best_area ||
            (area == best_area && s->rows * s->cols > best.rows * best.cols)) {
            best = *s;
            best_area = area;
        }
    }
    return best;
}

static uint64_t tiles_of(tile_shape s, uint64_t rows, uint64_t cols)
{
    return dmx_vk_ceil_div(rows, s.rows) * dmx_vk_ceil_div(cols, s.cols);
}

static int spec_of(tile_shape s, uint32_t spec[4])
{
    spec[0] = DMX_VK_WG;
    spec[1] = s.rows;
    spec[2] = s.cols;
    spec[3] = s.thread_rows;
    return 4;
}

static uint64_t depth_piece(const dmx_vk_device *d, uint64_t depth)
{
    uint64_t piece = d->loop_limit ? DMX_VK_DEPTH_PIECE : depth;
    return piece ? piece : 1;
}

/* Whether a product with reduction `depth` should run one invocation per output (the *_direct
 * shaders): butterfly and block-diagonal stages (depth = radix), where a tile would take one
 * partial step per workgroup and its barriers cost more than the little reuse they buy
 * (measured on lavapipe: 16 s against 18.7 s for the forward kernels of two training steps). */
static bool use_direct(uint64_t depth)
{
    return depth <= 32;
}

/* ---- gemm ---- */

/* Elements one operand spans over `nb` batches: (nb-1) stride + (rows-1) ld + cols. */
static uint64_t span(uint64_t nb, uint64_t stride, uint64_t rows, uint64_t cols, uint64_t ld)
{
    if (!nb || !rows || !cols)
        return 0;
    return (nb - 1) * stride + (rows - 1) * ld + cols;
}

/* The most batches (at least 1) whose span stays within `limit`. When one batch alone is too
 * large, 1: the dispatch then reports the binding that does not fit. */
static uint64_t batches_within(uint64_t limit, uint64_t one, uint64_t stride, uint64_t batch)
{
    if (one >= limit)
        return 1;
    if (stride == 0) /* every batch reads the same elements */
        return batch;
    uint64_t n = 1 + (limit - one) / stride;
    return n < batch ? n : batch;
}

/* ---- skinny gemm on subgroups (shaders/gemm_subgroup.comp) ---- */

/* At most this many rows on the short side (the shader's ROWS), and at least this long a
 * reduction: shorter ones leave most lanes idle, and the tiled kernel does them well enough. */
#define DMX_VK_SKINNY_ROWS 8
#define DMX_VK_SKINNY_DEPTH 64

/* gemm_subgroup's push block (after the binding offsets). */
typedef struct skinny_push {
    int32_t lines, K, batch, per_group;
    int32_t x_r, x_k, y_k, y_l, c_r, c_l;
    int32_t stride_x, stride_y, stride_c;
    float alpha, beta;
    int32_t has_bias, stride_bias;
} skinny_push;

/* The skinny cast of a product: rows (the short side), and whether it is the small-N one
 * (C^T = op(B)^T op(A)^T: X from B, Y from A); 0 rows: the tiled kernel. Where the long operand
 * Y is contiguous along k (small M with B transposed: x W^T; small N with A not transposed:
 * W v), lanes stride k and subgroupAdd reduces; where it is contiguous along the lines instead
 * (x W, W^T u), each lane owns a line (lane_per_line). */
static uint32_t skinny_rows(const dmx_vk_device *d, const dmx_p_gemm *p, bool *small_n)
{
    *small_n = false;
    if (!d->subgroup_gemm || p->K < DMX_VK_SKINNY_DEPTH)
        return 0;
    bool by_m = p->M <= DMX_VK_SKINNY_ROWS;
    bool by_n = p->N <= DMX_VK_SKINNY_ROWS;
    if (by_m && by_n)
        by_m = p->M <= p->N;
    *small_n = !by_m && by_n;
    return by_m ? (uint32_t)p->M : by_n ? (uint32_t)p->N : 0;
}

static skinny_push skinny_params(const dmx_p_gemm *q, bool small_n)
{
    skinny_push s = {.K = q->K, .batch = q->batch, .alpha = q->alpha, .beta = q->beta};
    /* A(m, k) = A[m am + k ak], B(k, n) = B[k bk + n bn] */
    const int32_t am = q->trans_a ? 1 : q->lda, ak = q->trans_a ? q->lda : 1;
    const int32_t bk = q->trans_b ? 1 : q->ldb, bn = q->trans_b ? q->ldb : 1;
    if (!small_n) {
        s.lines = q->N;
        s.x_r = am, s.x_k = ak, s.y_k = bk, s.y_l = bn;
        s.c_r = q->ldc, s.c_l = 1;
        s.stride_x = q->stride_a, s.stride_y = q->stride_b;
    } else {
        s.lines = q->M;
        s.x_r = bn, s.x_k = bk, s.y_k = ak, s.y_l = am;
        s.c_r = 1, s.c_l = q->ldc;
        s.stride_x = q->stride_b, s.stride_y = q->stride_a;
    }
    s.stride_c = q->stride_c;
    return s;
}

/* One gemm_subgroup dispatch over bindings X, Y, C and bias (absent for gemm). Y contiguous
 * along k: a subgroup per line (subgroup_wg / subgroup_size lines per workgroup); otherwise
 * lane_per_line. */
static dmx_status skinny_dispatch(dmx_vk_device *d, uint32_t rows, skinny_push *sp,
                                  const dmx_vk_binding b[4])
{
    const bool per_line = sp->y_k != 1;
    const uint32_t spec[3] = {d->subgroup_wg, rows, per_line};
    sp->per_group = (int32_t)(per_line ? d->subgroup_wg : d->subgroup_wg / d->subgroup_size);
    uint64_t groups = dmx_vk_ceil_div((uint64_t)sp->batch * (uint64_t)sp->lines,
                                      (uint64_t)sp->per_group);
    DMX_TRY(dmx_vk_dispatch(d, "gemm_subgroup", spec, 3, b, 4, sp, sizeof *sp, groups));
    d->subgroup_gemm_dispatches++;
    return DMX_OK;
}

dmx_status dmx_vk_gemm(dmx_vk_device *d, const dmx_op_call *call)
{
    const dmx_p_gemm *p = call->params;
    const uint64_t M = (uint64_t)p->M, N = (uint64_t)p->N, K = (uint64_t)p->K;
    const uint64_t batch = (uint64_t)p->batch;
    if (!M || !N || !batch)
        return DMX_OK;
    bool small_n = false;
    const uint32_t rows = skinny_rows(d, p, &small_n);
    tile_shape shape = choose_shape(M, N);
    uint32_t spec[4];
    int n_spec = spec_of(shape, spec);
    const uint64_t k_piece = depth_piece(d, K);
    const uint64_t a_rows = p->trans_a ? K : M, a_cols = p->trans_a ? M : K;
    const uint64_t b_rows = p->trans_b ? N : K, b_cols = p->trans_b ? K : N;
    const uint64_t c_span = span(1, 0, M, N, (uint64_t)p->ldc);
    /* Batches whose C overlap run one at a time, in order, as on the CPU. */
    uint64_t per = (uint64_t)p->stride_c < c_span ? 1 : batch;
    const uint64_t limit = dmx_vk_max_elems(d);
    per = batches_within(limit, span(1, 0, a_rows, a_cols, p->lda), p->stride_a, per);
    per = batches_within(limit, span(1, 0, b_rows, b_cols, p->ldb), p->stride_b, per);
    per = batches_within(limit, c_span, p->stride_c, per);
    for (uint64_t b0 = 0; b0 < batch; b0 += per) {
        uint64_t nb = batch - b0 < per ? batch - b0 : per;
        for (uint64_t k0 = 0; k0 == 0 || k0 < K; k0 += k_piece) {
            uint64_t kn = K - k0 < k_piece ? K - k0 : k_piece;
            dmx_p_gemm q = *p;
            q.batch = (int32_t)nb;
            q.K = (int32_t)kn;
            q.beta = k0 == 0 ? p->beta : 1.0f;
            uint64_t a_at = b0 * p->stride_a + (p->trans_a ? k0 * p->lda : k0);
            uint64_t b_at = b0 * p->stride_b + (p->trans_b ? k0 : k0 * p->ldb);
            dmx_vk_binding b[4] = {
                dmx_vk_part(dmx_vk_arg(call, 0, DMX_VK_READ), a_at,
                            span(nb, p->stride_a, p->trans_a ? kn : M, p->trans_a ? M : kn,
                                 p->lda)),
                dmx_vk_part(dmx_vk_arg(call, 1, DMX_VK_READ), b_at,
                            span(nb, p->stride_b, p->trans_b ? N : kn, p->trans_b ? kn : N,
                                 p->ldb)),
                dmx_vk_part(dmx_vk_arg(call, 2, q.beta == 0.0f ? DMX_VK_WRITE : DMX_VK_READ_WRITE),
                            b0 * p->stride_c, span(nb, p->stride_c, M, N, p->ldc)),
                {0},
            };
            if (!rows) {
                DMX_TRY(dmx_vk_dispatch(d, "gemm", spec, n_spec, b, 3, &q, sizeof q,
                                        nb * tiles_of(shape, M, N)));
                continue;
            }
            skinny_push sp = skinny_params(&q, small_n);
            if (small_n) { /* X is B, Y is A */
                dmx_vk_binding t = b[0];
                b[0] = b[1];
                b[1] = t;
            }
            DMX_TRY(skinny_dispatch(d, rows, &sp, b));
        }
    }
    return DMX_OK;
}

/* ---- mix_linear ---- */

/* The push block of the mix_linear shaders: the op's parameters, then the depth range. */
typedef struct mix_push {
    dmx_p_mix_linear p;
    uint32_t k_begin, k_end;
    uint32_t slice, slices, part_stride, part_bias; /* bwd_w only */
} mix_push;

/* Rows m of the batch per dispatch so that the per-row tensors fit one binding, and (loop
 * limit) so that the weight gradient's depth needs at most 4096 slices. */
static uint64_t rows_per_piece(const dmx_vk_device *d, const dmx_p_mix_linear *p)
{
    uint64_t widest = (uint64_t)(p->Din > p->Dout ? p->Din : p->Dout);
    uint64_t per_m = (uint64_t)p->J * widest * (uint64_t)p->R1 * (uint64_t)p->R2;
    uint64_t rows = per_m ? dmx_vk_max_elems(d) / per_m : (uint64_t)p->M;
    uint64_t bound = (uint64_t)DMX_VK_DEPTH_PIECE * 4096u / (uint64_t)(p->R2 ? p->R2 : 1);
    if (d->loop_limit && rows > bound)
        rows = bound;
    return rows ? rows : 1;
}

/* The forward of a dense or block-diagonal view (R1 = R2 = 1) on few rows with a long
 * reduction is J skinny products x_j W_j^T: gemm_subgroup with the bias (batch-1 inference). */
static bool mix_skinny(const dmx_vk_device *d, const dmx_p_mix_linear *p)
{
    if (!d->subgroup_gemm || p->R1 != 1 || p->R2 != 1 || p->M < 1 ||
        p->M > DMX_VK_SKINNY_ROWS || p->Din < DMX_VK_SKINNY_DEPTH || p->Dout < 1 || p->J < 1)
        return false;
    /* x and y are bound whole (the tiled path cuts them by rows where they do not fit). */
    const uint64_t per_m = (uint64_t)p->J * (uint64_t)(p->Din > p->Dout ? p->Din : p->Dout);
    return (uint64_t)p->M * per_m <= dmx_vk_max_elems(d);
}

static dmx_status mix_linear_skinny(dmx_vk_device *d, const dmx_op_call *call)
{
    const dmx_p_mix_linear *p = call->params;
    const uint64_t M = (uint64_t)p->M, J = (uint64_t)p->J;
    const uint64_t Din = (uint64_t)p->Din, Dout = (uint64_t)p->Dout;
    const bool bias = p->has_bias && call->args[2].buf;
    const uint64_t k_piece = depth_piece(d, Din);
    for (uint64_t k0 = 0; k0 < Din; k0 += k_piece) {
        /* X(m, d) = x[(m J + j) Din + d], Y(d, o) = W[(j Dout + o) Din + d], C = y[m, j, o];
         * batch j. Later pieces add to y, without the bias. */
        skinny_push sp = {
            .lines = (int32_t)Dout, .K = (int32_t)(Din - k0 < k_piece ? Din - k0 : k_piece),
            .batch = (int32_t)J, .x_r = (int32_t)(J * Din), .x_k = 1, .y_k = 1,
            .y_l = (int32_t)Din, .c_r = (int32_t)(J * Dout), .c_l = 1,
            .stride_x = (int32_t)Din, .stride_y = (int32_t)(Dout * Din),
            .stride_c = (int32_t)Dout, .alpha = 1.0f, .beta = k0 == 0 ? 0.0f : 1.0f,
            .has_bias = bias && k0 == 0, .stride_bias = (int32_t)Dout,
        };
        dmx_vk_binding b[4] = {
            dmx_vk_part(dmx_vk_arg(call, 0, DMX_VK_READ), k0, M * J * Din - k0),
            dmx_vk_part(dmx_vk_arg(call, 1, DMX_VK_READ), k0, J * Dout * Din - k0),
            dmx_vk_part(dmx_vk_arg(call, 3, k0 == 0 ? DMX_VK_WRITE : DMX_VK_READ_WRITE), 0,
                        M * J * Dout),
            dmx_vk_part(dmx_vk_arg(call, 2, DMX_VK_READ), 0, sp.has_bias ? J * Dout : 0),
        };
        DMX_TRY(skinny_dispatch(d, (uint32_t)M, &sp, b));
    }
    return DMX_OK;
}

/* Forward (transpose = 0) or backward to x (1): out[q, n] (+)= sum_k A(q, k) W(k or n). */
static dmx_status mix_product(dmx_vk_device *d, const dmx_op_call *call, int transpose)
{
    const dmx_p_mix_linear *p = call->params;
    const uint64_t groups = (uint64_t)p->J * (uint64_t)p->R1;
    const uint64_t depth = (uint64_t)(transpose ? p->Dout : p->Din);
    const uint64_t width = (uint64_t)(transpose ? p->Din : p->Dout);
    const uint64_t in_dim = depth, per_m = groups * (uint64_t)p->R2;
    if (!p->M || !groups || !p->R2 || !width)
        return DMX_OK;
    const int out = transpose ? 2 : 3;
    const bool bias = !transpose && p->has_bias && call->args[2].buf;
    /* The forward always overwrites (its accumulate is unused); dx honours it. */
    const int first_acc = transpose ? p->accumulate : 0;
    tile_shape shape = choose_shape((uint64_t)p->M * p->R2, width);
    uint32_t spec[4];
    int n_spec = spec_of(shape, spec);
    const bool direct = use_direct(depth);
    const char *shader = transpose ? (direct ? "mix_linear_bwd_x_direct" : "mix_linear_bwd_x")
                                   : (direct ? "mix_linear_direct" : "mix_linear");
    if (direct)
        n_spec = 1;
    const uint64_t k_piece = depth_piece(d, depth);
    const uint64_t m_piece = rows_per_piece(d, p);
    for (uint64_t m0 = 0; m0 < (uint64_t)p->M; m0 += m_piece) {
        uint64_t nm = (uint64_t)p->M - m0 < m_piece ? (uint64_t)p->M - m0 : m_piece;
        for (uint64_t k0 = 0; k0 == 0 || k0 < depth; k0 += k_piece) {
            mix_push push = {.p = *p};
            push.p.M = (int32_t)nm;
            push.p.has_bias = bias && k0 == 0;
            push.p.accumulate = k0 == 0 ? first_acc : 1;
            push.k_begin = (uint32_t)k0;
            push.k_end = (uint32_t)(k0 + k_piece < depth ? k0 + k_piece : depth);
            /* forward: x, W, bias, y; backward to x: dy, W, dx */
            int out_access = push.p.accumulate ? DMX_VK_READ_WRITE : DMX_VK_WRITE;
            dmx_vk_binding b[4] = {
                dmx_vk_part(dmx_vk_arg(call, 0, DMX_VK_READ), m0 * per_m * in_dim,
                            nm * per_m * in_dim),
                dmx_vk_part(dmx_vk_arg(call, 1, DMX_VK_READ), 0,
                            groups * (uint64_t)p->Dout * (uint64_t)p->Din),
                dmx_vk_part(dmx_vk_arg(call, 2, DMX_VK_READ), 0,
                            bias ? groups * (uint64_t)p->Dout : 0),
                {0},
            };
            b[out] = dmx_vk_part(dmx_vk_arg(call, out, out_access), m0 * per_m * width,
                                 nm * per_m * width);
            uint64_t workgroups = direct
                ? dmx_vk_ceil_div(nm * per_m * width, DMX_VK_WG)
                : groups * tiles_of(shape, nm * p->R2, width);
            DMX_TRY(dmx_vk_dispatch(d, shader, spec, n_spec, b, transpose ? 3 : 4, &push,
                                    sizeof push, workgroups));
            if (!depth)
                break;
        }
    }
    return DMX_OK;
}

dmx_status dmx_vk_mix_linear(dmx_vk_device *d, const dmx_op_call *call)
{
    if (mix_skinny(d, call->params))
        return mix_linear_skinny(d, call);
    return mix_product(d, call, 0);
}

dmx_status dmx_vk_mix_linear_bwd_x(dmx_vk_device *d, const dmx_op_call *call)
{
    return mix_product(d, call, 1);
}

dmx_status dmx_vk_add_slices(dmx_vk_device *d, dmx_vk_buffer *scratch, size_t part_at,
                             size_t stride, uint32_t slices, dmx_vk_binding out, size_t n)
{
    struct {
        int32_t n, slices, stride;
        float scale;
        int32_t accumulate, finish;
    } push = {(int32_t)n, (int32_t)slices, (int32_t)stride, 1.0f, 1, 0};
    dmx_vk_binding b[2] = {
        {scratch, part_at, (slices - 1) * stride + n, DMX_VK_READ},
        out,
    };
    b[1].count = n;
    return dmx_vk_run_elements(d, "reduce_slices", b, 2, &push, sizeof push, n);
}

/* One pass of the weight gradient over depth [k_begin, k_end) of rows [m0, m0 + nm), on the
 * tiled kernel or (direct) one invocation per output. */
static dmx_status weight_grad_pass(dmx_vk_device *d, const dmx_op_call *call, tile_shape shape,
                                   bool direct, uint64_t m0, uint64_t nm, uint64_t k_begin,
                                   uint64_t k_end, uint64_t slice)
{
    const dmx_p_mix_linear *p = call->params;
    const uint64_t groups = (uint64_t)p->J * (uint64_t)p->R1;
    const uint64_t n_w = groups * (uint64_t)p->Dout * (uint64_t)p->Din;
    const bool bias = p->has_bias && call->args[3].buf;
    const uint64_t n_c = bias ? groups * (uint64_t)p->Dout : 0;
    const uint64_t per_m = groups * (uint64_t)p->R2;
    const uint32_t slices = (uint32_t)dmx_vk_ceil_div(k_end - k_begin, slice);
    uint32_t spec[4];
    int n_spec = direct ? 1 : spec_of(shape, spec);
    spec[0] = DMX_VK_WG;
    mix_push push = {.p = *p};
    push.p.M = (int32_t)nm;
    push.p.has_bias = bias;
    push.k_begin = (uint32_t)k_begin;
    push.k_end = (uint32_t)k_end;
    push.slice = (uint32_t)slice;
    push.slices = slices;
    push.part_stride = (uint32_t)(n_w + n_c);
    push.part_bias = (uint32_t)n_w;
    dmx_vk_buffer *scratch = NULL;
    if (slices > 1)
        DMX_TRY(dmx_vk_scratch(d, (size_t)(slices * (n_w + n_c)) * 4, &scratch));
    dmx_vk_binding b[5] = {
        dmx_vk_part(dmx_vk_arg(call, 0, DMX_VK_READ), m0 * per_m * p->Dout, nm * per_m * p->Dout),
        dmx_vk_part(dmx_vk_arg(call, 1, DMX_VK_READ), m0 * per_m * p->Din, nm * per_m * p->Din),
        dmx_vk_part(dmx_vk_arg(call, 2, DMX_VK_READ_WRITE), 0, n_w),
        dmx_vk_part(dmx_vk_arg(call, 3, DMX_VK_READ_WRITE), 0, n_c),
        {scratch, 0, scratch ? (size_t)(slices * (n_w + n_c)) : 0, DMX_VK_WRITE},
    };
    uint64_t workgroups = direct
        ? dmx_vk_ceil_div(slices * (n_w + n_c), DMX_VK_WG)
        : slices * groups * tiles_of(shape, p->Dout, p->Din ? p->Din : 1);
    DMX_TRY(dmx_vk_dispatch(d, direct ? "mix_linear_bwd_w_direct" : "mix_linear_bwd_w", spec,
                            n_spec, b, 5, &push, sizeof push, workgroups));
    if (slices == 1)
        return DMX_OK;
    DMX_TRY(dmx_vk_add_slices(d, scratch, 0, (size_t)(n_w + n_c), slices, b[2], (size_t)n_w));
    if (n_c)
        DMX_TRY(dmx_vk_add_slices(d, scratch, (size_t)n_w, (size_t)(n_w + n_c), slices, b[3],
                           (size_t)n_c));
    return DMX_OK;
}

dmx_status dmx_vk_mix_linear_bwd_w(dmx_vk_device *d, const dmx_op_call *call)
{
    const dmx_p_mix_linear *p = call->params;
    const uint64_t groups = (uint64_t)p->J * (uint64_t)p->R1;
    if (!p->M || !p->R2 || !groups || !p->Dout)
        return DMX_OK;
    const uint64_t n_out = groups * (uint64_t)p->Dout * ((uint64_t)p->Din + 1);
    tile_shape shape = choose_shape((uint64_t)p->Dout, (uint64_t)p->Din);
    /* Blocks up to 16 x 16 (butterfly radix <= 16): one invocation per output and slice. */
    const bool direct = (uint64_t)p->Dout * (uint64_t)p->Din <= 256;
    /* Workgroups one slice fills; direct: its outputs in workgroups of 256. */
    const uint64_t tiles = direct ? dmx_vk_ceil_div(n_out, DMX_VK_WG)
                                  : groups * tiles_of(shape, p->Dout, p->Din ? p->Din : 1);
    const uint64_t m_piece = rows_per_piece(d, p);
    for (uint64_t m0 = 0; m0 < (uint64_t)p->M; m0 += m_piece) {
        uint64_t nm = (uint64_t)p->M - m0 < m_piece ? (uint64_t)p->M - m0 : m_piece;
        const uint64_t depth = nm * (uint64_t)p->R2;
        /* Slices: enough for the loop limit, more (down to DMX_VK_MIN_SLICE) for parallelism. */
        uint64_t slices = dmx_vk_ceil_div(depth, depth_piece(d, depth));
        uint64_t wanted = dmx_vk_ceil_div(DMX_VK_TARGET_GROUPS, tiles);
        if (wanted > DMX_VK_MAX_SLICES)
            wanted = DMX_VK_MAX_SLICES;
        uint64_t most = dmx_vk_ceil_div(depth, DMX_VK_MIN_SLICE);
        if ((wanted < most ? wanted : most) > slices)
            slices = wanted < most ? wanted : most;
        uint64_t slice = dmx_vk_ceil_div(dmx_vk_ceil_div(depth, slices), 16) * 16;
        /* Rounds of at most round_slices slices keep the partial sums within bounds. */
        uint64_t cap = DMX_VK_PARTIALS_MAX < dmx_vk_max_elems(d) ? DMX_VK_PARTIALS_MAX
                                                                 : dmx_vk_max_elems(d);
        uint64_t round_slices = cap / n_out ? cap / n_out : 1;
        for (uint64_t k0 = 0; k0 < depth; k0 += round_slices * slice) {
            uint64_t k1 = k0 + round_slices * slice < depth ? k0 + round_slices * slice : depth;
            DMX_TRY(weight_grad_pass(d, call, shape, direct, m0, nm, k0, k1, slice));
        }
    }
    return DMX_OK;
}
