/* The 8-bit grayscale PNG decoder of the Pathfinder release reader (host/data/png_read.c). */
#include <stdlib.h>

#include "data/png_read.h"
#include "fuzz_util.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    int w = 0, h = 0;
    uint8_t *pixels = NULL;
    if (dmx_png_decode_gray8(data, size, "input.png", &w, &h, &pixels) == DMX_OK) {
        volatile uint8_t last = w > 0 && h > 0 ? pixels[(size_t)w * (size_t)h - 1] : 0;
        (void)last; /* the whole image is there */
        free(pixels);
        dmx_fuzz_accepted++;
    }
    return 0;
}
