/* Strict recursive-descent JSON parser: see json.h. Every read is bounded by the text length;
 * numbers are only classified (plain 64-bit unsigned integers are kept), since headers need
 * nothing else from them. */
#include "io/json.h"

#include <stdlib.h>
#include <string.h>

#include "core/error.h"

typedef struct json_parser {
    char *text;
    size_t len;
    size_t pos;
    int depth;
    dmx_json_doc *doc;
} json_parser;

static dmx_status parse_value(json_parser *p, size_t *index);

static void skip_whitespace(json_parser *p)
{
    while (p->pos < p->len) {
        char c = p->text[p->pos];
        if (c != ' ' && c != '\t' && c != '\n' && c != '\r')
            break;
        p->pos++;
    }
}

static dmx_status syntax_error(size_t at, const char *what)
{
    return dmx_fail(DMX_ERR_FORMAT, "byte %zu: %s", at, what);
}

static dmx_status new_node(json_parser *p, dmx_json_kind kind, size_t *index)
{
    dmx_json_doc *doc = p->doc;
    if (doc->count == doc->capacity) {
        size_t cap = doc->capacity ? doc->capacity * 2 : 64;
        dmx_json_node *grown = realloc(doc->nodes, cap * sizeof *grown);
        if (!grown)
            return dmx_fail(DMX_ERR_OUT_OF_MEMORY, "JSON parser: out of memory at %zu nodes",
                            doc->count);
        doc->nodes = grown;
        doc->capacity = cap;
    }
    *index = doc->count++;
    memset(&doc->nodes[*index], 0, sizeof doc->nodes[*index]);
    doc->nodes[*index].kind = kind;
    doc->nodes[*index].offset = p->pos;
    return DMX_OK;
}

/* Length of the valid UTF-8 sequence at s[0, avail), or 0 when it is not one (overlong forms,
 * surrogates and code points above U+10FFFF are invalid). */
static size_t utf8_sequence_length(const unsigned char *s, size_t avail)
{
    unsigned char c = s[0];
    size_t n;
    unsigned char lo = 0x80, hi = 0xBF;
    if (c < 0x80)
        return 1;
    if (c >= 0xC2 && c <= 0xDF)
        n = 2;
    else if (c >= 0xE0 && c <= 0xEF) {
        n = 3;
        lo = c == 0xE0 ? 0xA0 : 0x80;
        hi = c == 0xED ? 0x9F : 0xBF;
    } else if (c >= 0xF0 && c <= 0xF4) {
        n = 4;
        lo = c == 0xF0 ? 0x90 : 0x80;
        hi = c == 0xF4 ? 0x8F : 0xBF;
    } else
        return 0;
    if (avail < n || s[1] < lo || s[1] > hi)
        return 0;
    for (size_t i = 2; i < n; i++)
        if (s[i] < 0x80 || s[i] > 0xBF)
            return 0;
    return n;
}

static size_t utf8_encode(uint32_t cp, char *out)
{
    if (cp < 0x80) {
        out[0] = (char)cp;
        return 1;
    }
    if (cp < 0x800) {
        out[0] = (char)(0xC0 | (cp >> 6));
        out[1] = (char)(0x80 | (cp & 0x3F));
        return 2;
    }
    if (cp < 0x10000) {
        out[0] = (char)(0xE0 | (cp >> 12));
        out[1] = (char)(0x80 | ((cp >> 6) & 0x3F));
        out[2] = (char)(0x80 | (cp & 0x3F));
        return 3;
    }
    out[0] = (char)(0xF0 | (cp >> 18));
    out[1] = (char)(0x80 | ((cp >> 12) & 0x3F));
    out[2] = (char)(0x80 | ((cp >> 6) & 0x3F));
    out[3] = (char)(0x80 | (cp & 0x3F));
    return 4;
}

