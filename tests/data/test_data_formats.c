/* Dataset readers: CIFAR-10, CIFAR-100 and IDX files written here, loaded back and compared
 * exactly; format detection; every malformed case with its status and a message naming the
 * file; the synthetic set. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "data_fixtures.h"
#include "dimix/data.h"

#define CIFAR_IMAGE 3072

/* ---- CIFAR ---- */

typedef struct cifar_set {
    int n;
    uint8_t labels[16 * 2];
    uint8_t pixels[16 * CIFAR_IMAGE];
} cifar_set;

/* n records with random pixels and labels label_of(i); label_bytes 1 or 2. */
static void make_cifar(cifar_set *set, int n, int label_bytes, uint64_t seed, int classes)
{
    assert_true(n <= 16);
    set->n = n;
    fixture_random_bytes(seed, set->pixels, (size_t)n * CIFAR_IMAGE);
    for (int i = 0; i < n * label_bytes; i++)
        set->labels[i] = (uint8_t)((i * 7 + seed) % (uint64_t)classes);
}

static void write_cifar(const char *dir, const char *name, const cifar_set *set, int first,
                        int n, int label_bytes)
{
    size_t bytes = 0;
    uint8_t *data = fixture_cifar_records(n, label_bytes, set->labels + first * label_bytes,
                                          set->pixels + (size_t)first * CIFAR_IMAGE, &bytes);
    fixture_write(dir, name, data, bytes);
    free(data);
}

static const int cifar10_batch_sizes[5] = {3, 1, 2, 1, 2};

/* A CIFAR-10 folder: 9 train records over 5 files, 4 test records. */
static void write_cifar10(const char *dir, cifar_set *train, cifar_set *test)
{
    make_cifar(train, 9, 1, 11, 10);
    make_cifar(test, 4, 1, 12, 10);
    int first = 0;
    for (int b = 0; b < 5; b++) {
        char name[32];
        snprintf(name, sizeof name, "data_batch_%d.bin", b + 1);
        write_cifar(dir, name, train, first, cifar10_batch_sizes[b], 1);
        first += cifar10_batch_sizes[b];
    }
    write_cifar(dir, "test_batch.bin", test, 0, 4, 1);
}

static void assert_images_equal(const dmx_image_dataset *ds, const uint8_t *pixels,
                                const uint8_t *labels, int label_stride, int n, int image)
{
    assert_int_equal(ds->count, n);
    for (int i = 0; i < n; i++) {
        if (ds->labels[i] != labels[i * label_stride])
            fail_msg("label %d: got %d, want %d", i, ds->labels[i], labels[i * label_stride]);
        for (int p = 0; p < image; p++)
            if (ds->pixels[(size_t)i * image + p] != pixels[(size_t)i * image + p])
                fail_msg("image %d pixel %d: got %d, want %d", i, p,
                         ds->pixels[(size_t)i * image + p], pixels[(size_t)i * image + p]);
    }
}

static void test_cifar10_round_trip(void **state)
{
    (void)state;
    char *dir = fixture_dir(NULL);
    cifar_set train, test;
    write_cifar10(dir, &train, &test);
    const char meta[] = "zero\none\r\ntwo \nthree\nfour\nfive\nsix\nseven\neight\nnine\n\n";
    fixture_write(dir, "batches.meta.txt", meta, strlen(meta));

    dmx_image_dataset *ds = NULL;
    DMX_ASSERT_OK(dmx_cifar10_load(dir, NULL, &ds));
    assert_string_equal(ds->name, "cifar10");
    assert_int_equal(ds->format, DMX_IMAGES_CIFAR10);
    assert_int_equal(ds->split, DMX_SPLIT_TRAIN);
    assert_int_equal(ds->channels, 3);
    assert_int_equal(ds->height, 32);
    assert_int_equal(ds->width, 32);
    assert_int_equal(ds->num_classes, 10);
    assert_images_equal(ds, train.pixels, train.labels, 1, 9, CIFAR_IMAGE);
    assert_non_null(ds->class_names);
    assert_string_equal(ds->class_names[1], "one");
    assert_string_equal(ds->class_names[2], "two");
    assert_string_equal(ds->class_names[9], "nine");
    const float mean[3] = {0.4914f, 0.4822f, 0.4465f}, std[3] = {0.2023f, 0.1994f, 0.2010f};
    for (int c = 0; c < 3; c++)
        assert_true(ds->mean[c] == mean[c] && ds->std[c] == std[c]);
    dmx_image_dataset_free(ds);

    dmx_image_load_options opts = {.split = DMX_SPLIT_TEST};
    DMX_ASSERT_OK(dmx_cifar10_load(dir, &opts, &ds));
    assert_int_equal(ds->split, DMX_SPLIT_TEST);
    assert_images_equal(ds, test.pixels, test.labels, 1, 4, CIFAR_IMAGE);
    dmx_image_dataset_free(ds);
    fixture_remove(dir);
}

