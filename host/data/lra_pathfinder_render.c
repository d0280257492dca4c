/* One Pathfinder image (snakes2.py, per image): two target snakes, distractor snakes, optional
 * loose paddles, then two marker discs: at one target snake's origin, and at the terminal tip of
 * the same snake (label 1) or of the other (label 0). */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "core/error.h"
#include "data/lra_pathfinder.h"

#define PI_F 3.14159265358979f
/* Whole-image attempts at the two target snakes before the parameters are called impossible. */
#define MAX_IMAGE_ATTEMPTS 1000

/* snakes2.py draws orientations as whole degrees. */
static float random_degrees(dmx_lra_rng *rng, int lo, int hi)
{
    return (float)dmx_lra_rng_int(rng, lo, hi - 1) * (PI_F / 180.0f);
}

static void clear_canvas(pf_canvas *c)
{
    memset(c->image, 0, sizeof(float) * (size_t)c->size * (size_t)c->size);
    pf_reset_occupancy(c, c->cfg->padding);
    c->snakes[0].has_pending = c->snakes[1].has_pending = false;
}

/* Seed 1 in the square that keeps seed_distance from the border, seed 2 at seed_distance from
 * it in a random direction. */
static bool seed_targets(pf_canvas *c)
{
    const dmx_pathfinder_config *cfg = c->cfg;
    int lo = cfg->padding + cfg->seed_distance, hi = cfg->resolution - lo;
    for (int attempt = 0; attempt < cfg->max_paddle_retrials; attempt++) {
        clear_canvas(c);
        if (!pf_seed_anywhere(c, &c->snakes[0], random_degrees(&c->rng, -180, 180), lo, hi))
            continue;
        float away = random_degrees(&c->rng, 0, 360);
        float tail[2] = {c->snakes[0].origin[0] + (float)cfg->seed_distance * cosf(away),
                         c->snakes[0].origin[1] + (float)cfg->seed_distance * sinf(away)};
        if (pf_seed_at(c, &c->snakes[1], tail, random_degrees(&c->rng, -180, 180)))
            return true;
    }
    return false;
}

/* Both target snakes grown together to contour_length paddles; on any failure both start over. */
static bool lay_targets(pf_canvas *c)
{
    for (int trial = 0; trial < c->cfg->max_target_retrials; trial++) {
        if (!seed_targets(c))
            continue;
        bool ok = true;
        for (int k = 1; k < c->cfg->contour_length && ok; k++)
            ok = pf_extend(c, &c->snakes[0]) && pf_extend(c, &c->snakes[1]);
        if (ok)
            return true;
    }
    return false;
}

/* Distractors and loose paddles go anywhere free, until the image is nearly full. Distractor
 * snakes that cannot grow to full length stay as they are. */
static void lay_clutter(pf_canvas *c, dmx_pathfinder_info *info)
{
    const dmx_pathfinder_config *cfg = c->cfg;
    pf_snake *s = &c->snakes[0]; /* the targets are settled: reuse a slot */
    c->n_snakes = 1;
    int lo = cfg->padding, hi = cfg->resolution - cfg->padding;
    for (int d = 0; d < cfg->num_distractors; d++) {
        if (pf_free_fraction(c) < cfg->stop_availability)
            break;
        bool seeded = false;
        for (int t = 0; t < cfg->max_distractor_retrials && !seeded; t++)
            seeded = pf_seed_anywhere(c, s, random_degrees(&c->rng, -180, 180), lo, hi);
        if (!seeded)
            continue;
        for (int k = 1; k < cfg->distractor_length && pf_extend(c, s); k++)
            ;
        info->distractor_snakes++;
        info->distractor_paddles += s->paddles;
        pf_settle(c, s);
    }
    if (!cfg->single_paddles)
        return;
    int m = c->margin;
    int count = (int)(150.0 / ((7.5 + 13.0 * m + 4.0 * m * m) / 123.5)) -
                2 * cfg->contour_length - cfg->num_distractors * cfg->distractor_length;
    c->gain = cfg->paddle_contrast;
    for (int i = 0; i < count && pf_free_fraction(c) >= cfg->stop_availability; i++) {
        bool seeded = false;
        for (int t = 0; t < cfg->max_paddle_retrials && !seeded; t++)
            seeded = pf_seed_anywhere(c, s, random_degrees(&c->rng, -180, 180), lo, hi);
        info->single_paddles += seeded;
        pf_settle(c, s);
    }
}

