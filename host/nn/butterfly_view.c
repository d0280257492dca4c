/* The butterfly stage index map (SPEC section 1), in integer arithmetic only: a float log()
 * gets log(64)/log(4) wrong. */
#include "core/error.h"
#include "nn/nn_internal.h"

static dmx_status check_sizes(int64_t N, int64_t b)
{
    if (b < 2)
        return dmx_fail(DMX_ERR_SHAPE, "butterfly: radix b = %lld must be at least 2 (N = %lld)",
                        (long long)b, (long long)N);
    if (N < 2)
        return dmx_fail(DMX_ERR_SHAPE, "butterfly: length N = %lld must be at least 2 (b = %lld)",
                        (long long)N, (long long)b);
    return DMX_OK;
}

/* The smallest K with b^K >= N; b^k never exceeds b*N here, far below 2^63. */
static int stage_count(int64_t N, int64_t b)
{
    int K = 0;
    for (int64_t p = 1; p < N; p *= b)
        K++;
    return K;
}

/* s_i = b^i if b^(i+1) <= N, else ceil(N / b). */
static int64_t stage_stride(int64_t N, int64_t b, int i)
{
    int64_t p = 1; /* b^i, then b^(i+1) */
    for (int k = 0; k < i && p <= N; k++)
        p *= b;
    int64_t s = p;
    return s <= N / b ? s : (N + b - 1) / b;
}

static dmx_status check_stage(int64_t N, int64_t b, int i, int K, int64_t *stride)
{
    if (i < 0 || i >= K)
        return dmx_fail(DMX_ERR_SHAPE, "butterfly: stage %d outside [0, %d) for N = %lld, "
                        "b = %lld", i, K, (long long)N, (long long)b);
    int64_t s = stage_stride(N, b, i);
    if (N % (b * s) != 0)
        return dmx_fail(DMX_ERR_SHAPE, "butterfly: N = %lld is not a multiple of b * s = %lld "
                        "(b = %lld, stage %d of %d has stride s = %lld)", (long long)N,
                        (long long)(b * s), (long long)b, i, K, (long long)s);
    *stride = s;
    return DMX_OK;
}

dmx_status dmx_butterfly_stages(int64_t N, int64_t b, int *K)
{
    DMX_TRY(check_sizes(N, b));
    int k = stage_count(N, b);
    for (int i = 0; i < k; i++) {
        int64_t s = 0;
        DMX_TRY(check_stage(N, b, i, k, &s));
    }
    if (K)
        *K = k;
    return DMX_OK;
}

dmx_status dmx_butterfly_stride(int64_t N, int64_t b, int i, int64_t *stride)
{
    DMX_TRY(check_sizes(N, b));
    int64_t s = 0;
    DMX_TRY(check_stage(N, b, i, stage_count(N, b), &s));
    if (stride)
        *stride = s;
    return DMX_OK;
}

dmx_status dmx_butterfly_stage_view(int64_t N, int64_t b, int i, int64_t outer, int64_t inner,
                                    dmx_mix_view *view)
{
    int64_t s = 0;
    DMX_TRY(dmx_butterfly_stride(N, b, i, &s));
    if (outer < 1 || inner < 1)
        return dmx_fail(DMX_ERR_SHAPE, "butterfly: outer %lld and inner %lld must be positive",
                        (long long)outer, (long long)inner);
    if (view)
        *view = (dmx_mix_view){.M = outer, .J = N / (b * s), .Din = b, .R1 = s, .R2 = inner};
    return DMX_OK;
}

int64_t dmx_vit_radix(int64_t S)
{
    if (S < 1)
        return 0;
    int64_t a = 1;
    while (a * a < S)
        a *= 2;
    return a;
}