/* Reads the four hex digits of a \uXXXX escape whose 'u' is at p->pos - 1. */
static dmx_status read_hex4(json_parser *p, uint32_t *unit)
{
    if (p->len - p->pos < 4)
        return syntax_error(p->pos, "truncated \\u escape");
    uint32_t v = 0;
    for (int i = 0; i < 4; i++) {
        char c = p->text[p->pos++];
        int digit = c >= '0' && c <= '9'   ? c - '0'
                    : c >= 'a' && c <= 'f' ? c - 'a' + 10
                    : c >= 'A' && c <= 'F' ? c - 'A' + 10
                                           : -1;
        if (digit < 0)
            return syntax_error(p->pos - 1, "\\u escape needs four hex digits");
        v = v * 16 + (uint32_t)digit;
    }
    *unit = v;
    return DMX_OK;
}

/* A \u escape (after the 'u'), joining a UTF-16 surrogate pair into one code point. */
static dmx_status read_unicode_escape(json_parser *p, uint32_t *cp)
{
    size_t at = p->pos - 2;
    uint32_t unit;
    DMX_TRY(read_hex4(p, &unit));
    if (unit >= 0xDC00 && unit <= 0xDFFF)
        return syntax_error(at, "lone low surrogate in \\u escape");
    if (unit >= 0xD800 && unit <= 0xDBFF) {
        if (p->len - p->pos < 2 || p->text[p->pos] != '\\' || p->text[p->pos + 1] != 'u')
            return syntax_error(at, "high surrogate in \\u escape without its low half");
        p->pos += 2;
        uint32_t low;
        DMX_TRY(read_hex4(p, &low));
        if (low < 0xDC00 || low > 0xDFFF)
            return syntax_error(at, "high surrogate in \\u escape without its low half");
        unit = 0x10000 + ((unit - 0xD800) << 10) + (low - 0xDC00);
    }
    *cp = unit;
    return DMX_OK;
}

static dmx_status read_escape(json_parser *p, char **w)
{
    size_t at = p->pos - 1;
    if (p->pos >= p->len)
        return syntax_error(at, "unterminated string");
    char c = p->text[p->pos++];
    const char *from = "\"\\/bfnrt", *to = "\"\\/\b\f\n\r\t";
    const char *hit = c ? strchr(from, c) : NULL;
    if (hit) {
        *(*w)++ = to[hit - from];
        return DMX_OK;
    }
    if (c != 'u')
        return syntax_error(at, "unknown escape sequence in string");
    uint32_t cp = 0;
    DMX_TRY(read_unicode_escape(p, &cp));
    *w += utf8_encode(cp, *w);
    return DMX_OK;
}

/* The string whose opening quote is at p->pos, decoded in place: the output never overtakes
 * the input, and the closing quote leaves room for the terminating NUL. */
static dmx_status parse_string(json_parser *p, const char **out, size_t *out_len)
{
    size_t start = p->pos++;
    char *begin = p->text + p->pos;
    char *w = begin;
    for (;;) {
        if (p->pos >= p->len)
            return syntax_error(start, "unterminated string");
        unsigned char c = (unsigned char)p->text[p->pos];
        if (c == '"') {
            p->pos++;
            *w = '\0';
            *out = begin;
            *out_len = (size_t)(w - begin);
            return DMX_OK;
        }
        if (c == '\\') {
            p->pos++;
            DMX_TRY(read_escape(p, &w));
            continue;
        }
        if (c < 0x20)
            return syntax_error(p->pos, "unescaped control character in string");
        size_t n = utf8_sequence_length((const unsigned char *)p->text + p->pos, p->len - p->pos);
        if (n == 0)
            return syntax_error(p->pos, "invalid UTF-8 in string");
        memmove(w, p->text + p->pos, n);
        w += n;
        p->pos += n;
    }
}

static size_t count_digits(const json_parser *p, size_t from)
{
    size_t i = from;
    while (i < p->len && p->text[i] >= '0' && p->text[i] <= '9')
        i++;
    return i - from;
}

