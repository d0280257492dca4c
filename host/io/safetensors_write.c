/* safetensors writer: collects tensors and metadata, lays them out as the reference writer
 * does, and replaces the target file atomically (temporary file, fsync, rename). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/error.h"
#include "io/json.h"
#include "io/atomic_write.h"
#include "io/safetensors_internal.h"

typedef struct st_entry {
    char *name;
    dmx_st_dtype dtype;
    int ndim;
    int64_t *shape;
    uint64_t bytes;
    const void *data; /* borrowed, or `owned` */
    void *owned;
} st_entry;

typedef struct st_metadata_entry {
    char *key, *value;
} st_metadata_entry;

struct dmx_st_writer {
    st_entry *entries;
    size_t count, capacity;
    st_metadata_entry *metadata;
    size_t metadata_count, metadata_capacity;
};

/* Grows an array of `size`-byte items to hold one more. */
static dmx_status reserve_one(void **items, size_t count, size_t *capacity, size_t size)
{
    if (count < *capacity)
        return DMX_OK;
    size_t cap = *capacity ? *capacity * 2 : 16;
    void *grown = realloc(*items, cap * size);
    if (!grown)
        return dmx_fail(DMX_ERR_OUT_OF_MEMORY, "safetensors writer: out of host memory");
    *items = grown;
    *capacity = cap;
    return DMX_OK;
}

dmx_status dmx_st_writer_create(dmx_st_writer **out)
{
    if (!out)
        return dmx_fail(DMX_ERR_INVALID_ARG, "dmx_st_writer_create: NULL out");
    *out = calloc(1, sizeof **out);
    if (!*out)
        return dmx_fail(DMX_ERR_OUT_OF_MEMORY, "dmx_st_writer_create: out of host memory");
    return DMX_OK;
}

static void free_entry(st_entry *e)
{
    free(e->name);
    free(e->shape);
    free(e->owned);
}

void dmx_st_writer_destroy(dmx_st_writer *w)
{
    if (!w)
        return;
    for (size_t i = 0; i < w->count; i++)
        free_entry(&w->entries[i]);
    for (size_t i = 0; i < w->metadata_count; i++) {
        free(w->metadata[i].key);
        free(w->metadata[i].value);
    }
    free(w->entries);
    free(w->metadata);
    free(w);
}

static dmx_status check_text(const char *what, const char *s)
{
    if (!s)
        return dmx_fail(DMX_ERR_INVALID_ARG, "safetensors writer: NULL %s", what);
    if (!dmx_utf8_valid(s, strlen(s)))
        return dmx_fail(DMX_ERR_INVALID_ARG, "safetensors writer: %s \"%s\" is not valid UTF-8",
                        what, s);
    return DMX_OK;
}

/* Fills e from the arguments; on failure e owns whatever it holds so far. */
static dmx_status make_entry(st_entry *e, const char *name, dmx_st_dtype dtype, int ndim,
                             const int64_t *shape, const void *data, bool copy)
{
    DMX_TRY(check_text("tensor name", name));
    if (strcmp(name, "__metadata__") == 0)
        return dmx_fail(DMX_ERR_INVALID_ARG,
                        "safetensors writer: \"__metadata__\" is reserved, not a tensor name");
    if (ndim < 0 || (ndim > 0 && !shape))
        return dmx_fail(DMX_ERR_INVALID_ARG, "safetensors writer: tensor '%s': rank %d%s", name,
                        ndim, ndim < 0 ? " is negative" : " with a NULL shape");
    char what[160];
    snprintf(what, sizeof what, "safetensors writer: tensor '%.100s'", name);
    int64_t numel;
    DMX_TRY(dmx_st_measure(what, dtype, ndim, shape, &numel, &e->bytes));
    if (!data && e->bytes)
        return dmx_fail(DMX_ERR_INVALID_ARG, "%s: NULL data for %llu bytes", what,
                        (unsigned long long)e->bytes);
    if (e->bytes > SIZE_MAX)
        return dmx_fail(DMX_ERR_SHAPE, "%s: %llu bytes do not fit in memory", what,
                        (unsigned long long)e->bytes);
    e->dtype = dtype;
    e->ndim = ndim;
    e->name = strdup(name);
    e->shape = malloc(ndim ? (size_t)ndim * sizeof *e->shape : 1);
    e->owned = copy ? malloc(e->bytes ? (size_t)e->bytes : 1) : NULL;
    if (!e->name || !e->shape || (copy && !e->owned))
        return dmx_fail(DMX_ERR_OUT_OF_MEMORY, "%s: out of host memory", what);
    if (ndim)
        memcpy(e->shape, shape, (size_t)ndim * sizeof *shape);
    if (copy && e->bytes)
        memcpy(e->owned, data, (size_t)e->bytes);
    e->data = copy ? e->owned : data;
    return DMX_OK;
}

