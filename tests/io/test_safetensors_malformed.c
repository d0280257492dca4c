/* safetensors validation: every kind of malformed file is DMX_ERR_FORMAT with a message that
 * names the file and the problem; unusual but valid files open. Each case is one line. */
#include <stdlib.h>
#include <string.h>

#include "st_test_files.h"
#include "test_util.h"

static int remove_scratch(void **state)
{
    (void)state;
    st_scratch_cleanup();
    return 0;
}

/* Opens path and requires DMX_ERR_FORMAT with `needle` and the path in the message. */
static void expect_format_error(int line, const char *path, const char *needle)
{
    dmx_st_file *f = NULL;
    dmx_status s = dmx_st_open(path, &f);
    const char *msg = dmx_last_error();
    if (s != DMX_ERR_FORMAT)
        fail_msg("case at line %d: got %s (\"%s\"), expected DMX_ERR_FORMAT", line,
                 dmx_status_name(s), msg);
    if (!strstr(msg, needle))
        fail_msg("case at line %d: message \"%s\" lacks \"%s\"", line, msg, needle);
    if (!strstr(msg, path))
        fail_msg("case at line %d: message \"%s\" does not name the file", line, msg);
    if (f)
        fail_msg("case at line %d: a file handle came back with the error", line);
}

/* A file with `header` (its true length in front) and data_len data bytes must fail. */
#define HEADER_FAILS(header, data_len, needle)                         \
    do {                                                               \
        const char *p_ = st_path("bad.safetensors");                   \
        st_write_header(p_, (header), (data_len));                     \
        expect_format_error(__LINE__, p_, (needle));                   \
    } while (0)

/* A file with the given length field in front of `header`. */
#define RAW_FAILS(length_field, header, data_len, needle)              \
    do {                                                               \
        const char *p_ = st_path("bad.safetensors");                   \
        st_write_raw(p_, (length_field), (header), (data_len));        \
        expect_format_error(__LINE__, p_, (needle));                   \
    } while (0)

/* One F32 tensor description. */
#define T(name, shape, begin_end) \
    "\"" name "\":{\"dtype\":\"F32\",\"shape\":" shape ",\"data_offsets\":" begin_end "}"

static void test_bad_length_prefix(void **state)
{
    (void)state;
    const char *path = st_path("short.safetensors");
    st_write_bytes(path, "", 0);
    expect_format_error(__LINE__, path, "file is 0 bytes, shorter than the 8-byte header length");
    st_write_bytes(path, "\x02\0\0\0\0\0\0", 7);
    expect_format_error(__LINE__, path, "file is 7 bytes, shorter than the 8-byte header length");
    RAW_FAILS(100000001, "{}", 0, "header length 100000001 exceeds the limit of 100000000");
    RAW_FAILS(UINT64_MAX, "{}", 0, "header length 18446744073709551615 exceeds the limit");
    RAW_FAILS(10, "{}", 0, "header length 10 is larger than the 2 bytes after it");
    RAW_FAILS(3, "{}", 0, "header length 3 is larger than the 2 bytes after it");
    RAW_FAILS(0, "", 0, "header does not start with '{'");
    HEADER_FAILS(" {}", 0, "header does not start with '{'");
    HEADER_FAILS("[]", 0, "header does not start with '{'");
    HEADER_FAILS("\xef\xbb\xbf{}", 0, "header does not start with '{'"); /* a UTF-8 BOM */
}

