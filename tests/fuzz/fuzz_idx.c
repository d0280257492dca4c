/* (Fashion-)MNIST IDX files (host/data/image_idx.c). The input is an images file and a labels
 * file: its first two bytes (little-endian) are the labels file's size, taken from the end. */
#include "dimix/dimix.h"
#include "fuzz_util.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 2)
        return 0;
    const size_t rest = size - 2, want = (size_t)data[0] | (size_t)data[1] << 8;
    const size_t labels = want < rest ? want : rest;
    dmx_fuzz_file(0, "train-images-idx3-ubyte", data + 2, rest - labels);
    dmx_fuzz_file(1, "train-labels-idx1-ubyte", data + 2 + rest - labels, labels);
    dmx_image_load_options o = {.split = DMX_SPLIT_TRAIN};
    dmx_image_dataset *ds = NULL;
    if (dmx_idx_load(dmx_fuzz_dir(), &o, &ds) == DMX_OK)
        dmx_image_dataset_free(ds), dmx_fuzz_accepted++;
    return 0;
}
