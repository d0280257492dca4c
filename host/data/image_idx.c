/* IDX files (MNIST, Fashion-MNIST): a big-endian header (magic 0x00000803 for a 3-D ubyte
 * array of images, 0x00000801 for a 1-D ubyte array of labels, then one uint32 per dimension)
 * followed by the data, row-major. A plain file is read with stdio, a gzip one (found by its
 * magic bytes, whatever its name) through zlib, so without zlib the plain files still load. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>

#include "core/error.h"
#include "data/image_dataset.h"
#include "data/image_files.h"
#include "data/zlib_api.h"

#define IDX_MAGIC_IMAGES 0x00000803u
#define IDX_MAGIC_LABELS 0x00000801u

/* The PyTorch examples' MNIST constants (pytorch/examples mnist/main.py,
 * Normalize((0.1307,), (0.3081,))): the mean and population std of the 60,000 x 784 MNIST train
 * pixels / 255 (0.13066, 0.30811), rounded to 4 places. */
static const float mnist_mean[1] = {0.1307f};
static const float mnist_std[1] = {0.3081f};
/* Computed over the 60,000 x 784 Fashion-MNIST train pixels / 255 from the Debian package
 * (notes/data-and-benchmarks.md 1.3); the data suite recomputes them. */
static const float fashion_mean[1] = {0.2860405969887955f};
static const float fashion_std[1] = {0.35302424457803794f};

static const char *const mnist_names[10] = {"0", "1", "2", "3", "4", "5", "6", "7", "8", "9"};
static const char *const fashion_names[10] = {"T-shirt/top", "Trouser", "Pullover", "Dress",
                                              "Coat",        "Sandal",  "Shirt",    "Sneaker",
                                              "Bag",         "Ankle boot"};

/* An open IDX file: exactly one of `plain` and `gz` is set. */
typedef struct idx_stream {
    FILE *plain;
    gzFile gz;
    const dmx_zlib_api *z;
} idx_stream;

static void idx_close(idx_stream *f)
{
    if (f->plain)
        fclose(f->plain);
    if (f->gz)
        f->z->gzclose(f->gz);
    *f = (idx_stream){0};
}

/* Opens dir/base, else dir/base.gz; `path` gets the name opened. */
static dmx_status idx_open(const char *dir, const char *base, char *path, size_t cap,
                           idx_stream *out)
{
    *out = (idx_stream){0};
    DMX_TRY(dmx_path_join(path, cap, dir, base));
    if (!dmx_is_regular_file(path)) {
        size_t n = strlen(path);
        if (n + 3 >= cap)
            return dmx_fail(DMX_ERR_INVALID_ARG, "path '%s.gz' is too long", path);
        memcpy(path + n, ".gz", 4);
        if (!dmx_is_regular_file(path)) {
            path[n] = '\0';
            return dmx_fail(DMX_ERR_NOT_FOUND, "IDX file '%s' (or '%s.gz') is missing", path,
                            path);
        }
    }
    FILE *f = fopen(path, "rb");
    if (!f)
        return dmx_fail(DMX_ERR_IO, "cannot open IDX file '%s'", path);
    unsigned char magic[2] = {0, 0};
    size_t got = fread(magic, 1, 2, f);
    if (got < 2 || magic[0] != 0x1f || magic[1] != 0x8b) {
        rewind(f);
        setvbuf(f, NULL, _IOFBF, 1u << 18);
        out->plain = f;
        return DMX_OK;
    }
    fclose(f);
    char what[DMX_PATH_CAPACITY + 32];
    snprintf(what, sizeof what, "the gzip IDX file '%s'", path);
    DMX_TRY(dmx_zlib(what, &out->z));
    out->gz = out->z->gzopen(path, "rb");
    if (!out->gz)
        return dmx_fail(DMX_ERR_IO, "cannot open IDX file '%s'", path);
    out->z->gzbuffer(out->gz, 1u << 18);
    return DMX_OK;
}

