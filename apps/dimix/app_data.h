/* What `dimix train` and `dimix eval` share: opening the image data a user names, building the
 * loader and batch source for it, and opening the device. */
#ifndef DMX_APP_DATA_H
#define DMX_APP_DATA_H

#include <stdbool.h>
#include <stddef.h>

#include "dimix/dimix.h"

#define DMX_DEFAULT_DATA "/usr/share/datasets/fashion-mnist"

/* `spec` is a directory (CIFAR-10/100 binary, MNIST/Fashion-MNIST IDX, detected), or
 * "synthetic[:C:H:classes:count]" for a small generated set. */
dmx_status dmx_app_open_images(const char *spec, dmx_split split, dmx_image_dataset **out);

typedef struct dmx_app_images {
    dmx_image_dataset *ds;
    dmx_loader *loader;
    dmx_batch_source *source;
} dmx_app_images;

/* Loader (with `opts`) and batch source over `ds` (which the struct then owns). */
dmx_status dmx_app_images_make(dmx_image_dataset *ds, const dmx_loader_options *opts,
                               dmx_app_images *out);
void dmx_app_images_free(dmx_app_images *im);

/* What checkpoints record about `ds` for inference: its normalisation (pixel / 255 mean and
 * std per channel) and class names (when the dataset has them); points into ds. */
void dmx_app_checkpoint_input(const dmx_image_dataset *ds, dmx_checkpoint_input *out);

/* Opens `name` (NULL: DIMIX_DEVICE or auto) and prints which device runs. */
dmx_status dmx_app_open_device(const char *cmd, const char *name, dmx_device **out);

/* Takes an exclusive flock on run folder `dir` for as long as the process lives (the
 * descriptor is kept in *fd), so a second training cannot write into it at the same time.
 * Returns 0, or prints why and returns 1 (another process holds it, or it cannot be opened). */
int dmx_app_lock_run_dir(const char *cmd, const char *dir, int *fd);

/* The folder of file `path` ("." for a bare name) in out. */
void dmx_app_dirname(const char *path, char *out, size_t cap);

#endif
