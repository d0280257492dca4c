/* Fused softmax attention on the CPU (op_params.h: ATTENTION). The loops are those of the
 * device kernels: one pass per query row forward; backward, the row sums do . o, then one
 * pass per query row (dq) and one per key row (dk, dv), each recomputing its probabilities
 * from the saved log-sum-exp. */
#include <math.h>
#include <stdbool.h>

#include "cpu/cpu_kernels.h"

typedef struct heads_view {
    int64_t S, H, dh, ld; /* ld = H * dh, the row length of q, k, v and o */
    float scale;
    const float *mask; /* NULL: no mask */
} heads_view;

static heads_view view_of(const dmx_p_attention *p, const float *mask)
{
    return (heads_view){p->seq, p->heads, p->head_dim, (int64_t)p->heads * p->head_dim,
                        p->scale, p->has_mask ? mask : NULL};
}

/* Row i of head h in batch b: element 0 of its head_dim slice. */
static int64_t row_at(const heads_view *v, int64_t b, int64_t h, int64_t i)
{
    return (b * v->S + i) * v->ld + h * v->dh;
}

static float dot(const float *x, const float *y, int64_t n)
{
    float s = 0.0f;
    for (int64_t c = 0; c < n; c++)
        s += x[c] * y[c];
    return s;
}

static bool removed(const heads_view *v, int64_t b, int64_t j)
{
    return v->mask && v->mask[b * v->S + j] <= DMX_MASK_REMOVED;
}

static float logit(const heads_view *v, const float *q, const float *k, int64_t b, int64_t h,
                   int64_t i, int64_t j)
{
    const float m = v->mask ? v->mask[b * v->S + j] : 0.0f;
    return v->scale * dot(q + row_at(v, b, h, i), k + row_at(v, b, h, j), v->dh) + m;
}

dmx_status dmx_cpu_attention(dmx_device *dev, const dmx_op_call *call)
{
    (void)dev;
    const dmx_p_attention *p = call->params;
    const float *q = dmx_cpu_f32(call, 0), *k = dmx_cpu_f32(call, 1), *v = dmx_cpu_f32(call, 2);
    float *o = dmx_cpu_f32(call, 4), *stats = dmx_cpu_f32(call, 5);
    const heads_view hv = view_of(p, dmx_cpu_f32(call, 3));
    const int64_t rows = (int64_t)p->batch * p->heads * p->seq;
#pragma omp parallel for schedule(static) if (DMX_CPU_PARALLEL(rows * hv.S * hv.dh))
    for (int64_t r = 0; r < rows; r++) { /* r = (b * H + h) * S + i */
        const int64_t i = r % hv.S, h = r / hv.S % hv.H, b = r / hv.S / hv.H;
        float *oi = o + row_at(&hv, b, h, i);
        float zmax = -INFINITY;
        for (int64_t j = 0; j < hv.S; j++)
            if (!removed(&hv, b, j)) {
                const float z = logit(&hv, q, k, b, h, i, j);
                zmax = z > zmax ? z : zmax;
            }
        for (int64_t c = 0; c < hv.dh; c++)
            oi[c] = 0.0f;
        stats[2 * r] = stats[2 * r + 1] = 0.0f;
        if (zmax == -INFINITY) /* every key removed */
            continue;
        double sum = 0.0;
        for (int64_t j = 0; j < hv.S; j++) {
            if (removed(&hv, b, j))
                continue;
            const float e = expf(logit(&hv, q, k, b, h, i, j) - zmax);
            sum += e;
            const float *vj = v + row_at(&hv, b, h, j);
            for (int64_t c = 0; c < hv.dh; c++)
                oi[c] += e * vj[c];
        }
        const float inv = (float)(1.0 / sum);
        for (int64_t c = 0; c < hv.dh; c++)
            oi[c] *= inv;
        stats[2 * r] = zmax + (float)log(sum);
    }
    return DMX_OK;
}

