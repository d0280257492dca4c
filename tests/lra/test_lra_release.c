/* The LRA Pathfinder release layout (metadata/<batch>.npy as text, imgs/<batch>/sample_<i>.png)
 * and the PNG decoder under it. The fixture tests/data/lra/pathfinder_release is written by
 * make_fixtures.py and was checked against libpng. */
#include <zlib.h>

#include "data/png_read.h"
#include "lra_test_util.h"

#define RELEASE DIMIX_SOURCE_DIR "/tests/data/lra/pathfinder_release"

/* make_fixtures.py's pathfinder_pixel. */
static int fixture_pixel(int image, int x, int y)
{
    return (x * 7 + y * 13 + image * 29 + (x * y) % 5 * 11) & 255;
}

static void test_release_layout(void **state)
{
    (void)state;
    dmx_lra_tokens set;
    int64_t skipped = -1;
    /* The empty file is an error unless asked to skip it. */
    DMX_ASSERT_FAILS(dmx_pathfinder_load_release(RELEASE, NULL, &set, &skipped), DMX_ERR_FORMAT,
                     "imgs/10/sample_2.png: not a PNG file (0 bytes");
    assert_non_null(strstr(dmx_last_error(), "metadata/10.npy:3: "));

    dmx_pathfinder_release_options opt = {.skip_empty = true};
    DMX_ASSERT_OK(dmx_pathfinder_load_release(RELEASE, &opt, &set, &skipped));
    assert_int_equal(skipped, 1);
    assert_int_equal(set.count, 6);
    assert_int_equal(set.seq_len, 1024);
    assert_int_equal(set.vocab_size, 257);
    assert_int_equal(set.id_offset, 1);
    /* Batch 2 before batch 10 (numeric order), rows in file order. */
    const uint8_t labels[6] = {1, 0, 1, 0, 1, 1};
    for (int i = 0; i < 6; i++) {
        assert_int_equal(set.labels[i], labels[i]);
        assert_int_equal(set.lengths[i], 1024);
        for (int y = 0; y < 32; y++)
            for (int x = 0; x < 32; x++) {
                int got = set.symbols[(size_t)i * 1024 + y * 32 + x];
                if (got != fixture_pixel(i, x, y))
                    fail_msg("image %d pixel (%d, %d): %d, want %d", i, x, y, got,
                             fixture_pixel(i, x, y));
            }
    }
    dmx_lra_tokens_free(&set);
    opt.max_images = 4;
    DMX_ASSERT_OK(dmx_pathfinder_load_release(RELEASE, &opt, &set, &skipped));
    assert_int_equal(set.count, 4);
    dmx_lra_tokens_free(&set);
}

/* ---- PNG decoder ---- */

static void put_be32(uint8_t *p, uint32_t v)
{
    p[0] = (uint8_t)(v >> 24), p[1] = (uint8_t)(v >> 16), p[2] = (uint8_t)(v >> 8), p[3] = (uint8_t)v;
}

static size_t put_chunk(uint8_t *out, const char *type, const uint8_t *data, uint32_t len)
{
    put_be32(out, len);
    memcpy(out + 4, type, 4);
    if (len)
        memcpy(out + 8, data, len);
    put_be32(out + 8 + len, (uint32_t)crc32(0, out + 4, len + 4));
    return 12 + (size_t)len;
}

/* A PNG whose IDAT holds `raw` (filter bytes included) as given, with an IHDR of our choice. */
static size_t make_png(uint8_t *out, uint32_t w, uint32_t h, int depth, int colour, int interlace,
                       const uint8_t *raw, size_t raw_len)
{
    static const uint8_t signature[8] = {0x89, 'P', 'N', 'G', '\r', '\n', 0x1a, '\n'};
    memcpy(out, signature, 8);
    uint8_t ihdr[13] = {0};
    put_be32(ihdr, w);
    put_be32(ihdr + 4, h);
    ihdr[8] = (uint8_t)depth, ihdr[9] = (uint8_t)colour, ihdr[12] = (uint8_t)interlace;
    size_t n = 8 + put_chunk(out + 8, "IHDR", ihdr, 13);
    uLongf packed = compressBound(raw_len);
    uint8_t *z = malloc(packed);
    assert_int_equal(compress(z, &packed, raw, raw_len), Z_OK);
    n += put_chunk(out + n, "IDAT", z, (uint32_t)packed);
    n += put_chunk(out + n, "IEND", NULL, 0);
    free(z);
    return n;
}

