/* safetensors reader: open, validate the header completely, then serve lookups and reads.
 * No number from the file is used before it has been checked against the file's real size. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "core/error.h"
#include "io/json.h"
#include "io/safetensors_internal.h"

struct dmx_st_file {
    char *path;
    int fd;
    uint64_t file_size;
    uint64_t data_start;           /* 8 + header length */
    char *header;                  /* names and metadata point into it (decoded in place) */
    uint64_t header_len;
    dmx_st_tensor_info *tensors;   /* sorted by byte range once validated */
    const dmx_st_tensor_info **by_name; /* sorted by name, for lookups */
    int64_t *shapes;               /* every tensor's sizes, one after another */
    int64_t count;
    struct {
        const char *key, *value;
    } *metadata;
    int64_t metadata_count;
};

static dmx_status read_exact(const dmx_st_file *f, uint64_t offset, void *dst, size_t bytes)
{
    char *p = dst;
    while (bytes > 0) {
        ssize_t got = pread(f->fd, p, bytes, (off_t)offset);
        if (got < 0 && errno == EINTR)
            continue;
        if (got < 0)
            return dmx_fail(DMX_ERR_IO, "read of %zu bytes at offset %llu failed: %s", bytes,
                            (unsigned long long)offset, strerror(errno));
        if (got == 0)
            return dmx_fail(DMX_ERR_IO, "file ended at offset %llu: it shrank after opening",
                            (unsigned long long)offset);
        p += got;
        offset += (uint64_t)got;
        bytes -= (size_t)got;
    }
    return DMX_OK;
}

static dmx_status open_file(dmx_st_file *f)
{
    f->fd = open(f->path, O_RDONLY | O_CLOEXEC);
    if (f->fd < 0)
        return dmx_fail(errno == ENOENT ? DMX_ERR_NOT_FOUND : DMX_ERR_IO, "cannot open: %s",
                        strerror(errno));
    struct stat st;
    if (fstat(f->fd, &st) != 0)
        return dmx_fail(DMX_ERR_IO, "cannot stat: %s", strerror(errno));
    if (!S_ISREG(st.st_mode))
        return dmx_fail(DMX_ERR_IO, "not a regular file");
    f->file_size = (uint64_t)st.st_size;
    return DMX_OK;
}

/* The 8-byte length and the header text, checked against the limit and the file size. */
static dmx_status read_header(dmx_st_file *f)
{
    if (f->file_size < 8)
        return dmx_fail(DMX_ERR_FORMAT, "file is %llu bytes, shorter than the 8-byte header length",
                        (unsigned long long)f->file_size);
    unsigned char prefix[8];
    DMX_TRY(read_exact(f, 0, prefix, 8));
    uint64_t n = 0;
    for (int i = 7; i >= 0; i--)
        n = n << 8 | prefix[i];
    if (n > DMX_ST_MAX_HEADER_BYTES)
        return dmx_fail(DMX_ERR_FORMAT, "header length %llu exceeds the limit of %llu bytes",
                        (unsigned long long)n, DMX_ST_MAX_HEADER_BYTES);
    if (n > f->file_size - 8)
        return dmx_fail(DMX_ERR_FORMAT,
                        "header length %llu is larger than the %llu bytes after it in the file",
                        (unsigned long long)n, (unsigned long long)(f->file_size - 8));
    f->header = malloc(n ? n : 1);
    if (!f->header)
        return dmx_fail(DMX_ERR_OUT_OF_MEMORY, "no memory for a %llu-byte header",
                        (unsigned long long)n);
    f->header_len = n;
    f->data_start = 8 + n;
    DMX_TRY(read_exact(f, 8, f->header, n));
    if (n == 0 || f->header[0] != '{')
        return dmx_fail(DMX_ERR_FORMAT, "header does not start with '{'");
    return DMX_OK;
}

static bool is_metadata_key(const dmx_json_node *member)
{
    return member->key_len == 12 && memcmp(member->key, "__metadata__", 12) == 0;
}

static int compare_metadata_keys(const void *a, const void *b)
{
    const char *const *x = a, *const *y = b;
    return strcmp(*x, *y);
}

