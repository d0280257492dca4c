/* Scripted mode (--script): a comma-separated list of commands the demo carries out one per
 * frame, as if typed, so tests and documentation screenshots need no human:
 *
 *   next | prev           the next / previous test image
 *   image:N               test image N
 *   clear                 an empty canvas
 *   draw:X0:Y0:X1:Y1...   a stroke through the points (canvas pixels, fractions allowed)
 *   erase:X0:Y0:X1:Y1...  the same with the eraser
 *   brush:R               brush radius R pixels
 *   device:NAME           show device NAME (cpu, cpu-ref, opencl:0, vulkan:0, ...)
 *   tab                   the next device
 *   screenshot:FILE       the window as FILE (.bmp, or .png)
 *   wait:MS               pause MS milliseconds
 *   quit                  close the window and exit
 */
#ifndef DMX_DEMO_SCRIPT_H
#define DMX_DEMO_SCRIPT_H

#include <stdbool.h>

#define DEMO_SCRIPT_MAX_POINTS 64

typedef enum demo_op {
    DEMO_OP_NEXT,
    DEMO_OP_PREV,
    DEMO_OP_IMAGE,
    DEMO_OP_CLEAR,
    DEMO_OP_DRAW,
    DEMO_OP_ERASE,
    DEMO_OP_BRUSH,
    DEMO_OP_DEVICE,
    DEMO_OP_TAB,
    DEMO_OP_SCREENSHOT,
    DEMO_OP_WAIT,
    DEMO_OP_QUIT,
} demo_op;

typedef struct demo_command {
    demo_op op;
    long number;                 /* image:N, wait:MS */
    float value;                 /* brush:R */
    char text[512];              /* device:NAME, screenshot:FILE */
    int points;                  /* draw / erase: point count */
    float xy[2 * DEMO_SCRIPT_MAX_POINTS];
} demo_command;

typedef struct demo_script {
    demo_command *commands;
    int count, next;
} demo_script;

/* Parses `text`; on a bad command returns false with `error` naming it. */
bool demo_script_parse(const char *text, demo_script *out, char *error, int error_size);
void demo_script_free(demo_script *s);

#endif
