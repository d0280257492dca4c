/* The per-step context: a device arena for activations, a host arena for tensor structs, and
 * the tape. Both arenas grow by chunks during the first step; at reset, chunks are merged into
 * one block each so later steps allocate nothing. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "autograd/autograd.h"
#include "core/error.h"
#include "device/backend.h"

#define DMX_ARENA_ALIGN 256           /* bytes: Vulkan's largest minStorageBufferOffsetAlignment */
#define DMX_ARENA_FIRST_CHUNK (16u << 20)
#define DMX_ARENA_MAX_CHUNKS 64
#define DMX_HOST_BLOCK (256u << 10)

typedef struct arena_chunk {
    dmx_buffer *buf;
    size_t cap, used;
} arena_chunk;

typedef struct host_block {
    struct host_block *next;
    size_t cap, used;
    unsigned char data[];
} host_block;

struct dmx_ctx {
    dmx_device *dev;
    bool grad_enabled, training;
    uint64_t seed;
    uint32_t rng_offset;
    /* This process's rows [rng_row0, rng_row0 + rng_rows) of a batch of rng_rows_all
     * (data parallelism; 0, 1, 1 otherwise): see dmx_ctx_set_rng_rows. */
    int64_t rng_row0, rng_rows, rng_rows_all;
    arena_chunk chunks[DMX_ARENA_MAX_CHUNKS];
    int n_chunks;
    size_t in_use, peak;
    size_t arena_allocations; /* device buffers and host blocks allocated since creation */
    host_block *host;
    dmx_tape_entry *tape;
    size_t tape_len, tape_cap;
    /* planning (autograd/plan.c): the recorder of a planning pass, or the plan replayed */
    dmx_plan_recorder *recorder;
    const dmx_arena_plan *plan, *plan_next;
    bool plan_switch;
    size_t plan_index;
    dmx_buffer *planned; /* the buffer plans are replayed in */
    dmx_backward_hook hook; /* called by dmx_backward between tape entries (or NULL) */
    void *hook_user;
};

dmx_status dmx_ctx_create(dmx_device *dev, dmx_ctx **out)
{
    if (!dev || !out)
        return dmx_fail(DMX_ERR_INVALID_ARG, "dmx_ctx_create: NULL device or out");
    dmx_ctx *ctx = calloc(1, sizeof *ctx);
    if (!ctx)
        return dmx_fail(DMX_ERR_OUT_OF_MEMORY, "dmx_ctx_create: out of host memory");
    ctx->dev = dev;
    ctx->grad_enabled = true;
    ctx->training = true;
    *out = ctx;
    return DMX_OK;
}

static void free_host_blocks(host_block *b)
{
    while (b) {
        host_block *next = b->next;
        free(b);
        b = next;
    }
}

void dmx_ctx_destroy(dmx_ctx *ctx)
{
    if (!ctx)
        return;
    for (int i = 0; i < ctx->n_chunks; i++)
        dmx_buffer_free(ctx->chunks[i].buf);
    free_host_blocks(ctx->host);
    free(ctx->tape);
    dmx_plan_recorder_destroy(ctx->recorder);
    dmx_buffer_free(ctx->planned);
    free(ctx);
}

dmx_device *dmx_ctx_device(const dmx_ctx *ctx) { return ctx ? ctx->dev : NULL; }
/* The accessors have no status to return: a NULL context is ignored (setters) or reads as
 * "off" and zero (getters). */
void dmx_ctx_set_grad(dmx_ctx *ctx, bool enabled)
{
    if (ctx)
        ctx->grad_enabled = enabled;
}

bool dmx_ctx_grad_enabled(const dmx_ctx *ctx) { return ctx && ctx->grad_enabled; }

void dmx_ctx_set_training(dmx_ctx *ctx, bool training)
{
    if (ctx)
        ctx->training = training;
}

bool dmx_ctx_training(const dmx_ctx *ctx) { return ctx && ctx->training; }
size_t dmx_ctx_peak_bytes(const dmx_ctx *ctx) { return ctx ? ctx->peak : 0; }
size_t dmx_ctx_tape_length(const dmx_ctx *ctx) { return ctx->tape_len; }
size_t dmx_ctx_arena_allocations(const dmx_ctx *ctx) { return ctx->arena_allocations; }

void dmx_ctx_set_seed(dmx_ctx *ctx, uint64_t seed)
{
    if (!ctx)
        return;
    ctx->seed = seed;
    ctx->rng_offset = 0;
}

