/* Activation planning for inference (no tape): a shape-only pass records every arena
 * allocation (its size) and the last op that touches it; greedy interval packing then assigns
 * offsets in one buffer so that memory is reused as soon as a tensor has no further reader.
 *
 * The planning pass runs the forward against a "planning buffer": a dmx_buffer with no memory
 * whose `plan` field points here. dmx_op_run, dmx_buffer_write/read/copy and dmx_buffer_fill
 * (an op) see it, record which allocations the call touches and return without running
 * anything, so the pass costs no device memory and no device time, and needs no unplanned peak.
 * This works because no forward's allocation sequence depends on tensor values: shapes decide
 * it. Host reads during the pass get ones (registry.c).
 *
 * Time is counted in "events": one per op call or host transfer on the planning buffer. An
 * allocation made when `e` events have happened lives over events [e, last use]; two
 * allocations may share memory when those intervals do not intersect. An op's inputs and
 * outputs are all used at its event, so an op never gets an output that overlaps an input.
 * Every backend orders an op after the earlier ops whose memory it reuses: the CPU runs ops in
 * order, OpenCL uses an in-order queue, Vulkan's recorder puts barriers on write-after-read
 * overlaps (vk_recorder.c). */
#include <stdlib.h>
#include <string.h>

#include "autograd/autograd.h"
#include "core/error.h"
#include "device/backend.h"

#define PLAN_ALIGN 256 /* bytes: as the arena (Vulkan's largest storage-buffer offset alignment) */
#define PLAN_VIRTUAL_BYTES ((size_t)1 << 50)
#define PLAN_FOREVER UINT32_MAX

typedef struct plan_rec {
    size_t voff;   /* offset in the planning buffer (allocation order: increasing) */
    size_t bytes;  /* rounded up to PLAN_ALIGN */
    size_t offset; /* planned offset in the real buffer */
    uint32_t first, last;
} plan_rec;

struct dmx_plan_recorder {
    dmx_buffer virt;
    plan_rec *rec;
    size_t n, cap, used;
    uint32_t events;
};

struct dmx_arena_plan {
    plan_rec *rec;
    size_t n;
    size_t bytes;           /* the planned buffer */
    size_t unplanned_bytes; /* what the bump arena needs for the same pass */
};

dmx_status dmx_plan_recorder_create(dmx_device *dev, dmx_plan_recorder **out)
{
    dmx_plan_recorder *r = calloc(1, sizeof *r);
    if (!r)
        return dmx_fail(DMX_ERR_OUT_OF_MEMORY, "activation planning: out of host memory");
    r->virt.dev = dev;
    r->virt.size = PLAN_VIRTUAL_BYTES;
    r->virt.plan = r;
    *out = r;
    return DMX_OK;
}

void dmx_plan_recorder_destroy(dmx_plan_recorder *r)
{
    if (r) {
        free(r->rec);
        free(r);
    }
}

dmx_status dmx_plan_record_alloc(dmx_plan_recorder *r, size_t need, dmx_buffer **buf,
                                 size_t *offset)
{
    if (r->n == r->cap) {
        size_t cap = r->cap ? r->cap * 2 : 256;
        plan_rec *rec = realloc(r->rec, cap * sizeof *rec);
        if (!rec)
            return dmx_fail(DMX_ERR_OUT_OF_MEMORY, "activation planning: out of host memory");
        r->rec = rec;
        r->cap = cap;
    }
    if (need > PLAN_VIRTUAL_BYTES - r->used)
        return dmx_fail(DMX_ERR_OUT_OF_MEMORY, "activation planning: more than 2^50 bytes");
    r->rec[r->n++] = (plan_rec){.voff = r->used, .bytes = need, .first = r->events,
                                .last = r->events};
    *buf = &r->virt;
    *offset = r->used / 4;
    r->used += need;
    return DMX_OK;
}

/* Marks every allocation that [byte_offset, byte_offset + bytes) touches as used at `event`. */
static void mark(dmx_plan_recorder *r, size_t byte_offset, size_t bytes, uint32_t event)
{
    size_t lo = 0, hi = r->n; /* the last record with voff <= byte_offset */
    while (hi - lo > 1) {
        size_t mid = lo + (hi - lo) / 2;
        if (r->rec[mid].voff <= byte_offset)
            lo = mid;
        else
            hi = mid;
    }
    size_t end = byte_offset + (bytes ? bytes : 1);
    for (size_t j = lo; j < r->n && r->rec[j].voff < end; j++) {
        plan_rec *p = &r->rec[j];
        if (p->voff + p->bytes > byte_offset && p->last != PLAN_FOREVER && event > p->last)
            p->last = event;
    }
}

bool dmx_plan_note_call(const dmx_op_call *call)
{
    dmx_plan_recorder *r = NULL;
    for (int i = 0; i < DMX_MAX_ARGS; i++)
        if (call->args[i].buf && call->args[i].buf->plan)
            r = call->args[i].buf->plan;
    if (!r)
        return false;
    for (int i = 0; i < DMX_MAX_ARGS; i++) {
        const dmx_arg *a = &call->args[i];
        if (a->buf && a->buf->plan == r)
            mark(r, a->offset * 4, a->count * 4, r->events);
    }
    r->events++;
    return true;
}

void dmx_plan_note_range(dmx_buffer *buf, size_t byte_offset, size_t bytes)
{
    dmx_plan_recorder *r = buf->plan;
    mark(r, byte_offset, bytes, r->events);
    r->events++;
}

