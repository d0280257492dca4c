/* dimix-demo: a desktop window that classifies a drawing or a Fashion-MNIST test image live,
 * on every device dimix finds, with each device's latency and whether they agree. It uses only
 * the public API (dimix/device.h, dimix/infer.h, dimix/data.h, dimix/version.h) and SDL2;
 * docs/demo.md says how to run it. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "demo.h"
#include "dimix/version.h"
#include "script.h"

#define DEFAULT_CKPT "runs/quickstart/checkpoint.safetensors"
#define DEFAULT_DATA "/usr/share/datasets/fashion-mnist"

typedef struct demo_options {
    const char *ckpt, *data, *device, *script;
    bool print_prediction, lazy, software;
} demo_options;

static void usage(FILE *out)
{
    fprintf(out,
            "usage: dimix-demo [--ckpt FILE] [--data DIR] [--device NAME] [options]\n\n"
            "A window that classifies what you draw, or Fashion-MNIST test images, live on\n"
            "every dimix device, with each device's latency and whether they agree.\n\n"
            "  --ckpt FILE          a checkpoint (dimix train) or exported weights\n"
            "                       (default " DEFAULT_CKPT ")\n"
            "  --data DIR           test images to step through: a directory dimix reads\n"
            "                       (IDX, CIFAR) or 'synthetic' (default " DEFAULT_DATA ")\n"
            "  --device NAME        the device shown first (default: $DIMIX_DEVICE, else the\n"
            "                       first GPU, else cpu)\n"
            "  --lazy               open a device only when it is chosen (default: all at start)\n"
            "  --software           SDL's software renderer (what Xvfb has)\n"
            "  --script CMDS        carry out comma-separated commands, one per frame:\n"
            "                       next prev image:N clear draw:X:Y:X:Y... erase:X:Y...\n"
            "                       brush:R device:NAME tab screenshot:FILE(.bmp|.png)\n"
            "                       wait:MS quit\n"
            "  --print-prediction   print what the window shows to stdout, one line per change:\n"
            "                       prediction<TAB>device=..<TAB>source=..<TAB>class=K<TAB>\n"
            "                       p=..<TAB>name=..; device and agreement lines per comparison\n"
            "  --version, --help\n\n"
            "Keys: mouse draws (right button erases), C clears, [ and ] size the brush, left and\n"
            "right arrows step through test images (up and down by 100), 1-9 or Tab choose the\n"
            "device, A opens every device, S saves a screenshot, Q or Esc quits.\n");
}

static int parse_options(int argc, char **argv, demo_options *o)
{
    *o = (demo_options){.ckpt = DEFAULT_CKPT, .data = DEFAULT_DATA};
    for (int i = 1; i < argc; i++) {
        const char *k = argv[i];
        const char **value = strcmp(k, "--ckpt") == 0     ? &o->ckpt
                             : strcmp(k, "--data") == 0   ? &o->data
                             : strcmp(k, "--device") == 0 ? &o->device
                             : strcmp(k, "--script") == 0 ? &o->script
                                                          : NULL;
        if (value) {
            if (i + 1 >= argc) {
                fprintf(stderr, "dimix-demo: %s needs a value\n", k);
                return 2;
            }
            *value = argv[++i];
        } else if (strcmp(k, "--print-prediction") == 0) {
            o->print_prediction = true;
        } else if (strcmp(k, "--lazy") == 0) {
            o->lazy = true;
        } else if (strcmp(k, "--software") == 0) {
            o->software = true;
        } else if (strcmp(k, "--help") == 0 || strcmp(k, "-h") == 0) {
            usage(stdout);
            return 0;
        } else if (strcmp(k, "--version") == 0) {
            printf("dimix-demo %d.%d.%d (library %s)\n", DIMIX_VERSION_MAJOR, DIMIX_VERSION_MINOR,
                   DIMIX_VERSION_PATCH, dmx_version());
            return 0;
        } else {
            fprintf(stderr, "dimix-demo: unknown option '%s' (try --help)\n", k);
            return 2;
        }
    }
    return -1;
}

/* The slot shown first: --device, else $DIMIX_DEVICE, else the first GPU, else cpu. */
static int initial_slot(const demo_engine *e, const char *name)
{
    if (!name || !*name)
        name = getenv("DIMIX_DEVICE");
    if (name && *name && strcmp(name, "auto") != 0)
        return demo_engine_find(e, name);
    for (int k = 0; k < e->n; k++)
        if (e->slots[k].info.type == DMX_DEVICE_GPU || e->slots[k].info.type == DMX_DEVICE_IGPU)
            return k;
    const int cpu = demo_engine_find(e, "cpu");
    return cpu >= 0 ? cpu : 0;
}

