#include "test_util.h"

#include "core/error.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

uint64_t dmx_test_next(dmx_test_rng *r)
{
    /* splitmix64 */
    uint64_t z = (r->state += 0x9E3779B97F4A7C15ull);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    return z ^ (z >> 31);
}

float dmx_test_uniform(dmx_test_rng *r, float lo, float hi)
{
    return lo + (hi - lo) * (float)((dmx_test_next(r) >> 40) * (1.0 / 16777216.0));
}

void dmx_test_fill(dmx_test_rng *r, float *x, size_t n, float lo, float hi)
{
    for (size_t i = 0; i < n; i++)
        x[i] = dmx_test_uniform(r, lo, hi);
}

static int kind(float v) { return isnan(v) ? 2 : isinf(v) ? (v > 0 ? 3 : 4) : 0; }

size_t dmx_test_compare(const char *what, const float *got, const float *want, size_t n,
                        double atol, double rtol)
{
    size_t fails = 0, worst_i = 0;
    double worst = 0.0;
    for (size_t i = 0; i < n; i++) {
        int kg = kind(got[i]), kw = kind(want[i]);
        double err = kg || kw ? (kg == kw ? 0.0 : INFINITY) : fabs((double)got[i] - want[i]);
        double tol = atol + rtol * fabs((double)want[i]);
        if (err > tol || (kg != kw)) {
            if (fails < 5)
                fprintf(stderr, "  %s[%zu]: got %.9g, want %.9g (|diff| %.3g > tol %.3g)\n", what,
                        i, (double)got[i], (double)want[i], err, tol);
            fails++;
        }
        if (err > worst) {
            worst = err;
            worst_i = i;
        }
    }
    if (fails)
        fprintf(stderr, "  %s: %zu of %zu elements differ; worst |diff| %.3g at %zu\n", what, fails,
                n, worst, worst_i);
    return fails;
}

dmx_status dmx_test_leaf(dmx_device *dev, const char *name, int ndim, const int64_t *shape,
                         const float *data, dmx_tensor **out)
{
    dmx_tensor *t = calloc(2, sizeof *t);
    if (!t)
        return DMX_ERR_OUT_OF_MEMORY;
    t->ndim = ndim;
    for (int i = 0; i < ndim; i++)
        t->shape[i] = shape[i];
    t->dtype = DMX_F32;
    t->name = name;
    t->flags = DMX_TENSOR_PARAM | DMX_TENSOR_REQUIRES_GRAD;
    size_t bytes = dmx_tensor_bytes(t);
    dmx_tensor *g = &t[1];
    *g = *t;
    g->flags = 0;
    g->name = "grad";
    t->grad = g;
    dmx_status s = dmx_buffer_alloc(dev, bytes, &t->buf);
    if (s == DMX_OK)
        s = dmx_buffer_alloc(dev, bytes, &g->buf);
    if (s == DMX_OK)
        s = data ? dmx_buffer_write(t->buf, 0, data, bytes) : dmx_buffer_fill(t->buf, 0, bytes, 0);
    if (s == DMX_OK)
        s = dmx_buffer_fill(g->buf, 0, bytes, 0);
    if (s != DMX_OK) {
        dmx_test_leaf_free(t);
        return s;
    }
    *out = t;
    return DMX_OK;
}

dmx_status dmx_test_leaf_random(dmx_device *dev, const char *name, int ndim, const int64_t *shape,
                                dmx_test_rng *rng, float lo, float hi, dmx_tensor **out)
{
    size_t n = 1;
    for (int i = 0; i < ndim; i++)
        n *= (size_t)shape[i];
    float *data = malloc((n ? n : 1) * sizeof *data);
    if (!data)
        return DMX_ERR_OUT_OF_MEMORY;
    dmx_test_fill(rng, data, n, lo, hi);
    dmx_status s = dmx_test_leaf(dev, name, ndim, shape, data, out);
    free(data);
    return s;
}

void dmx_test_leaf_free(dmx_tensor *t)
{
    if (!t)
        return;
    dmx_buffer_free(t->buf);
    dmx_buffer_free(t[1].buf);
    free(t);
}

float *dmx_test_read(const dmx_tensor *t)
{
    size_t bytes = dmx_tensor_bytes(t);
    float *x = malloc(bytes ? bytes : 4);
    if (x && dmx_tensor_to_host(t, x, bytes) != DMX_OK) {
        fprintf(stderr, "dmx_test_read(%s): %s\n", t->name, dmx_last_error());
        free(x);
        return NULL;
    }
    return x;
}

dmx_status dmx_test_poison_arena(dmx_ctx *ctx, size_t bytes)
{
    int64_t n = (int64_t)(bytes / 4) + 1;
    dmx_tensor *t = NULL;
    DMX_TRY(dmx_ctx_reset(ctx));
    DMX_TRY(dmx_tensor_new(ctx, DMX_F32, 1, &n, "poison", &t));
    DMX_TRY(dmx_buffer_fill(t->buf, t->offset * 4, dmx_tensor_bytes(t), 0x7fc00000u));
    return dmx_ctx_reset(ctx);
}

dmx_device *dmx_test_cpu(void)
{
    dmx_device *dev = NULL;
    if (dmx_device_open("cpu-ref", &dev) != DMX_OK)
        fail_msg("cannot open the CPU reference: %s", dmx_last_error());
    return dev;
}
