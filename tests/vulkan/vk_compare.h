/* Runs one device operator on a Vulkan device and on the CPU reference with the same inputs and
 * compares every output: guard bands around each argument must stay untouched, outputs that are
 * overwritten start as NaN (so an element never written shows), inputs must be left alone. */
#ifndef DMX_TEST_VK_COMPARE_H
#define DMX_TEST_VK_COMPARE_H

#include <stdbool.h>

#include "ops/op_table.h"
#include "test_util.h"

enum {
    VKC_RANDOM = 0, /* uniform in [lo, hi) */
    VKC_NAN,        /* an overwritten output: starts as NaN */
    VKC_INTS,       /* I32 in [int_lo, int_hi] */
    VKC_ABSENT,     /* optional argument left out */
    VKC_MASK,       /* a softmax mask over rows of int_lo columns: 0, small negatives, and
                       removed entries (-1e30, -1e21); every fourth row removed entirely */
    VKC_DATA,       /* the words at `data` */
};

typedef struct vkc_arg {
    size_t count;
    int fill;
    float lo, hi;
    int int_lo, int_hi;
    const void *data;
} vkc_arg;

typedef struct vkc_case {
    const char *what;
    dmx_op op;
    const void *params;
    vkc_arg args[DMX_MAX_ARGS];
    double atol, rtol;
} vkc_case;

/* Opens vulkan:0 or skips the test (with the reason) when there is none. */
dmx_device *vkc_open_or_skip(void);

/* Runs the case on both devices; fails the test on any difference. Returns the worst
 * normalised error (sum (a-b)^2 / sum a^2) over the outputs, for reports. */
double vkc_check(dmx_device *vk, dmx_device *cpu, const vkc_case *c, uint64_t seed);

#endif
