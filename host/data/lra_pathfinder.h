/* The Pathfinder generator's pieces (host/data/lra_pathfinder_*.c): a canvas with its occupancy
 * mask, shapes stamped with antialiasing, and the snakes made of paddles.
 *
 * Geometry is in pixels of the final image, (0, 0) its top-left corner, pixel (x, y) covering
 * [x, x+1) x [y, y+1). A shape is drawn as snakes2.py does, on a canvas antialias_scale times
 * finer: a fine pixel is lit when its centre lies in the shape. The fine canvas is then reduced
 * with a box filter (the mean of each aa x aa block) where snakes2.py used Lanczos. */
#ifndef DMX_DATA_LRA_PATHFINDER_H
#define DMX_DATA_LRA_PATHFINDER_H

#include <stdbool.h>

#include "data/lra_rng.h"
#include "dimix/lra_data.h"

/* The largest shape: a paddle with its margin, or a marker disc. */
#define PF_STAMP_SIDE 48

/* A shape's coverage (0..1) of the pixels of its bounding box. */
typedef struct pf_stamp {
    int x0, y0, w, h;
    float v[PF_STAMP_SIDE * PF_STAMP_SIDE];
} pf_stamp;

/* A paddle is the segment tail -> head (length paddle_length). A snake's paddles follow each
 * other with gaps of 2 margins: the pivot lies `margin` behind the tail, and the next pivot
 * paddle_length + 2 margins ahead of it. */
typedef struct pf_snake {
    float pivot[2];
    float theta;      /* direction of the last paddle, radians */
    float origin[2];  /* tail of the first paddle */
    float tip[2];     /* head of the last paddle */
    int paddles;
    bool has_pending;
    pf_stamp pending; /* the last paddle's margin mask: not in the occupancy yet, so the
                         next paddle may sit next to it */
} pf_snake;

typedef struct pf_canvas {
    const dmx_pathfinder_config *cfg;
    int size;
    int margin;        /* this image's paddle margin */
    float gain;        /* intensity factor of the strokes being drawn */
    float stroke_radius; /* half the drawn line width: round(thickness * aa) / (2 aa) */
    float *image;      /* [size^2] 0..1 */
    float *occupancy;  /* [size^2] 0..1: the border and the masks of placed paddles */
    int *candidates;   /* [size^2] scratch for seeding */
    pf_snake *snakes;  /* the snakes whose pending masks count as occupied */
    int n_snakes;
    dmx_lra_rng rng;
} pf_canvas;

/* Checks every parameter (lra_pathfinder_config.c). */
dmx_status dmx_pathfinder_check_config(const dmx_pathfinder_config *cfg);

/* ---- drawing (lra_pathfinder_draw.c) ---- */

/* Coverage of the capsule of `radius` around segment a -> b. */
void pf_stamp_capsule(pf_stamp *st, const float a[2], const float b[2], float radius, int aa);
/* Coverage of the disc of `radius` around c. */
void pf_stamp_disc(pf_stamp *st, const float c[2], float radius, int aa);
/* image = max(image, min(1, gain * stamp)) over the stamp's pixels inside the image. */
void pf_draw(float *image, int size, const pf_stamp *st, float gain);
/* occupancy = max(occupancy, stamp). */
void pf_occupy(float *occupancy, int size, const pf_stamp *st);

/* ---- snakes (lra_pathfinder_snakes.c) ---- */

/* Occupancy at pixel (x, y) counting the pending masks of every snake but `except` (NULL: all);
 * 1 outside the image. */
float pf_occupied(const pf_canvas *c, int x, int y, const pf_snake *except);
/* Mean free fraction of the image. */
float pf_free_fraction(const pf_canvas *c);
/* Sets the occupancy to 1 on the border of `width` pixels, 0 inside. */
void pf_reset_occupancy(pf_canvas *c, int width);

/* Lays the first paddle of `s` at orientation `theta` with its tail at a uniformly random
 * pixel centre of [lo, hi) x [lo, hi) where it fits. Returns false if none fits. */
bool pf_seed_anywhere(pf_canvas *c, pf_snake *s, float theta, int lo, int hi);
/* Lays the first paddle of `s` with its tail at `tail`; false if it does not fit. */
bool pf_seed_at(pf_canvas *c, pf_snake *s, const float tail[2], float theta);
/* Adds one paddle to `s` by the curvature rule; false after max_paddle_retrials misses. */
bool pf_extend(pf_canvas *c, pf_snake *s);
/* Moves the snake's pending mask into the occupancy. */
void pf_settle(pf_canvas *c, pf_snake *s);

#endif