static dmx_status add_entry(dmx_st_writer *w, const char *name, dmx_st_dtype dtype, int ndim,
                            const int64_t *shape, const void *data, bool copy)
{
    if (!w)
        return dmx_fail(DMX_ERR_INVALID_ARG, "safetensors writer: NULL writer");
    DMX_TRY(reserve_one((void **)&w->entries, w->count, &w->capacity, sizeof *w->entries));
    st_entry e = {0};
    dmx_status s = make_entry(&e, name, dtype, ndim, shape, data, copy);
    if (s != DMX_OK) {
        free_entry(&e);
        return s;
    }
    w->entries[w->count++] = e;
    return DMX_OK;
}

dmx_status dmx_st_writer_add(dmx_st_writer *w, const char *name, dmx_st_dtype dtype, int ndim,
                             const int64_t *shape, const void *data)
{
    return add_entry(w, name, dtype, ndim, shape, data, false);
}

dmx_status dmx_st_writer_add_copy(dmx_st_writer *w, const char *name, dmx_st_dtype dtype,
                                  int ndim, const int64_t *shape, const void *data)
{
    return add_entry(w, name, dtype, ndim, shape, data, true);
}

dmx_status dmx_st_writer_set_metadata(dmx_st_writer *w, const char *key, const char *value)
{
    if (!w)
        return dmx_fail(DMX_ERR_INVALID_ARG, "safetensors writer: NULL writer");
    DMX_TRY(check_text("metadata key", key));
    DMX_TRY(check_text("metadata value", value));
    char *copy = strdup(value);
    if (!copy)
        return dmx_fail(DMX_ERR_OUT_OF_MEMORY, "safetensors writer: out of host memory");
    for (size_t i = 0; i < w->metadata_count; i++) {
        if (strcmp(w->metadata[i].key, key) == 0) {
            free(w->metadata[i].value);
            w->metadata[i].value = copy;
            return DMX_OK;
        }
    }
    st_metadata_entry m = {strdup(key), copy};
    dmx_status s = m.key ? reserve_one((void **)&w->metadata, w->metadata_count,
                                       &w->metadata_capacity, sizeof *w->metadata)
                         : dmx_fail(DMX_ERR_OUT_OF_MEMORY, "safetensors writer: out of memory");
    if (s != DMX_OK) {
        free(m.key);
        free(copy);
        return s;
    }
    w->metadata[w->metadata_count++] = m;
    return DMX_OK;
}

/* ---- saving ---- */

typedef struct st_text {
    char *p;
    size_t len, capacity;
    bool failed; /* out of memory: later appends do nothing */
} st_text;

static void append(st_text *t, const char *s, size_t n)
{
    if (t->failed)
        return;
    if (t->len + n + 1 > t->capacity) {
        size_t cap = t->capacity ? t->capacity : 256;
        while (cap < t->len + n + 1)
            cap *= 2;
        char *grown = realloc(t->p, cap);
        if (!grown) {
            t->failed = true;
            return;
        }
        t->p = grown;
        t->capacity = cap;
    }
    memcpy(t->p + t->len, s, n);
    t->len += n;
    t->p[t->len] = '\0';
}

static void append_str(st_text *t, const char *s) { append(t, s, strlen(s)); }

static void append_quoted(st_text *t, const char *s)
{
    size_t n = strlen(s);
    char *q = malloc(dmx_json_quote(s, n, NULL));
    if (!q) {
        t->failed = true;
        return;
    }
    append(t, q, dmx_json_quote(s, n, q));
    free(q);
}

static void append_uint(st_text *t, uint64_t v)
{
    char digits[24];
    append(t, digits, (size_t)snprintf(digits, sizeof digits, "%llu", (unsigned long long)v));
}

static void append_metadata(st_text *t, const dmx_st_writer *w)
{
    if (w->metadata_count == 0)
        return;
    append_str(t, "\"__metadata__\":{");
    for (size_t i = 0; i < w->metadata_count; i++) {
        append_str(t, i ? "," : "");
        append_quoted(t, w->metadata[i].key);
        append_str(t, ":");
        append_quoted(t, w->metadata[i].value);
    }
    append_str(t, "}");
}

