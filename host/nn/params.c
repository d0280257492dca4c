/* The parameter store: declared tensors, one values buffer and one gradients buffer
 * (llm.c's "one allocation per role"). Trainable tensors come first in the values buffer at the
 * same offsets as their gradients, so values[0, n) and grads[0, n) line up element for element
 * and an optimizer can run once over the whole region. */
#include <stdlib.h>
#include <string.h>

#include "core/error.h"
#include "nn/nn_internal.h"

#define PARAM_ALIGN 64 /* elements: 256 bytes, Vulkan's largest storage-buffer offset alignment */

typedef struct param_entry {
    dmx_tensor t[2]; /* value, gradient: one block so the pointers stay put */
    char *name;
    dmx_init init;
    bool trainable;
} param_entry;

struct dmx_params {
    dmx_device *dev;
    param_entry **items;
    int n, cap;
    bool allocated;
    dmx_buffer *values, *grads;
    size_t n_trainable_region; /* elements of the aligned trainable region */
};

static size_t align_up(size_t n) { return (n + PARAM_ALIGN - 1) / PARAM_ALIGN * PARAM_ALIGN; }

dmx_status dmx_params_create(dmx_device *dev, dmx_params **out)
{
    if (!dev || !out)
        return dmx_fail(DMX_ERR_INVALID_ARG, "dmx_params_create: NULL device or out");
    dmx_params *ps = calloc(1, sizeof *ps);
    if (!ps)
        return dmx_fail(DMX_ERR_OUT_OF_MEMORY, "dmx_params_create: out of host memory");
    ps->dev = dev;
    *out = ps;
    return DMX_OK;
}

void dmx_params_destroy(dmx_params *ps)
{
    if (!ps)
        return;
    for (int i = 0; i < ps->n; i++) {
        free(ps->items[i]->name);
        free(ps->items[i]);
    }
    free(ps->items);
    dmx_buffer_free(ps->values);
    dmx_buffer_free(ps->grads);
    free(ps);
}

dmx_device *dmx_params_device(const dmx_params *ps) { return ps ? ps->dev : NULL; }

static param_entry *find_entry(const dmx_params *ps, const char *name)
{
    for (int i = 0; ps && name && i < ps->n; i++)
        if (strcmp(ps->items[i]->name, name) == 0)
            return ps->items[i];
    return NULL;
}

static dmx_status check_declaration(const dmx_params *ps, const char *name, int ndim,
                                    const int64_t *shape)
{
    if (!ps || !name || !*name)
        return dmx_fail(DMX_ERR_INVALID_ARG, "dmx_params_declare: NULL store or empty name");
    if (ps->allocated)
        return dmx_fail(DMX_ERR_INVALID_ARG, "parameter %s declared after dmx_params_allocate",
                        name);
    if (find_entry(ps, name))
        return dmx_fail(DMX_ERR_INVALID_ARG, "parameter %s declared twice", name);
    if (ndim < 1 || ndim > DMX_MAX_DIMS || !shape)
        return dmx_fail(DMX_ERR_SHAPE, "parameter %s: rank %d outside [1, %d]", name, ndim,
                        DMX_MAX_DIMS);
    int64_t n = 1;
    for (int k = 0; k < ndim; k++) {
        if (shape[k] <= 0)
            return dmx_fail(DMX_ERR_SHAPE, "parameter %s: size %lld in dimension %d", name,
                            (long long)shape[k], k);
        n *= shape[k];
        if (n > INT32_MAX)
            return dmx_fail(DMX_ERR_SHAPE, "parameter %s: more than 2^31 elements", name);
    }
    return DMX_OK;
}

dmx_status dmx_params_declare(dmx_params *ps, const char *name, int ndim, const int64_t *shape,
                              dmx_init init, bool trainable, dmx_tensor **out)
{
    DMX_TRY(check_declaration(ps, name, ndim, shape));
    DMX_TRY(dmx_nn_check_init(name, ndim, shape, init));
    if (ps->n == ps->cap) {
        int cap = ps->cap ? ps->cap * 2 : 64;
        param_entry **items = realloc(ps->items, (size_t)cap * sizeof *items);
        if (!items)
            return dmx_fail(DMX_ERR_OUT_OF_MEMORY, "parameter %s: out of host memory", name);
        ps->items = items;
        ps->cap = cap;
    }
    param_entry *e = calloc(1, sizeof *e);
    char *copy = e ? malloc(strlen(name) + 1) : NULL;
    if (!copy) {
        free(e);
        return dmx_fail(DMX_ERR_OUT_OF_MEMORY, "parameter %s: out of host memory", name);
    }
    strcpy(copy, name);
    e->name = copy;
    e->init = init;
    e->trainable = trainable;
    dmx_tensor *t = &e->t[0], *g = &e->t[1];
    t->ndim = ndim;
    for (int k = 0; k < ndim; k++)
        t->shape[k] = shape[k];
    t->dtype = DMX_F32;
    t->name = copy;
    t->flags = DMX_TENSOR_PARAM | (trainable ? DMX_TENSOR_REQUIRES_GRAD : 0);
    *g = *t;
    g->flags = 0;
    g->name = "grad";
    t->grad = trainable ? g : NULL;
    ps->items[ps->n++] = e;
    if (out)
        *out = t;
    return DMX_OK;
}

