/* The drawing canvas: an image of the classifier's input shape, uint8 [C, H, W], painted with
 * a round brush whose edge fades over one pixel, so strokes look like the anti-aliased
 * garments of Fashion-MNIST (light shape, black background). Coordinates are in canvas
 * pixels, (0, 0) the top-left corner of the top-left pixel. */
#ifndef DMX_DEMO_CANVAS_H
#define DMX_DEMO_CANVAS_H

#include <stdbool.h>
#include <stdint.h>

typedef struct demo_canvas {
    int channels, height, width;
    uint8_t *pixels; /* [channels, height, width] */
} demo_canvas;

/* false when out of memory or the shape is not positive. */
bool demo_canvas_init(demo_canvas *cv, int channels, int height, int width);
void demo_canvas_free(demo_canvas *cv);
void demo_canvas_clear(demo_canvas *cv);

/* Paints (erase: clears) a stroke from (x0, y0) to (x1, y1) with a brush of `radius` pixels:
 * full intensity inside radius - 0.5, fading linearly to nothing at radius + 0.5. A pixel
 * keeps the brighter (erase: the darker) of its value and the brush's. Returns whether any
 * pixel changed. */
bool demo_canvas_stroke(demo_canvas *cv, float x0, float y0, float x1, float y1, float radius,
                        bool erase);

/* Copies one image [channels, height, width] in. */
void demo_canvas_set(demo_canvas *cv, const uint8_t *image);

#endif
