/* Gradient checks against central finite differences.
 *
 * For a function out = f(inputs) the check uses the scalar L = sum_i out_i r_i with a fixed
 * random r, computed on the host in double. The analytic gradient comes from dmx_backward; the
 * numeric one from (L(x + eps) - L(x - eps)) / (2 eps) per checked element. The analytic pass
 * runs on an activation arena pre-filled with NaN (dmx_test_poison_arena), so a backward that
 * adds into a gradient it should overwrite, or a forward that reads its output, fails too. */
#ifndef DMX_TEST_GRADCHECK_H
#define DMX_TEST_GRADCHECK_H

#include "test_util.h"

typedef dmx_status (*dmx_gradcheck_fn)(dmx_ctx *ctx, dmx_tensor *const *inputs, dmx_tensor **out,
                                       void *user);

typedef struct dmx_gradcheck_opts {
    double eps;      /* step; default 1e-3 */
    double atol;     /* default 5e-4 */
    double rtol;     /* default 2e-3 */
    int max_checks;  /* elements checked per input; default 48 (all when fewer) */
    uint64_t seed;   /* for r and the element choice */
} dmx_gradcheck_opts;

/* Checks every input flagged DMX_TENSOR_REQUIRES_GRAD (make them with dmx_test_leaf; inputs
 * without the flag, such as labels, are left alone). Prints failures with input name, index,
 * numeric and analytic values. Returns the number of failing elements, or (size_t)-1 when the
 * function itself failed. */
size_t dmx_gradcheck(dmx_device *dev, const char *what, dmx_gradcheck_fn fn, void *user,
                     dmx_tensor *const *inputs, int n_inputs, const dmx_gradcheck_opts *opts);

#define DMX_ASSERT_GRADCHECK(dev, what, fn, user, inputs, n, opts) \
    assert_int_equal(dmx_gradcheck((dev), (what), (fn), (user), (inputs), (n), (opts)), 0)

#endif
