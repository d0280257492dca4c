/* Pathfinder splits on disk: the .pfb format (docs/lra-data.md), written and read.
 *
 *   offset 0   4 bytes  magic "DXPF"
 *          4   u32 LE   version (1)
 *          8   u32 LE   resolution R (images are R x R)
 *         12   u64 LE   count N
 *         20   N records of 1 + R*R bytes: the label (0 or 1), then the pixels row by row
 *              from the top, 0 black .. 255 white
 *
 * The file is exactly 20 + N (1 + R*R) bytes. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/error.h"
#include "data/lra_internal.h"
#include "io/make_dirs.h"
#include "data/lra_pathfinder.h"

#define PFB_MAGIC "DXPF"
#define PFB_VERSION 1u
#define PFB_HEADER 20
#define PFB_MAX_RESOLUTION 1024
#define PFB_CHUNK 256 /* images rendered in parallel between writes */

static void put_u32(uint8_t *p, uint32_t v)
{
    for (int i = 0; i < 4; i++)
        p[i] = (uint8_t)(v >> (8 * i));
}

static void put_u64(uint8_t *p, uint64_t v)
{
    for (int i = 0; i < 8; i++)
        p[i] = (uint8_t)(v >> (8 * i));
}

static uint64_t get_le(const uint8_t *p, int n)
{
    uint64_t v = 0;
    for (int i = n - 1; i >= 0; i--)
        v = v << 8 | p[i];
    return v;
}

static void make_header(uint8_t h[PFB_HEADER], int resolution, int64_t count)
{
    memcpy(h, PFB_MAGIC, 4);
    put_u32(h + 4, PFB_VERSION);
    put_u32(h + 8, (uint32_t)resolution);
    put_u64(h + 12, (uint64_t)count);
}

static dmx_status write_records(dmx_staged_file *sf, int resolution, int64_t count,
                                const uint8_t *labels, const uint8_t *images)
{
    size_t pixels = (size_t)resolution * (size_t)resolution;
    for (int64_t i = 0; i < count; i++) {
        if (labels[i] > 1)
            return dmx_fail(DMX_ERR_INVALID_ARG, "%s: label %d of image %lld is not 0 or 1",
                            sf->path, labels[i], (long long)i);
        DMX_TRY(dmx_staged_write(sf, &labels[i], 1));
        DMX_TRY(dmx_staged_write(sf, images + (size_t)i * pixels, pixels));
    }
    return DMX_OK;
}

/* Writes `path` (any directory) through a staged file in its directory. */
dmx_status dmx_pathfinder_write(const char *path, int resolution, int64_t count,
                                const uint8_t *labels, const uint8_t *images)
{
    if (!path || (count > 0 && (!labels || !images)) || count < 0 || resolution < 1 ||
        resolution > PFB_MAX_RESOLUTION)
        return dmx_fail(DMX_ERR_INVALID_ARG, "dmx_pathfinder_write: NULL argument, count %lld or "
                        "resolution %d", (long long)count, resolution);
    const char *slash = strrchr(path, '/');
    char dir[4096] = ".";
    if (slash) {
        size_t n = (size_t)(slash - path);
        if (n >= sizeof dir)
            return dmx_fail(DMX_ERR_INVALID_ARG, "%s: path too long", path);
        memcpy(dir, path, n);
        dir[n > 0 ? n : 1] = '\0'; /* "/name" lives in "/" */
    }
    dmx_staged_file sf;
    DMX_TRY(dmx_staged_open(&sf, dir, slash ? slash + 1 : path));
    uint8_t h[PFB_HEADER];
    make_header(h, resolution, count);
    dmx_status s = dmx_staged_write(&sf, h, sizeof h);
    if (s == DMX_OK)
        s = write_records(&sf, resolution, count, labels, images);
    if (s != DMX_OK) {
        dmx_staged_abort(&sf);
        return s;
    }
    return dmx_staged_commit(&sf);
}

/* Renders images [first, first + n) of the stream into the buffers, on every core. A failure on
 * a worker thread is carried back with its message (messages are per thread). */
