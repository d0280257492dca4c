/* Snakes of paddles (snakes2.py): seeding a snake where its first paddle fits, and growing it
 * one paddle at a time by the curvature rule, in an occupancy mask that keeps shapes apart. */
#include <math.h>

#include "data/lra_pathfinder.h"

#define PI_F 3.14159265358979f
/* A paddle fits where occupancy + its mask stays below this everywhere (snakes2.py). */
#define FIT_LIMIT 1.8f
#define MAX_CANDIDATES 512

float pf_occupied(const pf_canvas *c, int x, int y, const pf_snake *except)
{
    if (x < 0 || y < 0 || x >= c->size || y >= c->size)
        return 1.0f;
    float o = c->occupancy[y * c->size + x];
    for (int i = 0; i < c->n_snakes; i++) {
        const pf_snake *s = &c->snakes[i];
        if (s == except || !s->has_pending)
            continue;
        int sx = x - s->pending.x0, sy = y - s->pending.y0;
        if (sx >= 0 && sy >= 0 && sx < s->pending.w && sy < s->pending.h)
            o = fmaxf(o, s->pending.v[sy * s->pending.w + sx]);
    }
    return o;
}

float pf_free_fraction(const pf_canvas *c)
{
    double free_area = 0;
    for (int i = 0; i < c->size * c->size; i++)
        free_area += 1.0 - c->occupancy[i];
    return (float)(free_area / ((double)c->size * c->size));
}

void pf_reset_occupancy(pf_canvas *c, int width)
{
    for (int y = 0; y < c->size; y++)
        for (int x = 0; x < c->size; x++) {
            int border = x < width || y < width || x >= c->size - width || y >= c->size - width;
            c->occupancy[y * c->size + x] = border ? 1.0f : 0.0f;
        }
}

static bool fits(const pf_canvas *c, const pf_stamp *mask, const pf_snake *except)
{
    for (int y = 0; y < mask->h; y++)
        for (int x = 0; x < mask->w; x++) {
            float v = mask->v[y * mask->w + x];
            if (v > 0 && pf_occupied(c, mask->x0 + x, mask->y0 + y, except) + v >= FIT_LIMIT)
                return false;
        }
    return true;
}

/* The paddle's margin mask: its line dilated by a disc of the margin. */
static void paddle_mask(const pf_canvas *c, const float tail[2], const float head[2], pf_stamp *st)
{
    pf_stamp_capsule(st, tail, head, c->stroke_radius + (float)c->margin,
                     c->cfg->antialias_scale);
}

/* Draws the paddle; the snake's previous mask joins the occupancy and `mask` becomes pending:
 * the occupancy lags one paddle behind each snake. */
static void lay_paddle(pf_canvas *c, pf_snake *s, const float tail[2], const float head[2],
                       const pf_stamp *mask)
{
    pf_stamp stroke;
    pf_stamp_capsule(&stroke, tail, head, c->stroke_radius, c->cfg->antialias_scale);
    pf_draw(c->image, c->size, &stroke, c->gain);
    pf_settle(c, s);
    s->pending = *mask;
    s->has_pending = true;
    s->paddles++;
    s->tip[0] = head[0];
    s->tip[1] = head[1];
}

static bool inside(const pf_canvas *c, const float p[2])
{
    return p[0] >= 0 && p[1] >= 0 && p[0] < (float)c->size && p[1] < (float)c->size;
}

bool pf_seed_at(pf_canvas *c, pf_snake *s, const float tail[2], float theta)
{
    const float L = (float)c->cfg->paddle_length, m = (float)c->margin;
    float dx = cosf(theta), dy = sinf(theta);
    float head[2] = {tail[0] + L * dx, tail[1] + L * dy};
    float pivot[2] = {tail[0] - m * dx, tail[1] - m * dy};
    if (!inside(c, tail) || !inside(c, head) || !inside(c, pivot))
        return false;
    pf_stamp mask;
    paddle_mask(c, tail, head, &mask);
    if (!fits(c, &mask, s))
        return false;
    s->paddles = 0;
    s->has_pending = false;
    s->origin[0] = tail[0];
    s->origin[1] = tail[1];
    s->pivot[0] = pivot[0];
    s->pivot[1] = pivot[1];
    s->theta = theta;
    lay_paddle(c, s, tail, head, &mask);
    return true;
}