void dmx_ctx_set_rng_rows(dmx_ctx *ctx, int64_t row0, int64_t rows, int64_t rows_all)
{
    if (!ctx)
        return;
    const bool valid = rows > 0 && row0 >= 0 && row0 + rows <= rows_all;
    ctx->rng_row0 = valid ? row0 : 0;
    ctx->rng_rows = valid ? rows : 1;
    ctx->rng_rows_all = valid ? rows_all : 1;
}

uint32_t dmx_ctx_take_rng(dmx_ctx *ctx, uint32_t n, uint64_t *seed)
{
    *seed = ctx->seed;
    const int64_t rows = ctx->rng_rows > 0 ? ctx->rng_rows : 1;
    if (rows > 1 || ctx->rng_rows_all > 1) {
        if (n % rows == 0) { /* batch-major: this slice's place in the whole batch's stream */
            const uint32_t per_row = n / (uint32_t)rows;
            uint32_t start = ctx->rng_offset + (uint32_t)ctx->rng_row0 * per_row;
            ctx->rng_offset += (uint32_t)ctx->rng_rows_all * per_row;
            return start;
        }
    }
    uint32_t start = ctx->rng_offset;
    ctx->rng_offset += n;
    return start;
}

/* A host block of `cap` bytes on top of the stack (the newest block is first). */
static host_block *push_host_block(dmx_ctx *ctx, size_t cap)
{
    host_block *nb = malloc(sizeof *nb + cap);
    if (!nb)
        return NULL;
    ctx->arena_allocations++;
    nb->cap = cap;
    nb->used = 0;
    nb->next = ctx->host;
    ctx->host = nb;
    return nb;
}

/* Host blocks merge like device chunks: one block as large as the step needed, so the next
 * step mallocs nothing. */
static dmx_status reset_host_blocks(dmx_ctx *ctx)
{
    if (ctx->host && ctx->host->next) {
        size_t total = 0;
        for (host_block *b = ctx->host; b; b = b->next)
            total += b->cap;
        free_host_blocks(ctx->host);
        ctx->host = NULL;
        if (!push_host_block(ctx, total))
            return dmx_fail(DMX_ERR_OUT_OF_MEMORY, "dmx_ctx_reset: host arena of %zu bytes", total);
    }
    if (ctx->host)
        ctx->host->used = 0;
    return DMX_OK;
}

/* Device chunks merge into one block as large as this step used (allocations never free
 * within a step, so an identical next step fits it exactly), if the device allows it. When
 * that block cannot be had (the chunks' memory may not come back in one piece), the arena
 * starts again from small chunks instead of failing: the step itself did fit. */
static dmx_status reset_device_chunks(dmx_ctx *ctx)
{
    size_t used = ctx->in_use;
    ctx->in_use = 0;
    if (ctx->n_chunks > 1) {
        uint64_t max_alloc = ctx->dev->info.max_alloc_bytes;
        if (!max_alloc || used <= max_alloc) {
            for (int i = 0; i < ctx->n_chunks; i++)
                dmx_buffer_free(ctx->chunks[i].buf);
            ctx->n_chunks = 0;
            dmx_buffer *buf = NULL;
            if (dmx_buffer_alloc(ctx->dev, used, &buf) == DMX_OK) {
                ctx->arena_allocations++;
                ctx->chunks[0] = (arena_chunk){buf, used, 0};
                ctx->n_chunks = 1;
            } else {
                dmx_clear_error();
            }
        }
    }
    for (int i = 0; i < ctx->n_chunks; i++)
        ctx->chunks[i].used = 0;
    return DMX_OK;
}

dmx_status dmx_ctx_reset(dmx_ctx *ctx)
{
    if (!ctx)
        return dmx_fail(DMX_ERR_INVALID_ARG, "dmx_ctx_reset: NULL context");
    ctx->tape_len = 0;
    ctx->rng_offset = 0;
    dmx_ctx_set_rng_rows(ctx, 0, 1, 1);
    ctx->plan_index = 0;
    if (ctx->plan_switch) {
        ctx->plan = ctx->plan_next;
        ctx->plan_switch = false;
    }
    DMX_TRY(reset_host_blocks(ctx));
    return reset_device_chunks(ctx);
}