static void source_text(const demo_app *a, char *buf, size_t size)
{
    if (a->image >= 0)
        snprintf(buf, size, "%s:%lld", a->drawn ? "drawn-on-test" : "test", (long long)a->image);
    else
        snprintf(buf, size, "drawing");
}

/* --print-prediction: the shown top-1, once per (canvas contents, device). */
static void print_shown(demo_app *a)
{
    const demo_slot *s = &a->engine.slots[a->active];
    if (!a->print_prediction || s->generation != a->generation || s->top_n < 1 ||
        (a->printed_generation == a->generation && a->printed_active == a->active))
        return;
    char source[64];
    source_text(a, source, sizeof source);
    printf("prediction\tdevice=%s\tsource=%s\tclass=%d\tp=%.6f\tname=%s\n", s->info.name, source,
           s->top[0], (double)s->top_p[0], demo_engine_class_name(&a->engine, s->top[0]));
    fflush(stdout);
    a->printed_generation = a->generation;
    a->printed_active = a->active;
}

/* Runs the canvas on the shown device, if it has no result for it yet. */
static void run_active(demo_app *a)
{
    demo_slot *s = &a->engine.slots[a->active];
    if (s->generation != a->generation)
        demo_engine_run(&a->engine, a->active, a->canvas.pixels, a->generation);
    print_shown(a);
}

/* Runs the canvas on every open device and compares them with the shown one. */
static void run_all(demo_app *a)
{
    run_active(a);
    demo_engine *e = &a->engine;
    for (int k = 0; k < e->n; k++)
        if (e->slots[k].clf && e->slots[k].generation != a->generation)
            demo_engine_run(e, k, a->canvas.pixels, a->generation);
    if (!a->print_prediction)
        return;
    for (int k = 0; k < e->n; k++) {
        const demo_slot *s = &e->slots[k];
        if (s->generation != a->generation || s->top_n < 1)
            continue;
        printf("device\tname=%s\tclass=%d\tp=%.6f\tms=%.3f\tdiff=%.3g\n", s->info.name, s->top[0],
               (double)s->top_p[0], demo_slot_latency(s), (double)demo_slot_diff(e, k, a->active));
    }
    const demo_agreement ag = demo_engine_compare(e, a->active, a->generation);
    printf("agreement\tdevices=%d\tsame_top1=%s\tmax_diff=%.3g\n", ag.devices,
           ag.same_top1 ? "yes" : "no", (double)ag.max_diff);
    fflush(stdout);
}

/* The canvas changed: a new generation. `settled`: every device runs it, else only the shown
 * one (while a stroke goes on). */
static void changed(demo_app *a, bool settled)
{
    a->generation++;
    if (settled)
        run_all(a);
    else
        run_active(a);
}

static void show_image(demo_app *a, int64_t index)
{
    if (!a->data) {
        snprintf(a->message, sizeof a->message, "no test images: %.200s", a->data_note);
        return;
    }
    const int64_t n = a->data->count;
    index = ((index % n) + n) % n;
    const size_t size = (size_t)a->canvas.channels * (size_t)a->canvas.height *
                        (size_t)a->canvas.width;
    demo_canvas_set(&a->canvas, a->data->pixels + (size_t)index * size);
    a->image = index;
    a->drawn = false;
    changed(a, true);
}

static void clear_canvas(demo_app *a)
{
    demo_canvas_clear(&a->canvas);
    a->image = -1;
    a->drawn = false;
    changed(a, true);
}

/* Opens slot k (showing a note while drivers compile) and shows it. */
static void choose_device(demo_app *a, int k)
{
    demo_engine *e = &a->engine;
    if (k < 0 || k >= e->n)
        return;
    if (!e->slots[k].tried) {
        char busy[96];
        snprintf(busy, sizeof busy, "opening %s ...", e->slots[k].info.name);
        demo_ui_render(a, busy);
    }
    if (!demo_engine_open(e, k)) {
        snprintf(a->message, sizeof a->message, "%s: %s", e->slots[k].info.name,
                 e->slots[k].error);
        return;
    }
    a->active = k;
    a->message[0] = '\0';
    run_all(a);
}