/* Grammar: -?(0|[1-9][0-9]*)(.[0-9]+)?([eE][+-]?[0-9]+)? */
static dmx_status parse_number(json_parser *p, dmx_json_node *node)
{
    size_t start = p->pos;
    bool negative = p->text[p->pos] == '-';
    if (negative)
        p->pos++;
    size_t int_digits = count_digits(p, p->pos);
    if (int_digits == 0)
        return syntax_error(start, "malformed number");
    if (int_digits > 1 && p->text[p->pos] == '0')
        return syntax_error(start, "number with a leading zero");
    size_t int_start = p->pos;
    p->pos += int_digits;
    bool plain = !negative;
    if (p->pos < p->len && p->text[p->pos] == '.') {
        size_t n = count_digits(p, p->pos + 1);
        if (n == 0)
            return syntax_error(start, "malformed number: no digits after '.'");
        p->pos += 1 + n;
        plain = false;
    }
    if (p->pos < p->len && (p->text[p->pos] == 'e' || p->text[p->pos] == 'E')) {
        p->pos++;
        if (p->pos < p->len && (p->text[p->pos] == '+' || p->text[p->pos] == '-'))
            p->pos++;
        size_t n = count_digits(p, p->pos);
        if (n == 0)
            return syntax_error(start, "malformed number: no digits in the exponent");
        p->pos += n;
        plain = false;
    }
    uint64_t v = 0;
    for (size_t i = 0; plain && i < int_digits; i++) {
        uint64_t d = (uint64_t)(p->text[int_start + i] - '0');
        if (v > (UINT64_MAX - d) / 10)
            plain = false; /* does not fit 64 bits: a number, but not a usable integer */
        else
            v = v * 10 + d;
    }
    node->is_uint = plain;
    node->uint_value = plain ? v : 0;
    return DMX_OK;
}

static dmx_status parse_literal(json_parser *p, const char *word, dmx_json_kind kind,
                                size_t *index)
{
    size_t n = strlen(word);
    if (p->len - p->pos < n || memcmp(p->text + p->pos, word, n) != 0)
        return syntax_error(p->pos, "unexpected character");
    DMX_TRY(new_node(p, kind, index));
    p->pos += n;
    return DMX_OK;
}

/* Appends child to parent's list; `last` tracks the current tail (0 before the first). */
static void link_child(json_parser *p, size_t parent, size_t *last, size_t child)
{
    dmx_json_node *nodes = p->doc->nodes;
    if (*last)
        nodes[*last].next_sibling = child;
    else
        nodes[parent].first_child = child;
    nodes[parent].count++;
    *last = child;
}

/* Shared loop of arrays and objects: the opening bracket is at p->pos. */
static dmx_status parse_container(json_parser *p, dmx_json_kind kind, size_t *index)
{
    char close = kind == DMX_JSON_ARRAY ? ']' : '}';
    if (++p->depth > DMX_JSON_MAX_DEPTH)
        return syntax_error(p->pos, "nesting deeper than 64 levels");
    DMX_TRY(new_node(p, kind, index));
    p->pos++;
    skip_whitespace(p);
    size_t last = 0;
    if (p->pos < p->len && p->text[p->pos] == close) {
        p->pos++;
        p->depth--;
        return DMX_OK;
    }
    for (;;) {
        const char *key = NULL;
        size_t key_len = 0, child;
        if (kind == DMX_JSON_OBJECT) {
            if (p->pos >= p->len || p->text[p->pos] != '"')
                return syntax_error(p->pos, "expected a string as object key");
            DMX_TRY(parse_string(p, &key, &key_len));
            skip_whitespace(p);
            if (p->pos >= p->len || p->text[p->pos] != ':')
                return syntax_error(p->pos, "expected ':' after object key");
            p->pos++;
        }
        DMX_TRY(parse_value(p, &child));
        p->doc->nodes[child].key = key;
        p->doc->nodes[child].key_len = key_len;
        link_child(p, *index, &last, child);
        skip_whitespace(p);
        if (p->pos < p->len && p->text[p->pos] == ',') {
            p->pos++;
            skip_whitespace(p);
            continue;
        }
        if (p->pos < p->len && p->text[p->pos] == close) {
            p->pos++;
            p->depth--;
            return DMX_OK;
        }
        return syntax_error(p->pos, kind == DMX_JSON_ARRAY ? "expected ',' or ']' in array"
                                                           : "expected ',' or '}' in object");
    }
}

