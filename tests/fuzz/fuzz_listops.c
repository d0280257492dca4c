/* ListOps TSV files (host/data/lra_listops_read.c), read for a model of 64 tokens. */
#include "dimix/dimix.h"
#include "fuzz_util.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const char *path = dmx_fuzz_file(0, "basic_test.tsv", data, size);
    dmx_lra_tokens set;
    if (dmx_listops_load(path, 64, &set) == DMX_OK)
        dmx_lra_tokens_free(&set), dmx_fuzz_accepted++;
    return 0;
}
