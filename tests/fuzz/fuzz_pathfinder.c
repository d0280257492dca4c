/* Pathfinder .pfb files (host/data/lra_pathfinder_file.c). */
#include "dimix/dimix.h"
#include "fuzz_util.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const char *path = dmx_fuzz_file(0, "pathfinder32_cl14_test.pfb", data, size);
    dmx_lra_tokens set;
    if (dmx_pathfinder_load(path, &set) == DMX_OK)
        dmx_lra_tokens_free(&set), dmx_fuzz_accepted++;
    return 0;
}