static void test_cifar10_without_meta_uses_release_names(void **state)
{
    (void)state;
    char *dir = fixture_dir(NULL);
    cifar_set train, test;
    write_cifar10(dir, &train, &test);
    dmx_image_dataset *ds = NULL;
    DMX_ASSERT_OK(dmx_cifar10_load(dir, NULL, &ds));
    assert_string_equal(ds->class_names[0], "airplane");
    assert_string_equal(ds->class_names[9], "truck");
    dmx_image_dataset_free(ds);
    fixture_remove(dir);
}

static void test_cifar100_fine_and_coarse(void **state)
{
    (void)state;
    char *dir = fixture_dir(NULL);
    cifar_set train, test;
    make_cifar(&train, 5, 2, 21, 20); /* < 20 so the values are valid as coarse and fine */
    train.labels[1] = 99;            /* a fine label only the fine set accepts */
    train.labels[0] = 19;
    make_cifar(&test, 2, 2, 22, 20);
    write_cifar(dir, "train.bin", &train, 0, 5, 2);
    write_cifar(dir, "test.bin", &test, 0, 2, 2);

    dmx_image_dataset *ds = NULL;
    DMX_ASSERT_OK(dmx_cifar100_load(dir, NULL, &ds));
    assert_string_equal(ds->name, "cifar100");
    assert_int_equal(ds->num_classes, 100);
    assert_null(ds->class_names);
    assert_images_equal(ds, train.pixels, train.labels + 1, 2, 5, CIFAR_IMAGE);
    assert_true(ds->mean[0] == 0.5071f && ds->std[2] == 0.2023f);
    dmx_image_dataset_free(ds);

    char coarse_names[20 * 8] = "";
    for (int k = 0; k < 20; k++)
        snprintf(coarse_names + strlen(coarse_names), 8, "c%d\n", k);
    fixture_write(dir, "coarse_label_names.txt", coarse_names, strlen(coarse_names));
    dmx_image_load_options opts = {.split = DMX_SPLIT_TEST, .cifar100_coarse = true};
    DMX_ASSERT_OK(dmx_cifar100_load(dir, &opts, &ds));
    assert_int_equal(ds->num_classes, 20);
    assert_images_equal(ds, test.pixels, test.labels, 2, 2, CIFAR_IMAGE);
    assert_string_equal(ds->class_names[19], "c19");
    dmx_image_dataset_free(ds);
    fixture_remove(dir);
}

