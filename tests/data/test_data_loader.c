/* The batch loader: batch counts and shapes, epoch coverage, content against the per-image
 * transforms, the background thread against synchronous preparation, exact resume, shutdown,
 * and argument errors. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "data/image_augment.h"
#include "data/image_shuffle.h"
#include "test_util.h"

static dmx_image_dataset *synthetic(int64_t count, int channels, int side, int classes)
{
    dmx_synthetic_options so = {.count = count, .channels = channels, .height = side,
                                .width = side, .num_classes = classes, .seed = 5,
                                .noise = 40.0f};
    dmx_image_dataset *ds = NULL;
    DMX_ASSERT_OK(dmx_synthetic_images(&so, &ds));
    return ds;
}

static void test_batch_counts_and_shapes(void **state)
{
    (void)state;
    dmx_image_dataset *ds = synthetic(103, 3, 8, 5);
    dmx_loader_options o = dmx_loader_eval_defaults(10);
    o.background = false;
    dmx_loader *ld = NULL;
    DMX_ASSERT_OK(dmx_loader_create(ds, &o, &ld));
    assert_int_equal(dmx_loader_batches_per_epoch(ld), 11);
    dmx_batch b;
    for (int i = 0; i < 11; i++) {
        DMX_ASSERT_OK(dmx_loader_next(ld, &b));
        assert_int_equal(b.epoch, 0);
        assert_int_equal(b.index, i);
        assert_int_equal(b.size, i < 10 ? 10 : 3);
    }
    DMX_ASSERT_OK(dmx_loader_next(ld, &b));
    assert_true(b.epoch == 1 && b.index == 0 && b.size == 10);
    dmx_loader_destroy(ld);

    o.drop_last = true;
    o.resize = 11;
    DMX_ASSERT_OK(dmx_loader_create(ds, &o, &ld));
    assert_int_equal(dmx_loader_batches_per_epoch(ld), 10);
    int64_t shape[4];
    dmx_loader_batch_shape(ld, shape);
    assert_true(shape[0] == 10 && shape[1] == 3 && shape[2] == 11 && shape[3] == 11);
    for (int i = 0; i < 10; i++)
        DMX_ASSERT_OK(dmx_loader_next(ld, &b));
    assert_true(b.size == 10 && b.height == 11 && b.width == 11 && b.channels == 3);
    DMX_ASSERT_OK(dmx_loader_next(ld, &b));
    assert_true(b.epoch == 1 && b.index == 0);
    dmx_loader_destroy(ld);
    dmx_image_dataset_free(ds);
}

/* Pixel 0 of image i holds i, so a batch says which images it holds. */
static int image_id(const dmx_image_dataset *ds, const float *image)
{
    return (int)lrintf((image[0] * ds->std[0] + ds->mean[0]) * 255.0f);
}

static void test_each_epoch_visits_every_image_once(void **state)
{
    (void)state;
    const int n = 103;
    dmx_image_dataset *ds = synthetic(n, 2, 6, 4);
    for (int i = 0; i < n; i++)
        ds->pixels[(size_t)i * 2 * 6 * 6] = (uint8_t)i;
    dmx_loader_options o = {.batch_size = 16, .shuffle = true, .seed = 99, .background = true};
    dmx_loader *ld = NULL;
    DMX_ASSERT_OK(dmx_loader_create(ds, &o, &ld));
    int order[2][103];
    for (int e = 0; e < 2; e++) {
        int seen[103] = {0}, pos = 0;
        for (int64_t k = 0; k < dmx_loader_batches_per_epoch(ld); k++) {
            dmx_batch b;
            DMX_ASSERT_OK(dmx_loader_next(ld, &b));
            assert_int_equal(b.epoch, e);
            for (int64_t j = 0; j < b.size; j++) {
                int id = image_id(ds, b.images + j * 2 * 6 * 6);
                if (id < 0 || id >= n || seen[id]++)
                    fail_msg("epoch %d batch %lld item %lld: image %d twice or unknown", e,
                             (long long)k, (long long)j, id);
                if (b.labels[j] != ds->labels[id])
                    fail_msg("image %d: label %d, dataset says %d", id, b.labels[j],
                             ds->labels[id]);
                order[e][pos++] = id;
            }
        }
        assert_int_equal(pos, n);
    }
    int same = 0;
    for (int i = 0; i < n; i++)
        same += order[0][i] == order[1][i];
    if (same > 10)
        fail_msg("epochs 0 and 1 agree at %d of %d positions: not reshuffled", same, n);
    dmx_loader_destroy(ld);

    /* Without shuffling: dataset order, every epoch. */
    o.shuffle = false;
    DMX_ASSERT_OK(dmx_loader_create(ds, &o, &ld));
    for (int k = 0; k < 8; k++) {
        dmx_batch b;
        DMX_ASSERT_OK(dmx_loader_next(ld, &b));
        for (int64_t j = 0; j < b.size; j++)
            assert_int_equal(image_id(ds, b.images + j * 72), (k % 7) * 16 + j);
    }
    dmx_loader_destroy(ld);
    dmx_image_dataset_free(ds);
}

