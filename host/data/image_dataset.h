/* Internals shared by the image readers and the synthetic generator. */
#ifndef DMX_DATA_IMAGE_DATASET_H
#define DMX_DATA_IMAGE_DATASET_H

#include "dimix/data.h"

/* Largest channel count and side a dataset may have (guards allocations driven by headers). */
#define DMX_IMAGE_MAX_CHANNELS 64
#define DMX_IMAGE_MAX_SIDE 65535

/* Checks a reader's arguments (dir and out not NULL, *out cleared) and fills `resolved` from
 * opts, or with the defaults (train split, fine labels, IDX kind from the path) when NULL. */
dmx_status dmx_load_options_resolve(const dmx_image_load_options *opts, const char *dir,
                                    dmx_image_dataset **out, const char *function,
                                    dmx_image_load_options *resolved);

/* A dataset with room for `count` images: pixels and labels uninitialised, mean 0, std 1, no
 * class names. `source` names the file or generator in messages. */
dmx_status dmx_image_dataset_alloc(const char *name, dmx_image_format format, dmx_split split,
                                   int64_t count, int channels, int height, int width,
                                   int num_classes, const char *source, dmx_image_dataset **out);

/* Copies `names` (num_classes of them) into the dataset. */
dmx_status dmx_image_dataset_set_names(dmx_image_dataset *ds, const char *const *names);

/* Reads one class name per non-empty line of `path` (trailing blanks and '\r' dropped); the
 * file must list exactly ds->num_classes names. */
dmx_status dmx_image_dataset_read_names(dmx_image_dataset *ds, const char *path);

/* Sets mean and std to the dataset's own statistics (for sets with no published constants). */
dmx_status dmx_image_dataset_normalize_by_stats(dmx_image_dataset *ds);

#endif