static void test_cifar_malformed_files_are_named(void **state)
{
    (void)state;
    char *dir = fixture_dir(NULL);
    cifar_set train, test;
    write_cifar10(dir, &train, &test);
    dmx_image_dataset *ds = NULL;
    dmx_image_load_options test_split = {.split = DMX_SPLIT_TEST};

    /* Size not a multiple of the record (a truncated last record). */
    size_t bytes = 0;
    uint8_t *data = fixture_cifar_records(2, 1, train.labels, train.pixels, &bytes);
    fixture_write(dir, "data_batch_3.bin", data, bytes - 5);
    DMX_ASSERT_FAILS(dmx_cifar10_load(dir, NULL, &ds), DMX_ERR_FORMAT, "data_batch_3.bin");
    ASSERT_MESSAGE_HAS("not a multiple of the 3073-byte record");
    assert_null(ds);
    fixture_write(dir, "data_batch_3.bin", data, bytes);

    /* Empty file. */
    fixture_write(dir, "data_batch_2.bin", data, 0);
    DMX_ASSERT_FAILS(dmx_cifar10_load(dir, NULL, &ds), DMX_ERR_FORMAT, "data_batch_2.bin");
    ASSERT_MESSAGE_HAS("is empty");
    fixture_write(dir, "data_batch_2.bin", data, bytes);

    /* Missing file. */
    char *path = fixture_path(dir, "data_batch_4.bin");
    assert_int_equal(remove(path), 0);
    DMX_ASSERT_FAILS(dmx_cifar10_load(dir, NULL, &ds), DMX_ERR_NOT_FOUND, "data_batch_4.bin");
    ASSERT_MESSAGE_HAS("missing");
    free(path);

    /* Label out of range, in the second record. */
    data[3073] = 10;
    fixture_write(dir, "test_batch.bin", data, bytes);
    DMX_ASSERT_FAILS(dmx_cifar10_load(dir, &test_split, &ds), DMX_ERR_FORMAT, "test_batch.bin");
    ASSERT_MESSAGE_HAS("record 1 has label 10");
    free(data);

    /* batches.meta.txt with the wrong number of names. */
    fixture_write(dir, "test_batch.bin", train.pixels, 0);
    write_cifar(dir, "test_batch.bin", &test, 0, 4, 1);
    const char meta[] = "a\nb\nc\nd\ne\nf\ng\nh\ni\n";
    fixture_write(dir, "batches.meta.txt", meta, strlen(meta));
    DMX_ASSERT_FAILS(dmx_cifar10_load(dir, &test_split, &ds), DMX_ERR_FORMAT,
                     "batches.meta.txt");
    ASSERT_MESSAGE_HAS("lists 9 class names, expected 10");

    /* CIFAR-100: a CIFAR-10-sized file, a fine label of 100, a coarse label of 20. */
    data = fixture_cifar_records(3, 1, train.labels, train.pixels, &bytes);
    fixture_write(dir, "train.bin", data, bytes);
    free(data);
    DMX_ASSERT_FAILS(dmx_cifar100_load(dir, NULL, &ds), DMX_ERR_FORMAT, "train.bin");
    ASSERT_MESSAGE_HAS("3074-byte record");
    uint8_t labels[4] = {3, 4, 20, 100};
    data = fixture_cifar_records(2, 2, labels, train.pixels, &bytes);
    fixture_write(dir, "train.bin", data, bytes);
    free(data);
    DMX_ASSERT_FAILS(dmx_cifar100_load(dir, NULL, &ds), DMX_ERR_FORMAT, "train.bin");
    ASSERT_MESSAGE_HAS("record 1 has label 100, outside 0..99");
    dmx_image_load_options coarse = {.cifar100_coarse = true};
    DMX_ASSERT_FAILS(dmx_cifar100_load(dir, &coarse, &ds), DMX_ERR_FORMAT, "train.bin");
    ASSERT_MESSAGE_HAS("record 1 has label 20, outside 0..19");
    assert_null(ds);
    fixture_remove(dir);
}

/* ---- IDX ---- */

#define IDX_ROWS 5
#define IDX_COLS 4
#define IDX_IMAGE (IDX_ROWS * IDX_COLS)

typedef struct idx_set {
    uint32_t n;
    uint8_t pixels[8 * IDX_IMAGE];
    uint8_t labels[8];
} idx_set;

static void make_idx(idx_set *set, uint32_t n, uint64_t seed, int classes)
{
    set->n = n;
    fixture_random_bytes(seed, set->pixels, (size_t)n * IDX_IMAGE);
    for (uint32_t i = 0; i < n; i++)
        set->labels[i] = (uint8_t)((i * 3 + seed) % (uint64_t)classes);
}