/* Duplicate keys are disallowed by the format; sorting keeps a hostile header at n log n. */
static dmx_status check_unique_metadata_keys(const dmx_st_file *f)
{
    size_t n = (size_t)f->metadata_count;
    const char **keys = malloc((n ? n : 1) * sizeof *keys);
    if (!keys)
        return dmx_fail(DMX_ERR_OUT_OF_MEMORY, "no memory for %zu metadata keys", n);
    for (size_t i = 0; i < n; i++)
        keys[i] = f->metadata[i].key;
    qsort(keys, n, sizeof *keys, compare_metadata_keys);
    dmx_status s = DMX_OK;
    for (size_t i = 1; i < n && s == DMX_OK; i++)
        if (strcmp(keys[i - 1], keys[i]) == 0)
            s = dmx_fail(DMX_ERR_FORMAT, "metadata key '%s' appears twice", keys[i]);
    free(keys);
    return s;
}

static dmx_status parse_metadata(dmx_st_file *f, const dmx_json_doc *doc,
                                 const dmx_json_node *node)
{
    if (node->kind != DMX_JSON_OBJECT)
        return dmx_fail(DMX_ERR_FORMAT, "__metadata__ is not an object");
    f->metadata = calloc(node->count ? node->count : 1, sizeof *f->metadata);
    if (!f->metadata)
        return dmx_fail(DMX_ERR_OUT_OF_MEMORY, "no memory for %zu metadata entries", node->count);
    for (const dmx_json_node *m = dmx_json_first(doc, node); m; m = dmx_json_next(doc, m)) {
        if (strlen(m->key) != m->key_len)
            return dmx_fail(DMX_ERR_FORMAT, "a metadata key contains a NUL character");
        if (m->kind != DMX_JSON_STRING)
            return dmx_fail(DMX_ERR_FORMAT, "metadata value of '%s' is not a string", m->key);
        if (strlen(m->str) != m->str_len)
            return dmx_fail(DMX_ERR_FORMAT, "metadata value of '%s' contains a NUL character",
                            m->key);
        f->metadata[f->metadata_count].key = m->key;
        f->metadata[f->metadata_count].value = m->str;
        f->metadata_count++;
    }
    return check_unique_metadata_keys(f);
}

static dmx_status parse_dtype(dmx_st_tensor_info *t, const dmx_json_node *v)
{
    if (v->kind != DMX_JSON_STRING)
        return dmx_fail(DMX_ERR_FORMAT, "tensor '%s': dtype is not a string", t->name);
    if (!dmx_st_dtype_parse(v->str, v->str_len, &t->dtype))
        return dmx_fail(DMX_ERR_FORMAT, "tensor '%s': unknown dtype \"%s\"", t->name, v->str);
    return DMX_OK;
}

static dmx_status parse_shape(dmx_st_tensor_info *t, const dmx_json_doc *doc,
                              const dmx_json_node *v, int64_t *pool)
{
    if (v->kind != DMX_JSON_ARRAY)
        return dmx_fail(DMX_ERR_FORMAT, "tensor '%s': shape is not an array", t->name);
    /* The header is at most 1e8 bytes, so the rank fits an int. */
    t->ndim = (int)v->count;
    t->shape = pool;
    int i = 0;
    for (const dmx_json_node *e = dmx_json_first(doc, v); e; e = dmx_json_next(doc, e), i++) {
        if (e->kind != DMX_JSON_NUMBER || !e->is_uint || e->uint_value > (uint64_t)INT64_MAX)
            return dmx_fail(DMX_ERR_FORMAT,
                            "tensor '%s': shape entry %d is not an integer in [0, 2^63)", t->name,
                            i);
        pool[i] = (int64_t)e->uint_value;
    }
    return DMX_OK;
}

