/* safetensors: byte-exact output, the reference test vector, round trips, conversions, and the
 * writer's argument checks. Malformed files are in test_safetensors_malformed.c. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "st_test_files.h"
#include "test_util.h"

/* Each test gets a fresh scratch directory. */
static int remove_scratch(void **state)
{
    (void)state;
    st_scratch_cleanup();
    return 0;
}
#define SCRATCH_TEST(f) cmocka_unit_test_teardown(f, remove_scratch)

/* The header below was counted by hand: {1} + "__metadata__":{"step":"7"} {27} + , {1} +
 * "a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]} {52} + , {1} +
 * "b":{"dtype":"I32","shape":[],"data_offsets":[8,12]} {52} + } {1} = 135 bytes, padded with
 * one space to 136 = 0x88. F32 sorts before I32 (larger dtype first), so a's 8 bytes come
 * first: 1.0f = 00 00 80 3f, -2.0f = 00 00 00 c0, then b = 5 as 05 00 00 00. */
static void test_writer_output_is_byte_exact(void **state)
{
    (void)state;
    static const char header[] =
        "{\"__metadata__\":{\"step\":\"7\"},"
        "\"a\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8]},"
        "\"b\":{\"dtype\":\"I32\",\"shape\":[],\"data_offsets\":[8,12]}} ";
    unsigned char want[8 + 136 + 12] = {0x88, 0, 0, 0, 0, 0, 0, 0};
    assert_int_equal(strlen(header), 136);
    memcpy(want + 8, header, 136);
    static const unsigned char data[12] = {0, 0, 0x80, 0x3f, 0, 0, 0, 0xc0, 5, 0, 0, 0};
    memcpy(want + 144, data, 12);

    float a[2] = {1.0f, -2.0f};
    int32_t b = 5;
    int64_t shape_a[1] = {2};
    dmx_st_writer *w = NULL;
    DMX_ASSERT_OK(dmx_st_writer_create(&w));
    DMX_ASSERT_OK(dmx_st_writer_add(w, "b", DMX_ST_I32, 0, NULL, &b));
    DMX_ASSERT_OK(dmx_st_writer_add(w, "a", DMX_ST_F32, 1, shape_a, a));
    DMX_ASSERT_OK(dmx_st_writer_set_metadata(w, "step", "7"));
    const char *path = st_path("exact.safetensors");
    DMX_ASSERT_OK(dmx_st_writer_save(w, path));
    dmx_st_writer_destroy(w);

    size_t n;
    unsigned char *got = st_read_bytes(path, &n);
    assert_int_equal(n, sizeof want);
    for (size_t i = 0; i < n; i++)
        if (got[i] != want[i])
            fail_msg("byte %zu: got 0x%02x '%c', want 0x%02x '%c'", i, got[i], got[i], want[i],
                     want[i]);
    free(got);
}

/* The test vector of the reference implementation (safetensors/src/tensor.rs): an unpadded
 * 60-byte header and 16 bytes of I32 data. */
static void test_reads_reference_vector(void **state)
{
    (void)state;
    const char *header = "{\"test\":{\"dtype\":\"I32\",\"shape\":[2,2],\"data_offsets\":[0,16]}}";
    assert_int_equal(strlen(header), 60);
    unsigned char file[8 + 60 + 16] = {'<', 0, 0, 0, 0, 0, 0, 0};
    memcpy(file + 8, header, 60);
    int32_t values[4] = {0, 1, -2, 300000};
    memcpy(file + 68, values, 16);
    const char *path = st_path("vector.safetensors");
    st_write_bytes(path, file, sizeof file);

    dmx_st_file *f = NULL;
    DMX_ASSERT_OK(dmx_st_open(path, &f));
    assert_int_equal(dmx_st_count(f), 1);
    assert_int_equal(dmx_st_metadata_count(f), 0);
    const dmx_st_tensor_info *t = dmx_st_info_at(f, 0);
    assert_string_equal(t->name, "test");
    assert_int_equal(t->dtype, DMX_ST_I32);
    assert_int_equal(t->ndim, 2);
    assert_int_equal(t->shape[0], 2);
    assert_int_equal(t->shape[1], 2);
    assert_int_equal(t->numel, 4);
    assert_int_equal(t->begin, 0);
    assert_int_equal(t->end, 16);
    int32_t got[4];
    DMX_ASSERT_OK(dmx_st_read(f, "test", DMX_ST_I32, got, sizeof got));
    assert_memory_equal(got, values, sizeof got);
    assert_null(dmx_st_info_at(f, 1));
    assert_null(dmx_st_find(f, "tes"));
    dmx_st_close(f);
}