/* Writes prefix-images-idx3-ubyte and prefix-labels-idx1-ubyte (gz adds .gz). */
static void write_idx(const char *dir, const char *prefix, const idx_set *set, bool gz)
{
    char name[64];
    uint32_t dims[3] = {set->n, IDX_ROWS, IDX_COLS};
    size_t bytes = 0;
    uint8_t *data = fixture_idx(3, dims, set->pixels, &bytes);
    snprintf(name, sizeof name, "%s-images-idx3-ubyte%s", prefix, gz ? ".gz" : "");
    (gz ? fixture_write_gz : fixture_write)(dir, name, data, bytes);
    free(data);
    data = fixture_idx(1, dims, set->labels, &bytes);
    snprintf(name, sizeof name, "%s-labels-idx1-ubyte%s", prefix, gz ? ".gz" : "");
    (gz ? fixture_write_gz : fixture_write)(dir, name, data, bytes);
    free(data);
}

static void check_idx_round_trip(bool gz)
{
    char *dir = fixture_dir(NULL);
    idx_set train, test;
    make_idx(&train, 7, 31, 10);
    make_idx(&test, 3, 32, 10);
    write_idx(dir, "train", &train, gz);
    write_idx(dir, "t10k", &test, gz);
    dmx_image_load_options opts = {.idx_kind = DMX_IDX_FASHION_MNIST};
    dmx_image_dataset *ds = NULL;
    DMX_ASSERT_OK(dmx_idx_load(dir, &opts, &ds));
    assert_string_equal(ds->name, "fashion-mnist");
    assert_int_equal(ds->format, DMX_IMAGES_IDX);
    assert_int_equal(ds->channels, 1);
    assert_int_equal(ds->height, IDX_ROWS);
    assert_int_equal(ds->width, IDX_COLS);
    assert_int_equal(ds->num_classes, 10);
    assert_images_equal(ds, train.pixels, train.labels, 1, 7, IDX_IMAGE);
    assert_string_equal(ds->class_names[9], "Ankle boot");
    assert_true(ds->mean[0] == 0.2860405969887955f && ds->std[0] == 0.35302424457803794f);
    dmx_image_dataset_free(ds);
    opts.split = DMX_SPLIT_TEST;
    DMX_ASSERT_OK(dmx_idx_load(dir, &opts, &ds));
    assert_images_equal(ds, test.pixels, test.labels, 1, 3, IDX_IMAGE);
    dmx_image_dataset_free(ds);
    fixture_remove(dir);
}

static void test_idx_plain_round_trip(void **state)
{
    (void)state;
    check_idx_round_trip(false);
}

static void test_idx_gz_round_trip(void **state)
{
    (void)state;
    check_idx_round_trip(true);
}

static void test_idx_kind_from_directory_name(void **state)
{
    (void)state;
    idx_set train;
    make_idx(&train, 6, 41, 4);
    dmx_image_dataset *ds = NULL;

    char *dir = fixture_dir("Fashion-MNIST");
    write_idx(dir, "train", &train, true);
    DMX_ASSERT_OK(dmx_idx_load(dir, NULL, &ds));
    assert_string_equal(ds->name, "fashion-mnist");
    dmx_image_dataset_free(ds);
    fixture_remove(dir);

    dir = fixture_dir("mnist");
    write_idx(dir, "train", &train, false);
    DMX_ASSERT_OK(dmx_idx_load(dir, NULL, &ds));
    assert_string_equal(ds->name, "mnist");
    assert_string_equal(ds->class_names[7], "7");
    assert_true(ds->mean[0] == 0.1307f && ds->std[0] == 0.3081f);
    dmx_image_dataset_free(ds);
    fixture_remove(dir);

    /* Neither: a generic set, classes from the labels, statistics from the pixels. */
    dir = fixture_dir("digits");
    write_idx(dir, "train", &train, false);
    DMX_ASSERT_OK(dmx_idx_load(dir, NULL, &ds));
    assert_string_equal(ds->name, "idx");
    int largest = 0;
    double sum = 0.0, sum_sq = 0.0;
    for (uint32_t i = 0; i < train.n; i++)
        largest = train.labels[i] > largest ? train.labels[i] : largest;
    for (int p = 0; p < 6 * IDX_IMAGE; p++) {
        sum += train.pixels[p] / 255.0;
        sum_sq += (train.pixels[p] / 255.0) * (train.pixels[p] / 255.0);
    }
    double mean = sum / (6 * IDX_IMAGE), std = sqrt(sum_sq / (6 * IDX_IMAGE) - mean * mean);
    assert_int_equal(ds->num_classes, largest + 1);
    assert_null(ds->class_names);
    assert_float_equal(ds->mean[0], mean, 1e-6);
    assert_float_equal(ds->std[0], std, 1e-6);
    dmx_image_dataset_free(ds);
    fixture_remove(dir);
}