static void store(float *dst, const float *src, int64_t n, int accumulate)
{
    for (int64_t c = 0; c < n; c++)
        dst[c] = accumulate ? dst[c] + src[c] : src[c];
}

dmx_status dmx_cpu_attention_bwd(dmx_device *dev, const dmx_op_call *call)
{
    (void)dev;
    const dmx_p_attention *p = call->params;
    const float *q = dmx_cpu_f32(call, 0), *k = dmx_cpu_f32(call, 1), *v = dmx_cpu_f32(call, 2);
    const float *o = dmx_cpu_f32(call, 4), *dout = dmx_cpu_f32(call, 5);
    float *stats = dmx_cpu_f32(call, 6);
    float *dq = dmx_cpu_f32(call, 7), *dk = dmx_cpu_f32(call, 8), *dv = dmx_cpu_f32(call, 9);
    const heads_view hv = view_of(p, dmx_cpu_f32(call, 3));
    const int64_t rows = (int64_t)p->batch * p->heads * p->seq;
    const bool par = DMX_CPU_PARALLEL(rows * hv.S * hv.dh);
    enum { MAX_DH = DMX_ATTENTION_MAX_HEAD_DIM };

    /* delta_i = do_i . o_i, the row sum of P dP that every dS needs. */
#pragma omp parallel for schedule(static) if (par)
    for (int64_t r = 0; r < rows; r++) {
        const int64_t i = r % hv.S, h = r / hv.S % hv.H, b = r / hv.S / hv.H;
        const int64_t at = row_at(&hv, b, h, i);
        stats[2 * r + 1] = dot(dout + at, o + at, hv.dh);
    }
    /* dq_i = scale sum_j P_ij (do_i . v_j - delta_i) k_j */
#pragma omp parallel for schedule(static) if (par)
    for (int64_t r = 0; r < rows; r++) {
        const int64_t i = r % hv.S, h = r / hv.S % hv.H, b = r / hv.S / hv.H;
        const int64_t at = row_at(&hv, b, h, i);
        float acc[MAX_DH] = {0};
        for (int64_t j = 0; j < hv.S; j++) {
            if (removed(&hv, b, j))
                continue;
            const int64_t jt = row_at(&hv, b, h, j);
            const float P = expf(logit(&hv, q, k, b, h, i, j) - stats[2 * r]);
            const float dS = P * (dot(dout + at, v + jt, hv.dh) - stats[2 * r + 1]);
            for (int64_t c = 0; c < hv.dh; c++)
                acc[c] += dS * k[jt + c];
        }
        for (int64_t c = 0; c < hv.dh; c++)
            acc[c] *= hv.scale;
        store(dq + at, acc, hv.dh, p->accumulate_q);
    }
    /* dk_j = scale sum_i dS_ij q_i, dv_j = sum_i P_ij do_i */
#pragma omp parallel for schedule(static) if (par)
    for (int64_t r = 0; r < rows; r++) {
        const int64_t j = r % hv.S, h = r / hv.S % hv.H, b = r / hv.S / hv.H;
        const int64_t jt = row_at(&hv, b, h, j);
        float gk[MAX_DH] = {0}, gv[MAX_DH] = {0};
        if (!removed(&hv, b, j))
            for (int64_t i = 0; i < hv.S; i++) {
                const int64_t ri = (b * hv.H + h) * hv.S + i, at = row_at(&hv, b, h, i);
                const float P = expf(logit(&hv, q, k, b, h, i, j) - stats[2 * ri]);
                const float dS = P * (dot(dout + at, v + jt, hv.dh) - stats[2 * ri + 1]);
                for (int64_t c = 0; c < hv.dh; c++) {
                    gk[c] += dS * q[at + c];
                    gv[c] += P * dout[at + c];
                }
            }
        for (int64_t c = 0; c < hv.dh; c++)
            gk[c] *= hv.scale;
        store(dk + jt, gk, hv.dh, p->accumulate_k);
        store(dv + jt, gv, hv.dh, p->accumulate_v);
    }
    return DMX_OK;
}
