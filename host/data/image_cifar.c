/* CIFAR-10 and CIFAR-100, binary version: fixed-size records with no header, label byte(s)
 * then 3072 pixels (1024 R, 1024 G, 1024 B; each plane 32 x 32 row-major), which is already
 * the [C, H, W] layout the loader wants. */
#include <stdio.h>
#include <stdlib.h>

#include "core/error.h"
#include "data/image_dataset.h"
#include "data/image_files.h"

#define CIFAR_SIDE 32
#define CIFAR_PIXELS (3 * CIFAR_SIDE * CIFAR_SIDE)

typedef struct cifar_spec {
    const char *name;         /* dataset name */
    const char *title;        /* for messages */
    dmx_image_format format;
    int label_bytes;          /* 1 (CIFAR-10) or 2 (CIFAR-100: coarse, fine) */
    int label_pos;            /* which of them is the label used */
    int num_classes;
    const float *mean, *std;
} cifar_spec;

/* The values the Dimension-Mixer code normalises with (tsumansapkota/Dimension-Mixer utils.py,
 * copied there from kuangliu/pytorch-cifar). The std is the mean of per-image stds, not the
 * dataset's population std (notes/data-and-benchmarks.md 1.3); kept for parity with the papers. */
static const float cifar10_mean[3] = {0.4914f, 0.4822f, 0.4465f};
static const float cifar10_std[3] = {0.2023f, 0.1994f, 0.2010f};
static const float cifar100_mean[3] = {0.5071f, 0.4865f, 0.4409f};
static const float cifar100_std[3] = {0.2009f, 0.1984f, 0.2023f};

/* Used when batches.meta.txt is absent (the order of the Toronto release). */
static const char *const cifar10_names[10] = {"airplane", "automobile", "bird", "cat", "deer",
                                              "dog", "frog", "horse", "ship", "truck"};

/* Number of whole records in `path`, which must hold at least one and nothing else. */
static dmx_status count_records(const char *path, const cifar_spec *spec, int64_t *records)
{
    const size_t record = (size_t)spec->label_bytes + CIFAR_PIXELS;
    FILE *f = NULL;
    DMX_TRY(dmx_open_for_read(path, spec->title, &f));
    uint64_t size = 0;
    dmx_status s = dmx_file_size(f, path, &size);
    fclose(f);
    DMX_TRY(s);
    if (size == 0)
        return dmx_fail(DMX_ERR_FORMAT, "%s file '%s' is empty (expected %zu-byte records)",
                        spec->title, path, record);
    if (size % record != 0)
        return dmx_fail(DMX_ERR_FORMAT,
                        "%s file '%s' has %llu bytes, not a multiple of the %zu-byte record "
                        "(%llu whole records and %llu bytes left over)",
                        spec->title, path, (unsigned long long)size, record,
                        (unsigned long long)(size / record), (unsigned long long)(size % record));
    *records = (int64_t)(size / record);
    return DMX_OK;
}

/* Reads `records` records of `path` into images [first, first + records) of ds. */
static dmx_status read_records(const char *path, const cifar_spec *spec, dmx_image_dataset *ds,
                               int64_t first, int64_t records)
{
    FILE *f = NULL;
    DMX_TRY(dmx_open_for_read(path, spec->title, &f));
    setvbuf(f, NULL, _IOFBF, 1 << 20);
    dmx_status s = DMX_OK;
    for (int64_t r = 0; r < records && s == DMX_OK; r++) {
        uint8_t label_bytes[2];
        uint8_t *pixels = ds->pixels + (size_t)(first + r) * CIFAR_PIXELS;
        s = dmx_read_exact(f, path, label_bytes, (size_t)spec->label_bytes);
        if (s == DMX_OK)
            s = dmx_read_exact(f, path, pixels, CIFAR_PIXELS);
        int label = label_bytes[spec->label_pos];
        if (s == DMX_OK && label >= spec->num_classes)
            s = dmx_fail(DMX_ERR_FORMAT, "%s file '%s': record %lld has label %d, outside 0..%d",
                         spec->title, path, (long long)r, label, spec->num_classes - 1);
        ds->labels[first + r] = label;
    }
    fclose(f);
    return s;
}