static void test_idx_malformed_files_are_named(void **state)
{
    (void)state;
    char *dir = fixture_dir(NULL);
    idx_set train;
    make_idx(&train, 4, 51, 10);
    write_idx(dir, "train", &train, false);
    dmx_image_load_options opts = {.idx_kind = DMX_IDX_FASHION_MNIST};
    dmx_image_dataset *ds = NULL;
    uint32_t dims[3] = {4, IDX_ROWS, IDX_COLS};
    size_t bytes = 0;
    uint8_t *images = fixture_idx(3, dims, train.pixels, &bytes);
    const size_t image_bytes = bytes;

    /* Wrong magic. */
    images[3] = 0x02;
    fixture_write(dir, "train-images-idx3-ubyte", images, image_bytes);
    DMX_ASSERT_FAILS(dmx_idx_load(dir, &opts, &ds), DMX_ERR_FORMAT, "train-images-idx3-ubyte");
    ASSERT_MESSAGE_HAS("magic 0x00000802, expected 0x00000803");
    images[3] = 0x03;

    /* Truncated data, then a truncated header. */
    fixture_write(dir, "train-images-idx3-ubyte", images, image_bytes - 7);
    DMX_ASSERT_FAILS(dmx_idx_load(dir, &opts, &ds), DMX_ERR_FORMAT, "train-images-idx3-ubyte");
    ASSERT_MESSAGE_HAS("truncated");
    fixture_write(dir, "train-images-idx3-ubyte", images, 6);
    DMX_ASSERT_FAILS(dmx_idx_load(dir, &opts, &ds), DMX_ERR_FORMAT, "train-images-idx3-ubyte");
    ASSERT_MESSAGE_HAS("the header");

    /* Bytes after the data, plain (found from the size) and gzip (found by reading on). */
    uint8_t *longer = calloc(image_bytes + 3, 1);
    memcpy(longer, images, image_bytes);
    fixture_write(dir, "train-images-idx3-ubyte", longer, image_bytes + 3);
    DMX_ASSERT_FAILS(dmx_idx_load(dir, &opts, &ds), DMX_ERR_FORMAT, "train-images-idx3-ubyte");
    ASSERT_MESSAGE_HAS("bytes after the data");
    char *plain_labels = fixture_path(dir, "train-labels-idx1-ubyte");
    size_t label_bytes = 0;
    uint8_t *label_file = fixture_read(dir, "train-labels-idx1-ubyte", &label_bytes);
    assert_int_equal(remove(plain_labels), 0);
    uint8_t *longer_labels = calloc(label_bytes + 2, 1);
    memcpy(longer_labels, label_file, label_bytes);
    fixture_write_gz(dir, "train-labels-idx1-ubyte.gz", longer_labels, label_bytes + 2);
    fixture_write(dir, "train-images-idx3-ubyte", images, image_bytes);
    DMX_ASSERT_FAILS(dmx_idx_load(dir, &opts, &ds), DMX_ERR_FORMAT,
                     "train-labels-idx1-ubyte.gz");
    ASSERT_MESSAGE_HAS("bytes after the data");
    fixture_write(dir, "train-labels-idx1-ubyte", label_file, label_bytes);
    free(plain_labels), free(label_file), free(longer_labels), free(longer);

    /* A zero image side. */
    images[11] = 0;
    fixture_write(dir, "train-images-idx3-ubyte", images, image_bytes);
    DMX_ASSERT_FAILS(dmx_idx_load(dir, &opts, &ds), DMX_ERR_FORMAT, "train-images-idx3-ubyte");
    ASSERT_MESSAGE_HAS("not a valid dataset");
    images[11] = IDX_ROWS;
    fixture_write(dir, "train-images-idx3-ubyte", images, image_bytes);

    /* A gzip stream cut short, and one with corrupt content: the .gz is read when the plain
     * file is absent. */
    char *plain = fixture_path(dir, "train-images-idx3-ubyte");
    assert_int_equal(remove(plain), 0);
    free(plain);
    fixture_write_gz(dir, "train-images-idx3-ubyte.gz", images, image_bytes);
    size_t gz_bytes = 0;
    uint8_t *gz = fixture_read(dir, "train-images-idx3-ubyte.gz", &gz_bytes);
    fixture_write(dir, "train-images-idx3-ubyte.gz", gz, gz_bytes / 2);
    DMX_ASSERT_FAILS(dmx_idx_load(dir, &opts, &ds), DMX_ERR_FORMAT,
                     "train-images-idx3-ubyte.gz");
    for (size_t i = 12; i < gz_bytes - 8; i++)
        gz[i] ^= 0x5A;
    fixture_write(dir, "train-images-idx3-ubyte.gz", gz, gz_bytes);
    DMX_ASSERT_FAILS(dmx_idx_load(dir, &opts, &ds), DMX_ERR_FORMAT,
                     "train-images-idx3-ubyte.gz");
    free(gz);
    fixture_write_gz(dir, "train-images-idx3-ubyte.gz", images, image_bytes);
    DMX_ASSERT_OK(dmx_idx_load(dir, &opts, &ds));
    dmx_image_dataset_free(ds);
    ds = NULL;

    /* Labels: wrong magic, count mismatch, label out of range, missing. */
    uint8_t *labels = fixture_idx(1, dims, train.labels, &bytes);
    labels[3] = 0x03;
    fixture_write(dir, "train-labels-idx1-ubyte", labels, bytes);
    DMX_ASSERT_FAILS(dmx_idx_load(dir, &opts, &ds), DMX_ERR_FORMAT, "train-labels-idx1-ubyte");
    ASSERT_MESSAGE_HAS("expected 0x00000801");
    labels[3] = 0x01;
    labels[7] = 3;
    fixture_write(dir, "train-labels-idx1-ubyte", labels, bytes - 1);
    DMX_ASSERT_FAILS(dmx_idx_load(dir, &opts, &ds), DMX_ERR_FORMAT, "count mismatch");
    ASSERT_MESSAGE_HAS("train-images-idx3-ubyte.gz' holds 4 images");
    ASSERT_MESSAGE_HAS("train-labels-idx1-ubyte' holds 3 labels");
    labels[7] = 4;
    labels[8 + 2] = 10;
    fixture_write(dir, "train-labels-idx1-ubyte", labels, bytes);
    DMX_ASSERT_FAILS(dmx_idx_load(dir, &opts, &ds), DMX_ERR_FORMAT, "train-labels-idx1-ubyte");
    ASSERT_MESSAGE_HAS("label 10 at index 2 is outside 0..9");
    free(labels);
    opts.split = DMX_SPLIT_TEST;
    write_idx(dir, "t10k", &train, false);
    char *path = fixture_path(dir, "t10k-labels-idx1-ubyte");
    assert_int_equal(remove(path), 0);
    free(path);
    DMX_ASSERT_FAILS(dmx_idx_load(dir, &opts, &ds), DMX_ERR_NOT_FOUND, "t10k-labels-idx1-ubyte");
    assert_null(ds);
    free(images);
    fixture_remove(dir);
}

