/* Shared test helpers: seeded random data, closeness checks that name what failed, persistent
 * leaf tensors, and device selection that reports skips. */
#ifndef DMX_TEST_UTIL_H
#define DMX_TEST_UTIL_H

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "dimix/dimix.h"

/* Fails the cmocka test with the library's message when `expr` is not DMX_OK. */
#define DMX_ASSERT_OK(expr)                                                               \
    do {                                                                                  \
        dmx_status s_ = (expr);                                                           \
        if (s_ != DMX_OK)                                                                 \
            fail_msg("%s failed: %s: %s", #expr, dmx_status_name(s_), dmx_last_error());  \
    } while (0)

/* Asserts `expr` returns `status` and that the message contains `needle`. */
#define DMX_ASSERT_FAILS(expr, status, needle)                                            \
    do {                                                                                  \
        dmx_status s_ = (expr);                                                           \
        if (s_ != (status))                                                               \
            fail_msg("%s returned %s, expected %s (%s)", #expr, dmx_status_name(s_),      \
                     dmx_status_name(status), dmx_last_error());                          \
        if ((needle) && !strstr(dmx_last_error(), (needle)))                              \
            fail_msg("%s: message \"%s\" lacks \"%s\"", #expr, dmx_last_error(), (needle)); \
    } while (0)

/* A small counter-based generator so every test's data is fixed by its seed. */
typedef struct dmx_test_rng {
    uint64_t state;
} dmx_test_rng;
uint64_t dmx_test_next(dmx_test_rng *r);
float dmx_test_uniform(dmx_test_rng *r, float lo, float hi);
void dmx_test_fill(dmx_test_rng *r, float *x, size_t n, float lo, float hi);

/* Compares got with want: |got - want| <= atol + rtol |want|, NaN and inf must match in kind.
 * Prints the first failures with indices and values and the worst error; returns the number of
 * failing elements. */
size_t dmx_test_compare(const char *what, const float *got, const float *want, size_t n,
                        double atol, double rtol);
#define DMX_ASSERT_CLOSE(what, got, want, n, atol, rtol) \
    assert_int_equal(dmx_test_compare((what), (got), (want), (n), (atol), (rtol)), 0)

/* A persistent F32 tensor with its own value and gradient buffers (zeroed gradient), flagged as
 * a parameter: it survives dmx_ctx_reset. data may be NULL (zeros). */
dmx_status dmx_test_leaf(dmx_device *dev, const char *name, int ndim, const int64_t *shape,
                         const float *data, dmx_tensor **out);
void dmx_test_leaf_free(dmx_tensor *t);

/* A leaf like dmx_test_leaf holding uniform values in [lo, hi) drawn from rng. */
dmx_status dmx_test_leaf_random(dmx_device *dev, const char *name, int ndim, const int64_t *shape,
                                dmx_test_rng *rng, float lo, float hi, dmx_tensor **out);

/* Host copies (malloc'd, caller frees). */
float *dmx_test_read(const dmx_tensor *t);

/* Resets `ctx`, fills the first `bytes` of its activation arena with NaN, and resets it again,
 * so the next step's tensors (outputs, fresh gradients) start out as NaN: an op that reads an
 * output it should overwrite, or adds into a gradient it should create, then yields NaN. */
dmx_status dmx_test_poison_arena(dmx_ctx *ctx, size_t bytes);

/* Opens the CPU reference; fails the test if it cannot. */
dmx_device *dmx_test_cpu(void);

#endif
