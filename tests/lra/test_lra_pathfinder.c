/* Pathfinder: determinism, balanced labels, marker discs where the snakes end, drawn snakes,
 * every resolution and contour length, the .pfb round trip and its errors. */
#include <math.h>
#include <stdbool.h>

#include "lra_test_util.h"

static dmx_pathfinder_config config(int resolution, int contour, uint64_t seed)
{
    dmx_pathfinder_config cfg;
    DMX_ASSERT_OK(dmx_pathfinder_config_default(&cfg, resolution, contour));
    cfg.seed = seed;
    return cfg;
}

static void test_render_is_deterministic(void **state)
{
    (void)state;
    dmx_pathfinder_config cfg = config(32, 14, 7), other = config(32, 14, 8);
    uint8_t a[1024], b[1024], c[1024];
    int differs = 0;
    for (int i = 0; i < 10; i++) {
        DMX_ASSERT_OK(dmx_pathfinder_render(&cfg, i, a, NULL));
        DMX_ASSERT_OK(dmx_pathfinder_render(&cfg, i, b, NULL));
        DMX_ASSERT_OK(dmx_pathfinder_render(&other, i, c, NULL));
        for (int p = 0; p < 1024; p++)
            if (a[p] != b[p])
                fail_msg("image %d pixel %d: %d then %d", i, p, a[p], b[p]);
        differs += memcmp(a, c, sizeof a) != 0;
    }
    assert_int_equal(differs, 10);
}

static float distance(const float a[2], const float b[2])
{
    return hypotf(a[0] - b[0], a[1] - b[1]);
}

/* Checks one image against what its info says was drawn; returns 1 for label 1. */
static int check_image(const dmx_pathfinder_config *cfg, int64_t index, const uint8_t *image,
                       const dmx_pathfinder_info *info)
{
    const int R = cfg->resolution;
    const float r = cfg->marker_radius;
    /* Markers sit on the snakes' ends: the origin of one target snake, and the terminal tip
     * of the same snake exactly when the label is 1. */
    int k = info->marker_snake[0];
    if ((info->marker_snake[0] == info->marker_snake[1]) != (info->label == 1))
        fail_msg("image %lld: label %d but markers on snakes %d and %d", (long long)index,
                 info->label, info->marker_snake[0], info->marker_snake[1]);
    if (distance(info->markers[0], info->tips[k][0]) > 0 ||
        distance(info->markers[1], info->tips[info->marker_snake[1]][1]) > 0)
        fail_msg("image %lld: markers are not on the snakes' tips", (long long)index);
    if (distance(info->markers[0], info->markers[1]) < 1.5f)
        fail_msg("image %lld: the two markers coincide", (long long)index);
    /* Each marker is a full-intensity disc: every pixel lying wholly inside it is white. */
    for (int m = 0; m < 2; m++) {
        const float *c = info->markers[m];
        int lit = 0;
        for (int y = 0; y < R; y++)
            for (int x = 0; x < R; x++) {
                float centre[2] = {(float)x + 0.5f, (float)y + 0.5f};
                if (distance(centre, c) <= r - 0.7072f) {
                    lit++;
                    if (image[y * R + x] != 255)
                        fail_msg("image %lld marker %d at (%.2f, %.2f): pixel (%d, %d) is %d",
                                 (long long)index, m, c[0], c[1], x, y, image[y * R + x]);
                }
            }
        if (lit == 0)
            fail_msg("image %lld marker %d at (%.2f, %.2f) covers no whole pixel",
                     (long long)index, m, c[0], c[1]);
    }
    /* Snakes: two target snakes of contour_length paddles leave many lit pixels away from
     * the markers, yet most of the image stays black. */
    int stroke_pixels = 0, black = 0;
    for (int y = 0; y < R; y++)
        for (int x = 0; x < R; x++) {
            float centre[2] = {(float)x + 0.5f, (float)y + 0.5f};
            bool near_marker = distance(centre, info->markers[0]) < r + 1.5f ||
                               distance(centre, info->markers[1]) < r + 1.5f;
            stroke_pixels += !near_marker && image[y * R + x] > 0;
            black += image[y * R + x] == 0;
        }
    if (stroke_pixels < 2 * cfg->contour_length || black < R * R / 2)
        fail_msg("image %lld: %d stroke pixels, %d black of %d", (long long)index, stroke_pixels,
                 black, R * R);
    return info->label;
}

static void test_labels_balanced_and_markers_drawn(void **state)
{
    (void)state;
    dmx_pathfinder_config cfg = config(32, 14, 3);
    uint8_t image[1024];
    int ones = 0, distractors = 0, previous = -1;
    for (int i = 0; i < 400; i++) {
        dmx_pathfinder_info info;
        DMX_ASSERT_OK(dmx_pathfinder_render(&cfg, i, image, &info));
        int label = check_image(&cfg, i, image, &info);
        if (i % 2 == 1 && label == previous)
            fail_msg("images %d and %d share label %d: pairs must differ", i - 1, i, label);
        previous = label;
        ones += label;
        distractors += info.distractor_snakes;
    }
    assert_int_equal(ones, 200);
    /* LRA's Pathfinder-32 asks for 20 / (14 / 3) = 5 distractor snakes. */
    assert_int_equal(cfg.num_distractors, 5);
    assert_true(distractors > 4 * 400);
}