/* Up to `bytes` into dst; the count read (0 at the end, -1 on an error). */
static long long idx_chunk(idx_stream *f, void *dst, size_t bytes)
{
    if (f->plain) {
        size_t n = fread(dst, 1, bytes, f->plain);
        return n == 0 && ferror(f->plain) ? -1 : (long long)n;
    }
    return f->z->gzread(f->gz, dst, (unsigned)bytes);
}

/* After a short read: an I/O error or a corrupt gzip stream is reported; a clean end, or a
 * gzip stream that just stops (Z_BUF_ERROR), is left to the caller. */
static dmx_status idx_stream_error(idx_stream *f, const char *path, int *zerr)
{
    *zerr = Z_OK;
    if (f->plain)
        return ferror(f->plain) ? dmx_fail(DMX_ERR_IO, "read error in IDX file '%s'", path)
                                : DMX_OK;
    const char *zmsg = f->z->gzerror(f->gz, zerr);
    if (*zerr == Z_ERRNO)
        return dmx_fail(DMX_ERR_IO, "read error in IDX file '%s'", path);
    if (*zerr != Z_OK && *zerr != Z_BUF_ERROR)
        return dmx_fail(DMX_ERR_FORMAT, "IDX file '%s' is corrupt (zlib: %s)", path, zmsg);
    return DMX_OK;
}

/* Reads exactly `bytes`; a short read is a truncated file, a zlib failure a corrupt one. */
static dmx_status idx_read(idx_stream *f, const char *path, const char *what, void *dst,
                           size_t bytes)
{
    size_t got = 0;
    while (got < bytes) {
        size_t chunk = bytes - got < (1u << 30) ? bytes - got : (1u << 30);
        long long n = idx_chunk(f, (uint8_t *)dst + got, chunk);
        if (n <= 0)
            break;
        got += (size_t)n;
    }
    if (got == bytes)
        return DMX_OK;
    int zerr;
    DMX_TRY(idx_stream_error(f, path, &zerr));
    return dmx_fail(DMX_ERR_FORMAT, "IDX file '%s' is truncated: %s needs %zu bytes, found %zu",
                    path, what, bytes, got);
}

/* Checks the magic and reads the `ndims` dimensions. */
static dmx_status idx_header(idx_stream *f, const char *path, uint32_t magic, int ndims,
                             uint32_t *dims)
{
    uint8_t bytes[4 * 4];
    DMX_TRY(idx_read(f, path, "the header", bytes, 4 * (size_t)(1 + ndims)));
    for (int i = 0; i <= ndims; i++) {
        const uint8_t *b = bytes + 4 * i;
        uint32_t v = (uint32_t)b[0] << 24 | (uint32_t)b[1] << 16 | (uint32_t)b[2] << 8 | b[3];
        if (i == 0 && v != magic)
            return dmx_fail(DMX_ERR_FORMAT,
                            "IDX file '%s' has magic 0x%08x, expected 0x%08x (unsigned bytes, "
                            "%d dimensions)",
                            path, v, magic, ndims);
        if (i > 0)
            dims[i - 1] = v;
    }
    return DMX_OK;
}

/* Nothing may follow the data: trailing bytes mean the header and the file disagree. */
static dmx_status idx_expect_end(idx_stream *f, const char *path)
{
    uint8_t extra[64];
    if (idx_chunk(f, extra, sizeof extra) > 0)
        return dmx_fail(DMX_ERR_FORMAT, "IDX file '%s' has bytes after the data its header "
                                        "describes", path);
    int zerr;
    DMX_TRY(idx_stream_error(f, path, &zerr));
    if (zerr == Z_BUF_ERROR)
        return dmx_fail(DMX_ERR_FORMAT, "IDX file '%s' is a truncated gzip stream (zlib: %s)",
                        path, f->z->gzerror(f->gz, &zerr));
    return DMX_OK;
}

