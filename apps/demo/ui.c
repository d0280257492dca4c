#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "demo.h"
#include "dimix/version.h"
#include "font.h"
#include "png.h"

static const SDL_Color BACKGROUND = {24, 26, 31, 255};
static const SDL_Color TEXT = {220, 222, 228, 255};
static const SDL_Color DIM = {130, 134, 144, 255};
static const SDL_Color ACCENT = {255, 176, 64, 255};
static const SDL_Color BAR = {84, 140, 220, 255};
static const SDL_Color BAR_BACK = {44, 48, 58, 255};
static const SDL_Color ROW = {40, 44, 54, 255};
static const SDL_Color GOOD = {110, 210, 120, 255};
static const SDL_Color BAD = {240, 90, 80, 255};

enum { N_GLYPHS = DEMO_LAST_CHAR - DEMO_FIRST_CHAR + 1 };

bool demo_ui_init(demo_app *a)
{
    /* The atlas: glyph g in cell g of one row, opaque white where the font has a pixel. */
    SDL_Surface *s = SDL_CreateRGBSurfaceWithFormat(0, N_GLYPHS * DEMO_CELL_W, DEMO_GLYPH_H, 32,
                                                    SDL_PIXELFORMAT_RGBA8888);
    if (!s)
        return false;
    SDL_FillRect(s, NULL, SDL_MapRGBA(s->format, 255, 255, 255, 0));
    const Uint32 on = SDL_MapRGBA(s->format, 255, 255, 255, 255);
    for (int g = 0; g < N_GLYPHS; g++) {
        const uint8_t *rows = demo_glyph(DEMO_FIRST_CHAR + g);
        for (int y = 0; y < DEMO_GLYPH_H; y++)
            for (int x = 0; x < DEMO_GLYPH_W; x++)
                if (rows[y] & (0x10 >> x)) {
                    SDL_Rect px = {g * DEMO_CELL_W + x, y, 1, 1};
                    SDL_FillRect(s, &px, on);
                }
    }
    a->font = SDL_CreateTextureFromSurface(a->renderer, s);
    SDL_FreeSurface(s);
    if (!a->font)
        return false;
    SDL_SetTextureBlendMode(a->font, SDL_BLENDMODE_BLEND);
    SDL_SetHint(SDL_HINT_RENDER_SCALE_QUALITY, "nearest");
    a->canvas_tex = SDL_CreateTexture(a->renderer, SDL_PIXELFORMAT_RGB24,
                                      SDL_TEXTUREACCESS_STREAMING, a->canvas.width,
                                      a->canvas.height);
    return a->canvas_tex != NULL;
}

void demo_ui_free(demo_app *a)
{
    if (a->canvas_tex)
        SDL_DestroyTexture(a->canvas_tex);
    if (a->font)
        SDL_DestroyTexture(a->font);
    a->canvas_tex = a->font = NULL;
}

int demo_ui_window_height(int devices)
{
    /* table header and rows, the agreement line, the message and two help lines */
    return DEMO_TABLE_Y + DEMO_LINE_H * (devices + 1) + 12 + DEMO_LINE_H * 4 + DEMO_MARGIN;
}

static void color(demo_app *a, SDL_Color c)
{
    SDL_SetRenderDrawColor(a->renderer, c.r, c.g, c.b, c.a);
}

static void fill(demo_app *a, int x, int y, int w, int h, SDL_Color c)
{
    SDL_Rect r = {x, y, w, h};
    color(a, c);
    SDL_RenderFillRect(a->renderer, &r);
}