/* Names that need every kind of JSON escape, and multi-byte UTF-8. */
static const char *const tricky_names[] = {
    "quote\"d",        "back\\slash",     "ctl\x01\x1f\x7f", "new\nline\ttab\r\b\f",
    "uni \xce\xb1\xce\xb2/\xe2\x88\x91", "emoji \xf0\x9f\x98\x80", "",
    "blocks.0.token_mix.stages.1.w1",
};
#define N_TRICKY (sizeof tricky_names / sizeof tricky_names[0])

typedef struct round_trip_tensor {
    char name[64];
    dmx_st_dtype dtype;
    int ndim;
    int64_t shape[6];
    int64_t numel;
    void *data;
} round_trip_tensor;

/* Tensors of rank 0..6 in F32 and I32, two zero-size ones, and the tricky names (F32 [3]). */
static int make_round_trip_set(round_trip_tensor *t, dmx_test_rng *rng)
{
    static const int64_t dims[6] = {2, 3, 1, 2, 3, 2};
    int n = 0;
    for (int rank = 0; rank <= 6; rank++) {
        for (int k = 0; k < 2; k++, n++) {
            t[n].dtype = k ? DMX_ST_I32 : DMX_ST_F32;
            snprintf(t[n].name, sizeof t[n].name, "%s.rank%d", k ? "ints" : "floats", rank);
            t[n].ndim = rank;
            memcpy(t[n].shape, dims, sizeof dims);
        }
    }
    int64_t zero_a[1] = {0}, zero_b[3] = {3, 0, 2};
    t[n] = (round_trip_tensor){"empty.a", DMX_ST_F32, 1, {0}, 0, NULL};
    memcpy(t[n++].shape, zero_a, sizeof zero_a);
    t[n] = (round_trip_tensor){"empty.b", DMX_ST_I32, 3, {0}, 0, NULL};
    memcpy(t[n++].shape, zero_b, sizeof zero_b);
    for (size_t i = 0; i < N_TRICKY; i++, n++) {
        t[n] = (round_trip_tensor){"", DMX_ST_F32, 1, {3}, 0, NULL};
        strcpy(t[n].name, tricky_names[i]);
    }
    for (int i = 0; i < n; i++) {
        t[i].numel = 1;
        for (int d = 0; d < t[i].ndim; d++)
            t[i].numel *= t[i].shape[d];
        t[i].data = malloc((size_t)t[i].numel * 4 + 1);
        for (int64_t e = 0; e < t[i].numel; e++) {
            if (t[i].dtype == DMX_ST_F32)
                ((float *)t[i].data)[e] = dmx_test_uniform(rng, -10.0f, 10.0f);
            else
                ((int32_t *)t[i].data)[e] = (int32_t)dmx_test_next(rng);
        }
    }
    return n;
}

static void check_round_trip_tensor(dmx_st_file *f, const round_trip_tensor *want)
{
    const dmx_st_tensor_info *t = dmx_st_find(f, want->name);
    if (!t)
        fail_msg("tensor '%s' missing after the round trip", want->name);
    assert_int_equal(t->dtype, want->dtype);
    assert_int_equal(t->ndim, want->ndim);
    for (int d = 0; d < t->ndim; d++)
        assert_int_equal(t->shape[d], want->shape[d]);
    assert_int_equal(t->numel, want->numel);
    assert_int_equal(t->end - t->begin, (uint64_t)want->numel * 4);
    DMX_ASSERT_OK(dmx_st_check_shape(f, want->name, want->ndim, want->shape));
    void *got = malloc((size_t)want->numel * 4 + 1);
    DMX_ASSERT_OK(dmx_st_read(f, want->name, want->dtype, got, (size_t)want->numel * 4));
    for (int64_t e = 0; e < want->numel; e++)
        if (memcmp((char *)got + 4 * e, (char *)want->data + 4 * e, 4) != 0)
            fail_msg("tensor '%s' element %lld differs", want->name, (long long)e);
    free(got);
}