/* `"name":{"dtype":"F32","shape":[2,3],"data_offsets":[0,24]}` */
static void append_tensor(st_text *t, const st_entry *e, uint64_t begin)
{
    append_quoted(t, e->name);
    append_str(t, ":{\"dtype\":\"");
    append_str(t, dmx_st_dtype_name(e->dtype));
    append_str(t, "\",\"shape\":[");
    for (int d = 0; d < e->ndim; d++) {
        append_str(t, d ? "," : "");
        append_uint(t, (uint64_t)e->shape[d]);
    }
    append_str(t, "],\"data_offsets\":[");
    append_uint(t, begin);
    append_str(t, ",");
    append_uint(t, begin + e->bytes);
    append_str(t, "]}");
}

/* The 8-byte length followed by the JSON header padded with spaces to a multiple of 8. */
static dmx_status build_header(const dmx_st_writer *w, st_entry *const *order, st_text *t)
{
    append(t, "\0\0\0\0\0\0\0\0{", 9);
    append_metadata(t, w);
    uint64_t offset = 0;
    for (size_t i = 0; i < w->count; i++) {
        append_str(t, i || w->metadata_count ? "," : "");
        append_tensor(t, order[i], offset);
        offset += order[i]->bytes;
    }
    append_str(t, "}");
    while ((t->len - 8) % 8 != 0)
        append_str(t, " ");
    if (t->failed)
        return dmx_fail(DMX_ERR_OUT_OF_MEMORY, "no memory for the header");
    uint64_t n = t->len - 8;
    if (n > DMX_ST_MAX_HEADER_BYTES)
        return dmx_fail(DMX_ERR_INVALID_ARG, "the header would be %llu bytes, above the limit of "
                        "%llu", (unsigned long long)n, DMX_ST_MAX_HEADER_BYTES);
    for (int i = 0; i < 8; i++)
        t->p[i] = (char)(n >> (8 * i) & 0xFF);
    return DMX_OK;
}

static int compare_names(const void *a, const void *b)
{
    const st_entry *const *x = a, *const *y = b;
    return strcmp((*x)->name, (*y)->name);
}

/* The reference writer's order: larger dtypes first (in the dtype enum's order), then name. */
static int compare_layout(const void *a, const void *b)
{
    const st_entry *const *x = a, *const *y = b;
    if ((*x)->dtype != (*y)->dtype)
        return (*x)->dtype > (*y)->dtype ? -1 : 1;
    return strcmp((*x)->name, (*y)->name);
}

/* The entries in file order, after checking that no name was added twice. */
static dmx_status order_entries(const dmx_st_writer *w, st_entry ***out)
{
    st_entry **order = malloc((w->count ? w->count : 1) * sizeof *order);
    if (!order)
        return dmx_fail(DMX_ERR_OUT_OF_MEMORY, "no memory to order %zu tensors", w->count);
    for (size_t i = 0; i < w->count; i++)
        order[i] = &w->entries[i];
    qsort(order, w->count, sizeof *order, compare_names);
    for (size_t i = 1; i < w->count; i++) {
        if (strcmp(order[i - 1]->name, order[i]->name) == 0) {
            dmx_status s = dmx_fail(DMX_ERR_INVALID_ARG, "tensor '%s' was added twice",
                                    order[i]->name);
            free(order);
            return s;
        }
    }
    qsort(order, w->count, sizeof *order, compare_layout);
    *out = order;
    return DMX_OK;
}

static dmx_status save(const dmx_st_writer *w, const char *path)
{
    st_entry **order = NULL;
    DMX_TRY(order_entries(w, &order));
    st_text header = {0};
    dmx_write_chunk *chunks = malloc((w->count + 1) * sizeof *chunks);
    dmx_status s = chunks ? build_header(w, order, &header)
                          : dmx_fail(DMX_ERR_OUT_OF_MEMORY, "no memory for %zu chunks", w->count);
    if (s == DMX_OK) {
        chunks[0] = (dmx_write_chunk){header.p, header.len};
        for (size_t i = 0; i < w->count; i++)
            chunks[i + 1] = (dmx_write_chunk){order[i]->data, (size_t)order[i]->bytes};
        s = dmx_write_file_atomic(path, chunks, w->count + 1);
    }
    free(chunks);
    free(header.p);
    free(order);
    return s;
}

dmx_status dmx_st_writer_save(dmx_st_writer *w, const char *path)
{
    if (!w || !path)
        return dmx_fail(DMX_ERR_INVALID_ARG, "dmx_st_writer_save: NULL writer or path");
    dmx_status s = save(w, path);
    if (s != DMX_OK)
        return dmx_fail_context(s, "saving safetensors file '%s': ", path);
    return DMX_OK;
}