static dmx_status render_chunk(const dmx_pathfinder_config *cfg, int64_t first, int n,
                               uint8_t *labels, uint8_t *images)
{
    size_t pixels = (size_t)cfg->resolution * (size_t)cfg->resolution;
    dmx_status failed = DMX_OK;
    char message[1024] = "";
#pragma omp parallel for schedule(dynamic, 4)
    for (int i = 0; i < n; i++) {
        dmx_pathfinder_info info;
        dmx_status s = dmx_pathfinder_render(cfg, first + i, images + (size_t)i * pixels, &info);
        labels[i] = s == DMX_OK ? (uint8_t)info.label : 0;
        if (s != DMX_OK) {
#pragma omp critical(dmx_pathfinder_failure)
            if (failed == DMX_OK) {
                failed = s;
                snprintf(message, sizeof message, "%s", dmx_last_error());
            }
        }
    }
    if (failed != DMX_OK)
        return dmx_fail(failed, "%s", message);
    return DMX_OK;
}

static dmx_status write_split(const dmx_pathfinder_config *cfg, const char *dir, const char *split,
                              int64_t count, dmx_lra_progress *progress)
{
    char name[256];
    DMX_TRY(dmx_pathfinder_split_name(cfg, split, name, sizeof name));
    size_t pixels = (size_t)cfg->resolution * (size_t)cfg->resolution;
    uint8_t *labels = malloc(PFB_CHUNK), *images = malloc(PFB_CHUNK * pixels);
    dmx_staged_file sf = {0};
    dmx_status s = labels && images ? dmx_staged_open(&sf, dir, name)
                                    : dmx_fail(DMX_ERR_OUT_OF_MEMORY, "pathfinder: image buffers");
    if (s == DMX_OK) {
        uint8_t h[PFB_HEADER];
        make_header(h, cfg->resolution, count);
        s = dmx_staged_write(&sf, h, sizeof h);
    }
    for (int64_t first = 0; first < count && s == DMX_OK; first += PFB_CHUNK) {
        int n = count - first < PFB_CHUNK ? (int)(count - first) : PFB_CHUNK;
        s = render_chunk(cfg, first, n, labels, images);
        if (s == DMX_OK)
            s = write_records(&sf, cfg->resolution, n, labels, images);
        progress->done += n;
        if (s == DMX_OK)
            s = dmx_lra_report_progress(progress);
    }
    if (s == DMX_OK)
        s = dmx_staged_commit(&sf);
    else
        dmx_staged_abort(&sf);
    free(labels);
    free(images);
    return s;
}

dmx_status dmx_pathfinder_write_splits(const dmx_pathfinder_config *cfg, const char *dir,
                                       int64_t num_train, int64_t num_val, int64_t num_test,
                                       dmx_lra_progress_fn progress, void *user)
{
    DMX_TRY(dmx_pathfinder_check_config(cfg));
    if (!dir || num_train < 0 || num_val < 0 || num_test < 0)
        return dmx_fail(DMX_ERR_INVALID_ARG, "dmx_pathfinder_write_splits: NULL directory or a "
                        "negative count (%lld, %lld, %lld)", (long long)num_train,
                        (long long)num_val, (long long)num_test);
    DMX_TRY(dmx_make_dirs(dir));
    const struct {
        const char *name;
        int64_t count;
        uint64_t stream;
    } splits[] = {{"train", num_train, 1}, {"val", num_val, 2}, {"test", num_test, 3}};
    dmx_lra_progress p = {progress, user, 0, num_train + num_val + num_test, "pathfinder",
                          "images"};
    for (int i = 0; i < 3; i++) {
        /* Each split is its own stream, so its labels are balanced from its first image. */
        dmx_pathfinder_config split_cfg = *cfg;
        split_cfg.seed = dmx_lra_mix64(cfg->seed ^ dmx_lra_mix64(splits[i].stream));
        DMX_TRY(write_split(&split_cfg, dir, splits[i].name, splits[i].count, &p));
    }
    return DMX_OK;
}

static dmx_status read_header(FILE *f, const char *path, int *resolution, int64_t *count)
{
    uint8_t h[PFB_HEADER];
    size_t got = fread(h, 1, sizeof h, f);
    if (got != sizeof h)
        return dmx_fail(DMX_ERR_FORMAT, "%s: %zu bytes, shorter than the %d-byte header", path,
                        got, PFB_HEADER);
    if (memcmp(h, PFB_MAGIC, 4) != 0)
        return dmx_fail(DMX_ERR_FORMAT, "%s: not a Pathfinder .pfb file (magic %02x %02x %02x "
                        "%02x, expected \"DXPF\")", path, h[0], h[1], h[2], h[3]);
    uint32_t version = (uint32_t)get_le(h + 4, 4);
    if (version != PFB_VERSION)
        return dmx_fail(DMX_ERR_FORMAT, "%s: version %u, this reader knows version %u", path,
                        version, PFB_VERSION);
    uint32_t r = (uint32_t)get_le(h + 8, 4);
    uint64_t n = get_le(h + 12, 8);
    if (r < 1 || r > PFB_MAX_RESOLUTION || n > (uint64_t)INT64_MAX / (1 + (uint64_t)r * r))
        return dmx_fail(DMX_ERR_FORMAT, "%s: resolution %u or count %llu out of range", path, r,
                        (unsigned long long)n);
    *resolution = (int)r;
    *count = (int64_t)n;
    return DMX_OK;
}