dmx_status dmx_ctx_alloc(dmx_ctx *ctx, size_t elems, dmx_buffer **buf, size_t *offset)
{
    size_t bytes = elems * 4;
    size_t need = (bytes + DMX_ARENA_ALIGN - 1) & ~(size_t)(DMX_ARENA_ALIGN - 1);
    if (need == 0)
        need = DMX_ARENA_ALIGN;
    if (ctx->recorder)
        return dmx_plan_record_alloc(ctx->recorder, need, buf, offset);
    if (ctx->plan) {
        size_t at = 0;
        DMX_TRY(dmx_plan_offset(ctx->plan, ctx->plan_index, need, &at));
        ctx->plan_index++;
        *buf = ctx->planned;
        *offset = at / 4;
        return DMX_OK;
    }
    for (int i = 0; i < ctx->n_chunks; i++) {
        arena_chunk *c = &ctx->chunks[i];
        if (c->cap - c->used >= need) {
            *buf = c->buf;
            *offset = c->used / 4;
            c->used += need;
            ctx->in_use += need;
            ctx->peak = ctx->in_use > ctx->peak ? ctx->in_use : ctx->peak;
            return DMX_OK;
        }
    }
    if (ctx->n_chunks == DMX_ARENA_MAX_CHUNKS)
        return dmx_fail(DMX_ERR_OUT_OF_MEMORY, "activation arena: more than %d chunks in one step",
                        DMX_ARENA_MAX_CHUNKS);
    size_t cap = ctx->n_chunks ? ctx->chunks[ctx->n_chunks - 1].cap * 2 : DMX_ARENA_FIRST_CHUNK;
    uint64_t max_alloc = ctx->dev->info.max_alloc_bytes;
    if (max_alloc && cap > max_alloc)
        cap = (size_t)max_alloc & ~(size_t)(DMX_ARENA_ALIGN - 1);
    if (cap < need)
        cap = need;
    dmx_buffer *b = NULL;
    dmx_status s = dmx_buffer_alloc(ctx->dev, cap, &b);
    if (s != DMX_OK)
        return dmx_fail_context(s, "activation arena (%zu bytes in use, %zu more needed): ",
                                ctx->in_use, need);
    ctx->chunks[ctx->n_chunks++] = (arena_chunk){b, cap, 0};
    ctx->arena_allocations++;
    return dmx_ctx_alloc(ctx, elems, buf, offset);
}

void *dmx_ctx_host_alloc(dmx_ctx *ctx, size_t bytes)
{
    bytes = (bytes + 15) & ~(size_t)15;
    host_block *b = ctx->host;
    if (!b || b->cap - b->used < bytes) {
        b = push_host_block(ctx, bytes > DMX_HOST_BLOCK ? bytes : DMX_HOST_BLOCK);
        if (!b)
            return NULL;
    }
    void *p = b->data + b->used;
    b->used += bytes;
    memset(p, 0, bytes);
    return p;
}

/* ---- tape ---- */

dmx_status dmx_tape_record(dmx_ctx *ctx, const char *op, dmx_backward_fn backward,
                           dmx_tensor *const *tensors, int n_tensors, const void *params,
                           size_t params_size)
{
    if (n_tensors > DMX_TAPE_TENSORS || params_size > DMX_TAPE_PARAMS_BYTES)
        return dmx_fail(DMX_ERR_INVALID_ARG, "%s: tape entry too large", op);
    if (ctx->tape_len == ctx->tape_cap) {
        size_t cap = ctx->tape_cap ? ctx->tape_cap * 2 : 256;
        dmx_tape_entry *t = realloc(ctx->tape, cap * sizeof *t);
        if (!t)
            return dmx_fail(DMX_ERR_OUT_OF_MEMORY, "%s: tape: out of host memory", op);
        ctx->tape = t;
        ctx->tape_cap = cap;
    }
    dmx_tape_entry *e = &ctx->tape[ctx->tape_len++];
    memset(e, 0, sizeof *e);
    e->backward = backward;
    e->op = op;
    for (int i = 0; i < n_tensors; i++)
        e->t[i] = tensors[i];
    if (params_size)
        memcpy(e->params.bytes, params, params_size);
    return DMX_OK;
}

bool dmx_requires_grad(const dmx_ctx *ctx, const dmx_tensor *t)
{
    return ctx->grad_enabled && t && (t->flags & DMX_TENSOR_REQUIRES_GRAD);
}