static dmx_status parse_offsets(dmx_st_tensor_info *t, const dmx_json_doc *doc,
                                const dmx_json_node *v)
{
    bool pair = v->kind == DMX_JSON_ARRAY && v->count == 2;
    const dmx_json_node *b = pair ? dmx_json_first(doc, v) : NULL;
    const dmx_json_node *e = pair ? dmx_json_next(doc, b) : NULL;
    if (!pair || !b->is_uint || !e->is_uint)
        return dmx_fail(DMX_ERR_FORMAT,
                        "tensor '%s': data_offsets is not an array of two integers in [0, 2^64)",
                        t->name);
    t->begin = b->uint_value;
    t->end = e->uint_value;
    if (t->end < t->begin)
        return dmx_fail(DMX_ERR_FORMAT, "tensor '%s': data_offsets [%llu, %llu] run backwards",
                        t->name, (unsigned long long)t->begin, (unsigned long long)t->end);
    return DMX_OK;
}

/* Marks a field as seen, rejecting repeats. */
static dmx_status see_field(const dmx_st_tensor_info *t, const char *field, bool *seen)
{
    if (*seen)
        return dmx_fail(DMX_ERR_FORMAT, "tensor '%s': field '%s' appears twice", t->name, field);
    *seen = true;
    return DMX_OK;
}

/* One `"name": {"dtype": ..., "shape": [...], "data_offsets": [b, e]}` entry. */
static dmx_status parse_tensor(dmx_st_tensor_info *t, const dmx_json_doc *doc,
                               const dmx_json_node *node, int64_t *pool)
{
    t->name = node->key;
    if (strlen(node->key) != node->key_len)
        return dmx_fail(DMX_ERR_FORMAT, "a tensor name contains a NUL character");
    if (node->kind != DMX_JSON_OBJECT)
        return dmx_fail(DMX_ERR_FORMAT, "tensor '%s': description is not an object", t->name);
    bool has_dtype = false, has_shape = false, has_offsets = false;
    for (const dmx_json_node *v = dmx_json_first(doc, node); v; v = dmx_json_next(doc, v)) {
        if (strcmp(v->key, "dtype") == 0) {
            DMX_TRY(see_field(t, "dtype", &has_dtype));
            DMX_TRY(parse_dtype(t, v));
        } else if (strcmp(v->key, "shape") == 0) {
            DMX_TRY(see_field(t, "shape", &has_shape));
            DMX_TRY(parse_shape(t, doc, v, pool));
        } else if (strcmp(v->key, "data_offsets") == 0) {
            DMX_TRY(see_field(t, "data_offsets", &has_offsets));
            DMX_TRY(parse_offsets(t, doc, v));
        } else
            return dmx_fail(DMX_ERR_FORMAT, "tensor '%s': unknown field '%s'", t->name, v->key);
    }
    if (!has_dtype || !has_shape || !has_offsets)
        return dmx_fail(DMX_ERR_FORMAT, "tensor '%s': missing '%s'", t->name,
                        !has_dtype ? "dtype" : !has_shape ? "shape" : "data_offsets");
    uint64_t bytes;
    char what[64];
    snprintf(what, sizeof what, "tensor '%.40s'", t->name);
    if (dmx_st_measure(what, t->dtype, t->ndim, t->shape, &t->numel, &bytes) != DMX_OK)
        return DMX_ERR_FORMAT; /* its message stands; the file is what is wrong */
    if (t->end - t->begin != bytes) {
        char shape[128];
        return dmx_fail(DMX_ERR_FORMAT,
                        "tensor '%s': data_offsets [%llu, %llu] span %llu bytes, but %s %s needs "
                        "%llu",
                        t->name, (unsigned long long)t->begin, (unsigned long long)t->end,
                        (unsigned long long)(t->end - t->begin), dmx_st_dtype_name(t->dtype),
                        dmx_st_shape_str(t->ndim, t->shape, shape, sizeof shape),
                        (unsigned long long)bytes);
    }
    return DMX_OK;
}

/* Room for every tensor and every shape entry, counted before parsing. */
static dmx_status allocate_tensors(dmx_st_file *f, const dmx_json_doc *doc)
{
    size_t tensors = 0, dims = 0;
    const dmx_json_node *root = dmx_json_root(doc);
    for (const dmx_json_node *m = dmx_json_first(doc, root); m; m = dmx_json_next(doc, m)) {
        if (is_metadata_key(m) || m->kind != DMX_JSON_OBJECT)
            continue;
        tensors++;
        for (const dmx_json_node *v = dmx_json_first(doc, m); v; v = dmx_json_next(doc, v))
            if (strcmp(v->key, "shape") == 0 && v->kind == DMX_JSON_ARRAY)
                dims += v->count;
    }
    f->tensors = calloc(root->count ? root->count : 1, sizeof *f->tensors);
    f->by_name = calloc(root->count ? root->count : 1, sizeof *f->by_name);
    f->shapes = calloc(dims ? dims : 1, sizeof *f->shapes);
    if (!f->tensors || !f->by_name || !f->shapes)
        return dmx_fail(DMX_ERR_OUT_OF_MEMORY, "no memory for %zu tensor descriptions", tensors);
    return DMX_OK;
}

