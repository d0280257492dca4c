/* JSON (host/io/json.c): any bytes parse or fail with a message, never crash; a document that
 * parses walks to its end. */
#include <stdlib.h>
#include <string.h>

#include "fuzz_util.h"
#include "io/json.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *text = malloc(size + 1); /* the parser decodes strings in place */
    if (!text)
        return 0;
    memcpy(text, data, size);
    text[size] = '\0';
    dmx_json_doc doc;
    if (dmx_json_parse(text, size, &doc) == DMX_OK) {
        dmx_fuzz_accepted++;
        size_t strings = 0;
        for (size_t i = 0; i < doc.count; i++)
            if (doc.nodes[i].kind == DMX_JSON_STRING)
                strings += strlen(doc.nodes[i].str) <= doc.nodes[i].str_len;
        (void)strings;
        dmx_json_free(&doc);
    }
    dmx_utf8_valid(text, size);
    free(text);
    return 0;
}
