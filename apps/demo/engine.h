/* The demo's devices: every device dimix finds, each with the classifier opened on it, the
 * latest probabilities it computed and its latency. Only the public API (dimix/device.h,
 * dimix/infer.h). Single-threaded: the window's thread calls everything. */
#ifndef DMX_DEMO_ENGINE_H
#define DMX_DEMO_ENGINE_H

#include <stdbool.h>
#include <stdint.h>

#include "dimix/device.h"
#include "dimix/infer.h"

#define DEMO_TOP_K 5
#define DEMO_LATENCY_WINDOW 16

typedef struct demo_slot {
    dmx_device_info info;       /* from dmx_device_get_info */
    dmx_device *dev;            /* NULL until opened */
    dmx_classifier *clf;
    bool tried;                 /* an open was attempted */
    char error[200];            /* why the open or the last run failed ("" if it did not) */
    double latency_ms[DEMO_LATENCY_WINDOW]; /* the last runs, a ring */
    int latency_count, latency_next;
    float *probs;               /* [classes] of the last run */
    uint64_t generation;        /* the input generation `probs` belongs to (0: none) */
    int top[DEMO_TOP_K];
    float top_p[DEMO_TOP_K];
    int top_n;
} demo_slot;

typedef struct demo_engine {
    char ckpt[1024];
    int n;                      /* devices found */
    demo_slot *slots;
    bool have_info;             /* `info` comes from the first classifier opened */
    dmx_classifier_info info;
} demo_engine;

/* Enumerates the devices (dmx_device_count, dmx_device_get_info); opens nothing. */
bool demo_engine_init(demo_engine *e, const char *ckpt);
void demo_engine_free(demo_engine *e);

/* Slot of the device called `name`, or -1. */
int demo_engine_find(const demo_engine *e, const char *name);

/* Opens slot k's device and the classifier on it and runs one warm-up image (drivers compile
 * kernels on first use; that time is not the steady latency). Returns whether the slot is
 * usable; on failure slot->error says why. Opening an opened slot does nothing. */
bool demo_engine_open(demo_engine *e, int k);

/* Runs one image (uint8 [C, H, W] of the classifier's shape) on slot k, records its latency
 * and top-k, and tags the result with `generation`. */
bool demo_engine_run(demo_engine *e, int k, const uint8_t *image, uint64_t generation);

/* Mean of the recorded latencies, in ms (0 with none). */
double demo_slot_latency(const demo_slot *s);

/* Compares the slots with results of `generation` against slot `ref`: how many there are,
 * whether all share ref's top-1, and the largest |p - p_ref| over every class. */
typedef struct demo_agreement {
    int devices;     /* slots compared, ref included */
    bool same_top1;
    float max_diff;
} demo_agreement;
demo_agreement demo_engine_compare(const demo_engine *e, int ref, uint64_t generation);

/* Largest |p - p_ref| between slot k's and slot ref's probabilities. */
float demo_slot_diff(const demo_engine *e, int k, int ref);

/* Name of class k from the first open classifier; "?" when none is open or k out of range. */
const char *demo_engine_class_name(const demo_engine *e, int k);

#endif