/* At most `max_chars` characters (0: no limit) of the formatted text at (x, y). */
static void text_fit(demo_app *a, int x, int y, int scale, SDL_Color c, int max_chars,
                     const char *fmt, ...)
{
    char buf[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(buf, sizeof buf, fmt, ap);
    va_end(ap);
    int n = (int)strlen(buf);
    if (max_chars > 0 && n > max_chars) {
        n = max_chars;
        if (n >= 3)
            memcpy(buf + n - 3, "...", 3); /* say that it was cut */
    }
    SDL_SetTextureColorMod(a->font, c.r, c.g, c.b);
    for (int i = 0; i < n; i++) {
        const int ch = (unsigned char)buf[i];
        const int g = (ch < DEMO_FIRST_CHAR || ch > DEMO_LAST_CHAR ? '?' : ch) - DEMO_FIRST_CHAR;
        if (g == 0)
            continue; /* space */
        SDL_Rect src = {g * DEMO_CELL_W, 0, DEMO_GLYPH_W, DEMO_GLYPH_H};
        SDL_Rect dst = {x + i * DEMO_CELL_W * scale, y, DEMO_GLYPH_W * scale,
                        DEMO_GLYPH_H * scale};
        SDL_RenderCopy(a->renderer, a->font, &src, &dst);
    }
}

#define text(a, x, y, c, ...) text_fit(a, x, y, DEMO_TEXT_SCALE, c, 0, __VA_ARGS__)

static const char *label_name(demo_app *a, int label)
{
    if (a->data && a->data->class_names && label >= 0 && label < a->data->num_classes)
        return a->data->class_names[label];
    return demo_engine_class_name(&a->engine, label);
}

static void draw_canvas(demo_app *a)
{
    const demo_canvas *cv = &a->canvas;
    void *pixels;
    int pitch;
    if (SDL_LockTexture(a->canvas_tex, NULL, &pixels, &pitch) == 0) {
        const size_t plane = (size_t)cv->height * (size_t)cv->width;
        for (int y = 0; y < cv->height; y++) {
            uint8_t *row = (uint8_t *)pixels + (size_t)y * (size_t)pitch;
            for (int x = 0; x < cv->width; x++) {
                const size_t at = (size_t)y * (size_t)cv->width + (size_t)x;
                for (int c = 0; c < 3; c++)
                    row[3 * x + c] = cv->pixels[(cv->channels >= 3 ? (size_t)c * plane : 0) + at];
            }
        }
        SDL_UnlockTexture(a->canvas_tex);
    }
    const int w = cv->width * a->zoom, h = cv->height * a->zoom;
    fill(a, DEMO_CANVAS_X - 2, DEMO_CANVAS_Y - 2, w + 4, h + 4, DIM);
    SDL_Rect dst = {DEMO_CANVAS_X, DEMO_CANVAS_Y, w, h};
    SDL_RenderCopy(a->renderer, a->canvas_tex, NULL, &dst);

    int y = DEMO_CANVAS_Y + DEMO_CANVAS_SIZE + 14;
    if (a->image >= 0) {
        const int label = a->data->labels[a->image];
        text(a, DEMO_CANVAS_X, y, a->drawn ? DIM : TEXT, "test image %lld/%lld%s",
             (long long)a->image, (long long)a->data->count, a->drawn ? ", drawn on" : "");
        text_fit(a, DEMO_CANVAS_X, y + DEMO_LINE_H, DEMO_TEXT_SCALE, a->drawn ? DIM : TEXT, 25,
                 "label: %s", label_name(a, label));
    } else {
        text(a, DEMO_CANVAS_X, y, TEXT, "drawing");
    }
    text(a, DEMO_CANVAS_X, y + 2 * DEMO_LINE_H, DIM, "brush %.2f px", (double)a->brush);
}

static void draw_top5(demo_app *a)
{
    const demo_slot *s = &a->engine.slots[a->active];
    const int x = DEMO_PANEL_X, bar_x = x + 15 * DEMO_CHAR_W, bar_w = 380;
    text(a, x, DEMO_CANVAS_Y, TEXT, "top %d on %s", DEMO_TOP_K, s->info.name);
    const bool current = s->generation == a->generation && a->generation;
    for (int j = 0; j < DEMO_TOP_K; j++) {
        const int y = DEMO_CANVAS_Y + 34 + j * 30;
        fill(a, bar_x, y, bar_w, DEMO_LINE_H - 2, BAR_BACK);
        if (!current || j >= s->top_n)
            continue;
        const float p = s->top_p[j];
        const SDL_Color c = j == 0 ? ACCENT : BAR;
        text_fit(a, x, y + 1, DEMO_TEXT_SCALE, j == 0 ? ACCENT : TEXT, 14, "%s",
                 demo_engine_class_name(&a->engine, s->top[j]));
        fill(a, bar_x, y, (int)(p * (float)bar_w + 0.5f), DEMO_LINE_H - 2, c);
        text(a, bar_x + bar_w + 8, y + 1, TEXT, "%5.1f%%", (double)(100.0f * p));
    }
    if (!current)
        text(a, x, DEMO_CANVAS_Y + 34, BAD, "%s", s->error[0] ? "failed (see table)" : "...");

    const dmx_classifier_info *in = &a->engine.info;
    int y = DEMO_CANVAS_Y + 34 + DEMO_TOP_K * 30 + 16;
    text_fit(a, x, y, DEMO_TEXT_SCALE, DIM, 53, "model %s, %dx%dx%d, %d classes", in->family,
             in->channels, in->height, in->width, in->classes);
    text(a, x, y + DEMO_LINE_H, DIM, "%lld parameters, %.1f KiB of weights",
         (long long)in->parameters, (double)in->weight_bytes / 1024.0);
    if (s->latency_count)
        text(a, x, y + 2 * DEMO_LINE_H, DIM, "%.3f ms per image on %s (mean of %d)",
             demo_slot_latency(s), s->info.name, s->latency_count);
    text_fit(a, x, y + 3 * DEMO_LINE_H, DEMO_TEXT_SCALE, DIM, 53, "%s", a->data_note);
}

static void draw_table(demo_app *a)
{
    const demo_engine *e = &a->engine;
    const int x = DEMO_MARGIN, cw = DEMO_CHAR_W;
    /* columns, in characters from x */
    enum { KEY = 0, NAME = 2, LAT = 11, TOP = 21, PROB = 34, DIFF = 40, DESC = 49 };
    const int desc_x = x + DESC * cw, desc_chars = (DEMO_WINDOW_W - DEMO_MARGIN - desc_x) / 6;
    int y = DEMO_TABLE_Y;
    text(a, x + KEY * cw, y, DIM, "#");
    text(a, x + NAME * cw, y, DIM, "device");
    text(a, x + LAT * cw, y, DIM, "ms/image");
    text(a, x + TOP * cw, y, DIM, "top-1");
    text(a, x + PROB * cw, y, DIM, "p");
    text(a, x + DIFF * cw, y, DIM, "max|dp|");
    text(a, desc_x, y, DIM, "driver");
    for (int k = 0; k < e->n; k++) {
        const demo_slot *s = &e->slots[k];
        y += DEMO_LINE_H;
        if (k == a->active)
            fill(a, x - 6, y - 3, DEMO_WINDOW_W - 2 * DEMO_MARGIN + 12, DEMO_LINE_H, ROW);
        const SDL_Color c = k == a->active ? ACCENT : TEXT;
        if (k < 9)
            text(a, x + KEY * cw, y, DIM, "%d", k + 1);
        text(a, x + NAME * cw, y, c, "%s", s->info.name);
        text_fit(a, desc_x, y + 4, 1, DIM, desc_chars, "%s", s->info.description);
        if (s->error[0]) {
            text_fit(a, x + LAT * cw, y + 4, 1, BAD, (desc_x - x - LAT * cw) / 6 - 1, "%s",
                     s->error);
            continue;
        }
        if (!s->clf) {
            text(a, x + LAT * cw, y, DIM, "not open (key %d or A)", k + 1);
            continue;
        }
        if (s->latency_count)
            text(a, x + LAT * cw, y, c, "%8.3f", demo_slot_latency(s));
        if (s->generation != a->generation || !a->generation || s->top_n < 1) {
            text(a, x + TOP * cw, y, DIM, "...");
            continue;
        }
        text_fit(a, x + TOP * cw, y, DEMO_TEXT_SCALE, c, 12, "%s",
                 demo_engine_class_name(e, s->top[0]));
        text(a, x + PROB * cw, y, c, "%.3f", (double)s->top_p[0]);
        const demo_slot *ref = &e->slots[a->active];
        if (k == a->active)
            text(a, x + DIFF * cw, y, DIM, "shown");
        else if (ref->generation == a->generation)
            text(a, x + DIFF * cw, y, c, "%.1e", (double)demo_slot_diff(e, k, a->active));
    }
    y += DEMO_LINE_H + 12;
    const demo_agreement ag = demo_engine_compare(e, a->active, a->generation);
    if (ag.devices >= 2)
        text(a, x, y, ag.same_top1 ? GOOD : BAD, "%s %d devices %s on top-1; max |dp| %.1e",
             ag.same_top1 ? "all" : "the", ag.devices, ag.same_top1 ? "agree" : "DISAGREE",
             (double)ag.max_diff);
    else
        text(a, x, y, DIM, "one device has a result: nothing to compare (A opens all)");
}

void demo_ui_render(demo_app *a, const char *busy)
{
    color(a, BACKGROUND);
    SDL_RenderClear(a->renderer);
    text(a, DEMO_MARGIN, 14, TEXT, "dimix %s demo", dmx_version());
    text_fit(a, DEMO_MARGIN + 18 * DEMO_CHAR_W, 14, DEMO_TEXT_SCALE, DIM, 60, "%s",
             a->engine.ckpt);
    if (a->canvas.pixels) {
        draw_canvas(a);
        if (a->engine.have_info && a->active >= 0)
            draw_top5(a);
        draw_table(a);
    }
    const int y = a->height - DEMO_MARGIN - 3 * DEMO_LINE_H;
    if (busy)
        text(a, DEMO_MARGIN, y, ACCENT, "%s", busy);
    else
        text_fit(a, DEMO_MARGIN, y, DEMO_TEXT_SCALE, DIM, 80, "%s", a->message);
    text(a, DEMO_MARGIN, y + DEMO_LINE_H, DIM,
         "mouse: draw (right: erase)  C: clear  [ ]: brush  <- ->: test image");
    text(a, DEMO_MARGIN, y + 2 * DEMO_LINE_H, DIM,
         "1-9, Tab: device  A: open all devices  S: screenshot  Q: quit");
    if (a->screenshot) {
        const char *path = a->screenshot;
        a->screenshot = NULL;
        if (demo_ui_save(a, path)) {
            snprintf(a->message, sizeof a->message, "saved %s", path);
            if (a->print_prediction)
                printf("screenshot\tfile=%s\twidth=%d\theight=%d\n", path, a->width, a->height);
        } else {
            snprintf(a->message, sizeof a->message, "screenshot %s failed: %s", path,
                     SDL_GetError());
            fprintf(stderr, "dimix-demo: %s\n", a->message);
        }
        fflush(stdout);
    }
    SDL_RenderPresent(a->renderer);
}

static bool ends_with(const char *s, const char *tail)
{
    const size_t n = strlen(s), m = strlen(tail);
    return n >= m && SDL_strcasecmp(s + n - m, tail) == 0;
}

bool demo_ui_save(demo_app *a, const char *path)
{
    SDL_Surface *s = SDL_CreateRGBSurfaceWithFormat(0, a->width, a->height, 24,
                                                    SDL_PIXELFORMAT_RGB24);
    if (!s)
        return false;
    bool ok = SDL_RenderReadPixels(a->renderer, NULL, SDL_PIXELFORMAT_RGB24, s->pixels,
                                   s->pitch) == 0;
    if (ok && ends_with(path, ".png")) {
        ok = demo_write_png(path, s->w, s->h, s->pixels, s->pitch);
        if (!ok)
            SDL_SetError("cannot write %s", path);
    } else if (ok) {
        ok = SDL_SaveBMP(s, path) == 0;
    }
    SDL_FreeSurface(s);
    return ok;
}