static bool contains_nocase(const char *s, const char *word)
{
    size_t n = strlen(word);
    for (; *s; s++)
        if (strncasecmp(s, word, n) == 0)
            return true;
    return false;
}

/* The files do not say which dataset they hold; the directory's name usually does. */
static dmx_idx_kind kind_from_path(const char *dir)
{
    char *full = realpath(dir, NULL);
    const char *p = full ? full : dir;
    dmx_idx_kind kind = contains_nocase(p, "fashion") ? DMX_IDX_FASHION_MNIST
                        : contains_nocase(p, "mnist") ? DMX_IDX_MNIST
                                                      : DMX_IDX_GENERIC;
    free(full);
    return kind;
}

/* Labels, range-checked: 0..9 for (Fashion-)MNIST; a generic set has largest + 1 classes. */
static dmx_status store_labels(dmx_image_dataset *ds, const uint8_t *raw, const char *path,
                               dmx_idx_kind kind)
{
    int largest = 0;
    for (int64_t i = 0; i < ds->count; i++) {
        if (kind != DMX_IDX_GENERIC && raw[i] >= 10)
            return dmx_fail(DMX_ERR_FORMAT, "IDX file '%s': label %d at index %lld is outside "
                                            "0..9", path, raw[i], (long long)i);
        ds->labels[i] = raw[i];
        largest = raw[i] > largest ? raw[i] : largest;
    }
    if (kind == DMX_IDX_GENERIC)
        ds->num_classes = largest + 1;
    return DMX_OK;
}

static dmx_status describe(dmx_image_dataset *ds, dmx_idx_kind kind)
{
    if (kind == DMX_IDX_MNIST) {
        DMX_TRY(dmx_image_dataset_set_names(ds, mnist_names));
        return dmx_image_dataset_set_normalization(ds, mnist_mean, mnist_std);
    }
    if (kind == DMX_IDX_FASHION_MNIST) {
        DMX_TRY(dmx_image_dataset_set_names(ds, fashion_names));
        return dmx_image_dataset_set_normalization(ds, fashion_mean, fashion_std);
    }
    return dmx_image_dataset_normalize_by_stats(ds);
}

/* A plain (not gzip) file's size is known before reading: checking it against the header
 * turns a corrupt header into an error before a huge allocation. */
static dmx_status idx_check_plain_size(const idx_stream *f, const char *path,
                                       uint64_t header_bytes, uint64_t data_bytes)
{
    struct stat st;
    if (!f->plain || stat(path, &st) != 0)
        return DMX_OK;
    uint64_t size = (uint64_t)st.st_size, want = header_bytes + data_bytes;
    if (size < want)
        return dmx_fail(DMX_ERR_FORMAT, "IDX file '%s' is truncated: its header describes %llu "
                                        "bytes, the file has %llu",
                        path, (unsigned long long)want, (unsigned long long)size);
    if (size > want)
        return dmx_fail(DMX_ERR_FORMAT, "IDX file '%s' has bytes after the data its header "
                                        "describes (%llu bytes, the file has %llu)",
                        path, (unsigned long long)want, (unsigned long long)size);
    return DMX_OK;
}

typedef struct idx_pair {
    idx_stream images, labels;
    char image_path[DMX_PATH_CAPACITY], label_path[DMX_PATH_CAPACITY];
    uint32_t image_dims[3], label_count;
} idx_pair;