static dmx_status parse_entries(dmx_st_file *f, const dmx_json_doc *doc)
{
    DMX_TRY(allocate_tensors(f, doc));
    bool has_metadata = false;
    int64_t *pool = f->shapes;
    const dmx_json_node *root = dmx_json_root(doc);
    for (const dmx_json_node *m = dmx_json_first(doc, root); m; m = dmx_json_next(doc, m)) {
        if (is_metadata_key(m)) {
            if (has_metadata)
                return dmx_fail(DMX_ERR_FORMAT, "__metadata__ appears twice");
            has_metadata = true;
            DMX_TRY(parse_metadata(f, doc, m));
            continue;
        }
        dmx_st_tensor_info *t = &f->tensors[f->count];
        DMX_TRY(parse_tensor(t, doc, m, pool));
        pool += t->ndim;
        f->by_name[f->count] = t;
        f->count++;
    }
    return DMX_OK;
}

static dmx_status parse_header(dmx_st_file *f)
{
    dmx_json_doc doc;
    dmx_status s = dmx_json_parse(f->header, f->header_len, &doc);
    if (s != DMX_OK)
        return dmx_fail_context(s, "malformed JSON header: ");
    s = parse_entries(f, &doc);
    dmx_json_free(&doc);
    return s;
}

static int compare_ranges(const void *a, const void *b)
{
    const dmx_st_tensor_info *x = a, *y = b;
    if (x->begin != y->begin)
        return x->begin < y->begin ? -1 : 1;
    if (x->end != y->end)
        return x->end < y->end ? -1 : 1;
    return strcmp(x->name, y->name);
}

static int compare_names(const void *a, const void *b)
{
    const dmx_st_tensor_info *const *x = a, *const *y = b;
    return strcmp((*x)->name, (*y)->name);
}

/* Byte ranges must lie inside the data and tile it from 0 to its end without holes or
 * overlaps, and nothing may follow the last tensor. */
static dmx_status check_layout(dmx_st_file *f)
{
    uint64_t data_len = f->file_size - f->data_start;
    for (int64_t i = 0; i < f->count; i++) {
        const dmx_st_tensor_info *t = &f->tensors[i];
        if (t->end > data_len)
            return dmx_fail(DMX_ERR_FORMAT,
                            "tensor '%s': data_offsets [%llu, %llu] reach past the %llu data "
                            "bytes in the file",
                            t->name, (unsigned long long)t->begin, (unsigned long long)t->end,
                            (unsigned long long)data_len);
    }
    qsort(f->tensors, (size_t)f->count, sizeof *f->tensors, compare_ranges);
    uint64_t covered = 0;
    for (int64_t i = 0; i < f->count; i++) {
        const dmx_st_tensor_info *t = &f->tensors[i];
        const char *prev = i ? f->tensors[i - 1].name : NULL;
        if (t->begin < covered)
            return dmx_fail(DMX_ERR_FORMAT, "tensors '%s' and '%s' overlap: '%s' starts at %llu",
                            prev, t->name, t->name, (unsigned long long)t->begin);
        if (t->begin > covered)
            return dmx_fail(DMX_ERR_FORMAT, "hole in the data: bytes [%llu, %llu) %s%s%s belong to "
                            "no tensor",
                            (unsigned long long)covered, (unsigned long long)t->begin,
                            prev ? "after '" : "before the first tensor", prev ? prev : "",
                            prev ? "'" : "");
        covered = t->end;
    }
    if (covered != data_len)
        return dmx_fail(DMX_ERR_FORMAT, "%llu trailing bytes after the last tensor's data",
                        (unsigned long long)(data_len - covered));
    return DMX_OK;
}

