/* Small training setups shared by the model tests: a synthetic image set, a loader and a batch
 * source, and a small model of each family. */
#ifndef DMX_TEST_TRAIN_FIXTURE_H
#define DMX_TEST_TRAIN_FIXTURE_H

#include "dimix/dimix.h"

typedef struct train_fixture {
    dmx_image_dataset *train_ds, *test_ds;
    dmx_loader *train_loader, *test_loader;
    dmx_batch_source *train, *test;
} train_fixture;

/* Synthetic C x H x H images, `classes` classes, `count` training images, batch size `batch`,
 * augmentation (crop + flip) on, prefetching on. */
dmx_status train_fixture_open(train_fixture *f, int channels, int height, int classes,
                              int count, int batch, uint64_t seed);
void train_fixture_close(train_fixture *f);

/* Small configurations of each image family for C x H x H inputs. */
extern const char *const small_family_configs[];
extern const int n_small_family_configs;

#endif