static dmx_status parse_value(json_parser *p, size_t *index)
{
    skip_whitespace(p);
    if (p->pos >= p->len)
        return syntax_error(p->pos, "unexpected end of text, expected a value");
    char c = p->text[p->pos];
    switch (c) {
    case '{': return parse_container(p, DMX_JSON_OBJECT, index);
    case '[': return parse_container(p, DMX_JSON_ARRAY, index);
    case 't': return parse_literal(p, "true", DMX_JSON_TRUE, index);
    case 'f': return parse_literal(p, "false", DMX_JSON_FALSE, index);
    case 'n': return parse_literal(p, "null", DMX_JSON_NULL, index);
    case '"': {
        DMX_TRY(new_node(p, DMX_JSON_STRING, index));
        const char *s;
        size_t n;
        DMX_TRY(parse_string(p, &s, &n));
        p->doc->nodes[*index].str = s;
        p->doc->nodes[*index].str_len = n;
        return DMX_OK;
    }
    default:
        if (c == '-' || (c >= '0' && c <= '9')) {
            DMX_TRY(new_node(p, DMX_JSON_NUMBER, index));
            return parse_number(p, &p->doc->nodes[*index]);
        }
        return syntax_error(p->pos, "unexpected character");
    }
}

dmx_status dmx_json_parse(char *text, size_t len, dmx_json_doc *doc)
{
    if (!doc || (!text && len))
        return dmx_fail(DMX_ERR_INVALID_ARG, "dmx_json_parse: NULL text or document");
    memset(doc, 0, sizeof *doc);
    json_parser p = {.text = text, .len = len, .doc = doc};
    size_t root;
    dmx_status s = parse_value(&p, &root);
    if (s == DMX_OK) {
        skip_whitespace(&p);
        if (p.pos != len)
            s = syntax_error(p.pos, "unexpected text after the JSON value");
    }
    if (s != DMX_OK)
        dmx_json_free(doc);
    return s;
}

void dmx_json_free(dmx_json_doc *doc)
{
    if (!doc)
        return;
    free(doc->nodes);
    memset(doc, 0, sizeof *doc);
}

bool dmx_utf8_valid(const char *s, size_t len)
{
    for (size_t i = 0; i < len;) {
        size_t n = utf8_sequence_length((const unsigned char *)s + i, len - i);
        if (n == 0)
            return false;
        i += n;
    }
    return true;
}

/* The short escape of c, or 0 when it has none. */
static char short_escape(unsigned char c)
{
    switch (c) {
    case '"': return '"';
    case '\\': return '\\';
    case '\b': return 'b';
    case '\f': return 'f';
    case '\n': return 'n';
    case '\r': return 'r';
    case '\t': return 't';
    default: return 0;
    }
}

size_t dmx_json_quote(const char *s, size_t len, char *out)
{
    static const char hex[] = "0123456789abcdef";
    size_t n = 0;
#define EMIT(ch)               \
    do {                       \
        if (out)               \
            out[n] = (char)(ch); \
        n++;                   \
    } while (0)
    EMIT('"');
    for (size_t i = 0; i < len; i++) {
        unsigned char c = (unsigned char)s[i];
        char e = short_escape(c);
        if (e) {
            EMIT('\\');
            EMIT(e);
        } else if (c < 0x20) {
            EMIT('\\');
            EMIT('u');
            EMIT('0');
            EMIT('0');
            EMIT(hex[c >> 4]);
            EMIT(hex[c & 15]);
        } else
            EMIT(c);
    }
    EMIT('"');
#undef EMIT
    return n;
}