static dmx_status index_names(dmx_st_file *f)
{
    for (int64_t i = 0; i < f->count; i++)
        f->by_name[i] = &f->tensors[i];
    qsort(f->by_name, (size_t)f->count, sizeof *f->by_name, compare_names);
    for (int64_t i = 1; i < f->count; i++)
        if (strcmp(f->by_name[i - 1]->name, f->by_name[i]->name) == 0)
            return dmx_fail(DMX_ERR_FORMAT, "tensor name '%s' appears twice", f->by_name[i]->name);
    return DMX_OK;
}

dmx_status dmx_st_open(const char *path, dmx_st_file **out)
{
    if (!path || !out)
        return dmx_fail(DMX_ERR_INVALID_ARG, "dmx_st_open: NULL path or out");
    *out = NULL;
    dmx_st_file *f = calloc(1, sizeof *f);
    if (!f || !(f->path = strdup(path))) {
        free(f);
        return dmx_fail(DMX_ERR_OUT_OF_MEMORY, "dmx_st_open: out of host memory");
    }
    f->fd = -1;
    dmx_status s = open_file(f);
    if (s == DMX_OK)
        s = read_header(f);
    if (s == DMX_OK)
        s = parse_header(f);
    if (s == DMX_OK)
        s = check_layout(f);
    if (s == DMX_OK)
        s = index_names(f);
    if (s != DMX_OK) {
        dmx_fail_context(s, "safetensors file '%s': ", path);
        dmx_st_close(f);
        return s;
    }
    *out = f;
    return DMX_OK;
}

void dmx_st_close(dmx_st_file *f)
{
    if (!f)
        return;
    if (f->fd >= 0)
        close(f->fd);
    free(f->path);
    free(f->header);
    free(f->tensors);
    free(f->by_name);
    free(f->shapes);
    free(f->metadata);
    free(f);
}

const char *dmx_st_path(const dmx_st_file *f) { return f ? f->path : NULL; }

int64_t dmx_st_count(const dmx_st_file *f) { return f ? f->count : 0; }

const dmx_st_tensor_info *dmx_st_info_at(const dmx_st_file *f, int64_t index)
{
    return f && index >= 0 && index < f->count ? &f->tensors[index] : NULL;
}

const dmx_st_tensor_info *dmx_st_find(const dmx_st_file *f, const char *name)
{
    if (!f || !name)
        return NULL;
    dmx_st_tensor_info key = {.name = name};
    const dmx_st_tensor_info *key_ptr = &key;
    const dmx_st_tensor_info *const *hit =
        bsearch(&key_ptr, f->by_name, (size_t)f->count, sizeof *f->by_name, compare_names);
    return hit ? *hit : NULL;
}

/* The tensor, or DMX_ERR_NOT_FOUND naming the file. */
static dmx_status lookup(const dmx_st_file *f, const char *name, const dmx_st_tensor_info **out)
{
    if (!f || !name)
        return dmx_fail(DMX_ERR_INVALID_ARG, "safetensors: NULL file or tensor name");
    *out = dmx_st_find(f, name);
    if (!*out)
        return dmx_fail(DMX_ERR_NOT_FOUND, "safetensors file '%s' has no tensor '%s'", f->path,
                        name);
    return DMX_OK;
}

dmx_status dmx_st_check_shape(const dmx_st_file *f, const char *name, int ndim,
                              const int64_t *shape)
{
    const dmx_st_tensor_info *t;
    DMX_TRY(lookup(f, name, &t));
    size_t shape_bytes = (size_t)t->ndim * sizeof *shape;
    if (ndim == t->ndim && (ndim == 0 || (shape && memcmp(shape, t->shape, shape_bytes) == 0)))
        return DMX_OK;
    char have[256], want[256];
    return dmx_fail(DMX_ERR_SHAPE, "safetensors file '%s': tensor '%s' has shape %s, expected %s",
                    f->path, name, dmx_st_shape_str(t->ndim, t->shape, have, sizeof have),
                    shape || ndim == 0 ? dmx_st_shape_str(ndim, shape, want, sizeof want)
                                       : "(NULL)");
}