static void test_malformed_json(void **state)
{
    (void)state;
    HEADER_FAILS("{\"a\":}", 0, "malformed JSON header: byte 5: unexpected character");
    HEADER_FAILS("{\"a", 0, "malformed JSON header: byte 1: unterminated string");
    HEADER_FAILS("{" T("a", "[1]", "[0,4]") ",}", 4, "expected a string as object key");
    HEADER_FAILS("{" T("a", "[1]", "[0,4]") " " T("b", "[1]", "[4,8]") "}", 8,
                 "expected ',' or '}' in object");
    HEADER_FAILS("{\"a\":{\"dtype\":\"F32\"", 0, "expected ',' or '}' in object");
    HEADER_FAILS("{\"a\" {}}", 0, "expected ':' after object key");
    HEADER_FAILS("{a:{}}", 0, "expected a string as object key");
    HEADER_FAILS("{\"a\\q\":{}}", 0, "unknown escape sequence");
    HEADER_FAILS("{\"a\\u12G4\":{}}", 0, "four hex digits");
    HEADER_FAILS("{\"\xff\":{}}", 0, "invalid UTF-8");
    HEADER_FAILS("{\"\xc0\xaf\":{}}", 0, "invalid UTF-8");          /* overlong '/' */
    HEADER_FAILS("{\"\xed\xa0\x80\":{}}", 0, "invalid UTF-8");      /* encoded surrogate */
    HEADER_FAILS("{\"\xf4\x90\x80\x80\":{}}", 0, "invalid UTF-8");  /* above U+10FFFF */
    HEADER_FAILS("{\"\xe2\x88\":{}}", 0, "invalid UTF-8");          /* cut sequence */
    HEADER_FAILS("{\"\\ud800\":{}}", 0, "high surrogate in \\u escape without its low half");
    HEADER_FAILS("{\"\\udc00\":{}}", 0, "lone low surrogate");
    HEADER_FAILS("{\"a\tb\":{}}", 0, "unescaped control character");
    HEADER_FAILS("{" T("a", "[1]", "[00,4]") "}", 4, "number with a leading zero");
    HEADER_FAILS("{" T("a", "[1]", "[0,4.]") "}", 4, "no digits after '.'");
    HEADER_FAILS("{" T("a", "[1]", "[0,4e]") "}", 4, "no digits in the exponent");
    HEADER_FAILS("{" T("a", "[1]", "[0,-]") "}", 4, "malformed number");
    HEADER_FAILS("{" T("a", "[1]", "[0,4]") "}x", 4, "unexpected text after the JSON value");
    /* A NUL after the object: the length field takes in the first data byte, which is 0. */
    const char *nul_tail = "{" T("a", "[1]", "[0,4]") "}";
    RAW_FAILS(strlen(nul_tail) + 1, nul_tail, 5, "unexpected text after the JSON value");
    HEADER_FAILS("{\"a\":tru}", 0, "unexpected character");
    char deep[200] = "{\"a\":";
    for (int i = 0; i < 70; i++)
        strcat(deep, "[");
    HEADER_FAILS(deep, 0, "nesting deeper than 64 levels");
}