/* Loads the files, in order, as one dataset. */
static dmx_status load_files(const char *dir, const char *const *files, int n_files,
                             const cifar_spec *spec, dmx_split split, dmx_image_dataset **out)
{
    char paths[6][DMX_PATH_CAPACITY];
    int64_t records[6] = {0}, total = 0; /* at most 6 files: CIFAR-10 has 5 + 1 */
    for (int i = 0; i < n_files; i++) {
        DMX_TRY(dmx_path_join(paths[i], sizeof paths[i], dir, files[i]));
        DMX_TRY(count_records(paths[i], spec, &records[i]));
        total += records[i];
    }
    dmx_image_dataset *ds = NULL;
    DMX_TRY(dmx_image_dataset_alloc(spec->name, spec->format, split, total, 3, CIFAR_SIDE,
                                    CIFAR_SIDE, spec->num_classes, paths[0], &ds));
    dmx_status s = dmx_image_dataset_set_normalization(ds, spec->mean, spec->std);
    int64_t first = 0;
    for (int i = 0; i < n_files && s == DMX_OK; i++) {
        s = read_records(paths[i], spec, ds, first, records[i]);
        first += records[i];
    }
    if (s != DMX_OK) {
        dmx_image_dataset_free(ds);
        return s;
    }
    *out = ds;
    return DMX_OK;
}

/* Class names from `file` in dir when it exists; else `fallback` (may be NULL: unknown). */
static dmx_status load_names(dmx_image_dataset *ds, const char *dir, const char *file,
                             const char *const *fallback)
{
    char path[DMX_PATH_CAPACITY];
    DMX_TRY(dmx_path_join(path, sizeof path, dir, file));
    if (dmx_is_regular_file(path))
        return dmx_image_dataset_read_names(ds, path);
    return fallback ? dmx_image_dataset_set_names(ds, fallback) : DMX_OK;
}

static dmx_status finish(dmx_image_dataset *ds, dmx_status s, dmx_image_dataset **out)
{
    if (s != DMX_OK) {
        dmx_image_dataset_free(ds);
        return s;
    }
    *out = ds;
    return DMX_OK;
}

dmx_status dmx_cifar10_load(const char *dir, const dmx_image_load_options *opts,
                            dmx_image_dataset **out)
{
    dmx_image_load_options o;
    DMX_TRY(dmx_load_options_resolve(opts, dir, out, "dmx_cifar10_load", &o));
    static const char *const train[] = {"data_batch_1.bin", "data_batch_2.bin",
                                        "data_batch_3.bin", "data_batch_4.bin",
                                        "data_batch_5.bin"};
    static const char *const test[] = {"test_batch.bin"};
    const cifar_spec spec = {"cifar10", "CIFAR-10", DMX_IMAGES_CIFAR10, 1, 0, 10,
                             cifar10_mean, cifar10_std};
    dmx_image_dataset *ds = NULL;
    if (o.split == DMX_SPLIT_TRAIN)
        DMX_TRY(load_files(dir, train, 5, &spec, o.split, &ds));
    else
        DMX_TRY(load_files(dir, test, 1, &spec, o.split, &ds));
    return finish(ds, load_names(ds, dir, "batches.meta.txt", cifar10_names), out);
}

dmx_status dmx_cifar100_load(const char *dir, const dmx_image_load_options *opts,
                             dmx_image_dataset **out)
{
    dmx_image_load_options o;
    DMX_TRY(dmx_load_options_resolve(opts, dir, out, "dmx_cifar100_load", &o));
    bool coarse = o.cifar100_coarse;
    const cifar_spec spec = {"cifar100", "CIFAR-100", DMX_IMAGES_CIFAR100, 2, coarse ? 0 : 1,
                             coarse ? 20 : 100, cifar100_mean, cifar100_std};
    const char *file = o.split == DMX_SPLIT_TRAIN ? "train.bin" : "test.bin";
    dmx_image_dataset *ds = NULL;
    DMX_TRY(load_files(dir, &file, 1, &spec, o.split, &ds));
    const char *names = coarse ? "coarse_label_names.txt" : "fine_label_names.txt";
    return finish(ds, load_names(ds, dir, names, NULL), out);
}