dmx_status dmx_grad_of(dmx_ctx *ctx, dmx_tensor *t, dmx_tensor **g, int *accumulate)
{
    *g = NULL;
    *accumulate = 1;
    if (!t || !(t->flags & DMX_TENSOR_REQUIRES_GRAD))
        return DMX_OK;
    if (t->grad) {
        *g = t->grad;
        return DMX_OK;
    }
    if (t->flags & DMX_TENSOR_PARAM)
        return dmx_fail(DMX_ERR_INVALID_ARG, "parameter %s has no gradient buffer",
                        t->name ? t->name : "?");
    dmx_tensor *gt = dmx_ctx_host_alloc(ctx, sizeof *gt);
    if (!gt)
        return dmx_fail(DMX_ERR_OUT_OF_MEMORY, "gradient of %s: out of host memory", t->name);
    *gt = *t;
    gt->flags = 0;
    gt->grad = NULL;
    gt->name = "grad";
    DMX_TRY(dmx_ctx_alloc(ctx, (size_t)dmx_tensor_numel(t), &gt->buf, &gt->offset));
    t->grad = gt;
    *g = gt;
    *accumulate = 0;
    return DMX_OK;
}

dmx_status dmx_grad_of_zeroed(dmx_ctx *ctx, dmx_tensor *t, dmx_tensor **g)
{
    int acc = 1;
    DMX_TRY(dmx_grad_of(ctx, t, g, &acc));
    if (*g && !acc)
        DMX_TRY(dmx_buffer_fill((*g)->buf, (*g)->offset * 4, dmx_tensor_bytes(*g), 0));
    return DMX_OK;
}

/* Activation gradients belong to one backward pass. Without this, a second dmx_backward over
 * the same tape would find the first pass's activation gradients, add the new ones into them
 * and push the doubled (and redoubled) sums into the parameters. Parameters keep theirs: they
 * accumulate by design. */
static void forget_activation_grads(dmx_ctx *ctx, dmx_tensor *loss)
{
    for (size_t i = 0; i < ctx->tape_len; i++)
        for (int k = 0; k < DMX_TAPE_TENSORS; k++) {
            dmx_tensor *t = ctx->tape[i].t[k];
            if (t && !(t->flags & DMX_TENSOR_PARAM))
                t->grad = NULL;
        }
    if (!(loss->flags & DMX_TENSOR_PARAM))
        loss->grad = NULL;
}

dmx_status dmx_backward(dmx_ctx *ctx, dmx_tensor *loss)
{
    if (!ctx || !loss)
        return dmx_fail(DMX_ERR_INVALID_ARG, "dmx_backward: NULL context or loss");
    if (dmx_tensor_numel(loss) != 1) {
        char s[64];
        return dmx_fail(DMX_ERR_SHAPE, "dmx_backward: loss %s must have one element, has shape %s",
                        loss->name ? loss->name : "", dmx_shape_str(loss, s, sizeof s));
    }
    if (!(loss->flags & DMX_TENSOR_REQUIRES_GRAD))
        return dmx_fail(DMX_ERR_INVALID_ARG,
                        "dmx_backward: loss does not depend on any parameter that needs a "
                        "gradient (was gradient recording off?)");
    forget_activation_grads(ctx, loss);
    dmx_tensor *g = NULL;
    int acc = 0;
    DMX_TRY(dmx_grad_of(ctx, loss, &g, &acc));
    float one = 1.0f;
    uint32_t bits;
    memcpy(&bits, &one, 4);
    DMX_TRY(dmx_buffer_fill(g->buf, g->offset * 4, 4, bits));
    if (ctx->hook)
        DMX_TRY(ctx->hook(ctx->hook_user, 0));
    for (size_t i = ctx->tape_len; i-- > 0;) {
        const dmx_tape_entry *e = &ctx->tape[i];
        dmx_status s = e->backward(ctx, e);
        if (s != DMX_OK)
            return dmx_fail_context(s, "backward of %s: ", e->op);
        if (ctx->hook)
            DMX_TRY(ctx->hook(ctx->hook_user, ctx->tape_len - i));
    }
    return DMX_OK;
}

void dmx_ctx_set_backward_hook(dmx_ctx *ctx, dmx_backward_hook hook, void *user)
{
    if (!ctx)
        return;
    ctx->hook = hook;
    ctx->hook_user = user;
}