static void expect_png_error(const uint8_t *png, size_t n, dmx_status status, const char *what)
{
    int w = 0, h = 0;
    uint8_t *pixels = (uint8_t *)1;
    dmx_status s = dmx_png_decode_gray8(png, n, "case.png", &w, &h, &pixels);
    if (s != status || !strstr(dmx_last_error(), "case.png") || !strstr(dmx_last_error(), what))
        fail_msg("%s \"%s\"; expected %s with \"%s\"", dmx_status_name(s), dmx_last_error(),
                 dmx_status_name(status), what);
    assert_null(pixels);
}

static void test_png_decoder(void **state)
{
    (void)state;
    /* 3x2, rows filtered with Sub and Paeth by hand: pixels 10 20 30 / 15 25 35. */
    const uint8_t raw[] = {1, 10, 10, 10, 4, 5, 5, 5};
    uint8_t png[1024];
    size_t n = make_png(png, 3, 2, 8, 0, 0, raw, sizeof raw);
    int w = 0, h = 0;
    uint8_t *pixels = NULL;
    DMX_ASSERT_OK(dmx_png_decode_gray8(png, n, "ok.png", &w, &h, &pixels));
    assert_int_equal(w, 3);
    assert_int_equal(h, 2);
    const uint8_t want[6] = {10, 20, 30, 15, 25, 35};
    assert_memory_equal(pixels, want, 6);
    free(pixels);

    expect_png_error((const uint8_t *)"hello", 5, DMX_ERR_FORMAT, "not a PNG file");
    n = make_png(png, 3, 2, 8, 2, 0, raw, sizeof raw);
    expect_png_error(png, n, DMX_ERR_UNSUPPORTED, "colour type 2");
    n = make_png(png, 3, 2, 16, 0, 0, raw, sizeof raw);
    expect_png_error(png, n, DMX_ERR_UNSUPPORTED, "bit depth 16");
    n = make_png(png, 3, 2, 8, 0, 1, raw, sizeof raw);
    expect_png_error(png, n, DMX_ERR_UNSUPPORTED, "interlaced");
    const uint8_t bad_filter[] = {1, 10, 10, 10, 5, 5, 5, 5};
    n = make_png(png, 3, 2, 8, 0, 0, bad_filter, sizeof bad_filter);
    expect_png_error(png, n, DMX_ERR_FORMAT, "row 1 has filter type 5");
    n = make_png(png, 3, 2, 8, 0, 0, raw, sizeof raw - 1);
    expect_png_error(png, n, DMX_ERR_FORMAT, "pixel data ends early (7 of 8 bytes)");
    const uint8_t longer[] = {1, 10, 10, 10, 4, 5, 5, 5, 0, 0, 0, 0};
    n = make_png(png, 3, 2, 8, 0, 0, longer, sizeof longer);
    expect_png_error(png, n, DMX_ERR_FORMAT, "more pixel data than 3x2");
    n = make_png(png, 3, 2, 8, 0, 0, raw, sizeof raw);
    expect_png_error(png, n - 20, DMX_ERR_FORMAT, "runs past the end");
    png[8 + 25 + 10] ^= 0x40; /* a byte inside IDAT: the CRC no longer matches */
    expect_png_error(png, n, DMX_ERR_FORMAT, "chunk 'IDAT' at byte 33 fails its CRC");
    n = make_png(png, 0, 2, 8, 0, 0, raw, sizeof raw);
    expect_png_error(png, n, DMX_ERR_FORMAT, "image size 0x2 out of range");
}