static void test_bad_tensor_entries(void **state)
{
    (void)state;
    HEADER_FAILS("{\"a\":{\"dtype\":\"F99\",\"shape\":[1],\"data_offsets\":[0,4]}}", 4,
                 "tensor 'a': unknown dtype \"F99\"");
    HEADER_FAILS("{\"a\":{\"dtype\":\"f32\",\"shape\":[1],\"data_offsets\":[0,4]}}", 4,
                 "unknown dtype \"f32\"");
    HEADER_FAILS("{\"a\":{\"dtype\":32,\"shape\":[1],\"data_offsets\":[0,4]}}", 4,
                 "tensor 'a': dtype is not a string");
    HEADER_FAILS("{\"a\":{\"dtype\":\"F32\",\"data_offsets\":[0,4]}}", 4,
                 "tensor 'a': missing 'shape'");
    HEADER_FAILS("{\"a\":{\"shape\":[1],\"data_offsets\":[0,4]}}", 4, "missing 'dtype'");
    HEADER_FAILS("{\"a\":{\"dtype\":\"F32\",\"shape\":[1]}}", 4, "missing 'data_offsets'");
    HEADER_FAILS("{\"a\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[0,4],\"strides\":[1]}}",
                 4, "tensor 'a': unknown field 'strides'");
    HEADER_FAILS("{\"a\":{\"dtype\":\"F32\",\"dtype\":\"F32\",\"shape\":[1],"
                 "\"data_offsets\":[0,4]}}",
                 4, "tensor 'a': field 'dtype' appears twice");
    HEADER_FAILS("{" T("a", "[-1]", "[0,4]") "}", 4,
                 "shape entry 0 is not an integer in [0, 2^63)");
    HEADER_FAILS("{" T("a", "[2,1.0]", "[0,8]") "}", 8, "shape entry 1 is not an integer");
    HEADER_FAILS("{" T("a", "[9223372036854775808]", "[0,4]") "}", 4, "shape entry 0");
    HEADER_FAILS("{" T("a", "[\"1\"]", "[0,4]") "}", 4, "shape entry 0");
    HEADER_FAILS("{" T("a", "4", "[0,4]") "}", 4, "tensor 'a': shape is not an array");
    HEADER_FAILS("{" T("a", "[1]", "[0,4,4]") "}", 4, "data_offsets is not an array of two");
    HEADER_FAILS("{" T("a", "[1]", "[0]") "}", 4, "data_offsets is not an array of two");
    HEADER_FAILS("{" T("a", "[1]", "{\"b\":0,\"e\":4}") "}", 4, "data_offsets is not an array");
    HEADER_FAILS("{" T("a", "[1]", "[0,18446744073709551616]") "}", 4,
                 "data_offsets is not an array of two integers in [0, 2^64)");
    HEADER_FAILS("{" T("a", "[0]", "[4,0]") "}", 4,
                 "tensor 'a': data_offsets [4, 0] run backwards");
    HEADER_FAILS("{\"a\":5}", 0, "tensor 'a': description is not an object");
    HEADER_FAILS("{\"a\":null}", 0, "description is not an object");
    HEADER_FAILS("{" T("a", "[2]", "[0,4]") "}", 4,
                 "tensor 'a': data_offsets [0, 4] span 4 bytes, but F32 [2] needs 8");
    HEADER_FAILS("{" T("a", "[]", "[0,8]") "}", 8, "span 8 bytes, but F32 [] needs 4");
    HEADER_FAILS("{" T("a", "[4294967296,4294967296,4]", "[0,4]") "}", 4,
                 "more than 2^63 elements");
    HEADER_FAILS("{\"a\":{\"dtype\":\"F4\",\"shape\":[3],\"data_offsets\":[0,1]}}", 1,
                 "3 elements of F4 are not a whole number of bytes");
    HEADER_FAILS("{" T("a\\u0000b", "[1]", "[0,4]") "}", 4, "a tensor name contains a NUL");
}

static void test_bad_layout(void **state)
{
    (void)state;
    HEADER_FAILS("{" T("a", "[2]", "[0,8]") "}", 4,
                 "tensor 'a': data_offsets [0, 8] reach past the 4 data bytes in the file");
    HEADER_FAILS("{" T("a", "[1]", "[18446744073709551610,18446744073709551614]") "}", 4,
                 "reach past the 4 data bytes");
    HEADER_FAILS("{" T("a", "[2]", "[0,8]") "," T("b", "[2]", "[4,12]") "}", 12,
                 "tensors 'a' and 'b' overlap: 'b' starts at 4");
    HEADER_FAILS("{" T("a", "[2]", "[0,8]") "," T("z", "[0]", "[4,4]") "}", 8,
                 "tensors 'a' and 'z' overlap");
    HEADER_FAILS("{" T("a", "[1]", "[0,4]") "," T("b", "[1]", "[8,12]") "}", 12,
                 "hole in the data: bytes [4, 8) after 'a' belong to no tensor");
    HEADER_FAILS("{" T("a", "[1]", "[4,8]") "}", 8,
                 "hole in the data: bytes [0, 4) before the first tensor belong to no tensor");
    HEADER_FAILS("{" T("a", "[1]", "[0,4]") "}", 6, "2 trailing bytes after the last tensor");
    HEADER_FAILS("{}", 3, "3 trailing bytes after the last tensor");
    HEADER_FAILS("{" T("a", "[1]", "[0,4]") "," T("a", "[1]", "[4,8]") "}", 8,
                 "tensor name 'a' appears twice");
    HEADER_FAILS("{" T("\\u0061", "[1]", "[0,4]") "," T("a", "[1]", "[4,8]") "}", 8,
                 "tensor name 'a' appears twice"); /* equal once decoded */
}

