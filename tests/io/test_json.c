/* The header JSON parser and quoting: tree shape, decoded strings, integer classification,
 * and quote -> parse round trips over every control character and multi-byte UTF-8. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "io/json.h"
#include "test_util.h"

/* Parses a copy of text (the parser decodes in place); the caller frees *copy and the doc. */
static void parse_ok(const char *text, char **copy, dmx_json_doc *doc)
{
    *copy = strdup(text);
    DMX_ASSERT_OK(dmx_json_parse(*copy, strlen(text), doc));
}

static void test_tree_and_values(void **state)
{
    (void)state;
    char *text;
    dmx_json_doc doc;
    parse_ok(" {\"a\": [1, 2.5, -3, true, false, null], \"b\\n\": {\"c\": \"d\\u00e9\"}, "
             "\"e\": {}} ",
             &text, &doc);
    const dmx_json_node *root = dmx_json_root(&doc);
    assert_int_equal(root->kind, DMX_JSON_OBJECT);
    assert_int_equal(root->count, 3);
    const dmx_json_node *a = dmx_json_first(&doc, root);
    assert_string_equal(a->key, "a");
    assert_int_equal(a->count, 6);
    static const dmx_json_kind kinds[6] = {DMX_JSON_NUMBER, DMX_JSON_NUMBER, DMX_JSON_NUMBER,
                                           DMX_JSON_TRUE,   DMX_JSON_FALSE,  DMX_JSON_NULL};
    static const bool uints[6] = {true, false, false, false, false, false};
    int i = 0;
    for (const dmx_json_node *e = dmx_json_first(&doc, a); e; e = dmx_json_next(&doc, e), i++) {
        assert_int_equal(e->kind, kinds[i]);
        assert_int_equal(e->is_uint, uints[i]);
        assert_null(e->key);
    }
    assert_int_equal(i, 6);
    assert_int_equal(dmx_json_first(&doc, a)->uint_value, 1);
    const dmx_json_node *b = dmx_json_next(&doc, a);
    assert_string_equal(b->key, "b\n");
    const dmx_json_node *c = dmx_json_first(&doc, b);
    assert_string_equal(c->str, "d\xc3\xa9");
    assert_int_equal(c->str_len, 3);
    const dmx_json_node *e = dmx_json_next(&doc, b);
    assert_int_equal(e->kind, DMX_JSON_OBJECT);
    assert_int_equal(e->count, 0);
    assert_null(dmx_json_first(&doc, e));
    assert_null(dmx_json_next(&doc, e));
    dmx_json_free(&doc);
    free(text);
}

static void test_integer_classification(void **state)
{
    (void)state;
    char *text;
    dmx_json_doc doc;
    parse_ok("[0, 18446744073709551615, 18446744073709551616, 1e2, 1.0, -0, 100000000]", &text,
             &doc);
    static const bool uints[7] = {true, true, false, false, false, false, true};
    static const uint64_t values[7] = {0, UINT64_MAX, 0, 0, 0, 0, 100000000};
    int i = 0;
    for (const dmx_json_node *n = dmx_json_first(&doc, dmx_json_root(&doc)); n;
         n = dmx_json_next(&doc, n), i++) {
        if (n->is_uint != uints[i] || n->uint_value != values[i])
            fail_msg("element %d: is_uint %d value %llu, want %d %llu", i, n->is_uint,
                     (unsigned long long)n->uint_value, uints[i], (unsigned long long)values[i]);
    }
    dmx_json_free(&doc);
    free(text);
}

static void test_surrogate_pairs_decode_to_utf8(void **state)
{
    (void)state;
    char *text;
    dmx_json_doc doc;
    parse_ok("\"\\ud83d\\ude00|\\u20ac|\\u0041\\u00FF\"", &text, &doc);
    assert_string_equal(dmx_json_root(&doc)->str, "\xf0\x9f\x98\x80|\xe2\x82\xac|A\xc3\xbf");
    dmx_json_free(&doc);
    free(text);
}

/* Every single byte below 0x80 and a few multi-byte characters, quoted then parsed back. */
static void test_quote_round_trip(void **state)
{
    (void)state;
    char original[160];
    size_t n = 0;
    for (int c = 1; c < 0x80; c++)
        original[n++] = (char)c;
    static const char multi[] = "\xc3\xa9\xe2\x82\xac\xf0\x9f\x98\x80";
    memcpy(original + n, multi, sizeof multi - 1);
    n += sizeof multi - 1;
    original[n] = '\0';
    assert_true(dmx_utf8_valid(original, n));
    size_t quoted_len = dmx_json_quote(original, n, NULL);
    char *quoted = malloc(quoted_len);
    assert_int_equal(dmx_json_quote(original, n, quoted), quoted_len);
    for (size_t i = 1; i + 1 < quoted_len; i++)
        if ((unsigned char)quoted[i] < 0x20)
            fail_msg("quoted text keeps control byte 0x%02x at %zu", quoted[i], i);
    dmx_json_doc doc;
    DMX_ASSERT_OK(dmx_json_parse(quoted, quoted_len, &doc));
    assert_int_equal(dmx_json_root(&doc)->str_len, n);
    assert_memory_equal(dmx_json_root(&doc)->str, original, n);
    dmx_json_free(&doc);
    free(quoted);
    /* serde_json's spelling: short escapes where they exist, else \u00XX in lower case. */
    char small[32];
    small[dmx_json_quote("a\"\\\n\x01\x1f/", 7, small)] = '\0';
    assert_string_equal(small, "\"a\\\"\\\\\\n\\u0001\\u001f/\"");
}

static void test_utf8_validation(void **state)
{
    (void)state;
    assert_true(dmx_utf8_valid("", 0));
    assert_true(dmx_utf8_valid("\xf4\x8f\xbf\xbf", 4));   /* U+10FFFF */
    assert_false(dmx_utf8_valid("\xf4\x90\x80\x80", 4));  /* U+110000 */
    assert_false(dmx_utf8_valid("\xed\xb0\x80", 3));      /* a surrogate */
    assert_false(dmx_utf8_valid("\xe0\x80\xaf", 3));      /* overlong */
    assert_false(dmx_utf8_valid("\xc3", 1));              /* cut */
    assert_false(dmx_utf8_valid("\x80", 1));              /* stray continuation */
}

static void test_errors_leave_an_empty_document(void **state)
{
    (void)state;
    char text[] = "[1, 2,";
    dmx_json_doc doc;
    DMX_ASSERT_FAILS(dmx_json_parse(text, strlen(text), &doc), DMX_ERR_FORMAT,
                     "byte 6: unexpected end of text, expected a value");
    assert_null(doc.nodes);
    assert_int_equal(doc.count, 0);
    char empty[] = "   ";
    DMX_ASSERT_FAILS(dmx_json_parse(empty, 3, &doc), DMX_ERR_FORMAT, "unexpected end of text");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_tree_and_values),
        cmocka_unit_test(test_integer_classification),
        cmocka_unit_test(test_surrogate_pairs_decode_to_utf8),
        cmocka_unit_test(test_quote_round_trip),
        cmocka_unit_test(test_utf8_validation),
        cmocka_unit_test(test_errors_leave_an_empty_document),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