/* Keeps the allocation holding tensor t alive to the end (the caller reads it afterwards). */
static dmx_status keep(dmx_plan_recorder *r, const dmx_tensor *t)
{
    if (!t)
        return DMX_OK;
    if (t->buf != &r->virt)
        return dmx_fail(DMX_ERR_INVALID_ARG, "activation planning: kept tensor %s is not an "
                        "activation of the planning pass", t->name ? t->name : "?");
    size_t at = t->offset * 4, end = at + (dmx_tensor_bytes(t) ? dmx_tensor_bytes(t) : 1);
    for (size_t j = 0; j < r->n; j++)
        if (r->rec[j].voff < end && r->rec[j].voff + r->rec[j].bytes > at)
            r->rec[j].last = PLAN_FOREVER;
    return DMX_OK;
}

typedef struct plan_key {
    size_t bytes, index;
    uint32_t first;
} plan_key;

static int by_size_desc(const void *a, const void *b)
{
    const plan_key *x = a, *y = b;
    if (x->bytes != y->bytes)
        return x->bytes < y->bytes ? 1 : -1;
    if (x->first != y->first)
        return x->first < y->first ? -1 : 1;
    return x->index < y->index ? -1 : 1;
}

/* Greedy by size: largest allocations first, each at the lowest offset where it overlaps no
 * placed allocation that is alive at the same time. O(n^2) in the allocations of one pass. */
static dmx_status pack(plan_rec *rec, size_t n, size_t *total)
{
    plan_key *order = malloc((n ? n : 1) * sizeof *order);
    size_t *placed = malloc((n ? n : 1) * sizeof *placed); /* indices by increasing offset */
    if (!order || !placed) {
        free(order);
        free(placed);
        return dmx_fail(DMX_ERR_OUT_OF_MEMORY, "activation planning: out of host memory");
    }
    for (size_t i = 0; i < n; i++)
        order[i] = (plan_key){.bytes = rec[i].bytes, .index = i, .first = rec[i].first};
    qsort(order, n, sizeof *order, by_size_desc);
    size_t n_placed = 0, top = 0;
    for (size_t k = 0; k < n; k++) {
        plan_rec *p = &rec[order[k].index];
        size_t at = 0, insert = n_placed;
        for (size_t j = 0; j < n_placed; j++) {
            const plan_rec *q = &rec[placed[j]];
            if (q->first > p->last || p->first > q->last)
                continue; /* not alive together */
            if (q->offset >= at + p->bytes)
                break;
            if (q->offset + q->bytes > at)
                at = q->offset + q->bytes;
        }
        p->offset = at;
        for (size_t j = 0; j < n_placed; j++)
            if (rec[placed[j]].offset > at) {
                insert = j;
                break;
            }
        memmove(placed + insert + 1, placed + insert, (n_placed - insert) * sizeof *placed);
        placed[insert] = order[k].index;
        n_placed++;
        if (at + p->bytes > top)
            top = at + p->bytes;
    }
    free(order);
    free(placed);
    *total = top;
    return DMX_OK;
}

dmx_status dmx_plan_recorder_finish(dmx_plan_recorder *r, dmx_tensor *const *kept, int n_kept,
                                    dmx_arena_plan **out)
{
    *out = NULL;
    for (int i = 0; i < n_kept; i++)
        DMX_TRY(keep(r, kept[i]));
    dmx_arena_plan *p = calloc(1, sizeof *p);
    if (!p)
        return dmx_fail(DMX_ERR_OUT_OF_MEMORY, "activation planning: out of host memory");
    p->n = r->n;
    p->unplanned_bytes = r->used;
    p->rec = malloc((r->n ? r->n : 1) * sizeof *p->rec);
    if (!p->rec) {
        free(p);
        return dmx_fail(DMX_ERR_OUT_OF_MEMORY, "activation planning: out of host memory");
    }
    if (r->n)
        memcpy(p->rec, r->rec, r->n * sizeof *p->rec);
    dmx_status s = pack(p->rec, p->n, &p->bytes);
    if (s != DMX_OK) {
        dmx_arena_plan_free(p);
        return s;
    }
    *out = p;
    return DMX_OK;
}

dmx_status dmx_plan_offset(const dmx_arena_plan *p, size_t index, size_t need, size_t *offset)
{
    if (index >= p->n)
        return dmx_fail(DMX_ERR_INVALID_ARG, "planned activations: allocation %zu of a pass "
                        "planned with %zu; the forward allocates differently from the planning "
                        "pass (plan each input shape separately)", index + 1, p->n);
    if (p->rec[index].bytes != need)
        return dmx_fail(DMX_ERR_INVALID_ARG, "planned activations: allocation %zu is %zu bytes, "
                        "the plan has %zu (plan each input shape separately)", index + 1, need,
                        p->rec[index].bytes);
    *offset = p->rec[index].offset;
    return DMX_OK;
}

size_t dmx_arena_plan_bytes(const dmx_arena_plan *p) { return p ? p->bytes : 0; }
size_t dmx_arena_plan_unplanned_bytes(const dmx_arena_plan *p) { return p ? p->unplanned_bytes : 0; }
size_t dmx_arena_plan_allocations(const dmx_arena_plan *p) { return p ? p->n : 0; }

void dmx_arena_plan_free(dmx_arena_plan *p)
{
    if (p) {
        free(p->rec);
        free(p);
    }
}
