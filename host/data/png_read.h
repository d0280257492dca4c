/* A small PNG decoder for what the LRA Pathfinder release holds: 8-bit grayscale,
 * non-interlaced images. Everything else is refused with a message naming the file. */
#ifndef DMX_DATA_PNG_READ_H
#define DMX_DATA_PNG_READ_H

#include <stddef.h>
#include <stdint.h>

#include "dimix/status.h"

/* Decodes the PNG in data[0..size) into *pixels (malloc'd, width * height bytes, row-major from
 * the top). `name` names the file in messages. Chunk CRCs are checked. */
dmx_status dmx_png_decode_gray8(const uint8_t *data, size_t size, const char *name, int *width,
                                int *height, uint8_t **pixels);

#endif
