#include "engine.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "dimix/status.h"

static double now_ms(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec * 1e3 + (double)t.tv_nsec * 1e-6;
}

static void set_error(demo_slot *s, const char *what, dmx_status st)
{
    const char *detail = dmx_last_error();
    snprintf(s->error, sizeof s->error, "%s: %s%s%s", what, dmx_status_name(st),
             *detail ? ": " : "", detail);
}

bool demo_engine_init(demo_engine *e, const char *ckpt)
{
    memset(e, 0, sizeof *e);
    snprintf(e->ckpt, sizeof e->ckpt, "%s", ckpt);
    const int n = dmx_device_count();
    if (n <= 0)
        return false;
    e->slots = calloc((size_t)n, sizeof *e->slots);
    if (!e->slots)
        return false;
    for (int k = 0; k < n; k++) {
        demo_slot *s = &e->slots[e->n];
        if (dmx_device_get_info(k, &s->info) == DMX_OK)
            e->n++;
    }
    return e->n > 0;
}

void demo_engine_free(demo_engine *e)
{
    for (int k = 0; k < e->n; k++) {
        demo_slot *s = &e->slots[k];
        dmx_classifier_close(s->clf); /* before its device: the classifier does not own it */
        if (s->dev)
            dmx_device_close(s->dev);
        free(s->probs);
    }
    free(e->slots);
    memset(e, 0, sizeof *e);
}

int demo_engine_find(const demo_engine *e, const char *name)
{
    for (int k = 0; k < e->n; k++)
        if (strcmp(e->slots[k].info.name, name) == 0)
            return k;
    return -1;
}

static void close_slot(demo_slot *s)
{
    dmx_classifier_close(s->clf);
    s->clf = NULL;
    if (s->dev)
        dmx_device_close(s->dev);
    s->dev = NULL;
}

bool demo_engine_open(demo_engine *e, int k)
{
    if (k < 0 || k >= e->n)
        return false;
    demo_slot *s = &e->slots[k];
    if (s->tried)
        return s->clf != NULL;
    s->tried = true;
    dmx_status st = dmx_device_open(s->info.name, &s->dev);
    if (st != DMX_OK) {
        s->dev = NULL;
        set_error(s, "device", st);
        return false;
    }
    st = dmx_classifier_open(e->ckpt, s->dev, &s->clf);
    if (st != DMX_OK) {
        s->clf = NULL;
        set_error(s, "classifier", st);
        close_slot(s);
        return false;
    }
    dmx_classifier_info info;
    st = dmx_classifier_info_get(s->clf, &info);
    if (st != DMX_OK) {
        set_error(s, "classifier info", st);
        close_slot(s);
        return false;
    }
    if (!e->have_info) {
        e->info = info;
        e->have_info = true;
    } else if (info.channels != e->info.channels || info.height != e->info.height ||
               info.width != e->info.width || info.classes != e->info.classes) {
        snprintf(s->error, sizeof s->error, "the classifier has another shape on this device");
        close_slot(s);
        return false;
    }
    s->probs = calloc((size_t)info.classes, sizeof *s->probs);
    const size_t pixels = (size_t)info.channels * (size_t)info.height * (size_t)info.width;
    uint8_t *blank = calloc(pixels, 1);
    if (!s->probs || !blank) {
        free(blank);
        snprintf(s->error, sizeof s->error, "out of memory");
        close_slot(s);
        return false;
    }
    st = dmx_classifier_run(s->clf, 1, DMX_PIXELS_U8, DMX_LAYOUT_NCHW, blank, NULL, s->probs);
    free(blank);
    if (st != DMX_OK) {
        set_error(s, "warm-up run", st);
        close_slot(s);
        return false;
    }
    return true;
}

bool demo_engine_run(demo_engine *e, int k, const uint8_t *image, uint64_t generation)
{
    if (!demo_engine_open(e, k))
        return false;
    demo_slot *s = &e->slots[k];
    const double t0 = now_ms();
    dmx_status st = dmx_classifier_run(s->clf, 1, DMX_PIXELS_U8, DMX_LAYOUT_NCHW, image, NULL,
                                       s->probs);
    const double ms = now_ms() - t0;
    if (st != DMX_OK) {
        set_error(s, "run", st);
        s->generation = 0;
        return false;
    }
    s->error[0] = '\0';
    s->latency_ms[s->latency_next] = ms;
    s->latency_next = (s->latency_next + 1) % DEMO_LATENCY_WINDOW;
    if (s->latency_count < DEMO_LATENCY_WINDOW)
        s->latency_count++;
    s->top_n = dmx_top_k(s->probs, e->info.classes, DEMO_TOP_K, s->top, s->top_p);
    s->generation = generation;
    return true;
}

double demo_slot_latency(const demo_slot *s)
{
    double sum = 0.0;
    for (int j = 0; j < s->latency_count; j++)
        sum += s->latency_ms[j];
    return s->latency_count ? sum / s->latency_count : 0.0;
}

float demo_slot_diff(const demo_engine *e, int k, int ref)
{
    const float *a = e->slots[k].probs, *b = e->slots[ref].probs;
    float m = 0.0f;
    for (int j = 0; j < e->info.classes; j++) {
        const float d = fabsf(a[j] - b[j]);
        if (d > m || isnan(d))
            m = d;
    }
    return m;
}

demo_agreement demo_engine_compare(const demo_engine *e, int ref, uint64_t generation)
{
    demo_agreement a = {0, true, 0.0f};
    if (ref < 0 || ref >= e->n || e->slots[ref].generation != generation || !generation)
        return a;
    const int top1 = e->slots[ref].top[0];
    for (int k = 0; k < e->n; k++) {
        const demo_slot *s = &e->slots[k];
        if (s->generation != generation)
            continue;
        a.devices++;
        if (s->top_n < 1 || s->top[0] != top1)
            a.same_top1 = false;
        const float d = demo_slot_diff(e, k, ref);
        if (d > a.max_diff || isnan(d))
            a.max_diff = d;
    }
    return a;
}

const char *demo_engine_class_name(const demo_engine *e, int k)
{
    for (int j = 0; j < e->n; j++) {
        if (e->slots[j].clf) {
            const char *name = dmx_classifier_class_name(e->slots[j].clf, k);
            return name ? name : "?";
        }
    }
    return "?";
}