static void test_round_trip(void **state)
{
    (void)state;
    dmx_test_rng rng = {42};
    round_trip_tensor t[32];
    int n = make_round_trip_set(t, &rng);
    dmx_st_writer *w = NULL;
    DMX_ASSERT_OK(dmx_st_writer_create(&w));
    for (int i = 0; i < n; i++)
        DMX_ASSERT_OK(dmx_st_writer_add(w, t[i].name, t[i].dtype, t[i].ndim, t[i].shape,
                                        t[i].data));
    DMX_ASSERT_OK(dmx_st_writer_set_metadata(w, "step", "1234"));
    DMX_ASSERT_OK(dmx_st_writer_set_metadata(w, "config", "{\"model\": \"mixer\",\n\t\"d\": 128}"));
    DMX_ASSERT_OK(dmx_st_writer_set_metadata(w, tricky_names[4], tricky_names[0]));
    DMX_ASSERT_OK(dmx_st_writer_set_metadata(w, "step", "1235")); /* replaces */
    const char *path = st_path("round.safetensors");
    DMX_ASSERT_OK(dmx_st_writer_save(w, path));
    /* Saving again replaces the file through rename; no temporary file stays behind. */
    DMX_ASSERT_OK(dmx_st_writer_save(w, path));
    dmx_st_writer_destroy(w);
    assert_int_equal(st_scratch_entries(), 1);

    dmx_st_file *f = NULL;
    DMX_ASSERT_OK(dmx_st_open(path, &f));
    assert_string_equal(dmx_st_path(f), path);
    assert_int_equal(dmx_st_count(f), n);
    for (int i = 0; i < n; i++)
        check_round_trip_tensor(f, &t[i]);
    /* Listed in data order, tiling the data. */
    uint64_t covered = 0;
    for (int64_t i = 0; i < dmx_st_count(f); i++) {
        assert_int_equal(dmx_st_info_at(f, i)->begin, covered);
        covered = dmx_st_info_at(f, i)->end;
    }
    assert_int_equal(dmx_st_metadata_count(f), 3);
    const char *key, *value;
    DMX_ASSERT_OK(dmx_st_metadata_at(f, 0, &key, &value));
    assert_string_equal(key, "step");
    assert_string_equal(value, "1235");
    assert_string_equal(dmx_st_metadata(f, "config"), "{\"model\": \"mixer\",\n\t\"d\": 128}");
    assert_string_equal(dmx_st_metadata(f, tricky_names[4]), tricky_names[0]);
    assert_null(dmx_st_metadata(f, "absent"));
    DMX_ASSERT_FAILS(dmx_st_metadata_at(f, 3, &key, &value), DMX_ERR_INVALID_ARG, "outside");
    dmx_st_close(f);
    for (int i = 0; i < n; i++)
        free(t[i].data);
}

/* An empty writer makes a valid file with the header "{}" padded to 8 bytes. */
static void test_empty_file_round_trip(void **state)
{
    (void)state;
    dmx_st_writer *w = NULL;
    DMX_ASSERT_OK(dmx_st_writer_create(&w));
    const char *path = st_path("empty.safetensors");
    DMX_ASSERT_OK(dmx_st_writer_save(w, path));
    dmx_st_writer_destroy(w);
    size_t n;
    unsigned char *bytes = st_read_bytes(path, &n);
    assert_int_equal(n, 16);
    assert_memory_equal(bytes, "\x08\0\0\0\0\0\0\0{}      ", 16);
    free(bytes);
    dmx_st_file *f = NULL;
    DMX_ASSERT_OK(dmx_st_open(path, &f));
    assert_int_equal(dmx_st_count(f), 0);
    dmx_st_close(f);
}

