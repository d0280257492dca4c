/* A minimal PNG writer (8-bit RGB, one IDAT chunk, zlib), so screenshots for the docs need no
 * image tool. */
#ifndef DMX_DEMO_PNG_H
#define DMX_DEMO_PNG_H

#include <stdbool.h>
#include <stdint.h>

/* rgb: `height` rows of `width` RGB triples, `pitch` bytes from one row to the next. */
bool demo_write_png(const char *path, int width, int height, const uint8_t *rgb, int pitch);

#endif
