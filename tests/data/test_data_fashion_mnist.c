/* The real Fashion-MNIST from the Debian package dataset-fashion-mnist, when installed:
 * detected, loaded through zlib, compared with an independent decompression, class counts and
 * train statistics checked, and one pass of each loader. Absent data is reported as skipped
 * (exit code 77, which ctest shows as "Skipped"), never as passed. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <zlib.h>

#include "test_util.h"

#ifndef FASHION_MNIST_DIR
#define FASHION_MNIST_DIR "/usr/share/datasets/fashion-mnist"
#endif

static const char *data_dir(void)
{
    const char *env = getenv("DIMIX_FASHION_MNIST_DIR");
    return env && *env ? env : FASHION_MNIST_DIR;
}

static void assert_class_counts(const dmx_image_dataset *ds, int64_t per_class)
{
    int64_t counts[10] = {0};
    for (int64_t i = 0; i < ds->count; i++) {
        assert_true(ds->labels[i] >= 0 && ds->labels[i] < 10);
        counts[ds->labels[i]]++;
    }
    for (int k = 0; k < 10; k++)
        if (counts[k] != per_class)
            fail_msg("%s %s: class %d has %lld images, want %lld", ds->name,
                     ds->split == DMX_SPLIT_TRAIN ? "train" : "test", k, (long long)counts[k],
                     (long long)per_class);
}

/* The images file decompressed by plain zlib calls, header skipped. */
static void assert_pixels_match_raw_file(const dmx_image_dataset *ds, const char *file)
{
    char path[4096];
    snprintf(path, sizeof path, "%s/%s", data_dir(), file);
    gzFile f = gzopen(path, "rb");
    assert_non_null(f);
    uint8_t header[16];
    assert_int_equal(gzread(f, header, 16), 16);
    const size_t n = (size_t)ds->count * 784;
    uint8_t *raw = malloc(n);
    assert_int_equal(gzread(f, raw, (unsigned)n), (int)n);
    gzclose(f);
    assert_int_equal(header[3], 3);
    if (memcmp(raw, ds->pixels, n) != 0)
        fail_msg("%s: pixels differ from the raw decompressed file", file);
    free(raw);
}

static void test_fashion_mnist_train_and_test(void **state)
{
    (void)state;
    dmx_image_dataset *train = NULL, *test = NULL;
    DMX_ASSERT_OK(dmx_image_dataset_open(data_dir(), NULL, &train));
    dmx_image_load_options opts = {.split = DMX_SPLIT_TEST};
    DMX_ASSERT_OK(dmx_image_dataset_open(data_dir(), &opts, &test));
    assert_string_equal(train->name, "fashion-mnist");
    assert_int_equal(train->count, 60000);
    assert_int_equal(test->count, 10000);
    assert_true(train->channels == 1 && train->height == 28 && train->width == 28);
    assert_int_equal(train->num_classes, 10);
    assert_string_equal(train->class_names[0], "T-shirt/top");
    assert_class_counts(train, 6000);
    assert_class_counts(test, 1000);
    assert_pixels_match_raw_file(train, "train-images-idx3-ubyte.gz");
    assert_pixels_match_raw_file(test, "t10k-images-idx3-ubyte.gz");

    /* The constants in the reader are this set's own statistics. */
    float mean, std;
    DMX_ASSERT_OK(dmx_image_dataset_stats(train, &mean, &std));
    printf("Fashion-MNIST train: mean %.9f std %.9f\n", (double)mean, (double)std);
    assert_float_equal(mean, 0.2860405969887955, 1e-6);
    assert_float_equal(std, 0.35302424457803794, 1e-6);
    assert_true(train->mean[0] == test->mean[0] && train->std[0] == test->std[0]);

    /* A few training batches (augmented) and the whole test set through the loaders. */
    dmx_loader_options o = dmx_loader_train_defaults(128, 7);
    dmx_loader *ld = NULL;
    DMX_ASSERT_OK(dmx_loader_create(train, &o, &ld));
    assert_int_equal(dmx_loader_batches_per_epoch(ld), 469);
    for (int k = 0; k < 20; k++) {
        dmx_batch b;
        DMX_ASSERT_OK(dmx_loader_next(ld, &b));
        for (size_t i = 0; i < (size_t)b.size * 784; i++)
            if (!isfinite(b.images[i]) || fabsf(b.images[i]) > 3.0f)
                fail_msg("train batch %d element %zu = %g", k, i, (double)b.images[i]);
    }
    dmx_loader_destroy(ld);
    o = dmx_loader_eval_defaults(1000);
    DMX_ASSERT_OK(dmx_loader_create(test, &o, &ld));
    int64_t counts[10] = {0}, seen = 0;
    for (int64_t k = 0; k < dmx_loader_batches_per_epoch(ld); k++) {
        dmx_batch b;
        DMX_ASSERT_OK(dmx_loader_next(ld, &b));
        for (int64_t j = 0; j < b.size; j++)
            counts[b.labels[j]]++;
        seen += b.size;
    }
    assert_int_equal(seen, 10000);
    for (int k = 0; k < 10; k++)
        assert_int_equal(counts[k], 1000);
    dmx_loader_destroy(ld);
    dmx_image_dataset_free(train);
    dmx_image_dataset_free(test);
}

int main(void)
{
    struct stat st;
    char probe[4096];
    snprintf(probe, sizeof probe, "%s/train-images-idx3-ubyte.gz", data_dir());
    if (stat(probe, &st) != 0) {
        printf("SKIPPED: Fashion-MNIST is not installed (no %s; apt-get install "
               "dataset-fashion-mnist, or set DIMIX_FASHION_MNIST_DIR)\n", probe);
        return 77;
    }
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_fashion_mnist_train_and_test),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