static void test_every_resolution_and_contour_length(void **state)
{
    (void)state;
    const int cases[][3] = {{32, 6, 10}, {32, 9, 10}, {64, 14, 8}, {64, 9, 4}, {128, 14, 4},
                            {128, 6, 2}};
    for (size_t c = 0; c < sizeof cases / sizeof cases[0]; c++) {
        dmx_pathfinder_config cfg = config(cases[c][0], cases[c][1], 40 + c);
        uint8_t *image = malloc((size_t)cfg.resolution * cfg.resolution);
        int ones = 0;
        for (int i = 0; i < cases[c][2]; i++) {
            dmx_pathfinder_info info;
            DMX_ASSERT_OK(dmx_pathfinder_render(&cfg, i, image, &info));
            ones += check_image(&cfg, i, image, &info);
        }
        assert_int_equal(ones, cases[c][2] / 2);
        free(image);
    }
    dmx_pathfinder_config cfg;
    DMX_ASSERT_FAILS(dmx_pathfinder_config_default(&cfg, 48, 14), DMX_ERR_INVALID_ARG,
                     "no LRA parameters for resolution 48");
    /* A contour far too long for the image ends in an error, not a hang. */
    DMX_ASSERT_OK(dmx_pathfinder_config_default(&cfg, 32, 64));
    cfg.max_target_retrials = 1;
    uint8_t image[1024];
    DMX_ASSERT_FAILS(dmx_pathfinder_render(&cfg, 0, image, NULL), DMX_ERR_INVALID_ARG,
                     "no room for two target snakes of 64 paddles");
}

static void test_pfb_round_trip(void **state)
{
    (void)state;
    char dir[512], path[700];
    lra_make_temp_dir(dir, sizeof dir, "pathfinder");
    dmx_pathfinder_config cfg = config(32, 14, 9);
    enum { N = 12 };
    uint8_t labels[N], images[N * 1024];
    for (int i = 0; i < N; i++) {
        dmx_pathfinder_info info;
        DMX_ASSERT_OK(dmx_pathfinder_render(&cfg, i, images + i * 1024, &info));
        labels[i] = (uint8_t)info.label;
    }
    snprintf(path, sizeof path, "%s/direct.pfb", dir);
    DMX_ASSERT_OK(dmx_pathfinder_write(path, 32, N, labels, images));
    dmx_lra_tokens set;
    DMX_ASSERT_OK(dmx_pathfinder_load(path, &set));
    assert_int_equal(set.count, N);
    assert_int_equal(set.seq_len, 1024);
    assert_int_equal(set.vocab_size, 257);
    assert_int_equal(set.num_classes, 2);
    assert_memory_equal(set.labels, labels, N);
    assert_memory_equal(set.symbols, images, sizeof images);
    /* Tokens are pixel + 1, and every position is real. */
    int32_t ids[1024];
    float mask[1024];
    int32_t label = -1;
    int64_t row = 5;
    DMX_ASSERT_OK(dmx_lra_tokens_batch(&set, &row, 1, ids, mask, &label));
    for (int p = 0; p < 1024; p++)
        if (ids[p] != images[5 * 1024 + p] + 1 || mask[p] != 1.0f)
            fail_msg("token %d: id %d for pixel %d, mask %g", p, ids[p], images[5 * 1024 + p],
                     mask[p]);
    assert_int_equal(label, labels[5]);
    dmx_lra_tokens_free(&set);

    /* The three splits, twice: same bytes (rendering is parallel), balanced labels. */
    char dir2[512];
    lra_make_temp_dir(dir2, sizeof dir2, "pathfinder2");
    DMX_ASSERT_OK(dmx_pathfinder_write_splits(&cfg, dir, 300, 20, 30, NULL, NULL));
    DMX_ASSERT_OK(dmx_pathfinder_write_splits(&cfg, dir2, 300, 20, 30, NULL, NULL));
    const char *splits[3] = {"train", "val", "test"};
    const int64_t counts[3] = {300, 20, 30};
    for (int s = 0; s < 3; s++) {
        char name[128], path2[700];
        DMX_ASSERT_OK(dmx_pathfinder_split_name(&cfg, splits[s], name, sizeof name));
        snprintf(path, sizeof path, "%s/%s", dir, name);
        snprintf(path2, sizeof path2, "%s/%s", dir2, name);
        size_t n1 = 0, n2 = 0;
        char *a = lra_read_file(path, &n1), *b = lra_read_file(path2, &n2);
        assert_int_equal(n1, 20 + counts[s] * 1025);
        assert_true(n1 == n2 && memcmp(a, b, n1) == 0);
        free(a), free(b);
        DMX_ASSERT_OK(dmx_pathfinder_load(path, &set));
        assert_int_equal(set.count, counts[s]);
        int ones = 0;
        for (int64_t i = 0; i < set.count; i++)
            ones += set.labels[i];
        assert_int_equal(ones, counts[s] / 2);
        dmx_lra_tokens_free(&set);
    }
    snprintf(path, sizeof path, "%s/pathfinder32_cl14_train.pfb", dir);
    assert_int_equal(access(path, F_OK), 0);
    lra_remove_tree(dir);
    lra_remove_tree(dir2);
}

