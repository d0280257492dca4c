/* Parameter initialisers, computed on the host so every device starts from identical weights.
 * Each tensor draws from its own Philox4x32-10 stream: key = the store's seed, counter =
 * (element index, a 64-bit hash of the tensor's name). Values therefore depend on the seed and
 * the name only, never on declaration order or thread count. */
#include <math.h>
#include <string.h>

#include "core/error.h"
#include "core/philox.h"
#include "nn/nn_internal.h"

#define TWO_PI 6.283185307179586

typedef struct init_stream {
    uint32_t key0, key1, name0, name1;
} init_stream;

static uint64_t fnv1a64(const char *s)
{
    uint64_t h = 0xcbf29ce484222325ull;
    for (; *s; s++)
        h = (h ^ (unsigned char)*s) * 0x100000001b3ull;
    return h;
}

static void draw(const init_stream *st, uint32_t index, uint32_t out[4])
{
    uint32_t counter[4] = {index, st->name0, st->name1, 0};
    dmx_philox4x32_10(counter, st->key0, st->key1, out);
}

/* Uniform in (0, 1) from 24 bits, never 0 (Box-Muller takes its log). */
static double open_unit(uint32_t bits) { return ((bits >> 8) + 0.5) * (1.0 / 16777216.0); }

static double uniform01(const init_stream *st, uint32_t index)
{
    uint32_t r[4];
    draw(st, index, r);
    return (r[0] >> 8) * (1.0 / 16777216.0);
}

static double normal01(const init_stream *st, uint32_t index)
{
    uint32_t r[4];
    draw(st, index, r);
    return sqrt(-2.0 * log(open_unit(r[0]))) * cos(TWO_PI * open_unit(r[1]));
}

dmx_status dmx_nn_check_init(const char *name, int ndim, const int64_t *shape, dmx_init init)
{
    switch (init.kind) {
    case DMX_INIT_ZEROS:
    case DMX_INIT_ONES:
    case DMX_INIT_UNIFORM:
    case DMX_INIT_NORMAL:
    case DMX_INIT_UNIT_NORMAL:
        return DMX_OK;
    case DMX_INIT_XAVIER_UNIFORM:
    case DMX_INIT_IDENTITY:
        if (ndim < 2)
            return dmx_fail(DMX_ERR_INVALID_ARG, "parameter %s: this initialiser needs a matrix "
                            "(rank >= 2), rank is %d", name, ndim);
        return DMX_OK;
    case DMX_INIT_ORTHO_2X2:
        if (ndim < 2 || shape[ndim - 1] != 2 || shape[ndim - 2] != 2)
            return dmx_fail(DMX_ERR_INVALID_ARG, "parameter %s: orthogonal 2x2 init needs "
                            "trailing dimensions [2, 2]", name);
        return DMX_OK;
    }
    return dmx_fail(DMX_ERR_INVALID_ARG, "parameter %s: unknown initialiser %d", name,
                    (int)init.kind);
}

static void fill_uniform(const init_stream *st, int64_t n, double bound, float *out)
{
    for (int64_t i = 0; i < n; i++)
        out[i] = (float)(-bound + 2.0 * bound * uniform01(st, (uint32_t)i));
}

static void fill_identity(int ndim, const int64_t *shape, int64_t n, float *out)
{
    int64_t rows = shape[ndim - 2], cols = shape[ndim - 1];
    for (int64_t i = 0; i < n; i++) {
        int64_t within = i % (rows * cols);
        out[i] = within / cols == within % cols ? 1.0f : 0.0f;
    }
}

static void fill_ortho_2x2(const init_stream *st, int64_t n, float *out)
{
    for (int64_t blk = 0; blk < n / 4; blk++) {
        uint32_t r[4];
        draw(st, (uint32_t)blk, r);
        double theta = TWO_PI * ((r[0] >> 8) * (1.0 / 16777216.0));
        double det = (r[1] & 1u) ? -1.0 : 1.0;
        float *m = out + 4 * blk;
        m[0] = (float)(det * cos(theta));
        m[1] = (float)sin(theta);
        m[2] = (float)(-det * sin(theta));
        m[3] = (float)cos(theta);
    }
}

static void fill_unit_normal(const init_stream *st, int64_t n, float *out)
{
    double norm2 = 0.0;
    for (int64_t i = 0; i < n; i++) {
        double z = normal01(st, (uint32_t)i);
        out[i] = (float)z;
        norm2 += z * z;
    }
    double inv = norm2 > 0.0 ? 1.0 / sqrt(norm2) : 0.0;
    for (int64_t i = 0; i < n; i++)
        out[i] = (float)(out[i] * inv);
}

void dmx_nn_init_fill(const char *name, int ndim, const int64_t *shape, dmx_init init,
                      uint64_t seed, float *out)
{
    uint64_t h = fnv1a64(name);
    init_stream st = {(uint32_t)seed, (uint32_t)(seed >> 32), (uint32_t)h, (uint32_t)(h >> 32)};
    int64_t n = 1;
    for (int k = 0; k < ndim; k++)
        n *= shape[k];
    double a = init.scale;
    switch (init.kind) {
    case DMX_INIT_ZEROS:
        memset(out, 0, (size_t)n * sizeof *out);
        break;
    case DMX_INIT_ONES:
        for (int64_t i = 0; i < n; i++)
            out[i] = 1.0f;
        break;
    case DMX_INIT_XAVIER_UNIFORM:
        fill_uniform(&st, n, (a != 0.0 ? a : 1.0) *
                                 sqrt(6.0 / (double)(shape[ndim - 1] + shape[ndim - 2])), out);
        break;
    case DMX_INIT_UNIFORM:
        fill_uniform(&st, n, a, out);
        break;
    case DMX_INIT_NORMAL:
        for (int64_t i = 0; i < n; i++)
            out[i] = (float)(a * normal01(&st, (uint32_t)i));
        break;
    case DMX_INIT_IDENTITY:
        fill_identity(ndim, shape, n, out);
        break;
    case DMX_INIT_ORTHO_2X2:
        fill_ortho_2x2(&st, n, out);
        break;
    case DMX_INIT_UNIT_NORMAL:
        fill_unit_normal(&st, n, out);
        break;
    }
}