/* ---- metadata errors name the file and the row ---- */

static void make_release(const char *dir, const char *metadata)
{
    char path[700];
    snprintf(path, sizeof path, "%s/metadata", dir);
    assert_int_equal(mkdir(path, 0777), 0);
    snprintf(path, sizeof path, "%s/imgs", dir);
    assert_int_equal(mkdir(path, 0777), 0);
    snprintf(path, sizeof path, "%s/imgs/0", dir);
    assert_int_equal(mkdir(path, 0777), 0);
    snprintf(path, sizeof path, "%s/metadata/0.npy", dir);
    lra_write_text(path, metadata);
    /* sample_0.png: the fixture's first 32x32 image; sample_1.png: a 3x2 one. */
    size_t n = 0;
    char *png = lra_read_file(RELEASE "/imgs/2/sample_0.png", &n);
    snprintf(path, sizeof path, "%s/imgs/0/sample_0.png", dir);
    lra_write_file(path, png, n);
    free(png);
    const uint8_t raw[] = {0, 1, 2, 3, 0, 4, 5, 6};
    uint8_t small[512];
    n = make_png(small, 3, 2, 8, 0, 0, raw, sizeof raw);
    snprintf(path, sizeof path, "%s/imgs/0/sample_1.png", dir);
    lra_write_file(path, small, n);
}

static void expect_release_error(const char *metadata, dmx_status status, const char *what)
{
    char dir[512];
    lra_make_temp_dir(dir, sizeof dir, "release");
    make_release(dir, metadata);
    dmx_lra_tokens set;
    dmx_status s = dmx_pathfinder_load_release(dir, NULL, &set, NULL);
    if (s != status || !strstr(dmx_last_error(), dir) || !strstr(dmx_last_error(), what))
        fail_msg("%s \"%s\"; expected %s with \"%s\"", dmx_status_name(s), dmx_last_error(),
                 dmx_status_name(status), what);
    assert_null(set.symbols);
    lra_remove_tree(dir);
}

static void test_release_errors(void **state)
{
    (void)state;
    const char *row = "imgs/0 sample_0.png 0 1 1.0 14 4 2 0.5 1 1\n";
    char text[512];
    snprintf(text, sizeof text, "%simgs/0 sample_0.png 1 2 1.0 14 4 2 0.5 1 1\n", row);
    expect_release_error(text, DMX_ERR_FORMAT, "metadata/0.npy:2: label '2' is not 0 or 1");
    snprintf(text, sizeof text, "%s\nimgs/0 sample_0.png 1\n", row);
    expect_release_error(text, DMX_ERR_FORMAT, "metadata/0.npy:3: 3 fields");
    snprintf(text, sizeof text, "%simgs/0 sample_9.png 9 0\n", row);
    expect_release_error(text, DMX_ERR_NOT_FOUND, "imgs/0/sample_9.png: cannot open");
    snprintf(text, sizeof text, "%simgs/0 sample_1.png 1 0\n", row);
    expect_release_error(text, DMX_ERR_FORMAT, "sample_1.png: 3x2 pixels; Pathfinder images are "
                                               "square");
    expect_release_error("\x93NUMPY\x01\x00v", DMX_ERR_FORMAT, "a binary NumPy array");
    expect_release_error("\n\n", DMX_ERR_FORMAT, "the metadata lists no images");
    dmx_lra_tokens set;
    DMX_ASSERT_FAILS(dmx_pathfinder_load_release(DIMIX_BINARY_DIR "/no-such-release", NULL, &set,
                                                 NULL),
                     DMX_ERR_NOT_FOUND, "no-such-release/metadata");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_release_layout),
        cmocka_unit_test(test_png_decoder),
        cmocka_unit_test(test_release_errors),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