bool pf_seed_anywhere(pf_canvas *c, pf_snake *s, float theta, int lo, int hi)
{
    /* Visiting the candidate pixels in random order until one fits picks uniformly among the
     * pixels that fit. A mask covers its own tail pixel fully (margins are >= 1), so pixels
     * occupied at FIT_LIMIT - 1 or more cannot fit and are left out at once. */
    int n = 0;
    s->has_pending = false;
    for (int y = lo; y < hi; y++)
        for (int x = lo; x < hi; x++)
            if (pf_occupied(c, x, y, NULL) < FIT_LIMIT - 1.0f)
                c->candidates[n++] = y * c->size + x;
    while (n > 0) {
        int k = dmx_lra_rng_int(&c->rng, 0, n - 1);
        int p = c->candidates[k];
        c->candidates[k] = c->candidates[--n];
        float tail[2] = {(float)(p % c->size) + 0.5f, (float)(p / c->size) + 0.5f};
        if (pf_seed_at(c, s, tail, theta))
            return true;
    }
    return false;
}

/* The most occupied pixel within `radius` of (x, y): snakes2.py's dilated occupancy. */
static float dilated(const pf_canvas *c, int x, int y, int radius, const pf_snake *except)
{
    float o = 0;
    for (int dy = -radius; dy <= radius; dy++)
        for (int dx = -radius; dx <= radius; dx++)
            if (dx * dx + dy * dy <= radius * radius)
                o = fmaxf(o, pf_occupied(c, x + dx, y + dy, except));
    return o;
}

/* The index whose share of the cumulative weights holds u (0 <= u < sum of weights). */
static int sample_cmf(const float *weight, int n, float u)
{
    int last = 0;
    for (int k = 0; k < n; k++) {
        if (weight[k] <= 0)
            continue;
        last = k;
        if (u < weight[k])
            return k;
        u -= weight[k];
    }
    return last; /* u at the very top, from rounding */
}

bool pf_extend(pf_canvas *c, pf_snake *s)
{
    const float L = (float)c->cfg->paddle_length, m = (float)c->margin;
    const float step = L + 2 * m, r = L + m;
    float pivot[2] = {s->pivot[0] + step * cosf(s->theta), s->pivot[1] + step * sinf(s->theta)};
    /* Candidate heads on the circle of radius L + m around the new pivot, one pixel of arc
     * apart, weighted by how free they are and by the curvature rule. */
    int n = (int)ceilf(2 * PI_F * r);
    n = n < 8 ? 8 : n > MAX_CANDIDATES ? MAX_CANDIDATES : n;
    float weight[MAX_CANDIDATES], phi[MAX_CANDIDATES], total = 0;
    for (int k = 0; k < n; k++) {
        float turn = 2 * PI_F * (float)k / (float)n;
        turn = turn > PI_F ? turn - 2 * PI_F : turn;
        phi[k] = s->theta + turn;
        float hx = pivot[0] + r * cosf(phi[k]), hy = pivot[1] + r * sinf(phi[k]);
        float bend = fminf(fabsf(turn) * c->cfg->continuity, PI_F / 2);
        float w = cosf(bend) * cosf(bend);
        w *= 1.0f - dilated(c, (int)floorf(hx), (int)floorf(hy), c->margin, s);
        weight[k] = w > 0 ? w : 0;
        total += weight[k];
    }
    for (int attempt = 0; attempt < c->cfg->max_paddle_retrials && total > 0; attempt++) {
        int k = sample_cmf(weight, n, (float)dmx_lra_rng_uniform(&c->rng) * total);
        float head[2] = {pivot[0] + r * cosf(phi[k]), pivot[1] + r * sinf(phi[k])};
        float tail[2] = {head[0] - L * cosf(phi[k]), head[1] - L * sinf(phi[k])};
        pf_stamp mask;
        paddle_mask(c, tail, head, &mask);
        if (inside(c, head) && fits(c, &mask, s)) {
            lay_paddle(c, s, tail, head, &mask);
            s->pivot[0] = pivot[0];
            s->pivot[1] = pivot[1];
            s->theta = phi[k];
            return true;
        }
        /* Do not draw a candidate that failed again. */
        weight[k] = 0;
        total = 0;
        for (int i = 0; i < n; i++)
            total += weight[i];
    }
    return false;
}

void pf_settle(pf_canvas *c, pf_snake *s)
{
    if (s->has_pending)
        pf_occupy(c->occupancy, c->size, &s->pending);
    s->has_pending = false;
}