/* ---- detection ---- */

static void test_open_detects_each_format(void **state)
{
    (void)state;
    dmx_image_dataset *ds = NULL;
    cifar_set train, test;

    char *dir = fixture_dir(NULL);
    write_cifar10(dir, &train, &test);
    DMX_ASSERT_OK(dmx_image_dataset_open(dir, NULL, &ds));
    assert_string_equal(ds->name, "cifar10");
    assert_int_equal(ds->count, 9);
    dmx_image_dataset_free(ds);
    fixture_remove(dir);

    /* The folder the official archive extracts to, one level down. */
    dir = fixture_dir(NULL);
    char *sub = fixture_path(dir, "cifar-10-batches-bin");
    assert_int_equal(mkdir(sub, 0700), 0);
    write_cifar10(sub, &train, &test);
    dmx_image_load_options test_split = {.split = DMX_SPLIT_TEST};
    DMX_ASSERT_OK(dmx_image_dataset_open(dir, &test_split, &ds));
    assert_string_equal(ds->name, "cifar10");
    assert_int_equal(ds->count, 4);
    dmx_image_dataset_free(ds);
    /* A CIFAR-10 folder missing a batch: detected, and the missing file is named. */
    char *missing = fixture_path(sub, "data_batch_5.bin");
    assert_int_equal(remove(missing), 0);
    DMX_ASSERT_FAILS(dmx_image_dataset_open(dir, NULL, &ds), DMX_ERR_NOT_FOUND,
                     "data_batch_5.bin");
    ASSERT_MESSAGE_HAS("looks like CIFAR-10");
    free(missing);
    free(sub);
    fixture_remove(dir);

    dir = fixture_dir(NULL);
    make_cifar(&train, 2, 2, 61, 20);
    write_cifar(dir, "test.bin", &train, 0, 2, 2);
    DMX_ASSERT_OK(dmx_image_dataset_open(dir, &test_split, &ds));
    assert_string_equal(ds->name, "cifar100");
    dmx_image_dataset_free(ds);
    fixture_remove(dir);

    dir = fixture_dir("fashion");
    idx_set idx;
    make_idx(&idx, 2, 62, 10);
    write_idx(dir, "train", &idx, true);
    DMX_ASSERT_OK(dmx_image_dataset_open(dir, NULL, &ds));
    assert_string_equal(ds->name, "fashion-mnist");
    dmx_image_dataset_free(ds);
    fixture_remove(dir);

    dir = fixture_dir(NULL);
    fixture_write(dir, "readme.txt", "x", 1);
    DMX_ASSERT_FAILS(dmx_image_dataset_open(dir, NULL, &ds), DMX_ERR_NOT_FOUND,
                     "no image dataset found");
    ASSERT_MESSAGE_HAS("data_batch_1.bin");
    ASSERT_MESSAGE_HAS("train.bin and test.bin");
    ASSERT_MESSAGE_HAS("t10k-labels-idx1-ubyte");
    char *absent = fixture_path(dir, "nowhere");
    DMX_ASSERT_FAILS(dmx_image_dataset_open(absent, NULL, &ds), DMX_ERR_NOT_FOUND,
                     "does not exist");
    free(absent);
    assert_null(ds);
    fixture_remove(dir);
}

