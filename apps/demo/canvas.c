#include "canvas.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

bool demo_canvas_init(demo_canvas *cv, int channels, int height, int width)
{
    memset(cv, 0, sizeof *cv);
    if (channels < 1 || height < 1 || width < 1)
        return false;
    cv->pixels = calloc((size_t)channels * (size_t)height * (size_t)width, 1);
    if (!cv->pixels)
        return false;
    cv->channels = channels;
    cv->height = height;
    cv->width = width;
    return true;
}

void demo_canvas_free(demo_canvas *cv)
{
    free(cv->pixels);
    memset(cv, 0, sizeof *cv);
}

void demo_canvas_clear(demo_canvas *cv)
{
    memset(cv->pixels, 0, (size_t)cv->channels * (size_t)cv->height * (size_t)cv->width);
}

void demo_canvas_set(demo_canvas *cv, const uint8_t *image)
{
    memcpy(cv->pixels, image, (size_t)cv->channels * (size_t)cv->height * (size_t)cv->width);
}

/* Distance from point (px, py) to the segment (x0, y0) - (x1, y1). */
static float segment_distance(float px, float py, float x0, float y0, float x1, float y1)
{
    const float dx = x1 - x0, dy = y1 - y0, len2 = dx * dx + dy * dy;
    float t = 0.0f;
    if (len2 > 0.0f) {
        t = ((px - x0) * dx + (py - y0) * dy) / len2;
        t = t < 0.0f ? 0.0f : t > 1.0f ? 1.0f : t;
    }
    const float ex = px - (x0 + t * dx), ey = py - (y0 + t * dy);
    return sqrtf(ex * ex + ey * ey);
}

bool demo_canvas_stroke(demo_canvas *cv, float x0, float y0, float x1, float y1, float radius,
                        bool erase)
{
    if (!(radius > 0.0f))
        return false;
    const float reach = radius + 0.5f;
    const int xa = (int)floorf(fminf(x0, x1) - reach), xb = (int)ceilf(fmaxf(x0, x1) + reach);
    const int ya = (int)floorf(fminf(y0, y1) - reach), yb = (int)ceilf(fmaxf(y0, y1) + reach);
    const size_t plane = (size_t)cv->height * (size_t)cv->width;
    bool changed = false;
    for (int y = ya < 0 ? 0 : ya; y <= yb && y < cv->height; y++) {
        for (int x = xa < 0 ? 0 : xa; x <= xb && x < cv->width; x++) {
            /* The brush covers a pixel by how far its centre lies inside the stroke. */
            const float d = segment_distance((float)x + 0.5f, (float)y + 0.5f, x0, y0, x1, y1);
            float a = reach - d;
            if (a <= 0.0f)
                continue;
            a = a > 1.0f ? 1.0f : a;
            const int v = (int)lroundf(255.0f * (erase ? 1.0f - a : a));
            for (int c = 0; c < cv->channels; c++) {
                uint8_t *p = cv->pixels + (size_t)c * plane + (size_t)y * (size_t)cv->width +
                             (size_t)x;
                if (erase ? v < *p : v > *p) {
                    *p = (uint8_t)v;
                    changed = true;
                }
            }
        }
    }
    return changed;
}
