/* Format detection: which image dataset a directory holds, from the files in it. */
#include <stdio.h>

#include "core/error.h"
#include "data/image_dataset.h"
#include "data/image_files.h"

typedef dmx_status (*loader_fn)(const char *, const dmx_image_load_options *,
                                dmx_image_dataset **);

typedef struct format_probe {
    const char *title;
    const char *const *signature; /* any of these files marks the format (NULL-terminated) */
    const char *expected;         /* for the message when nothing matches */
    loader_fn load;
} format_probe;

static const char *const cifar10_files[] = {"data_batch_1.bin", "data_batch_2.bin",
                                            "data_batch_3.bin", "data_batch_4.bin",
                                            "data_batch_5.bin", "test_batch.bin", NULL};
static const char *const cifar100_files[] = {"train.bin", "test.bin", NULL};
static const char *const idx_files[] = {
    "train-images-idx3-ubyte",    "train-labels-idx1-ubyte",    "t10k-images-idx3-ubyte",
    "t10k-labels-idx1-ubyte",     "train-images-idx3-ubyte.gz", "train-labels-idx1-ubyte.gz",
    "t10k-images-idx3-ubyte.gz",  "t10k-labels-idx1-ubyte.gz",  NULL};

static const format_probe probes[] = {
    {"CIFAR-10", cifar10_files, "data_batch_1.bin ... data_batch_5.bin and test_batch.bin",
     dmx_cifar10_load},
    {"CIFAR-100", cifar100_files, "train.bin and test.bin", dmx_cifar100_load},
    {"IDX", idx_files,
     "train-images-idx3-ubyte, train-labels-idx1-ubyte, t10k-images-idx3-ubyte and "
     "t10k-labels-idx1-ubyte, each optionally .gz",
     dmx_idx_load},
};
#define N_PROBES ((int)(sizeof probes / sizeof probes[0]))

/* The folders the official archives extract to, looked for inside `dir` too. */
static const char *const archive_folders[] = {".", "cifar-10-batches-bin", "cifar-100-binary"};
#define N_FOLDERS ((int)(sizeof archive_folders / sizeof archive_folders[0]))

static dmx_status has_any(const char *dir, const char *const *files, bool *found)
{
    char path[DMX_PATH_CAPACITY];
    *found = false;
    for (int i = 0; files[i] && !*found; i++) {
        DMX_TRY(dmx_path_join(path, sizeof path, dir, files[i]));
        *found = dmx_is_regular_file(path);
    }
    return DMX_OK;
}

dmx_status dmx_image_dataset_open(const char *dir, const dmx_image_load_options *opts,
                                  dmx_image_dataset **out)
{
    dmx_image_load_options o;
    DMX_TRY(dmx_load_options_resolve(opts, dir, out, "dmx_image_dataset_open", &o));
    if (dmx_is_regular_file(dir))
        return dmx_fail(DMX_ERR_INVALID_ARG, "'%s' is a file, not a data directory: give the "
                        "folder that holds the CIFAR binary or (Fashion-)MNIST IDX files", dir);
    if (!dmx_is_directory(dir))
        return dmx_fail(DMX_ERR_NOT_FOUND, "data directory '%s' does not exist", dir);
    char sub[DMX_PATH_CAPACITY];
    for (int d = 0; d < N_FOLDERS; d++) {
        if (d == 0)
            snprintf(sub, sizeof sub, "%s", dir);
        else
            DMX_TRY(dmx_path_join(sub, sizeof sub, dir, archive_folders[d]));
        if (!dmx_is_directory(sub))
            continue;
        for (int p = 0; p < N_PROBES; p++) {
            bool found = false;
            DMX_TRY(has_any(sub, probes[p].signature, &found));
            if (found) {
                dmx_status s = probes[p].load(sub, &o, out);
                return s == DMX_OK ? s
                                   : dmx_fail_context(s, "'%s' looks like %s: ", sub,
                                                      probes[p].title);
            }
        }
    }
    return dmx_fail(DMX_ERR_NOT_FOUND,
                    "no image dataset found in '%s' (nor in its cifar-10-batches-bin/ or "
                    "cifar-100-binary/): expected CIFAR-10 (%s), CIFAR-100 (%s) or IDX (%s)",
                    dir, probes[0].expected, probes[1].expected, probes[2].expected);
}