static void test_read_conversions(void **state)
{
    (void)state;
    int64_t wide[3] = {-7, 2147483647, -2147483648LL};
    int64_t too_wide[2] = {1, 5000000000LL};
    uint8_t bytes[3] = {0, 200, 255};
    /* F16: 1.0, -2.5, 2^-24 (smallest subnormal), inf; BF16: 1.0, -3.0 */
    uint16_t half[4] = {0x3C00, 0xC100, 0x0001, 0x7C00}, bf16[2] = {0x3F80, 0xC040};
    int32_t ints[3] = {1, -2, 3};
    int64_t s3[1] = {3}, s2[1] = {2}, s4[1] = {4};
    dmx_st_writer *w = NULL;
    DMX_ASSERT_OK(dmx_st_writer_create(&w));
    DMX_ASSERT_OK(dmx_st_writer_add(w, "wide", DMX_ST_I64, 1, s3, wide));
    DMX_ASSERT_OK(dmx_st_writer_add(w, "too_wide", DMX_ST_I64, 1, s2, too_wide));
    DMX_ASSERT_OK(dmx_st_writer_add(w, "bytes", DMX_ST_U8, 1, s3, bytes));
    DMX_ASSERT_OK(dmx_st_writer_add(w, "half", DMX_ST_F16, 1, s4, half));
    DMX_ASSERT_OK(dmx_st_writer_add(w, "bf16", DMX_ST_BF16, 1, s2, bf16));
    DMX_ASSERT_OK(dmx_st_writer_add_copy(w, "ints", DMX_ST_I32, 1, s3, ints));
    ints[0] = 99; /* the copy was taken at add time */
    const char *path = st_path("convert.safetensors");
    DMX_ASSERT_OK(dmx_st_writer_save(w, path));
    dmx_st_writer_destroy(w);

    dmx_st_file *f = NULL;
    DMX_ASSERT_OK(dmx_st_open(path, &f));
    int32_t i32[3];
    int64_t i64[3];
    float f32[4];
    DMX_ASSERT_OK(dmx_st_read(f, "wide", DMX_ST_I32, i32, sizeof i32));
    assert_true(i32[0] == -7 && i32[1] == INT32_MAX && i32[2] == INT32_MIN);
    DMX_ASSERT_FAILS(dmx_st_read(f, "too_wide", DMX_ST_I32, i32, 8), DMX_ERR_FORMAT,
                     "element 1 = 5000000000 does not fit I32");
    DMX_ASSERT_OK(dmx_st_read(f, "bytes", DMX_ST_I32, i32, sizeof i32));
    assert_true(i32[0] == 0 && i32[1] == 200 && i32[2] == 255);
    DMX_ASSERT_OK(dmx_st_read(f, "ints", DMX_ST_I64, i64, sizeof i64));
    assert_true(i64[0] == 1 && i64[1] == -2 && i64[2] == 3);
    DMX_ASSERT_OK(dmx_st_read(f, "half", DMX_ST_F32, f32, sizeof f32));
    assert_true(f32[0] == 1.0f && f32[1] == -2.5f && f32[2] == 0x1p-24f && f32[3] == INFINITY);
    DMX_ASSERT_OK(dmx_st_read(f, "bf16", DMX_ST_F32, f32, 8));
    assert_true(f32[0] == 1.0f && f32[1] == -3.0f);
    uint8_t raw[3];
    DMX_ASSERT_OK(dmx_st_read(f, "bytes", DMX_ST_U8, raw, 3));
    assert_memory_equal(raw, bytes, 3);

    DMX_ASSERT_FAILS(dmx_st_read(f, "ints", DMX_ST_F32, f32, 12), DMX_ERR_INVALID_ARG,
                     "tensor 'ints' is I32 and cannot be read as F32");
    DMX_ASSERT_FAILS(dmx_st_read(f, "ints", DMX_ST_I32, i32, 8), DMX_ERR_SHAPE,
                     "needs 12 bytes as I32, the buffer has 8");
    DMX_ASSERT_FAILS(dmx_st_read(f, "nope", DMX_ST_I32, i32, 12), DMX_ERR_NOT_FOUND,
                     "has no tensor 'nope'");
    DMX_ASSERT_FAILS(dmx_st_read(f, "ints", DMX_ST_DTYPE_COUNT, i32, 12), DMX_ERR_INVALID_ARG,
                     "not a safetensors dtype");
    DMX_ASSERT_OK(dmx_st_check_shape(f, "ints", 1, s3));
    DMX_ASSERT_FAILS(dmx_st_check_shape(f, "ints", 1, s2), DMX_ERR_SHAPE,
                     "tensor 'ints' has shape [3], expected [2]");
    DMX_ASSERT_FAILS(dmx_st_check_shape(f, "missing", 1, s2), DMX_ERR_NOT_FOUND, "missing");
    dmx_st_close(f);
}