/* Batch (epoch, index) built here from the per-image transforms. */
static void expected_batch(const dmx_image_dataset *ds, const dmx_loader_options *o,
                           int64_t epoch, int64_t index, float *images, int32_t *labels)
{
    const int C = ds->channels, H = ds->height, W = ds->width;
    const int OH = o->resize ? o->resize : H, OW = o->resize ? o->resize : W;
    const size_t in = (size_t)C * H * W, out = (size_t)C * OH * OW;
    uint32_t *perm = malloc(sizeof *perm * (size_t)ds->count);
    uint8_t *aug = malloc(in);
    float *unit = malloc(sizeof(float) * in), *resized = malloc(sizeof(float) * out);
    dmx_shuffle_permutation(o->seed, (uint32_t)epoch, (uint32_t)ds->count, perm);
    for (int k = 0; k < o->batch_size; k++) {
        uint32_t id = perm[index * o->batch_size + k];
        labels[k] = ds->labels[id];
        dmx_augment_draw d = dmx_augment_draw_for(o->seed, (uint32_t)epoch, id, true,
                                                  o->crop_padding, true);
        dmx_crop_flip_u8(ds->pixels + id * in, C, H, W, o->crop_padding, d, aug);
        dmx_pixels_to_unit(aug, (int64_t)in, unit);
        dmx_resize_bilinear(unit, C, H, W, resized, OH, OW);
        dmx_normalize_planes(resized, C, (int64_t)OH * OW, ds->mean, ds->std,
                             images + k * out);
    }
    free(perm), free(aug), free(unit), free(resized);
}

static void test_batch_content_is_the_recipe(void **state)
{
    (void)state;
    dmx_image_dataset *ds = synthetic(50, 3, 32, 10);
    dmx_loader_options o = dmx_loader_train_defaults(8, 2024);
    assert_true(o.shuffle && o.random_crop && o.crop_padding == 4 && o.random_flip &&
                !o.drop_last && o.background);
    o.resize = 35;
    dmx_loader *ld = NULL;
    DMX_ASSERT_OK(dmx_loader_create(ds, &o, &ld));
    const size_t per_batch = 8 * 3 * 35 * 35;
    float *want = malloc(sizeof(float) * per_batch);
    int32_t want_labels[8];
    DMX_ASSERT_OK(dmx_loader_seek(ld, 3, 2));
    dmx_batch b;
    DMX_ASSERT_OK(dmx_loader_next(ld, &b));
    expected_batch(ds, &o, 3, 2, want, want_labels);
    DMX_ASSERT_CLOSE("batch (3, 2)", b.images, want, per_batch, 0.0, 0.0);
    assert_memory_equal(b.labels, want_labels, sizeof want_labels);
    free(want);
    dmx_loader_destroy(ld);

    /* No augmentation: exactly (pixel / 255 - mean) / std in dataset order. */
    o = dmx_loader_eval_defaults(7);
    DMX_ASSERT_OK(dmx_loader_create(ds, &o, &ld));
    DMX_ASSERT_OK(dmx_loader_next(ld, &b));
    for (size_t i = 0; i < 7 * 3072; i++) {
        int c = (int)(i / 1024 % 3);
        float x = ((float)ds->pixels[i] / 255.0f - ds->mean[c]) / ds->std[c];
        if (b.images[i] != x)
            fail_msg("eval batch [%zu]: got %.9g, want %.9g", i, (double)b.images[i], (double)x);
    }
    dmx_loader_destroy(ld);
    dmx_image_dataset_free(ds);
}

