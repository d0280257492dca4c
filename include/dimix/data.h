/* Image datasets, augmentation and the batch loader.
 *
 * A dataset lives in host memory as uint8 pixels [N, C, H, W] (planar, row-major) and int32
 * labels [N], with per-channel normalisation constants. Readers cover CIFAR-10 / CIFAR-100
 * (binary version) and IDX (MNIST, Fashion-MNIST; .gz read directly); a seeded synthetic
 * dataset serves tests. dmx_image_dataset_open detects the format from a directory's content.
 *
 * The batch loader turns a dataset into float batches [B, C, H', W']: per epoch a seeded
 * shuffle, then per image an optional random crop (zero padding) and horizontal flip, an
 * optional bilinear resize (align_corners=True), and normalisation (x / 255 - mean) / std.
 * Every random draw comes from Philox keyed by (seed, epoch, image index), so a batch's content
 * depends only on (seed, epoch, batch index): not on threads, nor on where training resumed. */
#ifndef DIMIX_DATA_H
#define DIMIX_DATA_H

#include <stdbool.h>
#include <stdint.h>

#include "dimix/status.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef enum dmx_split {
    DMX_SPLIT_TRAIN = 0,
    DMX_SPLIT_TEST = 1,
} dmx_split;

typedef enum dmx_image_format {
    DMX_IMAGES_CIFAR10 = 0,
    DMX_IMAGES_CIFAR100 = 1,
    DMX_IMAGES_IDX = 2,       /* MNIST, Fashion-MNIST or another IDX ubyte set */
    DMX_IMAGES_SYNTHETIC = 3,
} dmx_image_format;

/* Which IDX dataset a directory holds; the files are named alike, so AUTO decides from the
 * directory's path: "fashion" in it means Fashion-MNIST, else "mnist" means MNIST, else a
 * generic IDX set (classes = largest label + 1, mean/std computed from the data). */
typedef enum dmx_idx_kind {
    DMX_IDX_AUTO = 0,
    DMX_IDX_MNIST = 1,
    DMX_IDX_FASHION_MNIST = 2,
    DMX_IDX_GENERIC = 3,
} dmx_idx_kind;

typedef struct dmx_image_dataset {
    char name[32];            /* "cifar10", "cifar100", "mnist", "fashion-mnist", "idx", "synthetic" */
    dmx_image_format format;
    dmx_split split;
    int64_t count;            /* N */
    int channels, height, width;
    int num_classes;
    uint8_t *pixels;          /* [N, C, H, W] */
    int32_t *labels;          /* [N], each in [0, num_classes) */
    char **class_names;       /* num_classes names, or NULL when unknown */
    float *mean, *std;        /* [C]: normalisation of pixel / 255 */
} dmx_image_dataset;

typedef struct dmx_image_load_options {
    dmx_split split;
    bool cifar100_coarse;     /* CIFAR-100: the 20 coarse labels instead of the 100 fine ones */
    dmx_idx_kind idx_kind;
} dmx_image_load_options;

/* Readers. `dir` holds the format's files (see each function); opts may be NULL (train split,
 * fine labels, IDX kind from the path). Every failure names the file and what is wrong. */

/* data_batch_1.bin ... data_batch_5.bin (train) or test_batch.bin (test): 3073-byte records
 * <label><1024 R><1024 G><1024 B>; class names from batches.meta.txt when present. */
DMX_API dmx_status dmx_cifar10_load(const char *dir, const dmx_image_load_options *opts,
                                    dmx_image_dataset **out);
/* train.bin or test.bin: 3074-byte records <coarse><fine><3072 pixels>; names from
 * fine_label_names.txt / coarse_label_names.txt when present. */
DMX_API dmx_status dmx_cifar100_load(const char *dir, const dmx_image_load_options *opts,
                                     dmx_image_dataset **out);
/* {train,t10k}-images-idx3-ubyte[.gz] and {train,t10k}-labels-idx1-ubyte[.gz]. */
DMX_API dmx_status dmx_idx_load(const char *dir, const dmx_image_load_options *opts,
                                dmx_image_dataset **out);

/* Detects the format from the files in `dir` (or in its standard extraction subfolder
 * cifar-10-batches-bin/ or cifar-100-binary/) and loads it. When nothing matches, the message
 * lists the files each format expects. */
DMX_API dmx_status dmx_image_dataset_open(const char *dir, const dmx_image_load_options *opts,
                                          dmx_image_dataset **out);

typedef struct dmx_synthetic_options {
    int64_t count;
    int channels, height, width;
    int num_classes;
    uint64_t seed;      /* fixes the class patterns; train and test share them */
    dmx_split split;    /* train and test draw different noise */
    float noise;        /* amplitude of the uniform pixel noise, in pixel units (0..255) */
} dmx_synthetic_options;