dmx_status dmx_params_set_init(dmx_params *ps, const char *name, dmx_init init)
{
    param_entry *e = find_entry(ps, name);
    if (!e)
        return dmx_fail(DMX_ERR_NOT_FOUND, "dmx_params_set_init: no parameter named %s",
                        name ? name : "(null)");
    if (ps->allocated)
        return dmx_fail(DMX_ERR_INVALID_ARG, "dmx_params_set_init(%s): already allocated", name);
    DMX_TRY(dmx_nn_check_init(name, e->t[0].ndim, e->t[0].shape, init));
    e->init = init;
    return DMX_OK;
}

/* Offsets: trainable matrices (rank >= 2) first, then the other trainable tensors (biases,
 * norms), then buffers; returns the total element count. Grouping by rank lets an optimizer
 * that decays matrices only update each group in one call (nn/optim.c). */
static int placement_pass(const param_entry *e)
{
    return !e->trainable ? 2 : e->t[0].ndim >= 2 ? 0 : 1;
}

static size_t place_tensors(dmx_params *ps)
{
    size_t at = 0;
    for (int pass = 0; pass < 3; pass++) {
        for (int i = 0; i < ps->n; i++) {
            param_entry *e = ps->items[i];
            if (placement_pass(e) != pass)
                continue;
            e->t[0].offset = at;
            e->t[1].offset = at;
            at = align_up(at + (size_t)dmx_tensor_numel(&e->t[0]));
        }
        if (pass == 1)
            ps->n_trainable_region = at;
    }
    return at;
}

dmx_status dmx_params_allocate(dmx_params *ps, uint64_t seed)
{
    if (!ps)
        return dmx_fail(DMX_ERR_INVALID_ARG, "dmx_params_allocate: NULL store");
    if (ps->allocated)
        return dmx_fail(DMX_ERR_INVALID_ARG, "dmx_params_allocate: called twice");
    size_t total = place_tensors(ps);
    size_t value_bytes = (total ? total : PARAM_ALIGN) * 4;
    size_t grad_bytes = (ps->n_trainable_region ? ps->n_trainable_region : PARAM_ALIGN) * 4;
    float *host = calloc(total ? total : 1, sizeof *host);
    if (!host)
        return dmx_fail(DMX_ERR_OUT_OF_MEMORY, "dmx_params_allocate: %zu host bytes", value_bytes);
    for (int i = 0; i < ps->n; i++) {
        param_entry *e = ps->items[i];
        dmx_nn_init_fill(e->name, e->t[0].ndim, e->t[0].shape, e->init, seed,
                         host + e->t[0].offset);
    }
    dmx_status s = dmx_buffer_alloc(ps->dev, value_bytes, &ps->values);
    if (s == DMX_OK)
        s = dmx_buffer_alloc(ps->dev, grad_bytes, &ps->grads);
    if (s == DMX_OK)
        s = dmx_buffer_write(ps->values, 0, host, total * 4);
    if (s == DMX_OK)
        s = dmx_buffer_fill(ps->grads, 0, grad_bytes, 0);
    free(host);
    if (s != DMX_OK) {
        dmx_buffer_free(ps->values);
        dmx_buffer_free(ps->grads);
        ps->values = ps->grads = NULL;
        return dmx_fail_context(s, "dmx_params_allocate (%d tensors, %zu values): ", ps->n,
                                total);
    }
    for (int i = 0; i < ps->n; i++) {
        param_entry *e = ps->items[i];
        e->t[0].buf = ps->values;
        e->t[1].buf = e->trainable ? ps->grads : NULL;
    }
    ps->allocated = true;
    return DMX_OK;
}

/* The inference placement: the same offsets as dmx_params_allocate, but only the values buffer
 * (zero-filled on the device, no host-side initialisation: the caller loads every tensor from a
 * file next) and no gradients; every tensor loses DMX_TENSOR_REQUIRES_GRAD so no op records
 * anything for it. */
dmx_status dmx_params_allocate_frozen(dmx_params *ps)
{
    if (!ps)
        return dmx_fail(DMX_ERR_INVALID_ARG, "dmx_params_allocate_frozen: NULL store");
    if (ps->allocated)
        return dmx_fail(DMX_ERR_INVALID_ARG, "dmx_params_allocate_frozen: already allocated");
    size_t total = place_tensors(ps);
    size_t value_bytes = (total ? total : PARAM_ALIGN) * 4;
    dmx_status s = dmx_buffer_alloc(ps->dev, value_bytes, &ps->values);
    if (s == DMX_OK)
        s = dmx_buffer_fill(ps->values, 0, value_bytes, 0);
    if (s != DMX_OK) {
        dmx_buffer_free(ps->values);
        ps->values = NULL;
        return dmx_fail_context(s, "frozen parameters (%d tensors, %zu values): ", ps->n, total);
    }
    for (int i = 0; i < ps->n; i++) {
        param_entry *e = ps->items[i];
        e->trainable = false;
        e->t[0].flags = DMX_TENSOR_PARAM;
        e->t[0].grad = NULL;
        e->t[0].buf = ps->values;
        e->t[1].buf = NULL;
    }
    ps->n_trainable_region = 0;
    ps->allocated = true;
    return DMX_OK;
}

