/* Reads a split directory of the LRA Pathfinder release: metadata/<batch>.npy, which LRA and S4
 * parse as text (rows "imgs/<batch> sample_<i>.png <i> <label> ..."), and the PNGs it names. */
#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/error.h"
#include "data/lra_internal.h"
#include "data/png_read.h"

#define MAX_FIELDS 16

typedef struct release_reader {
    const char *dir;
    dmx_pathfinder_release_options opt;
    dmx_lra_tokens *out;
    int64_t reserved;
    int64_t skipped;
} release_reader;

static dmx_status read_file(const char *path, uint8_t **data, size_t *size)
{
    *data = NULL;
    *size = 0;
    FILE *f = fopen(path, "rb");
    if (!f)
        return dmx_fail(errno == ENOENT ? DMX_ERR_NOT_FOUND : DMX_ERR_IO, "%s: cannot open: %s",
                        path, strerror(errno));
    dmx_status s = DMX_OK;
    size_t cap = 0;
    for (;;) {
        if (*size == cap) {
            cap = cap ? 2 * cap : 4096;
            uint8_t *bigger = realloc(*data, cap + 1);
            if (!bigger) {
                s = dmx_fail(DMX_ERR_OUT_OF_MEMORY, "%s: %zu bytes", path, cap);
                break;
            }
            *data = bigger;
        }
        size_t got = fread(*data + *size, 1, cap - *size, f);
        *size += got;
        if (got == 0) {
            if (ferror(f))
                s = dmx_fail(DMX_ERR_IO, "%s: read failed: %s", path, strerror(errno));
            break;
        }
    }
    fclose(f);
    if (s == DMX_OK)
        (*data)[*size] = '\0'; /* metadata is parsed as text */
    else {
        free(*data);
        *data = NULL;
    }
    return s;
}

/* Batch numbers of metadata/<n>.npy, sorted. */
static int compare_ints(const void *a, const void *b)
{
    int x = *(const int *)a, y = *(const int *)b;
    return (x > y) - (x < y);
}

static dmx_status list_batches(const char *meta_dir, int **batches, int *n)
{
    DIR *d = opendir(meta_dir);
    if (!d)
        return dmx_fail(errno == ENOENT ? DMX_ERR_NOT_FOUND : DMX_ERR_IO,
                        "%s: cannot open the metadata directory: %s", meta_dir, strerror(errno));
    int cap = 0;
    *n = 0;
    *batches = NULL;
    dmx_status s = DMX_OK;
    struct dirent *e;
    while (s == DMX_OK && (e = readdir(d))) {
        char *end = NULL;
        long batch = strtol(e->d_name, &end, 10);
        if (end == e->d_name || strcmp(end, ".npy") != 0 || batch < 0 || batch > 1000000)
            continue; /* not a metadata file */
        if (*n == cap) {
            cap = cap ? 2 * cap : 64;
            int *bigger = realloc(*batches, (size_t)cap * sizeof *bigger);
            if (!bigger)
                s = dmx_fail(DMX_ERR_OUT_OF_MEMORY, "%s: listing", meta_dir);
            else
                *batches = bigger;
        }
        if (s == DMX_OK)
            (*batches)[(*n)++] = (int)batch;
    }
    closedir(d);
    if (s == DMX_OK && *n == 0)
        s = dmx_fail(DMX_ERR_NOT_FOUND, "%s: no <batch>.npy metadata files", meta_dir);
    if (s == DMX_OK)
        qsort(*batches, (size_t)*n, sizeof **batches, compare_ints);
    return s;
}

/* Decodes one image and appends it; the first image fixes the resolution. */
static dmx_status add_image(release_reader *r, const char *path, int label)
{
    uint8_t *data = NULL, *pixels = NULL;
    size_t size = 0;
    int w = 0, h = 0;
    DMX_TRY(read_file(path, &data, &size));
    if (size == 0 && r->opt.skip_empty) {
        free(data);
        r->skipped++;
        return DMX_OK;
    }
    dmx_status s = dmx_png_decode_gray8(data, size, path, &w, &h, &pixels);
    free(data);
    dmx_lra_tokens *out = r->out;
    if (s == DMX_OK && w != h)
        s = dmx_fail(DMX_ERR_FORMAT, "%s: %dx%d pixels; Pathfinder images are square", path, w, h);
    if (s == DMX_OK && out->seq_len == 0)
        out->seq_len = w * h;
    if (s == DMX_OK && w * h != out->seq_len)
        s = dmx_fail(DMX_ERR_FORMAT, "%s: %dx%d pixels, unlike the earlier images (%d pixels)",
                     path, w, h, out->seq_len);
    if (s == DMX_OK && out->count == r->reserved) {
        r->reserved = r->reserved ? 2 * r->reserved : 1024;
        s = dmx_lra_tokens_reserve(out, r->reserved);
    }
    if (s == DMX_OK) {
        memcpy(out->symbols + out->count * out->seq_len, pixels, (size_t)out->seq_len);
        out->lengths[out->count] = out->seq_len;
        out->labels[out->count] = (uint8_t)label;
        out->count++;
    }
    free(pixels);
    return s;
}