static void expect_pfb_error(const char *path, const uint8_t *bytes, size_t n, const char *what)
{
    lra_write_file(path, bytes, n);
    dmx_lra_tokens set;
    dmx_status s = dmx_pathfinder_load(path, &set);
    if (s != DMX_ERR_FORMAT || !strstr(dmx_last_error(), path) || !strstr(dmx_last_error(), what))
        fail_msg("%s: %s \"%s\", expected DMX_ERR_FORMAT naming the file and \"%s\"", path,
                 dmx_status_name(s), dmx_last_error(), what);
    assert_null(set.symbols);
}

static void test_pfb_errors(void **state)
{
    (void)state;
    char dir[512], path[600];
    lra_make_temp_dir(dir, sizeof dir, "pathfinder-bad");
    snprintf(path, sizeof path, "%s/good.pfb", dir);
    uint8_t labels[2] = {0, 1}, images[2 * 256];
    memset(images, 7, sizeof images);
    DMX_ASSERT_OK(dmx_pathfinder_write(path, 16, 2, labels, images));
    size_t n = 0;
    uint8_t *good = (uint8_t *)lra_read_file(path, &n);
    assert_int_equal(n, 20 + 2 * 257);
    uint8_t *bad = malloc(n + 1);

    snprintf(path, sizeof path, "%s/magic.pfb", dir);
    memcpy(bad, good, n);
    bad[0] = 'X';
    expect_pfb_error(path, bad, n, "not a Pathfinder .pfb file");
    snprintf(path, sizeof path, "%s/version.pfb", dir);
    memcpy(bad, good, n);
    bad[4] = 2;
    expect_pfb_error(path, bad, n, "version 2");
    snprintf(path, sizeof path, "%s/truncated.pfb", dir);
    expect_pfb_error(path, good, n - 1, "truncated");
    snprintf(path, sizeof path, "%s/trailing.pfb", dir);
    memcpy(bad, good, n);
    bad[n] = 0;
    expect_pfb_error(path, bad, n + 1, "trailing bytes");
    snprintf(path, sizeof path, "%s/label.pfb", dir);
    memcpy(bad, good, n);
    bad[20 + 257] = 2;
    expect_pfb_error(path, bad, n, "image 1 (byte 277) has label 2");
    snprintf(path, sizeof path, "%s/short.pfb", dir);
    expect_pfb_error(path, good, 10, "shorter than the 20-byte header");
    /* A 21-byte file whose header claims the most images the count check lets through:
       header + count * record is past INT64_MAX (issue 15; found by fuzzing). The message must
       say truncated with the true sizes, not a wrapped negative size. */
    const struct {
        uint32_t resolution;
        uint64_t count;
        const char *what;
    } huge[] = {{1, (uint64_t)INT64_MAX / 2, "1 bytes after the header hold 0 whole images of "
                                             "1x1 (2 bytes each), the header promises "
                                             "4611686018427387903"},
                {1024, (uint64_t)INT64_MAX / (1 + 1024u * 1024u), "hold 0 whole images of "
                                                                  "1024x1024"}};
    for (int h = 0; h < 2; h++) {
        uint8_t tiny[21] = {'D', 'X', 'P', 'F', 1, 0, 0, 0};
        for (int i = 0; i < 4; i++)
            tiny[8 + i] = (uint8_t)(huge[h].resolution >> (8 * i));
        for (int i = 0; i < 8; i++)
            tiny[12 + i] = (uint8_t)(huge[h].count >> (8 * i));
        snprintf(path, sizeof path, "%s/huge%d.pfb", dir, h);
        expect_pfb_error(path, tiny, sizeof tiny, huge[h].what);
        assert_null(strstr(dmx_last_error(), " -")); /* no negative number */
    }
    free(good);
    free(bad);
    dmx_lra_tokens set;
    snprintf(path, sizeof path, "%s/missing.pfb", dir);
    DMX_ASSERT_FAILS(dmx_pathfinder_load(path, &set), DMX_ERR_NOT_FOUND, "missing.pfb");
    lra_remove_tree(dir);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_render_is_deterministic),
        cmocka_unit_test(test_labels_balanced_and_markers_drawn),
        cmocka_unit_test(test_every_resolution_and_contour_length),
        cmocka_unit_test(test_pfb_round_trip),
        cmocka_unit_test(test_pfb_errors),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
