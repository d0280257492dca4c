#include "gradcheck.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* L = sum out_i r_i in double, from a forward pass without gradients. */
static dmx_status eval_loss(dmx_ctx *ctx, dmx_gradcheck_fn fn, void *user,
                            dmx_tensor *const *inputs, const float *r, size_t n_out, double *L)
{
    DMX_ASSERT_OK(dmx_ctx_reset(ctx));
    dmx_ctx_set_grad(ctx, false);
    dmx_tensor *out = NULL;
    dmx_status s = fn(ctx, inputs, &out, user);
    dmx_ctx_set_grad(ctx, true);
    if (s != DMX_OK)
        return s;
    if ((size_t)dmx_tensor_numel(out) != n_out)
        return DMX_ERR_SHAPE;
    float *o = dmx_test_read(out);
    if (!o)
        return DMX_ERR_IO;
    double acc = 0.0;
    for (size_t i = 0; i < n_out; i++)
        acc += (double)o[i] * r[i];
    free(o);
    *L = acc;
    return DMX_OK;
}

/* Backpropagates L = sum out_i r_i through the tape that produced `out`. */
static dmx_status backprop_weighted(dmx_ctx *ctx, dmx_tensor *out, const float *r)
{
    dmx_tensor *rt = NULL, *prod = NULL, *loss = NULL;
    dmx_status s = dmx_tensor_from_host(ctx, DMX_F32, out->ndim, out->shape, r, "r", &rt);
    if (s == DMX_OK)
        s = dmx_mul(ctx, out, rt, &prod);
    if (s == DMX_OK)
        s = dmx_sum_rows(ctx, prod, dmx_tensor_numel(out), 1.0f, &loss);
    return s == DMX_OK ? dmx_backward(ctx, loss) : s;
}

size_t dmx_gradcheck(dmx_device *dev, const char *what, dmx_gradcheck_fn fn, void *user,
                     dmx_tensor *const *inputs, int n_inputs, const dmx_gradcheck_opts *opts)
{
    dmx_gradcheck_opts o = {.eps = 1e-3, .atol = 5e-4, .rtol = 2e-3, .max_checks = 48, .seed = 1};
    if (opts) {
        if (opts->eps > 0) o.eps = opts->eps;
        if (opts->atol > 0) o.atol = opts->atol;
        if (opts->rtol > 0) o.rtol = opts->rtol;
        if (opts->max_checks > 0) o.max_checks = opts->max_checks;
        if (opts->seed) o.seed = opts->seed;
    }
    dmx_test_rng rng = {o.seed};
    dmx_ctx *ctx = NULL;
    if (dmx_ctx_create(dev, &ctx) != DMX_OK)
        return (size_t)-1;
    size_t fails = 0;
    float *r = NULL;

    /* A first pass learns the output size and how much arena the function needs; that much
     * arena is then filled with NaN, so the analytic pass fails if a backward adds into a
     * gradient it should create or a forward reads an output it should overwrite. */
    dmx_tensor *out = NULL;
    dmx_status s = fn(ctx, inputs, &out, user);
    if (s != DMX_OK) {
        fprintf(stderr, "%s: forward failed: %s\n", what, dmx_last_error());
        dmx_ctx_destroy(ctx);
        return (size_t)-1;
    }
    size_t n_out = (size_t)dmx_tensor_numel(out);
    r = malloc((n_out ? n_out : 1) * sizeof *r);
    dmx_test_fill(&rng, r, n_out, -1.0f, 1.0f);
    DMX_ASSERT_OK(backprop_weighted(ctx, out, r));
    DMX_ASSERT_OK(dmx_test_poison_arena(ctx, dmx_ctx_peak_bytes(ctx)));

    /* Analytic pass: loss = sum(out * r) on the device, then backward. */
    for (int k = 0; k < n_inputs; k++)
        if (inputs[k]->grad)
            DMX_ASSERT_OK(dmx_buffer_fill(inputs[k]->grad->buf, inputs[k]->grad->offset * 4,
                                          dmx_tensor_bytes(inputs[k]), 0));
    DMX_ASSERT_OK(fn(ctx, inputs, &out, user));
    DMX_ASSERT_OK(backprop_weighted(ctx, out, r));

    for (int k = 0; k < n_inputs; k++) {
        dmx_tensor *x = inputs[k];
        if (!(x->flags & DMX_TENSOR_REQUIRES_GRAD))
            continue;
        size_t n = (size_t)dmx_tensor_numel(x);
        float *val = dmx_test_read(x), *grad = dmx_test_read(x->grad);
        size_t checks = n < (size_t)o.max_checks ? n : (size_t)o.max_checks;
        for (size_t c = 0; c < checks; c++) {
            size_t i = checks == n ? c : (size_t)(dmx_test_next(&rng) % n);
            float orig = val[i], plus = (float)(orig + o.eps), minus = (float)(orig - o.eps);
            double Lp = 0, Lm = 0;
            size_t off = (x->offset + i) * 4;
            DMX_ASSERT_OK(dmx_buffer_write(x->buf, off, &plus, 4));
            DMX_ASSERT_OK(eval_loss(ctx, fn, user, inputs, r, n_out, &Lp));
            DMX_ASSERT_OK(dmx_buffer_write(x->buf, off, &minus, 4));
            DMX_ASSERT_OK(eval_loss(ctx, fn, user, inputs, r, n_out, &Lm));
            DMX_ASSERT_OK(dmx_buffer_write(x->buf, off, &orig, 4));
            /* The step actually taken, after rounding to float. */
            double numeric = (Lp - Lm) / ((double)plus - (double)minus);
            double analytic = grad[i];
            double err = fabs(numeric - analytic);
            double tol = o.atol + o.rtol * fmax(fabs(numeric), fabs(analytic));
            if (!(err <= tol)) {
                if (fails < 8)
                    fprintf(stderr, "  %s: d/d %s[%zu]: numeric %.6g, analytic %.6g (|diff| %.3g "
                            "> %.3g)\n", what, x->name, i, numeric, analytic, err, tol);
                fails++;
            }
        }
        free(val);
        free(grad);
    }
    if (fails)
        fprintf(stderr, "  %s: %zu gradient elements differ from finite differences\n", what,
                fails);
    free(r);
    dmx_ctx_destroy(ctx);
    return fails;
}