static void test_bad_metadata(void **state)
{
    (void)state;
    HEADER_FAILS("{\"__metadata__\":{\"step\":7}}", 0, "metadata value of 'step' is not a string");
    HEADER_FAILS("{\"__metadata__\":{\"cfg\":{\"d\":\"1\"}}}", 0,
                 "metadata value of 'cfg' is not a string");
    HEADER_FAILS("{\"__metadata__\":{\"ok\":null}}", 0, "metadata value of 'ok' is not a string");
    HEADER_FAILS("{\"__metadata__\":[\"a\"]}", 0, "__metadata__ is not an object");
    HEADER_FAILS("{\"__metadata__\":{},\"__metadata__\":{}}", 0, "__metadata__ appears twice");
    HEADER_FAILS("{\"__metadata__\":{\"k\":\"1\",\"k\":\"2\"}}", 0,
                 "metadata key 'k' appears twice");
    HEADER_FAILS("{\"__metadata__\":{\"k\":\"a\\u0000b\"}}", 0,
                 "metadata value of 'k' contains a NUL character");
    HEADER_FAILS("{\"__metadata__\":{\"k\\u0000\":\"v\"}}", 0, "a metadata key contains a NUL");
}

/* Valid files that a careless reader might reject: free whitespace, metadata last, escaped
 * names, zero-size tensors between others, an empty metadata object. */
static void test_unusual_valid_files(void **state)
{
    (void)state;
    const char *path = st_path("odd.safetensors");
    st_write_header(path,
                    "{ \n\t\"b\\u00e9\\ud83d\\ude00\" : {\"shape\":[1],\"data_offsets\":[4,8],"
                    "\"dtype\":\"F32\"},\r\n\"z\":{\"dtype\":\"I64\",\"shape\":[2,0],"
                    "\"data_offsets\":[4,4]},\"a\":{\"dtype\":\"U8\",\"shape\":[4],"
                    "\"data_offsets\":[0,4]},\"__metadata__\":{\"k\\\"\":\"\\/v\"}}    ",
                    8);
    dmx_st_file *f = NULL;
    DMX_ASSERT_OK(dmx_st_open(path, &f));
    assert_int_equal(dmx_st_count(f), 3);
    assert_string_equal(dmx_st_info_at(f, 0)->name, "a");
    assert_string_equal(dmx_st_info_at(f, 1)->name, "z");
    assert_string_equal(dmx_st_info_at(f, 2)->name, "b\xc3\xa9\xf0\x9f\x98\x80");
    assert_int_equal(dmx_st_find(f, "z")->numel, 0);
    assert_string_equal(dmx_st_metadata(f, "k\""), "/v");
    uint8_t a[4];
    DMX_ASSERT_OK(dmx_st_read(f, "a", DMX_ST_U8, a, 4));
    assert_memory_equal(a, "\0\1\2\3", 4);
    DMX_ASSERT_OK(dmx_st_read(f, "z", DMX_ST_I64, NULL, 0));
    dmx_st_close(f);

    st_write_header(path, "{\"__metadata__\":{}," T("s", "[]", "[0,4]") "}", 4);
    DMX_ASSERT_OK(dmx_st_open(path, &f));
    assert_int_equal(dmx_st_metadata_count(f), 0);
    assert_int_equal(dmx_st_find(f, "s")->ndim, 0);
    assert_int_equal(dmx_st_find(f, "s")->numel, 1);
    dmx_st_close(f);
}

int main(void)
{
#define SCRATCH_TEST(f) cmocka_unit_test_teardown(f, remove_scratch)
    const struct CMUnitTest tests[] = {
        SCRATCH_TEST(test_bad_length_prefix),  SCRATCH_TEST(test_malformed_json),
        SCRATCH_TEST(test_bad_tensor_entries), SCRATCH_TEST(test_bad_layout),
        SCRATCH_TEST(test_bad_metadata),       SCRATCH_TEST(test_unusual_valid_files),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
