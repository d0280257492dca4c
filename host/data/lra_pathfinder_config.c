/* Pathfinder parameters: LRA's values per resolution (the pathfinder.py docstring and the
 * snakes2_wrapper.py overrides, notes/data-and-benchmarks.md 2.5), and their checks. */
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "core/error.h"
#include "data/lra_pathfinder.h"

typedef struct resolution_params {
    int resolution;
    int margins[DMX_PATHFINDER_MAX_MARGINS];
    int num_margins;
    int seed_distance;
    float marker_radius;
    float thickness;
    float continuity;
    int distractor_budget; /* num_distractors = budget / distractor_length */
    float contrast;
} resolution_params;

static const resolution_params lra_params[] = {
    /* Pathfinder-32: thin lines (0.5 px) drawn with contrast 2 (snake_contrast_list=[2]). */
    {32, {1}, 1, 7, 1.5f, 0.5f, 1.0f, 20, 2.0f},
    {64, {1}, 1, 12, 2.5f, 1.0f, 1.8f, 22, 0.8f},
    {128, {2, 3}, 2, 20, 3.0f, 1.5f, 1.8f, 35, 0.9f},
};

dmx_status dmx_pathfinder_config_default(dmx_pathfinder_config *cfg, int resolution,
                                         int contour_length)
{
    if (!cfg)
        return dmx_fail(DMX_ERR_INVALID_ARG, "dmx_pathfinder_config_default: NULL config");
    const resolution_params *p = NULL;
    for (size_t i = 0; i < sizeof lra_params / sizeof lra_params[0]; i++)
        if (lra_params[i].resolution == resolution)
            p = &lra_params[i];
    if (!p)
        return dmx_fail(DMX_ERR_INVALID_ARG,
                        "pathfinder: no LRA parameters for resolution %d (32, 64 or 128)",
                        resolution);
    if (contour_length < 3 || contour_length > 64)
        return dmx_fail(DMX_ERR_INVALID_ARG,
                        "pathfinder: contour length %d is outside 3..64 (LRA used 6, 9 and 14)",
                        contour_length);
    memset(cfg, 0, sizeof *cfg);
    cfg->resolution = resolution;
    cfg->contour_length = contour_length;
    cfg->distractor_length = contour_length / 3;
    cfg->num_distractors = p->distractor_budget / cfg->distractor_length;
    cfg->paddle_length = 2;
    cfg->paddle_thickness = p->thickness;
    memcpy(cfg->margins, p->margins, sizeof cfg->margins);
    cfg->num_margins = p->num_margins;
    cfg->padding = 1;
    cfg->seed_distance = p->seed_distance;
    cfg->marker_radius = p->marker_radius;
    cfg->continuity = p->continuity;
    cfg->contrast = p->contrast;
    cfg->antialias_scale = 2;
    cfg->max_target_retrials = 4;
    cfg->max_distractor_retrials = 4;
    cfg->max_paddle_retrials = 2;
    cfg->stop_availability = 0.01f;
    cfg->single_paddles = false;
    cfg->paddle_contrast = 0.75f;
    cfg->seed = 0;
    return DMX_OK;
}

#define CHECK(cond, ...)                                      \
    do {                                                      \
        if (!(cond))                                          \
            return dmx_fail(DMX_ERR_INVALID_ARG, __VA_ARGS__); \
    } while (0)

dmx_status dmx_pathfinder_check_config(const dmx_pathfinder_config *c)
{
    CHECK(c, "pathfinder: NULL config");
    CHECK(c->resolution >= 16 && c->resolution <= 512, "pathfinder: resolution %d outside 16..512",
          c->resolution);
    CHECK(c->contour_length >= 1 && c->contour_length <= 256,
          "pathfinder: contour_length %d outside 1..256", c->contour_length);
    CHECK(c->num_distractors >= 0 && (c->num_distractors == 0 || c->distractor_length >= 1),
          "pathfinder: %d distractors of length %d", c->num_distractors, c->distractor_length);
    CHECK(c->num_margins >= 1 && c->num_margins <= DMX_PATHFINDER_MAX_MARGINS,
          "pathfinder: %d margins (1..%d)", c->num_margins, DMX_PATHFINDER_MAX_MARGINS);
    CHECK(c->antialias_scale >= 1 && c->antialias_scale <= 8,
          "pathfinder: antialias_scale %d outside 1..8", c->antialias_scale);
    CHECK(c->paddle_length >= 1, "pathfinder: paddle_length %d", c->paddle_length);
    CHECK(c->paddle_thickness > 0 && lroundf(c->paddle_thickness * c->antialias_scale) >= 1,
          "pathfinder: paddle_thickness %g draws no line at antialias_scale %d",
          c->paddle_thickness, c->antialias_scale);
    int widest = 0;
    for (int i = 0; i < c->num_margins; i++) {
        CHECK(c->margins[i] >= 1 && c->margins[i] <= 16, "pathfinder: margin %d outside 1..16",
              c->margins[i]);
        widest = c->margins[i] > widest ? c->margins[i] : widest;
    }
    /* Stamps: a paddle with its margin mask, and a marker, must fit PF_STAMP_SIDE pixels. */
    float paddle_box = (float)c->paddle_length + 2.0f * ((float)widest + c->paddle_thickness) + 2;
    CHECK(paddle_box <= PF_STAMP_SIDE, "pathfinder: paddle_length %d with margin %d is too large",
          c->paddle_length, widest);
    CHECK(c->marker_radius > 0 && 2 * c->marker_radius + 2 <= PF_STAMP_SIDE,
          "pathfinder: marker_radius %g outside (0, %d]", c->marker_radius,
          (PF_STAMP_SIDE - 2) / 2);
    CHECK(c->padding >= 0 && c->seed_distance >= 1 &&
              2 * (c->padding + c->seed_distance) < c->resolution,
          "pathfinder: padding %d and seed_distance %d leave no room in %d pixels", c->padding,
          c->seed_distance, c->resolution);
    CHECK(c->continuity >= 0 && c->contrast > 0 && c->paddle_contrast > 0,
          "pathfinder: continuity %g, contrast %g, paddle_contrast %g", c->continuity,
          c->contrast, c->paddle_contrast);
    CHECK(c->max_target_retrials >= 1 && c->max_distractor_retrials >= 1 &&
              c->max_paddle_retrials >= 1,
          "pathfinder: retrial counts must be at least 1");
    CHECK(c->stop_availability >= 0 && c->stop_availability < 1,
          "pathfinder: stop_availability %g outside [0, 1)", c->stop_availability);
    return DMX_OK;
}

dmx_status dmx_pathfinder_split_name(const dmx_pathfinder_config *cfg, const char *split,
                                     char *buf, size_t cap)
{
    if (!cfg || !split || !buf)
        return dmx_fail(DMX_ERR_INVALID_ARG, "dmx_pathfinder_split_name: NULL argument");
    int n = snprintf(buf, cap, "pathfinder%d_cl%d_%s.pfb", cfg->resolution, cfg->contour_length,
                     split);
    if (n < 0 || (size_t)n >= cap)
        return dmx_fail(DMX_ERR_INVALID_ARG, "dmx_pathfinder_split_name: buffer of %zu bytes", cap);
    return DMX_OK;
}
