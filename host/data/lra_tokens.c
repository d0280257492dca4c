/* Tokenised LRA splits: growth while reading, batches for the model, release. */
#include <stdlib.h>
#include <string.h>

#include "core/error.h"
#include "data/lra_internal.h"

dmx_status dmx_lra_tokens_reserve(dmx_lra_tokens *set, int64_t count)
{
    if (set->seq_len <= 0 || count < 0 || (uint64_t)count > SIZE_MAX / (size_t)set->seq_len)
        return dmx_fail(DMX_ERR_INVALID_ARG, "token set: %lld examples of %d tokens",
                        (long long)count, set->seq_len);
    size_t n = count > 0 ? (size_t)count : 1;
    uint8_t *symbols = realloc(set->symbols, n * (size_t)set->seq_len);
    if (symbols)
        set->symbols = symbols;
    int32_t *lengths = realloc(set->lengths, n * sizeof *lengths);
    if (lengths)
        set->lengths = lengths;
    uint8_t *labels = realloc(set->labels, n);
    if (labels)
        set->labels = labels;
    if (!symbols || !lengths || !labels)
        return dmx_fail(DMX_ERR_OUT_OF_MEMORY, "token set: %lld examples of %d tokens",
                        (long long)count, set->seq_len);
    return DMX_OK;
}

void dmx_lra_tokens_free(dmx_lra_tokens *set)
{
    if (!set)
        return;
    free(set->symbols);
    free(set->lengths);
    free(set->labels);
    memset(set, 0, sizeof *set);
}

dmx_status dmx_lra_tokens_batch(const dmx_lra_tokens *set, const int64_t *indices, int n,
                                int32_t *ids, float *mask, int32_t *labels)
{
    if (!set || !indices || !ids || n < 0)
        return dmx_fail(DMX_ERR_INVALID_ARG, "dmx_lra_tokens_batch: NULL argument or n %d", n);
    const int64_t L = set->seq_len;
    for (int b = 0; b < n; b++) {
        int64_t i = indices[b];
        if (i < 0 || i >= set->count)
            return dmx_fail(DMX_ERR_INVALID_ARG,
                            "dmx_lra_tokens_batch: index %lld (batch row %d) outside the %lld "
                            "examples",
                            (long long)i, b, (long long)set->count);
        const uint8_t *src = set->symbols + i * L;
        int64_t real = set->lengths[i];
        for (int64_t k = 0; k < L; k++) {
            ids[b * L + k] = k < real ? src[k] + set->id_offset : 0;
            if (mask)
                mask[b * L + k] = k < real ? 1.0f : 0.0f;
        }
        if (labels)
            labels[b] = set->labels[i];
    }
    return DMX_OK;
}
