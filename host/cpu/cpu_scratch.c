/* Per-thread scratch (cpu_scratch.h): one block of buffers per thread behind a pthread key
 * whose destructor frees them when the thread ends. */
#include "cpu/cpu_scratch.h"

#include <pthread.h>
#include <stdlib.h>

typedef struct thread_scratch {
    float *buf[DMX_SCRATCH_SLOTS];
    size_t cap[DMX_SCRATCH_SLOTS];
} thread_scratch;

static pthread_key_t key;
static pthread_once_t key_once = PTHREAD_ONCE_INIT;
static int key_ok;

static void release(void *p)
{
    thread_scratch *s = p;
    for (int i = 0; i < DMX_SCRATCH_SLOTS; i++)
        free(s->buf[i]);
    free(s);
}

static void make_key(void) { key_ok = pthread_key_create(&key, release) == 0; }

float *dmx_cpu_scratch(dmx_scratch_slot slot, size_t floats)
{
    pthread_once(&key_once, make_key);
    if (!key_ok || slot < 0 || slot >= DMX_SCRATCH_SLOTS)
        return NULL;
    thread_scratch *s = pthread_getspecific(key);
    if (!s) {
        s = calloc(1, sizeof *s);
        if (!s || pthread_setspecific(key, s) != 0) {
            free(s);
            return NULL;
        }
    }
    if (floats > s->cap[slot]) {
        free(s->buf[slot]);
        s->buf[slot] = aligned_alloc(64, (floats * sizeof(float) + 63) / 64 * 64);
        s->cap[slot] = s->buf[slot] ? floats : 0;
    }
    return s->buf[slot];
}