int64_t dmx_st_metadata_count(const dmx_st_file *f) { return f ? f->metadata_count : 0; }

dmx_status dmx_st_metadata_at(const dmx_st_file *f, int64_t index, const char **key,
                              const char **value)
{
    if (!f || !key || !value)
        return dmx_fail(DMX_ERR_INVALID_ARG, "dmx_st_metadata_at: NULL argument");
    if (index < 0 || index >= f->metadata_count)
        return dmx_fail(DMX_ERR_INVALID_ARG,
                        "safetensors file '%s': metadata index %lld outside [0, %lld)", f->path,
                        (long long)index, (long long)f->metadata_count);
    *key = f->metadata[index].key;
    *value = f->metadata[index].value;
    return DMX_OK;
}

const char *dmx_st_metadata(const dmx_st_file *f, const char *key)
{
    for (int64_t i = 0; f && key && i < f->metadata_count; i++)
        if (strcmp(f->metadata[i].key, key) == 0)
            return f->metadata[i].value;
    return NULL;
}

/* Bytes `numel` elements of `as` take when the tensor is read that way. */
static uint64_t bytes_as(const dmx_st_tensor_info *t, dmx_st_dtype as)
{
    if (as == t->dtype)
        return t->end - t->begin;
    return (uint64_t)t->numel * (uint64_t)dmx_st_dtype_bits(as) / 8;
}

static dmx_status read_converted(const dmx_st_file *f, const dmx_st_tensor_info *t,
                                 dmx_st_dtype as, void *dst)
{
    size_t stored = (size_t)(t->end - t->begin);
    void *raw = malloc(stored ? stored : 1);
    if (!raw)
        return dmx_fail(DMX_ERR_OUT_OF_MEMORY, "no memory to stage %zu bytes", stored);
    dmx_status s = read_exact(f, f->data_start + t->begin, raw, stored);
    int64_t bad = 0;
    if (s == DMX_OK && !dmx_st_convert(t->dtype, raw, as, dst, t->numel, &bad)) {
        int64_t v;
        memcpy(&v, (char *)raw + 8 * bad, 8); /* only I64 -> I32 can fail */
        s = dmx_fail(DMX_ERR_FORMAT, "element %lld = %lld does not fit %s", (long long)bad,
                     (long long)v, dmx_st_dtype_name(as));
    }
    free(raw);
    return s;
}

dmx_status dmx_st_read(const dmx_st_file *f, const char *name, dmx_st_dtype as, void *dst,
                       size_t dst_bytes)
{
    const dmx_st_tensor_info *t;
    DMX_TRY(lookup(f, name, &t));
    if (!dmx_st_dtype_name(as))
        return dmx_fail(DMX_ERR_INVALID_ARG, "dmx_st_read: dtype %d is not a safetensors dtype",
                        (int)as);
    if (as != t->dtype && !dmx_st_can_convert(t->dtype, as))
        return dmx_fail(DMX_ERR_INVALID_ARG,
                        "safetensors file '%s': tensor '%s' is %s and cannot be read as %s",
                        f->path, name, dmx_st_dtype_name(t->dtype), dmx_st_dtype_name(as));
    uint64_t need = bytes_as(t, as);
    if (dst_bytes != need) {
        char shape[256];
        return dmx_fail(DMX_ERR_SHAPE,
                        "safetensors file '%s': tensor '%s' (%s %s) needs %llu bytes as %s, the "
                        "buffer has %zu",
                        f->path, name, dmx_st_dtype_name(t->dtype),
                        dmx_st_shape_str(t->ndim, t->shape, shape, sizeof shape),
                        (unsigned long long)need, dmx_st_dtype_name(as), dst_bytes);
    }
    if (!dst && need)
        return dmx_fail(DMX_ERR_INVALID_ARG, "dmx_st_read: NULL destination for tensor '%s'",
                        name);
    dmx_status s = as == t->dtype ? read_exact(f, f->data_start + t->begin, dst, need)
                                  : read_converted(f, t, as, dst);
    if (s != DMX_OK)
        return dmx_fail_context(s, "safetensors file '%s', tensor '%s': ", f->path, name);
    return DMX_OK;
}