static void test_bad_arguments(void **state)
{
    (void)state;
    dmx_image_dataset *ds = NULL;
    DMX_ASSERT_FAILS(dmx_cifar10_load(NULL, NULL, &ds), DMX_ERR_INVALID_ARG, "NULL dir");
    dmx_image_load_options bad = {.split = (dmx_split)7};
    DMX_ASSERT_FAILS(dmx_idx_load("/tmp", &bad, &ds), DMX_ERR_INVALID_ARG, "split 7");
    DMX_ASSERT_FAILS(dmx_synthetic_images(NULL, &ds), DMX_ERR_INVALID_ARG, "NULL");
    dmx_synthetic_options so = {.count = 0, .channels = 3, .height = 4, .width = 4,
                                .num_classes = 2};
    DMX_ASSERT_FAILS(dmx_synthetic_images(&so, &ds), DMX_ERR_FORMAT, "0 images");
    so.count = 4;
    so.noise = -1.0f;
    DMX_ASSERT_FAILS(dmx_synthetic_images(&so, &ds), DMX_ERR_INVALID_ARG, "noise");
    assert_null(ds);
}

/* ---- statistics and the synthetic set ---- */

static void test_stats_and_normalization(void **state)
{
    (void)state;
    dmx_synthetic_options so = {.count = 2, .channels = 2, .height = 1, .width = 2,
                                .num_classes = 2, .seed = 1};
    dmx_image_dataset *ds = NULL;
    DMX_ASSERT_OK(dmx_synthetic_images(&so, &ds));
    /* Channel 0 holds 0, 255, 51, 102: mean 408 / 4 / 255 = 0.4, variance of
     * {0, 1, 0.2, 0.4} about 0.4 = (0.16 + 0.36 + 0.04 + 0) / 4 = 0.14. Channel 1 is constant. */
    const uint8_t pixels[8] = {0, 255, 7, 7, 51, 102, 7, 7};
    memcpy(ds->pixels, pixels, sizeof pixels);
    float mean[2], std[2];
    DMX_ASSERT_OK(dmx_image_dataset_stats(ds, mean, std));
    assert_float_equal(mean[0], 0.4, 1e-7);
    assert_float_equal(std[0], sqrt(0.14), 1e-7);
    assert_float_equal(mean[1], 7.0 / 255.0, 1e-7);
    assert_float_equal(std[1], 0.0, 1e-7);
    DMX_ASSERT_FAILS(dmx_image_dataset_set_normalization(ds, mean, std), DMX_ERR_INVALID_ARG,
                     "channel 1 needs a finite mean and a positive std");
    std[1] = 0.5f;
    DMX_ASSERT_OK(dmx_image_dataset_set_normalization(ds, mean, std));
    assert_true(ds->mean[0] == mean[0] && ds->std[1] == 0.5f);
    dmx_image_dataset_free(ds);
}