typedef struct recorded {
    int64_t epoch, index, size;
    float *images;
    int32_t *labels;
} recorded;

static void record(recorded *r, const dmx_batch *b, size_t per_image)
{
    r->epoch = b->epoch, r->index = b->index, r->size = b->size;
    r->images = malloc(sizeof(float) * per_image * (size_t)b->size);
    r->labels = malloc(sizeof(int32_t) * (size_t)b->size);
    memcpy(r->images, b->images, sizeof(float) * per_image * (size_t)b->size);
    memcpy(r->labels, b->labels, sizeof(int32_t) * (size_t)b->size);
}

static void assert_same_batch(const recorded *r, const dmx_batch *b, size_t per_image,
                              const char *what)
{
    if (r->epoch != b->epoch || r->index != b->index || r->size != b->size)
        fail_msg("%s: batch (%lld, %lld, size %lld), expected (%lld, %lld, size %lld)", what,
                 (long long)b->epoch, (long long)b->index, (long long)b->size,
                 (long long)r->epoch, (long long)r->index, (long long)r->size);
    size_t n = per_image * (size_t)r->size;
    if (memcmp(r->images, b->images, sizeof(float) * n) != 0) {
        for (size_t i = 0; i < n; i++)
            if (memcmp(&r->images[i], &b->images[i], sizeof(float)) != 0)
                fail_msg("%s: batch (%lld, %lld) element %zu: %.9g vs %.9g", what,
                         (long long)r->epoch, (long long)r->index, i, (double)b->images[i],
                         (double)r->images[i]);
    }
    assert_memory_equal(r->labels, b->labels, sizeof(int32_t) * (size_t)r->size);
}

/* 300 images of 3 x 32 x 32, batches of 32 (the last one 12), crop, flip, resize to 35. */
#define STREAM_IMAGES 300
#define STREAM_BATCH 32
#define STREAM_PER_IMAGE (3 * 35 * 35)
#define STREAM_LEN 30 /* 3 epochs of 10 batches */

static dmx_loader_options stream_options(bool background)
{
    dmx_loader_options o = dmx_loader_train_defaults(STREAM_BATCH, 0xfeedbeefcafeull);
    o.resize = 35;
    o.background = background;
    return o;
}

static void test_background_thread_equals_synchronous(void **state)
{
    (void)state;
    dmx_image_dataset *ds = synthetic(STREAM_IMAGES, 3, 32, 10);
    dmx_loader_options sync_opts = stream_options(false), bg_opts = stream_options(true);
    dmx_loader *sync = NULL, *bg = NULL;
    DMX_ASSERT_OK(dmx_loader_create(ds, &sync_opts, &sync));
    DMX_ASSERT_OK(dmx_loader_create(ds, &bg_opts, &bg));
    float *filled = malloc(sizeof(float) * STREAM_BATCH * STREAM_PER_IMAGE);
    int32_t filled_labels[STREAM_BATCH];
    for (int k = 0; k < STREAM_LEN; k++) {
        dmx_batch a, b;
        DMX_ASSERT_OK(dmx_loader_next(sync, &a));
        recorded r;
        record(&r, &a, STREAM_PER_IMAGE);
        DMX_ASSERT_OK(dmx_loader_next(bg, &b));
        assert_same_batch(&r, &b, STREAM_PER_IMAGE, "background vs synchronous");
        /* dmx_loader_fill on the calling thread, while the worker holds the next batch. */
        int64_t size = 0;
        DMX_ASSERT_OK(dmx_loader_fill(bg, b.epoch, b.index, filled, filled_labels, &size));
        dmx_batch f = {b.epoch, b.index, size, 3, 35, 35, filled, filled_labels};
        assert_same_batch(&r, &f, STREAM_PER_IMAGE, "fill vs next");
        free(r.images), free(r.labels);
    }
    free(filled);
    dmx_loader_destroy(sync);
    dmx_loader_destroy(bg);
    dmx_image_dataset_free(ds);
}

