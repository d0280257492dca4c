/* safetensors (host/io/safetensors_read.c): open a file of any bytes; when it opens, read
 * every tensor as F32 and as itself (bounded sizes), and every metadata entry. */
#include <stdlib.h>

#include "dimix/safetensors.h"
#include "fuzz_util.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const char *path = dmx_fuzz_file(0, "input.safetensors", data, size);
    dmx_st_file *f = NULL;
    if (dmx_st_open(path, &f) != DMX_OK)
        return 0;
    dmx_fuzz_accepted++;
    for (int64_t i = 0; i < dmx_st_count(f); i++) {
        const dmx_st_tensor_info *t = dmx_st_info_at(f, i);
        if (t->numel < 0 || t->numel > (1 << 20) || t->end - t->begin > (8u << 20))
            continue;
        const size_t as_f32 = (size_t)t->numel * 4, raw = (size_t)(t->end - t->begin);
        void *buf = malloc((as_f32 > raw ? as_f32 : raw) + 1);
        if (buf) {
            dmx_st_read(f, t->name, DMX_ST_F32, buf, as_f32); /* fails for dtypes without it */
            dmx_st_read(f, t->name, t->dtype, buf, raw);
            free(buf);
        }
    }
    for (int64_t i = 0;; i++) {
        const char *key = NULL, *value = NULL;
        if (dmx_st_metadata_at(f, i, &key, &value) != DMX_OK)
            break;
    }
    dmx_st_close(f);
    return 0;
}