/* A backward function reaches memory only through its entry's saved tensors, and a gradient
 * in `buf` (the parameters' gradient block) only through a saved parameter whose grad points
 * there: activation gradients live in the arena, and views of parameters (reshape) get their
 * own and add them into the parameter's in an entry that saves the parameter. So the lowest
 * entry that saves such a parameter is the last one dmx_backward replays that can write into
 * its range. Other tensors are skipped: their grad may still point into the last step's host
 * arena (dmx_backward clears them only when it starts). */
void dmx_ctx_grad_ready(const dmx_ctx *ctx, const dmx_buffer *buf, const int64_t *bounds,
                        int n_ranges, size_t *ready)
{
    for (int r = 0; r < n_ranges; r++)
        ready[r] = 0;
    for (size_t i = 0; i < ctx->tape_len; i++) {
        const size_t after = ctx->tape_len - i; /* entries replayed once entry i has been */
        for (int k = 0; k < DMX_TAPE_TENSORS; k++) {
            const dmx_tensor *t = ctx->tape[i].t[k];
            if (!t || !(t->flags & DMX_TENSOR_PARAM) || !t->grad || t->grad->buf != buf)
                continue;
            const int64_t lo = (int64_t)t->grad->offset, hi = lo + dmx_tensor_numel(t);
            /* the first range that ends after lo: bounds[r + 1] > lo */
            int a = 0, b = n_ranges;
            while (a < b) {
                int m = (a + b) / 2;
                if (bounds[m + 1] > lo)
                    b = m;
                else
                    a = m + 1;
            }
            for (int r = a; r < n_ranges && bounds[r] < hi; r++)
                if (after > ready[r])
                    ready[r] = after;
        }
    }
}

/* ---- activation planning (autograd/plan.c) ---- */

dmx_status dmx_ctx_plan_begin(dmx_ctx *ctx)
{
    if (!ctx)
        return dmx_fail(DMX_ERR_INVALID_ARG, "dmx_ctx_plan_begin: NULL context");
    if (ctx->recorder)
        return dmx_fail(DMX_ERR_INVALID_ARG, "dmx_ctx_plan_begin: a planning pass is running");
    if (ctx->grad_enabled)
        return dmx_fail(DMX_ERR_INVALID_ARG, "activation planning is for inference: turn "
                        "gradients off (dmx_ctx_set_grad) first");
    DMX_TRY(dmx_ctx_reset(ctx));
    return dmx_plan_recorder_create(ctx->dev, &ctx->recorder);
}

bool dmx_ctx_planning(const dmx_ctx *ctx) { return ctx && ctx->recorder; }

dmx_status dmx_ctx_plan_end(dmx_ctx *ctx, dmx_tensor *const *kept, int n_kept,
                            dmx_arena_plan **out)
{
    if (!ctx || !ctx->recorder)
        return dmx_fail(DMX_ERR_INVALID_ARG, "dmx_ctx_plan_end: no planning pass is running");
    dmx_status s = out ? dmx_plan_recorder_finish(ctx->recorder, kept, n_kept, out) : DMX_OK;
    dmx_plan_recorder_destroy(ctx->recorder);
    ctx->recorder = NULL;
    /* The pass's tensors point at the recorder's buffer, gone now: drop them. */
    dmx_status r = dmx_ctx_reset(ctx);
    return s != DMX_OK ? s : r;
}

dmx_status dmx_ctx_use_plan(dmx_ctx *ctx, const dmx_arena_plan *plan)
{
    if (!ctx)
        return dmx_fail(DMX_ERR_INVALID_ARG, "dmx_ctx_use_plan: NULL context");
    if (ctx->recorder)
        return dmx_fail(DMX_ERR_INVALID_ARG, "dmx_ctx_use_plan: a planning pass is running");
    if (!plan) { /* at once: the caller may free the plan next */
        ctx->plan = ctx->plan_next = NULL;
        ctx->plan_switch = false;
        return DMX_OK;
    }
    size_t need = dmx_arena_plan_bytes(plan);
    if (need == 0)
        need = DMX_ARENA_ALIGN;
    if (need > dmx_buffer_size(ctx->planned)) {
        dmx_buffer_free(ctx->planned);
        ctx->planned = NULL;
        dmx_status s = dmx_buffer_alloc(ctx->dev, need, &ctx->planned);
        if (s != DMX_OK)
            return dmx_fail_context(s, "planned activations (%zu bytes): ", need);
        ctx->arena_allocations++;
    }
    if (need > ctx->peak)
        ctx->peak = need;
    ctx->plan_next = plan;
    ctx->plan_switch = true;
    return DMX_OK;
}