static void test_resume_equals_the_uninterrupted_stream(void **state)
{
    (void)state;
    dmx_image_dataset *ds = synthetic(STREAM_IMAGES, 3, 32, 10);
    dmx_loader_options o = stream_options(true);
    dmx_loader *ld = NULL;
    DMX_ASSERT_OK(dmx_loader_create(ds, &o, &ld));
    recorded stream[STREAM_LEN];
    for (int k = 0; k < STREAM_LEN; k++) {
        dmx_batch b;
        DMX_ASSERT_OK(dmx_loader_next(ld, &b));
        assert_true(b.epoch == k / 10 && b.index == k % 10);
        assert_int_equal(b.size, k % 10 == 9 ? STREAM_IMAGES - 9 * STREAM_BATCH : STREAM_BATCH);
        record(&stream[k], &b, STREAM_PER_IMAGE);
    }
    int64_t epoch, index;
    dmx_loader_position(ld, &epoch, &index);
    assert_true(epoch == 3 && index == 0);
    /* Seek back on the same loader: (0, 2) onwards again. */
    DMX_ASSERT_OK(dmx_loader_seek(ld, 0, 2));
    for (int k = 2; k < 6; k++) {
        dmx_batch b;
        DMX_ASSERT_OK(dmx_loader_next(ld, &b));
        assert_same_batch(&stream[k], &b, STREAM_PER_IMAGE, "after seeking back");
    }
    dmx_loader_destroy(ld);

    /* A new loader resuming at (1, 4), threaded and not, as after a restart. */
    for (int bg = 0; bg < 2; bg++) {
        o = stream_options(bg == 1);
        DMX_ASSERT_OK(dmx_loader_create(ds, &o, &ld));
        DMX_ASSERT_OK(dmx_loader_seek(ld, 1, 4));
        dmx_loader_position(ld, &epoch, &index);
        assert_true(epoch == 1 && index == 4);
        for (int k = 14; k < STREAM_LEN; k++) {
            dmx_batch b;
            DMX_ASSERT_OK(dmx_loader_next(ld, &b));
            assert_same_batch(&stream[k], &b, STREAM_PER_IMAGE, "resumed");
        }
        dmx_loader_destroy(ld);
    }
    for (int k = 0; k < STREAM_LEN; k++)
        free(stream[k].images), free(stream[k].labels);
    dmx_image_dataset_free(ds);
}

static void test_shutdown_with_work_in_flight(void **state)
{
    (void)state;
    dmx_image_dataset *ds = synthetic(256, 3, 32, 10);
    dmx_loader_options o = stream_options(true);
    o.batch_size = 128;
    for (int i = 0; i < 20; i++) {
        dmx_loader *ld = NULL;
        DMX_ASSERT_OK(dmx_loader_create(ds, &o, &ld));
        /* Half the loaders stop while preparing their second batch, half before any. */
        if (i % 2) {
            dmx_batch b;
            DMX_ASSERT_OK(dmx_loader_next(ld, &b));
        }
        dmx_loader_destroy(ld);
    }
    dmx_loader_destroy(NULL);
    dmx_image_dataset_free(ds);
}

/* Data-parallel slices (part/parts): for every batch, the parts' slices put together are the
 * whole batch bit for bit, shuffled and augmented the same; a last batch of 2 images over 3
 * parts leaves part 0 empty. */