/* Opens both files and checks their headers agree. */
static dmx_status open_pair(const char *dir, dmx_split split, idx_pair *p)
{
    const char *prefix = split == DMX_SPLIT_TRAIN ? "train" : "t10k";
    char base[64];
    snprintf(base, sizeof base, "%s-images-idx3-ubyte", prefix);
    DMX_TRY(idx_open(dir, base, p->image_path, sizeof p->image_path, &p->images));
    DMX_TRY(idx_header(&p->images, p->image_path, IDX_MAGIC_IMAGES, 3, p->image_dims));
    snprintf(base, sizeof base, "%s-labels-idx1-ubyte", prefix);
    DMX_TRY(idx_open(dir, base, p->label_path, sizeof p->label_path, &p->labels));
    DMX_TRY(idx_header(&p->labels, p->label_path, IDX_MAGIC_LABELS, 1, &p->label_count));
    const uint32_t *d = p->image_dims;
    if (d[0] == 0 || d[1] == 0 || d[2] == 0 || d[1] > DMX_IMAGE_MAX_SIDE ||
        d[2] > DMX_IMAGE_MAX_SIDE)
        return dmx_fail(DMX_ERR_FORMAT, "IDX file '%s' describes %u images of %u x %u: not a "
                                        "valid dataset (sides 1..%d, at least one image)",
                        p->image_path, d[0], d[1], d[2], DMX_IMAGE_MAX_SIDE);
    DMX_TRY(idx_check_plain_size(&p->images, p->image_path, 16, (uint64_t)d[0] * d[1] * d[2]));
    DMX_TRY(idx_check_plain_size(&p->labels, p->label_path, 8, p->label_count));
    if (d[0] != p->label_count)
        return dmx_fail(DMX_ERR_FORMAT, "IDX count mismatch: '%s' holds %u images but '%s' "
                                        "holds %u labels",
                        p->image_path, d[0], p->label_path, p->label_count);
    return DMX_OK;
}

static dmx_status read_pair(idx_pair *p, dmx_idx_kind kind, dmx_image_dataset *ds)
{
    size_t pixels = (size_t)ds->count * (size_t)ds->height * (size_t)ds->width;
    DMX_TRY(idx_read(&p->images, p->image_path, "the images", ds->pixels, pixels));
    DMX_TRY(idx_expect_end(&p->images, p->image_path));
    uint8_t *raw = malloc((size_t)ds->count);
    if (!raw)
        return dmx_fail(DMX_ERR_OUT_OF_MEMORY, "no memory for the labels of '%s'", p->label_path);
    dmx_status s = idx_read(&p->labels, p->label_path, "the labels", raw, (size_t)ds->count);
    if (s == DMX_OK)
        s = idx_expect_end(&p->labels, p->label_path);
    if (s == DMX_OK)
        s = store_labels(ds, raw, p->label_path, kind);
    free(raw);
    return s;
}

static const char *kind_name(dmx_idx_kind kind)
{
    return kind == DMX_IDX_MNIST ? "mnist" : kind == DMX_IDX_FASHION_MNIST ? "fashion-mnist" : "idx";
}

dmx_status dmx_idx_load(const char *dir, const dmx_image_load_options *opts,
                        dmx_image_dataset **out)
{
    dmx_image_load_options o;
    DMX_TRY(dmx_load_options_resolve(opts, dir, out, "dmx_idx_load", &o));
    dmx_idx_kind kind = o.idx_kind == DMX_IDX_AUTO ? kind_from_path(dir) : o.idx_kind;
    idx_pair *p = calloc(1, sizeof *p);
    if (!p)
        return dmx_fail(DMX_ERR_OUT_OF_MEMORY, "no memory to open IDX files");
    dmx_image_dataset *ds = NULL;
    dmx_status s = open_pair(dir, o.split, p);
    if (s == DMX_OK)
        s = dmx_image_dataset_alloc(kind_name(kind), DMX_IMAGES_IDX, o.split, p->image_dims[0], 1,
                                    (int)p->image_dims[1], (int)p->image_dims[2],
                                    kind == DMX_IDX_GENERIC ? 256 : 10, p->image_path, &ds);
    if (s == DMX_OK)
        s = read_pair(p, kind, ds);
    if (s == DMX_OK)
        s = describe(ds, kind);
    idx_close(&p->images);
    idx_close(&p->labels);
    free(p);
    if (s != DMX_OK) {
        dmx_image_dataset_free(ds);
        return s;
    }
    *out = ds;
    return DMX_OK;
}