/* The size must be exactly header + records: a truncated or padded file is an error. The
 * header's count is untrusted, so the comparison divides the file's record bytes by the record
 * size instead of multiplying the count (header + count * record can pass INT64_MAX). */
static dmx_status check_size(FILE *f, const char *path, int resolution, int64_t count)
{
    const int64_t record = 1 + (int64_t)resolution * resolution; /* resolution <= 1024 */
    if (fseeko(f, 0, SEEK_END) != 0)
        return dmx_fail(DMX_ERR_IO, "%s: cannot seek: %s", path, strerror(errno));
    const int64_t have = (int64_t)ftello(f);
    if (have < 0)
        return dmx_fail(DMX_ERR_IO, "%s: cannot tell its size: %s", path, strerror(errno));
    const int64_t body = have - PFB_HEADER; /* read_header saw the full header */
    const int64_t whole = body / record, spare = body % record;
    if (whole != count || spare != 0) {
        if (whole < count)
            return dmx_fail(DMX_ERR_FORMAT, "%s: truncated: %lld bytes after the header hold %lld "
                            "whole images of %dx%d (%lld bytes each), the header promises %lld",
                            path, (long long)body, (long long)whole, resolution, resolution,
                            (long long)record, (long long)count);
        return dmx_fail(DMX_ERR_FORMAT, "%s: trailing bytes: %lld bytes after the header, the "
                        "header's %lld images of %dx%d need %lld", path, (long long)body,
                        (long long)count, resolution, resolution, (long long)(count * record));
    }
    if (fseeko(f, PFB_HEADER, SEEK_SET) != 0)
        return dmx_fail(DMX_ERR_IO, "%s: cannot seek: %s", path, strerror(errno));
    return DMX_OK;
}

static dmx_status read_records(FILE *f, const char *path, dmx_lra_tokens *out)
{
    size_t pixels = (size_t)out->seq_len;
    for (int64_t i = 0; i < out->count; i++) {
        uint8_t *image = out->symbols + (size_t)i * pixels;
        if (fread(&out->labels[i], 1, 1, f) != 1 || fread(image, 1, pixels, f) != pixels)
            return dmx_fail(DMX_ERR_IO, "%s: read failed in image %lld", path, (long long)i);
        if (out->labels[i] > 1)
            return dmx_fail(DMX_ERR_FORMAT, "%s: image %lld (byte %lld) has label %d, not 0 or 1",
                            path, (long long)i,
                            (long long)(PFB_HEADER + i * (int64_t)(1 + pixels)), out->labels[i]);
        out->lengths[i] = out->seq_len;
    }
    return DMX_OK;
}

dmx_status dmx_pathfinder_load(const char *path, dmx_lra_tokens *out)
{
    if (!path || !out)
        return dmx_fail(DMX_ERR_INVALID_ARG, "dmx_pathfinder_load: NULL argument");
    memset(out, 0, sizeof *out);
    FILE *f = fopen(path, "rb");
    if (!f)
        return dmx_fail(errno == ENOENT ? DMX_ERR_NOT_FOUND : DMX_ERR_IO, "%s: cannot open: %s",
                        path, strerror(errno));
    int resolution = 0;
    int64_t count = 0;
    dmx_status s = read_header(f, path, &resolution, &count);
    if (s == DMX_OK)
        s = check_size(f, path, resolution, count);
    if (s == DMX_OK) {
        *out = (dmx_lra_tokens){.seq_len = resolution * resolution,
                                .vocab_size = 257,
                                .num_classes = 2,
                                .id_offset = 1};
        s = dmx_lra_tokens_reserve(out, count);
    }
    if (s == DMX_OK) {
        out->count = count;
        s = read_records(f, path, out);
    }
    fclose(f);
    if (s != DMX_OK)
        dmx_lra_tokens_free(out);
    return s;
}
