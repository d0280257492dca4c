/* A small strict JSON parser (RFC 8259) for file headers such as safetensors'.
 *
 * The parser trusts nothing in its input: it checks the grammar, UTF-8, escapes (surrogate
 * pairs included) and nesting depth, and reports the first problem with its byte offset as
 * DMX_ERR_FORMAT. It builds a flat tree of nodes linked by index. Strings are decoded in place
 * into the text buffer (a decoded string is never longer than its quoted source), so the
 * caller's buffer is clobbered and must outlive the document. */
#ifndef DMX_IO_JSON_H
#define DMX_IO_JSON_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "dimix/status.h"

typedef enum dmx_json_kind {
    DMX_JSON_NULL,
    DMX_JSON_FALSE,
    DMX_JSON_TRUE,
    DMX_JSON_NUMBER,
    DMX_JSON_STRING,
    DMX_JSON_ARRAY,
    DMX_JSON_OBJECT,
} dmx_json_kind;

/* Nodes live in one array; index 0 is the root value, which is never a child, so index 0 also
 * means "none" in first_child and next_sibling. */
typedef struct dmx_json_node {
    dmx_json_kind kind;
    const char *key;       /* member name when the parent is an object (decoded), else NULL */
    size_t key_len;        /* bytes; the name may hold NULs written as \u0000 */
    const char *str;       /* DMX_JSON_STRING: decoded, NUL-terminated */
    size_t str_len;
    bool is_uint;          /* a number written as a plain integer in [0, 2^64) */
    uint64_t uint_value;
    size_t count;          /* members of an object or elements of an array */
    size_t first_child;    /* 0 when empty */
    size_t next_sibling;   /* 0 for the last child */
    size_t offset;         /* where the value starts in the text, for messages */
} dmx_json_node;

typedef struct dmx_json_doc {
    dmx_json_node *nodes;
    size_t count;
    size_t capacity;
} dmx_json_doc;

/* Deepest nesting accepted: deeper input is rejected instead of exhausting the stack. */
#define DMX_JSON_MAX_DEPTH 64

/* Parses one value from text[0, len); only whitespace may follow it. On failure the document
 * is empty and the message says what is wrong at which byte. */
dmx_status dmx_json_parse(char *text, size_t len, dmx_json_doc *doc);
void dmx_json_free(dmx_json_doc *doc);

/* Whether s[0, len) is valid UTF-8 (no overlong forms, surrogates, or code points past
 * U+10FFFF): JSON text must be, so writers check names before quoting them. */
bool dmx_utf8_valid(const char *s, size_t len);

/* Writes s[0, len) as a JSON string literal, quotes included, into out and returns its length;
 * with out NULL it only measures. Quotes, backslashes and control characters are escaped
 * (\n, \t, ... or \u00XX), everything else is copied as is, like serde_json does. */
size_t dmx_json_quote(const char *s, size_t len, char *out);

static inline const dmx_json_node *dmx_json_root(const dmx_json_doc *doc)
{
    return &doc->nodes[0];
}

/* First child of an array or object, then each next one; NULL at the end. */
static inline const dmx_json_node *dmx_json_first(const dmx_json_doc *doc,
                                                  const dmx_json_node *node)
{
    return node->first_child ? &doc->nodes[node->first_child] : NULL;
}

static inline const dmx_json_node *dmx_json_next(const dmx_json_doc *doc,
                                                 const dmx_json_node *node)
{
    return node->next_sibling ? &doc->nodes[node->next_sibling] : NULL;
}

#endif