/* A small learnable dataset: each class is a smooth random pattern (a coarse random grid
 * upsampled bilinearly), each image its class's pattern plus uniform noise, labels i % classes.
 * Mean and std are computed from the generated pixels. */
DMX_API dmx_status dmx_synthetic_images(const dmx_synthetic_options *opts, dmx_image_dataset **out);

DMX_API void dmx_image_dataset_free(dmx_image_dataset *ds);

/* Per-channel population mean and std of pixel / 255 over the whole dataset (into [C] arrays). */
DMX_API dmx_status dmx_image_dataset_stats(const dmx_image_dataset *ds, float *mean, float *std);

/* Replaces the normalisation constants (e.g. to give a test split its train split's values). */
DMX_API dmx_status dmx_image_dataset_set_normalization(dmx_image_dataset *ds, const float *mean,
                                                       const float *std);

/* ---- the batch loader ---- */

typedef struct dmx_loader_options {
    int batch_size;
    bool shuffle;        /* a new seeded permutation each epoch; else dataset order */
    bool drop_last;      /* drop the last partial batch; else keep it (smaller) */
    bool random_crop;    /* zero-pad by crop_padding, take a random H x W crop */
    int crop_padding;    /* 4 in the CIFAR recipe; offsets are 0..2*crop_padding */
    bool random_flip;    /* horizontal flip with probability 0.5 */
    int resize;          /* 0: keep H x W; else resize to resize x resize (bilinear,
                            align_corners=True) after augmentation, before normalisation */
    uint64_t seed;
    bool background;     /* prepare the next batch on a thread while the caller computes */
    /* Data-parallel training: this process's slice of every batch. A batch of n images (its
     * order and augmentation unchanged) gives images [n * part / parts, n * (part + 1) /
     * parts), so the slices of parts 0..parts-1 together are the whole batch, in order. The
     * slice may be empty (a kept last batch smaller than parts). parts 0 or 1: all of it. */
    int part, parts;
} dmx_loader_options;

/* The standard training recipe: shuffle, crop (padding 4), flip, keep the last batch. */
DMX_API dmx_loader_options dmx_loader_train_defaults(int batch_size, uint64_t seed);
/* Evaluation: dataset order, no augmentation, keep the last batch. */
DMX_API dmx_loader_options dmx_loader_eval_defaults(int batch_size);

typedef struct dmx_batch {
    int64_t epoch, index;     /* which batch this is */
    int64_t size;             /* images in it: batch_size, or fewer for a kept last batch;
                                 with parts, this process's slice (possibly 0) */
    int channels, height, width;
    const float *images;      /* [size, C, H', W'], owned by the loader */
    const int32_t *labels;    /* [size] */
} dmx_batch;

typedef struct dmx_loader dmx_loader;

/* The loader reads `ds` as it prepares batches, possibly on its thread: the dataset is not
 * copied and must outlive the loader unchanged. The loader starts at (0, 0). One thread at a
 * time may call the loader's functions. */
DMX_API dmx_status dmx_loader_create(const dmx_image_dataset *ds, const dmx_loader_options *opts,
                                     dmx_loader **out);
/* Stops the background thread and frees everything. NULL is fine. */
DMX_API void dmx_loader_destroy(dmx_loader *ld);

DMX_API int64_t dmx_loader_batches_per_epoch(const dmx_loader *ld);
/* Shape of a full batch: [batch_size, C, H', W']. */
DMX_API void dmx_loader_batch_shape(const dmx_loader *ld, int64_t shape[4]);

/* Makes (epoch, index) the next batch returned: exact resume. */
DMX_API dmx_status dmx_loader_seek(dmx_loader *ld, int64_t epoch, int64_t index);
/* The batch that dmx_loader_next returns next. */
DMX_API void dmx_loader_position(const dmx_loader *ld, int64_t *epoch, int64_t *index);

/* The next batch; its arrays stay valid until the next call on the loader. After the last
 * batch of an epoch comes batch 0 of the next. */
DMX_API dmx_status dmx_loader_next(dmx_loader *ld, dmx_batch *out);

/* Prepares batch (epoch, index) on the calling thread into caller memory (images must hold
 * batch_size * C * H' * W' floats, labels batch_size ints); *size gets its image count.
 * Equal, bit for bit, to what dmx_loader_next returns for that batch. */
DMX_API dmx_status dmx_loader_fill(dmx_loader *ld, int64_t epoch, int64_t index, float *images,
                                   int32_t *labels, int64_t *size);

#ifdef __cplusplus
}
#endif
#endif
