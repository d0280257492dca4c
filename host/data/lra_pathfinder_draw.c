/* Antialiased shapes for Pathfinder: drawn on a virtual canvas `aa` times finer (a fine pixel
 * is lit when its centre lies in the shape) and reduced by a box filter, so a stamp holds each
 * pixel's lit fraction. */
#include <math.h>

#include "data/lra_pathfinder.h"

/* The pixel box that holds [lo, hi] in both axes, capped at PF_STAMP_SIDE (configs are checked
 * so that no shape needs more). */
static void stamp_box(pf_stamp *st, float xlo, float ylo, float xhi, float yhi)
{
    st->x0 = (int)floorf(xlo);
    st->y0 = (int)floorf(ylo);
    st->w = (int)floorf(xhi) - st->x0 + 1;
    st->h = (int)floorf(yhi) - st->y0 + 1;
    st->w = st->w > PF_STAMP_SIDE ? PF_STAMP_SIDE : st->w;
    st->h = st->h > PF_STAMP_SIDE ? PF_STAMP_SIDE : st->h;
}

static float dist2_to_segment(float px, float py, const float a[2], const float b[2])
{
    float ux = b[0] - a[0], uy = b[1] - a[1];
    float len2 = ux * ux + uy * uy;
    float t = len2 > 0 ? ((px - a[0]) * ux + (py - a[1]) * uy) / len2 : 0.0f;
    t = t < 0 ? 0 : t > 1 ? 1 : t;
    float dx = px - (a[0] + t * ux), dy = py - (a[1] + t * uy);
    return dx * dx + dy * dy;
}

void pf_stamp_capsule(pf_stamp *st, const float a[2], const float b[2], float radius, int aa)
{
    stamp_box(st, fminf(a[0], b[0]) - radius, fminf(a[1], b[1]) - radius,
              fmaxf(a[0], b[0]) + radius, fmaxf(a[1], b[1]) + radius);
    const float r2 = radius * radius, inv = 1.0f / (float)aa, share = inv * inv;
    for (int y = 0; y < st->h; y++)
        for (int x = 0; x < st->w; x++) {
            int lit = 0;
            for (int j = 0; j < aa; j++)
                for (int i = 0; i < aa; i++) {
                    float px = (float)(st->x0 + x) + ((float)i + 0.5f) * inv;
                    float py = (float)(st->y0 + y) + ((float)j + 0.5f) * inv;
                    lit += dist2_to_segment(px, py, a, b) <= r2;
                }
            st->v[y * st->w + x] = (float)lit * share;
        }
}

void pf_stamp_disc(pf_stamp *st, const float c[2], float radius, int aa)
{
    pf_stamp_capsule(st, c, c, radius, aa);
}

void pf_draw(float *image, int size, const pf_stamp *st, float gain)
{
    for (int y = 0; y < st->h; y++)
        for (int x = 0; x < st->w; x++) {
            int ix = st->x0 + x, iy = st->y0 + y;
            if (ix < 0 || iy < 0 || ix >= size || iy >= size)
                continue;
            float v = fminf(1.0f, gain * st->v[y * st->w + x]);
            float *p = &image[iy * size + ix];
            *p = fmaxf(*p, v);
        }
}

void pf_occupy(float *occupancy, int size, const pf_stamp *st)
{
    pf_draw(occupancy, size, st, 1.0f);
}