static void test_parts_make_up_the_batch(void **state)
{
    (void)state;
    dmx_image_dataset *ds = synthetic(47, 3, 8, 5); /* batches of 15: 15, 15, 15, 2 */
    dmx_loader_options o = dmx_loader_train_defaults(15, 11);
    o.background = false;
    dmx_loader *whole = NULL, *part[3] = {NULL};
    DMX_ASSERT_OK(dmx_loader_create(ds, &o, &whole));
    for (int p = 0; p < 3; p++) {
        dmx_loader_options po = o;
        po.part = p;
        po.parts = 3;
        po.background = p == 1; /* the prefetching path slices the same */
        DMX_ASSERT_OK(dmx_loader_create(ds, &po, &part[p]));
        assert_int_equal(dmx_loader_batches_per_epoch(part[p]), 4);
    }
    const size_t per = 3 * 8 * 8;
    for (int64_t epoch = 0; epoch < 2; epoch++)
        for (int64_t i = 0; i < 4; i++) {
            dmx_batch w;
            DMX_ASSERT_OK(dmx_loader_next(whole, &w));
            int64_t at = 0;
            for (int p = 0; p < 3; p++) {
                dmx_batch b;
                DMX_ASSERT_OK(dmx_loader_next(part[p], &b));
                assert_int_equal(b.epoch, epoch);
                assert_int_equal(b.index, i);
                assert_int_equal(b.size, w.size * (p + 1) / 3 - w.size * p / 3);
                if (b.size > 0) {
                    assert_memory_equal(b.images, w.images + (size_t)at * per,
                                        (size_t)b.size * per * sizeof(float));
                    assert_memory_equal(b.labels, w.labels + at,
                                        (size_t)b.size * sizeof(int32_t));
                }
                at += b.size;
            }
            assert_int_equal(at, w.size);
            if (i == 3)
                assert_int_equal(w.size, 2);
        }
    dmx_loader_options bad = o;
    bad.part = 3;
    bad.parts = 3;
    dmx_loader *none = NULL;
    assert_int_equal(dmx_loader_create(ds, &bad, &none), DMX_ERR_INVALID_ARG);
    assert_null(none);
    for (int p = 0; p < 3; p++)
        dmx_loader_destroy(part[p]);
    dmx_loader_destroy(whole);
    dmx_image_dataset_free(ds);
}

static void test_bad_options_and_positions(void **state)
{
    (void)state;
    dmx_image_dataset *ds = synthetic(20, 1, 4, 2);
    dmx_loader *ld = NULL;
    dmx_loader_options o = dmx_loader_eval_defaults(0);
    DMX_ASSERT_FAILS(dmx_loader_create(ds, &o, &ld), DMX_ERR_INVALID_ARG, "batch size 0");
    o = dmx_loader_eval_defaults(32);
    o.drop_last = true;
    DMX_ASSERT_FAILS(dmx_loader_create(ds, &o, &ld), DMX_ERR_INVALID_ARG,
                     "20 images, too few for one full batch of 32");
    o = dmx_loader_train_defaults(4, 1);
    o.crop_padding = -1;
    DMX_ASSERT_FAILS(dmx_loader_create(ds, &o, &ld), DMX_ERR_INVALID_ARG, "crop padding -1");
    o.crop_padding = 4;
    o.resize = -3;
    DMX_ASSERT_FAILS(dmx_loader_create(ds, &o, &ld), DMX_ERR_INVALID_ARG, "resize -3");
    DMX_ASSERT_FAILS(dmx_loader_create(NULL, &o, &ld), DMX_ERR_INVALID_ARG, "NULL");
    assert_null(ld);
    o.resize = 0;
    DMX_ASSERT_OK(dmx_loader_create(ds, &o, &ld));
    assert_int_equal(dmx_loader_batches_per_epoch(ld), 5);
    DMX_ASSERT_FAILS(dmx_loader_seek(ld, 0, 5), DMX_ERR_INVALID_ARG, "index 5");
    DMX_ASSERT_FAILS(dmx_loader_seek(ld, -1, 0), DMX_ERR_INVALID_ARG, "epoch -1");
    float images[4 * 16];
    int32_t labels[4];
    int64_t size;
    DMX_ASSERT_FAILS(dmx_loader_fill(ld, 0, 9, images, labels, &size), DMX_ERR_INVALID_ARG,
                     "batches 0..4");
    DMX_ASSERT_FAILS(dmx_loader_next(ld, NULL), DMX_ERR_INVALID_ARG, "NULL");
    dmx_loader_destroy(ld);
    dmx_image_dataset_free(ds);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_batch_counts_and_shapes),
        cmocka_unit_test(test_each_epoch_visits_every_image_once),
        cmocka_unit_test(test_batch_content_is_the_recipe),
        cmocka_unit_test(test_background_thread_equals_synchronous),
        cmocka_unit_test(test_resume_equals_the_uninterrupted_stream),
        cmocka_unit_test(test_shutdown_with_work_in_flight),
        cmocka_unit_test(test_parts_make_up_the_batch),
        cmocka_unit_test(test_bad_options_and_positions),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
