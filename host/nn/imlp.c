/* iMLP, the iMixer token mixer (SPEC section 4, papers.md 2.1): an unrolled fixed-point
 * iteration z = y + F(z) with F(z) = fb'(GELU(fa'(GELU(z)))), fa' and fb' spectrally
 * normalised. The whole loop is recorded on the tape, so backward is plain backpropagation
 * through every iteration. fa' and fb' are computed once per forward and shared by all
 * iterations. */
#include <stdio.h>

#include "core/error.h"
#include "nn/nn_internal.h"

#define IMLP_DEFAULT_COEFF 0.9f

static dmx_status declare_vectors(dmx_params *ps, const char *prefix, dmx_nn_imlp *m)
{
    const dmx_init unit = {DMX_INIT_UNIT_NORMAL, 0};
    const int64_t T = m->cfg.width, H = m->cfg.inner;
    DMX_TRY(dmx_nn_declare(ps, prefix, "fa.u", 1, H, 0, 0, unit, false, &m->fa_u));
    DMX_TRY(dmx_nn_declare(ps, prefix, "fa.v", 1, T, 0, 0, unit, false, &m->fa_v));
    DMX_TRY(dmx_nn_declare(ps, prefix, "fb.u", 1, T, 0, 0, unit, false, &m->fb_u));
    return dmx_nn_declare(ps, prefix, "fb.v", 1, H, 0, 0, unit, false, &m->fb_v);
}

dmx_status dmx_imlp_init(dmx_params *ps, const char *prefix, const dmx_imlp_config *cfg,
                         dmx_nn_imlp *m)
{
    if (!m || !cfg)
        return dmx_fail(DMX_ERR_INVALID_ARG, "imlp %s: NULL module or config",
                        prefix ? prefix : "");
    *m = (dmx_nn_imlp){.cfg = *cfg};
    if (m->cfg.coeff == 0.0f)
        m->cfg.coeff = IMLP_DEFAULT_COEFF;
    if (cfg->tokens < 1 || cfg->width < 1 || cfg->inner < 1 || cfg->n_iter < 0 ||
        cfg->n_power < 0 || !(m->cfg.coeff > 0.0f))
        return dmx_fail(DMX_ERR_INVALID_ARG, "imlp %s: tokens %lld, width %lld, inner %lld, "
                        "n_iter %d, n_power %d, coeff %g", prefix ? prefix : "",
                        (long long)cfg->tokens, (long long)cfg->width, (long long)cfg->inner,
                        cfg->n_iter, cfg->n_power, (double)m->cfg.coeff);
    const int64_t N = cfg->tokens, T = cfg->width, H = cfg->inner;
    char name[256];
    DMX_TRY(dmx_nn_name(name, sizeof name, prefix, "fc1"));
    DMX_TRY(dmx_linear_init(ps, name, N, T, true, &m->fc1));
    DMX_TRY(dmx_nn_name(name, sizeof name, prefix, "fc2"));
    DMX_TRY(dmx_linear_init(ps, name, T, N, true, &m->fc2));
    DMX_TRY(dmx_nn_name(name, sizeof name, prefix, "fa"));
    DMX_TRY(dmx_linear_init(ps, name, T, H, true, &m->fa));
    DMX_TRY(dmx_nn_name(name, sizeof name, prefix, "fb"));
    DMX_TRY(dmx_linear_init(ps, name, H, T, true, &m->fb));
    return declare_vectors(ps, prefix, m);
}

/* x W^T + b along the axis, W an activation (the normalised weight). */
static dmx_status apply(dmx_ctx *ctx, const char *what, dmx_tensor *x, int axis, int64_t n,
                        dmx_tensor *w, dmx_tensor *bias, dmx_tensor **y)
{
    dmx_nn_axis a;
    DMX_TRY(dmx_nn_axis_of(what, x, axis, n, &a));
    return dmx_nn_dense_along(ctx, x, &a, w, bias, y);
}

dmx_status dmx_imlp_forward(dmx_ctx *ctx, const dmx_nn_imlp *m, dmx_tensor *x, int axis,
                            dmx_tensor **y)
{
    if (!m)
        return dmx_fail(DMX_ERR_INVALID_ARG, "imlp: NULL module");
    char what[DMX_NN_NAME + 16];
    snprintf(what, sizeof what, "imlp %s", m->fc1.name);
    const dmx_imlp_config *c = &m->cfg;
    dmx_tensor *first = NULL, *wa = NULL, *wb = NULL;
    DMX_TRY(dmx_linear_forward(ctx, &m->fc1, x, axis, &first)); /* y: N -> T */
    DMX_TRY(dmx_spectral_norm(ctx, m->fa.weight, m->fa_u, m->fa_v, c->n_power, c->coeff, &wa,
                              NULL));
    DMX_TRY(dmx_spectral_norm(ctx, m->fb.weight, m->fb_u, m->fb_v, c->n_power, c->coeff, &wb,
                              NULL));
    dmx_tensor *z = first;
    for (int k = 0; k < c->n_iter; k++) {
        dmx_tensor *g1, *h, *g2, *f;
        DMX_TRY(dmx_gelu(ctx, z, &g1));
        DMX_TRY(apply(ctx, what, g1, axis, c->width, wa, m->fa.bias, &h)); /* T -> H */
        DMX_TRY(dmx_gelu(ctx, h, &g2));
        DMX_TRY(apply(ctx, what, g2, axis, c->inner, wb, m->fb.bias, &f)); /* H -> T */
        DMX_TRY(dmx_add(ctx, f, first, &z));
    }
    dmx_tensor *g = NULL;
    DMX_TRY(dmx_gelu(ctx, z, &g));
    return dmx_linear_forward(ctx, &m->fc2, g, axis, y); /* T -> N */
}