size_t dmx_params_values_bytes(const dmx_params *ps) { return ps ? dmx_buffer_size(ps->values) : 0; }
size_t dmx_params_grads_bytes(const dmx_params *ps) { return ps ? dmx_buffer_size(ps->grads) : 0; }

int dmx_params_count(const dmx_params *ps) { return ps ? ps->n : 0; }

dmx_tensor *dmx_params_at(const dmx_params *ps, int index)
{
    return ps && index >= 0 && index < ps->n ? &ps->items[index]->t[0] : NULL;
}

dmx_tensor *dmx_params_find(const dmx_params *ps, const char *name)
{
    param_entry *e = find_entry(ps, name);
    return e ? &e->t[0] : NULL;
}

dmx_status dmx_params_get(const dmx_params *ps, const char *name, dmx_tensor **out)
{
    if (!out)
        return dmx_fail(DMX_ERR_INVALID_ARG, "dmx_params_get: NULL out");
    *out = dmx_params_find(ps, name);
    if (!*out)
        return dmx_fail(DMX_ERR_NOT_FOUND, "no parameter named %s (the store has %d)",
                        name ? name : "(null)", dmx_params_count(ps));
    return DMX_OK;
}

int dmx_params_trainable(const dmx_params *ps, dmx_tensor **out, int cap)
{
    int n = 0;
    for (int i = 0; ps && i < ps->n; i++)
        if (ps->items[i]->trainable) {
            if (out && n < cap)
                out[n] = &ps->items[i]->t[0];
            n++;
        }
    return n;
}

int64_t dmx_params_trainable_count(const dmx_params *ps)
{
    int64_t n = 0;
    for (int i = 0; ps && i < ps->n; i++)
        if (ps->items[i]->trainable)
            n += dmx_tensor_numel(&ps->items[i]->t[0]);
    return n;
}

static dmx_status require_allocated(const dmx_params *ps, const char *what)
{
    if (!ps)
        return dmx_fail(DMX_ERR_INVALID_ARG, "%s: NULL store", what);
    if (!ps->allocated)
        return dmx_fail(DMX_ERR_INVALID_ARG, "%s: call dmx_params_allocate first", what);
    return DMX_OK;
}

dmx_status dmx_params_zero_grad(dmx_params *ps)
{
    DMX_TRY(require_allocated(ps, "dmx_params_zero_grad"));
    return dmx_buffer_fill(ps->grads, 0, dmx_buffer_size(ps->grads), 0);
}

static dmx_status entry_for_copy(const dmx_params *ps, const char *name, size_t count,
                                 const char *what, param_entry **out)
{
    DMX_TRY(require_allocated(ps, what));
    *out = find_entry(ps, name);
    if (!*out)
        return dmx_fail(DMX_ERR_NOT_FOUND, "%s: no parameter named %s", what,
                        name ? name : "(null)");
    dmx_tensor *t = &(*out)->t[0];
    if ((int64_t)count != dmx_tensor_numel(t)) {
        char s[96];
        return dmx_fail(DMX_ERR_SHAPE, "%s: %s has shape %s (%lld elements), %zu given", what,
                        name, dmx_shape_str(t, s, sizeof s), (long long)dmx_tensor_numel(t),
                        count);
    }
    return DMX_OK;
}

dmx_status dmx_params_read(const dmx_params *ps, const char *name, float *dst, size_t count)
{
    param_entry *e = NULL;
    DMX_TRY(entry_for_copy(ps, name, count, "dmx_params_read", &e));
    return dmx_tensor_to_host(&e->t[0], dst, count * 4);
}

dmx_status dmx_params_write(dmx_params *ps, const char *name, const float *src, size_t count)
{
    param_entry *e = NULL;
    DMX_TRY(entry_for_copy(ps, name, count, "dmx_params_write", &e));
    return dmx_tensor_write(&e->t[0], src, count * 4);
}

dmx_status dmx_params_flat(dmx_params *ps, dmx_tensor *values, dmx_tensor *grads)
{
    DMX_TRY(require_allocated(ps, "dmx_params_flat"));
    if (!values || !grads)
        return dmx_fail(DMX_ERR_INVALID_ARG, "dmx_params_flat: NULL output");
    dmx_tensor v = {.buf = ps->values, .ndim = 1, .dtype = DMX_F32, .name = "params.values"};
    v.shape[0] = (int64_t)ps->n_trainable_region;
    dmx_tensor g = v;
    g.buf = ps->grads;
    g.name = "params.grads";
    *values = v;
    *grads = g;
    return DMX_OK;
}
