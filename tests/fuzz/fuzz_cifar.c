/* CIFAR-10 and CIFAR-100 binary files (host/data/image_cifar.c): the input's first byte picks
 * the format (even: CIFAR-10 test_batch.bin, odd: CIFAR-100 test.bin), the rest is the file.
 * With bit 1 of that byte set, the CIFAR-10 class names come from a batches.meta.txt made of
 * the input too. */
#include <stdio.h>
#include <stdlib.h>

#include "dimix/dimix.h"
#include "fuzz_util.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1)
        return 0;
    char dir[300];
    snprintf(dir, sizeof dir, "%s/cifar", dmx_fuzz_dir());
    static int made;
    if (!made) {
        char cmd[400];
        snprintf(cmd, sizeof cmd, "mkdir -p '%s'", dir);
        made = system(cmd) == 0;
    }
    const int cifar100 = data[0] & 1;
    char name[400];
    snprintf(name, sizeof name, "cifar/%s", cifar100 ? "test.bin" : "test_batch.bin");
    dmx_fuzz_file(0, name, data + 1, size - 1);
    if (!cifar100) {
        /* names from the input's tail, or none */
        size_t tail = size > 65 ? 64 : size - 1;
        dmx_fuzz_file(1, "cifar/batches.meta.txt", data + size - tail, data[0] & 2 ? tail : 0);
        if (!(data[0] & 2)) {
            char meta[400];
            snprintf(meta, sizeof meta, "%s/batches.meta.txt", dir);
            remove(meta);
        }
    }
    dmx_image_load_options o = {.split = DMX_SPLIT_TEST, .cifar100_coarse = (data[0] & 4) != 0};
    dmx_image_dataset *ds = NULL;
    if ((cifar100 ? dmx_cifar100_load(dir, &o, &ds) : dmx_cifar10_load(dir, &o, &ds)) == DMX_OK)
        dmx_image_dataset_free(ds), dmx_fuzz_accepted++;
    return 0;
}
