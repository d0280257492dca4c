/* Device-op level test helpers: buffers with guard bands, NaN-prefilled outputs, and one-call
 * dispatch through dmx_op_run, for flags the tensor API never sets (accumulate = 1, gemm beta,
 * fill bit patterns, I32 copies).
 *
 * Every argument lives in its own buffer between two guard bands of DMX_GUARD_WORDS canary
 * words. The canary is a NaN pattern, so an op that reads a guard poisons its result, and
 * dmx_optest_check_guards catches an op that writes one. */
#ifndef DMX_TEST_OP_HARNESS_H
#define DMX_TEST_OP_HARNESS_H

#include <stdint.h>

#include "ops/op_table.h"
#include "test_util.h"

#define DMX_GUARD_WORDS 13u
#define DMX_GUARD_BITS 0x7fa5a5a5u /* a quiet NaN no op produces by itself */
#define DMX_NAN_BITS 0x7fc00000u

/* A guarded argument holding `n` 4-byte words copied from `data` (F32 or I32 bits); with
 * data == NULL the words are NaN, the pre-fill for outputs. Fails the test on error. */
dmx_arg dmx_optest_arg(dmx_device *dev, const void *data, size_t n);

/* Reads the argument's n words into dst. */
void dmx_optest_read(dmx_arg a, void *dst);

/* Fails the test, naming `what`, if any guard word of `a` changed. */
void dmx_optest_check_guards(dmx_arg a, const char *what);

/* Checks the guards, then frees the buffer. An absent argument (buf NULL) is ignored. */
void dmx_optest_free(dmx_arg a, const char *what);

/* Runs one op; fails the test with the library's message if the call fails. */
void dmx_optest_run(dmx_device *dev, dmx_op op, const void *params, int n_args,
                    const dmx_arg *args);

/* Number of NaN entries among x[0..n). */
size_t dmx_optest_count_nan(const float *x, size_t n);

/* A float's bit pattern and back. */
uint32_t dmx_bits_of(float f);
float dmx_float_of(uint32_t bits);

#define DMX_OPTEST_RUN(dev, op, params, ...)                                                \
    dmx_optest_run((dev), (op), (params),                                                   \
                   (int)(sizeof((dmx_arg[]){__VA_ARGS__}) / sizeof(dmx_arg)),               \
                   (const dmx_arg[]){__VA_ARGS__})

#endif