static void test_writer_rejects_bad_arguments(void **state)
{
    (void)state;
    float x[4] = {0};
    int64_t s4[1] = {4}, negative[2] = {2, -1}, odd[1] = {3};
    dmx_st_writer *w = NULL;
    DMX_ASSERT_OK(dmx_st_writer_create(&w));
    DMX_ASSERT_FAILS(dmx_st_writer_add(w, "x", DMX_ST_F32, 1, s4, NULL), DMX_ERR_INVALID_ARG,
                     "NULL data for 16 bytes");
    DMX_ASSERT_FAILS(dmx_st_writer_add(w, "__metadata__", DMX_ST_F32, 1, s4, x),
                     DMX_ERR_INVALID_ARG, "reserved");
    DMX_ASSERT_FAILS(dmx_st_writer_add(w, "bad\xff", DMX_ST_F32, 1, s4, x), DMX_ERR_INVALID_ARG,
                     "not valid UTF-8");
    DMX_ASSERT_FAILS(dmx_st_writer_add(w, "x", DMX_ST_F32, 2, negative, x), DMX_ERR_SHAPE,
                     "negative size -1 in dimension 1");
    DMX_ASSERT_FAILS(dmx_st_writer_add(w, "x", DMX_ST_F32, -1, s4, x), DMX_ERR_INVALID_ARG,
                     "rank -1");
    DMX_ASSERT_FAILS(dmx_st_writer_add(w, "x", DMX_ST_DTYPE_COUNT, 1, s4, x), DMX_ERR_INVALID_ARG,
                     "not a safetensors dtype");
    DMX_ASSERT_FAILS(dmx_st_writer_add(w, "x", DMX_ST_F4, 1, odd, x), DMX_ERR_SHAPE,
                     "not a whole number of bytes");
    DMX_ASSERT_FAILS(dmx_st_writer_set_metadata(w, "k", "\xc0\xaf"), DMX_ERR_INVALID_ARG,
                     "metadata value");
    DMX_ASSERT_FAILS(dmx_st_writer_save(NULL, "x"), DMX_ERR_INVALID_ARG, "NULL writer");
    /* A zero-size tensor needs no data. */
    int64_t empty[2] = {4, 0};
    DMX_ASSERT_OK(dmx_st_writer_add(w, "nothing", DMX_ST_F32, 2, empty, NULL));
    dmx_st_writer_destroy(w);
}

static void test_open_argument_errors(void **state)
{
    (void)state;
    dmx_st_file *f = NULL;
    DMX_ASSERT_FAILS(dmx_st_open(st_path("does-not-exist"), &f), DMX_ERR_NOT_FOUND,
                     "does-not-exist");
    assert_null(f);
    DMX_ASSERT_FAILS(dmx_st_open(st_scratch_dir(), &f), DMX_ERR_IO, "not a regular file");
    DMX_ASSERT_FAILS(dmx_st_open(NULL, &f), DMX_ERR_INVALID_ARG, "NULL");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        SCRATCH_TEST(test_writer_output_is_byte_exact),
        SCRATCH_TEST(test_reads_reference_vector),
        SCRATCH_TEST(test_round_trip),
        SCRATCH_TEST(test_empty_file_round_trip),
        SCRATCH_TEST(test_read_conversions),
        SCRATCH_TEST(test_writer_rejects_bad_arguments),
        SCRATCH_TEST(test_open_argument_errors),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