static void draw_markers(pf_canvas *c, dmx_pathfinder_info *info)
{
    int origin = dmx_lra_rng_int(&c->rng, 0, 1);
    int terminal = info->label ? origin : 1 - origin;
    memcpy(info->markers[0], info->tips[origin][0], sizeof info->markers[0]);
    memcpy(info->markers[1], info->tips[terminal][1], sizeof info->markers[1]);
    info->marker_snake[0] = origin;
    info->marker_snake[1] = terminal;
    for (int i = 0; i < 2; i++) {
        pf_stamp disc;
        pf_stamp_disc(&disc, info->markers[i], c->cfg->marker_radius, c->cfg->antialias_scale);
        pf_draw(c->image, c->size, &disc, 1.0f);
    }
}

/* Examples 2p and 2p+1 get different labels, in an order drawn per pair. */
static int pair_label(uint64_t seed, int64_t index)
{
    dmx_lra_rng rng = dmx_lra_rng_stream(seed, ((uint64_t)index >> 1 << 1) | 1);
    return (int)((dmx_lra_rng_next(&rng) >> 63) ^ ((uint64_t)index & 1));
}

static dmx_status draw_image(pf_canvas *c, int64_t index, dmx_pathfinder_info *info)
{
    const dmx_pathfinder_config *cfg = c->cfg;
    memset(info, 0, sizeof *info);
    info->label = pair_label(cfg->seed, index);
    c->rng = dmx_lra_rng_stream(cfg->seed, (uint64_t)index << 1);
    bool laid = false;
    while (!laid && info->target_attempts < MAX_IMAGE_ATTEMPTS) {
        info->target_attempts++;
        c->margin = cfg->margins[dmx_lra_rng_int(&c->rng, 0, cfg->num_margins - 1)];
        c->gain = cfg->contrast;
        c->n_snakes = 2;
        laid = lay_targets(c);
    }
    if (!laid)
        return dmx_fail(DMX_ERR_INVALID_ARG,
                        "pathfinder: found no room for two target snakes of %d paddles in %dx%d "
                        "pixels in %d attempts (image %lld); the parameters ask too much",
                        cfg->contour_length, cfg->resolution, cfg->resolution,
                        MAX_IMAGE_ATTEMPTS, (long long)index);
    for (int s = 0; s < 2; s++) {
        memcpy(info->tips[s][0], c->snakes[s].origin, sizeof info->tips[s][0]);
        memcpy(info->tips[s][1], c->snakes[s].tip, sizeof info->tips[s][1]);
        pf_settle(c, &c->snakes[s]);
    }
    lay_clutter(c, info);
    draw_markers(c, info);
    return DMX_OK;
}

dmx_status dmx_pathfinder_render(const dmx_pathfinder_config *cfg, int64_t index, uint8_t *image,
                                 dmx_pathfinder_info *info)
{
    DMX_TRY(dmx_pathfinder_check_config(cfg));
    if (!image || index < 0)
        return dmx_fail(DMX_ERR_INVALID_ARG, "dmx_pathfinder_render: NULL image or index %lld",
                        (long long)index);
    size_t n = (size_t)cfg->resolution * (size_t)cfg->resolution;
    pf_canvas c = {.cfg = cfg, .size = cfg->resolution};
    c.stroke_radius = (float)lroundf(cfg->paddle_thickness * (float)cfg->antialias_scale) /
                      (2.0f * (float)cfg->antialias_scale);
    c.image = malloc(n * sizeof *c.image);
    c.occupancy = malloc(n * sizeof *c.occupancy);
    c.candidates = malloc(n * sizeof *c.candidates);
    c.snakes = malloc(2 * sizeof *c.snakes);
    dmx_status s = DMX_OK;
    dmx_pathfinder_info local;
    if (!c.image || !c.occupancy || !c.candidates || !c.snakes)
        s = dmx_fail(DMX_ERR_OUT_OF_MEMORY, "pathfinder: buffers for a %dx%d image",
                     cfg->resolution, cfg->resolution);
    if (s == DMX_OK)
        s = draw_image(&c, index, info ? info : &local);
    if (s == DMX_OK)
        for (size_t i = 0; i < n; i++)
            image[i] = (uint8_t)lroundf(255.0f * fminf(1.0f, fmaxf(0.0f, c.image[i])));
    free(c.image);
    free(c.occupancy);
    free(c.candidates);
    free(c.snakes);
    return s;
}