static void open_all(demo_app *a)
{
    demo_engine *e = &a->engine;
    for (int k = 0; k < e->n; k++) {
        if (e->slots[k].tried)
            continue;
        char busy[96];
        snprintf(busy, sizeof busy, "opening %s (%d of %d) ...", e->slots[k].info.name, k + 1,
                 e->n);
        demo_ui_render(a, busy);
        demo_engine_open(e, k);
    }
    run_all(a);
}

static void stroke_to(demo_app *a, float x, float y)
{
    if (demo_canvas_stroke(&a->canvas, a->stroke_x, a->stroke_y, x, y, a->brush,
                           a->stroke_erase)) {
        a->drawn = true;
        a->generation++; /* run once per frame, after the events (main loop) */
    }
    a->stroke_x = x;
    a->stroke_y = y;
}

static void take_screenshot(demo_app *a, const char *path)
{
    static char name[64];
    if (!path) {
        snprintf(name, sizeof name, "dimix-demo-%d.png", ++a->screenshots);
        path = name;
    }
    a->screenshot = path; /* taken from the next frame, before it is presented */
}

static void on_key(demo_app *a, const SDL_KeyboardEvent *k)
{
    const SDL_Keycode key = k->keysym.sym;
    if (key == SDLK_ESCAPE || key == SDLK_q) {
        a->quit = true;
    } else if (key == SDLK_c || key == SDLK_BACKSPACE || key == SDLK_DELETE) {
        clear_canvas(a);
    } else if (key == SDLK_RIGHT || key == SDLK_LEFT || key == SDLK_UP || key == SDLK_DOWN) {
        const int64_t step = key == SDLK_RIGHT ? 1 : key == SDLK_LEFT ? -1 : key == SDLK_UP ? 100
                                                                                           : -100;
        show_image(a, a->image < 0 ? (step > 0 ? 0 : -1) : a->image + step);
    } else if (key == SDLK_LEFTBRACKET || key == SDLK_RIGHTBRACKET) {
        a->brush += key == SDLK_LEFTBRACKET ? -0.25f : 0.25f;
        a->brush = a->brush < 0.5f ? 0.5f : a->brush > 5.0f ? 5.0f : a->brush;
    } else if (key >= SDLK_1 && key <= SDLK_9) {
        choose_device(a, (int)(key - SDLK_1));
    } else if (key == SDLK_TAB) {
        const int n = a->engine.n, dir = (k->keysym.mod & KMOD_SHIFT) ? -1 : 1;
        choose_device(a, ((a->active + dir) % n + n) % n);
    } else if (key == SDLK_a) {
        open_all(a);
    } else if (key == SDLK_s) {
        take_screenshot(a, NULL);
    }
}

static bool canvas_point(const demo_app *a, int wx, int wy, float *x, float *y)
{
    *x = (float)(wx - DEMO_CANVAS_X) / (float)a->zoom;
    *y = (float)(wy - DEMO_CANVAS_Y) / (float)a->zoom;
    return *x >= 0.0f && *y >= 0.0f && *x < (float)a->canvas.width &&
           *y < (float)a->canvas.height;
}

static void on_event(demo_app *a, const SDL_Event *ev)
{
    float x, y;
    switch (ev->type) {
    case SDL_QUIT:
        a->quit = true;
        break;
    case SDL_KEYDOWN:
        on_key(a, &ev->key);
        break;
    case SDL_MOUSEBUTTONDOWN:
        if ((ev->button.button == SDL_BUTTON_LEFT || ev->button.button == SDL_BUTTON_RIGHT) &&
            canvas_point(a, ev->button.x, ev->button.y, &x, &y)) {
            a->stroke_on = true;
            a->stroke_erase = ev->button.button == SDL_BUTTON_RIGHT;
            a->stroke_x = x;
            a->stroke_y = y;
            stroke_to(a, x, y);
        }
        break;
    case SDL_MOUSEMOTION:
        if (a->stroke_on) {
            canvas_point(a, ev->motion.x, ev->motion.y, &x, &y);
            stroke_to(a, x, y);
        }
        break;
    case SDL_MOUSEBUTTONUP:
        if (a->stroke_on) {
            a->stroke_on = false;
            run_all(a); /* the stroke is done: compare every device */
        }
        break;
    default:
        break;
    }
}