static void test_synthetic_is_seeded_and_learnable(void **state)
{
    (void)state;
    dmx_synthetic_options so = {.count = 200, .channels = 3, .height = 12, .width = 10,
                                .num_classes = 5, .seed = 77, .noise = 60.0f};
    dmx_image_dataset *train = NULL, *again = NULL, *test = NULL;
    DMX_ASSERT_OK(dmx_synthetic_images(&so, &train));
    DMX_ASSERT_OK(dmx_synthetic_images(&so, &again));
    so.split = DMX_SPLIT_TEST;
    so.count = 100;
    DMX_ASSERT_OK(dmx_synthetic_images(&so, &test));
    const size_t image = 3 * 12 * 10;
    assert_memory_equal(train->pixels, again->pixels, 200 * image);
    assert_memory_equal(train->labels, again->labels, 200 * sizeof(int32_t));
    assert_string_equal(train->name, "synthetic");
    for (int i = 0; i < 200; i++)
        assert_int_equal(train->labels[i], i % 5);
    /* Same class patterns, different noise: images 0 of train and test differ. */
    assert_true(memcmp(train->pixels, test->pixels, image) != 0);
    /* Normalisation from the data. */
    float mean[3], std[3];
    DMX_ASSERT_OK(dmx_image_dataset_stats(train, mean, std));
    for (int c = 0; c < 3; c++)
        assert_true(train->mean[c] == mean[c] && train->std[c] == std[c] && std[c] > 0.05f);

    /* Learnable: the nearest class mean of the train images classifies the test images. */
    double *centroid = calloc(5 * image, sizeof *centroid);
    for (int i = 0; i < 200; i++)
        for (size_t p = 0; p < image; p++)
            centroid[train->labels[i] * image + p] += train->pixels[i * image + p] / 40.0;
    int correct = 0;
    for (int i = 0; i < 100; i++) {
        int best = -1;
        double best_d = INFINITY;
        for (int k = 0; k < 5; k++) {
            double d = 0.0;
            for (size_t p = 0; p < image; p++) {
                double e = test->pixels[i * image + p] - centroid[k * image + p];
                d += e * e;
            }
            if (d < best_d)
                best_d = d, best = k;
        }
        correct += best == test->labels[i];
    }
    free(centroid);
    if (correct < 95)
        fail_msg("nearest-centroid accuracy %d / 100 on the synthetic test split", correct);
    dmx_image_dataset_free(train);
    dmx_image_dataset_free(again);
    dmx_image_dataset_free(test);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_cifar10_round_trip),
        cmocka_unit_test(test_cifar10_without_meta_uses_release_names),
        cmocka_unit_test(test_cifar100_fine_and_coarse),
        cmocka_unit_test(test_cifar_malformed_files_are_named),
        cmocka_unit_test(test_idx_plain_round_trip),
        cmocka_unit_test(test_idx_gz_round_trip),
        cmocka_unit_test(test_idx_kind_from_directory_name),
        cmocka_unit_test(test_idx_malformed_files_are_named),
        cmocka_unit_test(test_open_detects_each_format),
        cmocka_unit_test(test_bad_arguments),
        cmocka_unit_test(test_stats_and_normalization),
        cmocka_unit_test(test_synthetic_is_seeded_and_learnable),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
