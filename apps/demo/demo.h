/* dimix-demo: the window's state, shared by the event loop (main.c) and the drawing of a frame
 * (ui.c). */
#ifndef DMX_DEMO_H
#define DMX_DEMO_H

#include <SDL.h>
#include <stdbool.h>
#include <stdint.h>

#include "canvas.h"
#include "dimix/data.h"
#include "engine.h"

/* Layout, in window pixels. Text is the 5 x 8 font at twice its size: cells of 12 x 18. */
#define DEMO_TEXT_SCALE 2
#define DEMO_CHAR_W (DEMO_CELL_W * DEMO_TEXT_SCALE)
#define DEMO_LINE_H (DEMO_CELL_H * DEMO_TEXT_SCALE)
#define DEMO_MARGIN 20
#define DEMO_CANVAS_X DEMO_MARGIN
#define DEMO_CANVAS_Y 48
#define DEMO_CANVAS_SIZE 280
#define DEMO_PANEL_X 340
#define DEMO_TABLE_Y 420
#define DEMO_WINDOW_W 1000

typedef struct demo_app {
    SDL_Window *window;
    SDL_Renderer *renderer;
    SDL_Texture *font;          /* every glyph, white on transparent, tinted per draw */
    SDL_Texture *canvas_tex;    /* the canvas, RGB, drawn enlarged without smoothing */
    int width, height;          /* the renderer's output size */

    demo_engine engine;
    int active;                 /* the slot whose prediction is shown */

    demo_canvas canvas;
    int zoom;                   /* window pixels per canvas pixel */
    float brush;                /* radius in canvas pixels */
    bool stroke_on, stroke_erase;
    float stroke_x, stroke_y;   /* the stroke's last point (canvas pixels) */

    dmx_image_dataset *data;    /* the test split, or NULL */
    char data_note[240];        /* what was loaded, or why nothing */
    int64_t image;              /* the test image the canvas started from; -1 for none */
    bool drawn;                 /* the canvas was drawn on since */

    uint64_t generation;        /* counts the canvas contents; each slot's result is tagged */
    uint64_t printed_generation;
    int printed_active;
    bool print_prediction;      /* --print-prediction: what is shown, on stdout */

    char message[240];          /* the last action's outcome (screenshot saved, errors) */
    const char *screenshot;     /* take one of the next frame into this file */
    int screenshots;
    bool quit;
} demo_app;

bool demo_ui_init(demo_app *a);
void demo_ui_free(demo_app *a);
/* Draws a frame; `busy` (may be NULL) replaces the help line, e.g. "opening vulkan:0 ...".
 * Takes the pending screenshot, if any, before presenting. */
void demo_ui_render(demo_app *a, const char *busy);

/* Window height for `devices` table rows. */
int demo_ui_window_height(int devices);

/* Saves the renderer's current back buffer (.png through the built-in writer, else BMP). */
bool demo_ui_save(demo_app *a, const char *path);

#endif
