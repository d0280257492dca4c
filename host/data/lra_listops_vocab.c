/* ListOps tokens as LRA's input pipeline makes them: "]" becomes X, "(" and ")" are deleted,
 * the rest is split on whitespace. Ids: 0 pads, then the 17 symbols of LRA's vocabulary. */
#include <stdlib.h>
#include <string.h>

#include "core/error.h"
#include "data/lra_internal.h"

static const char *const token_names[DMX_LISTOPS_VOCAB] = {
    NULL, "[MIN", "[MAX", "[MED", "[SM", "[FIRST", "[LAST", "X",
    "0", "1", "2", "3", "4", "5", "6", "7", "8", "9",
};

const char *dmx_listops_token_name(int id)
{
    return id > 0 && id < DMX_LISTOPS_VOCAB ? token_names[id] : NULL;
}

int dmx_listops_token_id(const char *token, size_t len)
{
    if (len == 1 && token[0] == ']')
        return DMX_LISTOPS_END;
    if (len == 1 && token[0] >= '0' && token[0] <= '9')
        return DMX_LISTOPS_DIGIT0 + (token[0] - '0');
    for (int id = 1; id < DMX_LISTOPS_DIGIT0; id++)
        if (strlen(token_names[id]) == len && memcmp(token_names[id], token, len) == 0)
            return id;
    return -1;
}

static int is_space(char c)
{
    return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\v' || c == '\f';
}

dmx_status dmx_listops_tokenize(const char *source, size_t len, int seq_len, uint8_t *symbols,
                                int *n_tokens)
{
    int n = 0;
    size_t i = 0;
    while (i < len) {
        while (i < len && is_space(source[i]))
            i++;
        /* One word, with the parentheses deleted and "]" read as X, as LRA's regex does. */
        char word[16];
        size_t w = 0, start = i;
        for (; i < len && !is_space(source[i]); i++) {
            char c = source[i] == ']' ? 'X' : source[i];
            if (c != '(' && c != ')' && w < sizeof word)
                word[w++] = c;
        }
        if (w == 0)
            continue;
        int id = w < sizeof word ? dmx_listops_token_id(word, w) : -1;
        if (id < 0)
            return dmx_fail(DMX_ERR_FORMAT, "unknown token '%.*s' (token %d, byte %zu)",
                            (int)(i - start > 40 ? 40 : i - start), source + start, n + 1, start);
        if (n == seq_len)
            return dmx_fail(DMX_ERR_FORMAT, "more than %d tokens, the model length", seq_len);
        symbols[n++] = (uint8_t)id;
    }
    if (n == 0)
        return dmx_fail(DMX_ERR_FORMAT, "the Source has no tokens");
    memset(symbols + n, DMX_LISTOPS_PAD, (size_t)(seq_len - n));
    *n_tokens = n;
    return DMX_OK;
}

dmx_status dmx_listops_encode(const char *source, size_t len, int seq_len, int32_t *ids,
                              float *mask, int *n_tokens)
{
    if (!source || !ids || seq_len <= 0)
        return dmx_fail(DMX_ERR_INVALID_ARG, "dmx_listops_encode: NULL text or ids, or seq_len %d",
                        seq_len);
    uint8_t *symbols = malloc((size_t)seq_len);
    if (!symbols)
        return dmx_fail(DMX_ERR_OUT_OF_MEMORY, "dmx_listops_encode: %d symbols", seq_len);
    int n = 0;
    dmx_status s = dmx_listops_tokenize(source, len, seq_len, symbols, &n);
    if (s != DMX_OK) {
        free(symbols);
        return s;
    }
    for (int k = 0; k < seq_len; k++) {
        ids[k] = symbols[k];
        if (mask)
            mask[k] = k < n ? 1.0f : 0.0f;
    }
    free(symbols);
    if (n_tokens)
        *n_tokens = n;
    return DMX_OK;
}