/* One metadata row: fields 0 and 1 locate the image, field 3 is the label. */
static dmx_status read_row(release_reader *r, char *row)
{
    char *field[MAX_FIELDS];
    int n = 0;
    for (char *save = NULL, *t = strtok_r(row, " \t\r", &save); t && n < MAX_FIELDS;
         t = strtok_r(NULL, " \t\r", &save))
        field[n++] = t;
    if (n < 4)
        return dmx_fail(DMX_ERR_FORMAT, "%d fields; a row is 'subdir file index label ...'", n);
    if (strcmp(field[3], "0") != 0 && strcmp(field[3], "1") != 0)
        return dmx_fail(DMX_ERR_FORMAT, "label '%.20s' is not 0 or 1", field[3]);
    char path[4096];
    int len = snprintf(path, sizeof path, "%s/%s/%s", r->dir, field[0], field[1]);
    if (len < 0 || (size_t)len >= sizeof path)
        return dmx_fail(DMX_ERR_INVALID_ARG, "image path too long");
    return add_image(r, path, field[3][0] - '0');
}

static dmx_status read_metadata(release_reader *r, const char *meta_path)
{
    uint8_t *text = NULL;
    size_t size = 0;
    DMX_TRY(read_file(meta_path, &text, &size));
    int npy = size >= 6 && memcmp(text, "\x93NUMPY", 6) == 0;
    if (npy || memchr(text, '\0', size)) {
        free(text);
        return dmx_fail(DMX_ERR_FORMAT, "%s: %s; the release's metadata files are text rows",
                        meta_path, npy ? "a binary NumPy array" : "binary data");
    }
    dmx_status s = DMX_OK;
    long long line_no = 0;
    for (char *line = (char *)text; s == DMX_OK && line < (char *)text + size;) {
        char *end = strchr(line, '\n');
        if (end)
            *end = '\0';
        line_no++;
        if (r->opt.max_images > 0 && r->out->count >= r->opt.max_images)
            break;
        if (strspn(line, " \t\r") != strlen(line)) /* a blank line holds no row */
            s = read_row(r, line);
        if (s != DMX_OK)
            s = dmx_fail_context(s, "%s:%lld: ", meta_path, line_no);
        line = end ? end + 1 : (char *)text + size;
    }
    free(text);
    return s;
}

dmx_status dmx_pathfinder_load_release(const char *dir,
                                       const dmx_pathfinder_release_options *options,
                                       dmx_lra_tokens *out, int64_t *skipped)
{
    if (!dir || !out)
        return dmx_fail(DMX_ERR_INVALID_ARG, "dmx_pathfinder_load_release: NULL argument");
    *out = (dmx_lra_tokens){.vocab_size = 257, .num_classes = 2, .id_offset = 1};
    release_reader r = {.dir = dir, .out = out};
    if (options)
        r.opt = *options;
    char meta_dir[4096];
    snprintf(meta_dir, sizeof meta_dir, "%s/metadata", dir);
    int *batches = NULL, n_batches = 0;
    dmx_status s = list_batches(meta_dir, &batches, &n_batches);
    for (int b = 0; b < n_batches && s == DMX_OK; b++) {
        char meta_path[4200];
        snprintf(meta_path, sizeof meta_path, "%s/%d.npy", meta_dir, batches[b]);
        s = read_metadata(&r, meta_path);
    }
    free(batches);
    if (s == DMX_OK && out->count == 0)
        s = dmx_fail(DMX_ERR_FORMAT, "%s: the metadata lists no images", dir);
    if (s == DMX_OK)
        s = dmx_lra_tokens_reserve(out, out->count); /* no slack from the doubling */
    if (s != DMX_OK)
        dmx_lra_tokens_free(out);
    if (skipped)
        *skipped = s == DMX_OK ? r.skipped : 0;
    return s;
}