/* Carries out one script command; returns the milliseconds to wait after it. */
static long run_command(demo_app *a, const demo_command *c)
{
    switch (c->op) {
    case DEMO_OP_NEXT:
        show_image(a, a->image < 0 ? 0 : a->image + 1);
        break;
    case DEMO_OP_PREV:
        show_image(a, a->image < 0 ? -1 : a->image - 1);
        break;
    case DEMO_OP_IMAGE:
        show_image(a, c->number);
        break;
    case DEMO_OP_CLEAR:
        clear_canvas(a);
        break;
    case DEMO_OP_DRAW:
    case DEMO_OP_ERASE:
        a->stroke_erase = c->op == DEMO_OP_ERASE;
        a->stroke_x = c->xy[0];
        a->stroke_y = c->xy[1];
        for (int j = 0; j < c->points; j++)
            stroke_to(a, c->xy[2 * j], c->xy[2 * j + 1]);
        run_all(a);
        break;
    case DEMO_OP_BRUSH:
        a->brush = c->value;
        break;
    case DEMO_OP_DEVICE: {
        const int k = demo_engine_find(&a->engine, c->text);
        if (k < 0) {
            snprintf(a->message, sizeof a->message, "no device %.200s", c->text);
            fprintf(stderr, "dimix-demo: script: no device %s\n", c->text);
        } else {
            choose_device(a, k);
            if (a->active != k)
                fprintf(stderr, "dimix-demo: script: %s\n", a->message);
        }
        break;
    }
    case DEMO_OP_TAB:
        choose_device(a, (a->active + 1) % a->engine.n);
        break;
    case DEMO_OP_SCREENSHOT:
        take_screenshot(a, c->text);
        break;
    case DEMO_OP_WAIT:
        return c->number;
    case DEMO_OP_QUIT:
        a->quit = true;
        break;
    }
    return 0;
}

/* Loads the test images, if they fit the classifier's input. */
static void load_data(demo_app *a, const char *dir)
{
    const dmx_classifier_info *in = &a->engine.info;
    dmx_image_dataset *ds = NULL;
    dmx_status st;
    if (strcmp(dir, "synthetic") == 0) {
        /* the synthetic set `dimix train --data synthetic:...` draws from (seed 1234) */
        dmx_synthetic_options so = {.count = 256, .channels = in->channels,
                                    .height = in->height, .width = in->width,
                                    .num_classes = in->classes, .seed = 1234,
                                    .split = DMX_SPLIT_TEST, .noise = 40.0f};
        st = dmx_synthetic_images(&so, &ds);
    } else {
        dmx_image_load_options lo = {.split = DMX_SPLIT_TEST};
        st = dmx_image_dataset_open(dir, &lo, &ds);
    }
    if (st != DMX_OK) {
        snprintf(a->data_note, sizeof a->data_note, "no test images (%s)", dmx_last_error());
        fprintf(stderr, "dimix-demo: --data %s: %s\n", dir, dmx_last_error());
        return;
    }
    if (ds->channels != in->channels || ds->height != in->height || ds->width != in->width ||
        ds->count < 1) {
        snprintf(a->data_note, sizeof a->data_note, "%s is %dx%dx%d, the model takes %dx%dx%d",
                 ds->name, ds->channels, ds->height, ds->width, in->channels, in->height,
                 in->width);
        fprintf(stderr, "dimix-demo: --data %s: %s\n", dir, a->data_note);
        dmx_image_dataset_free(ds);
        return;
    }
    a->data = ds;
    snprintf(a->data_note, sizeof a->data_note, "%s test split, %lld images", ds->name,
             (long long)ds->count);
}

