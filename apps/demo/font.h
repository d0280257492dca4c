/* The demo's built-in bitmap font: one 5 x 8 glyph per printable ASCII character (32..126),
 * drawn for this demo so it needs no font library. Rows 0..6 hold capitals and digits, row 7
 * the descenders of g, j, p, q, y and the underscore. A text cell is 6 x 9 pixels: the glyph
 * plus one column and one row of spacing. */
#ifndef DMX_DEMO_FONT_H
#define DMX_DEMO_FONT_H

#include <stdint.h>

#define DEMO_GLYPH_W 5
#define DEMO_GLYPH_H 8
#define DEMO_CELL_W 6
#define DEMO_CELL_H 9
#define DEMO_FIRST_CHAR 32
#define DEMO_LAST_CHAR 126

/* The 8 rows of character c, bit 4 of each the leftmost pixel; characters outside 32..126
 * get the glyph of '?'. */
const uint8_t *demo_glyph(int c);

#endif