static int run(const demo_options *o, demo_app *a, demo_script *script)
{
    demo_engine *e = &a->engine;
    if (!demo_engine_init(e, o->ckpt)) {
        fprintf(stderr, "dimix-demo: no device found\n");
        return 1;
    }
    a->active = initial_slot(e, o->device);
    if (a->active < 0) {
        fprintf(stderr, "dimix-demo: no device '%s'; found:", o->device ? o->device : "");
        for (int k = 0; k < e->n; k++)
            fprintf(stderr, " %s", e->slots[k].info.name);
        fprintf(stderr, "\n");
        return 2;
    }
    if (!demo_engine_open(e, a->active)) {
        fprintf(stderr, "dimix-demo: %s on %s: %s\n", o->ckpt, e->slots[a->active].info.name,
                e->slots[a->active].error);
        return 1;
    }
    const dmx_classifier_info *in = &e->info;
    if (!demo_canvas_init(&a->canvas, in->channels, in->height, in->width)) {
        fprintf(stderr, "dimix-demo: no memory for a %dx%dx%d canvas\n", in->channels,
                in->height, in->width);
        return 1;
    }
    const int side = in->height > in->width ? in->height : in->width;
    a->zoom = side >= DEMO_CANVAS_SIZE ? 1 : DEMO_CANVAS_SIZE / side;
    a->brush = 1.25f;
    a->image = -1;
    load_data(a, o->data);

    if (SDL_Init(SDL_INIT_VIDEO) != 0) {
        fprintf(stderr, "dimix-demo: SDL: %s\n", SDL_GetError());
        return 1;
    }
    int rc = 1;
    a->window = SDL_CreateWindow("dimix demo", SDL_WINDOWPOS_CENTERED, SDL_WINDOWPOS_CENTERED,
                                 DEMO_WINDOW_W, demo_ui_window_height(e->n), 0);
    if (a->window) {
        a->renderer = SDL_CreateRenderer(a->window, -1, o->software ? SDL_RENDERER_SOFTWARE : 0);
        if (!a->renderer && !o->software)
            a->renderer = SDL_CreateRenderer(a->window, -1, SDL_RENDERER_SOFTWARE);
    }
    if (!a->renderer || SDL_GetRendererOutputSize(a->renderer, &a->width, &a->height) != 0 ||
        !demo_ui_init(a)) {
        fprintf(stderr, "dimix-demo: SDL window: %s\n", SDL_GetError());
        goto done;
    }
    if (a->print_prediction) {
        printf("window\twidth=%d\theight=%d\n", a->width, a->height);
        fflush(stdout);
    }

    if (a->data)
        show_image(a, 0);
    else
        changed(a, true);
    if (!o->lazy)
        open_all(a);

    Uint32 wait_until = 0;
    while (!a->quit) {
        SDL_Event ev;
        const bool scripted = script->next < script->count;
        if (scripted || a->stroke_on) {
            while (SDL_PollEvent(&ev))
                on_event(a, &ev);
        } else if (SDL_WaitEventTimeout(&ev, 250)) {
            on_event(a, &ev);
            while (!a->quit && SDL_PollEvent(&ev))
                on_event(a, &ev);
        }
        if (a->stroke_on)
            run_active(a); /* once per frame however many motion events came */
        if (scripted && !a->quit && SDL_TICKS_PASSED(SDL_GetTicks(), wait_until)) {
            const long ms = run_command(a, &script->commands[script->next++]);
            wait_until = SDL_GetTicks() + (Uint32)ms;
        }
        demo_ui_render(a, NULL);
        if (a->stroke_on || scripted)
            SDL_Delay(5);
    }
    rc = 0;
done:
    demo_ui_free(a);
    if (a->renderer)
        SDL_DestroyRenderer(a->renderer);
    if (a->window)
        SDL_DestroyWindow(a->window);
    SDL_Quit();
    return rc;
}

int main(int argc, char **argv)
{
    demo_options o;
    int rc = parse_options(argc, argv, &o);
    if (rc >= 0)
        return rc;
    demo_script script = {0};
    if (o.script) {
        char error[512];
        if (!demo_script_parse(o.script, &script, error, sizeof error)) {
            fprintf(stderr, "dimix-demo: --script: %s\n", error);
            return 2;
        }
    }
    demo_app app;
    memset(&app, 0, sizeof app);
    app.print_prediction = o.print_prediction;
    app.printed_active = -1;
    rc = run(&o, &app, &script);
    demo_script_free(&script);
    demo_canvas_free(&app.canvas);
    dmx_image_dataset_free(app.data);
    demo_engine_free(&app.engine);
    return rc;
}
