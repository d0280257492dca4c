/* Backward of cross_entropy (with and without label smoothing) and embedding (repeated and
 * out-of-range ids) against central finite differences. */
#include <stdlib.h>

#include "gradcheck.h"

static const int32_t ce_labels[6] = {0, 4, 2, 2, 6, 1};

static dmx_status cross_entropy_fn(dmx_ctx *ctx, dmx_tensor *const *in, dmx_tensor **out,
                                   void *user)
{
    const float *smoothing = user;
    const int64_t n = 6;
    dmx_tensor *labels = NULL;
    dmx_status s = dmx_tensor_from_host(ctx, DMX_I32, 1, &n, ce_labels, "labels", &labels);
    return s == DMX_OK ? dmx_cross_entropy(ctx, in[0], labels, *smoothing, out) : s;
}

static void test_cross_entropy_gradients(void **state)
{
    (void)state;
    dmx_device *dev = dmx_test_cpu();
    dmx_test_rng rng = {109};
    const int64_t shape[2] = {6, 7};
    dmx_tensor *in[1];
    DMX_ASSERT_OK(dmx_test_leaf_random(dev, "logits", 2, shape, &rng, -3.0f, 3.0f, &in[0]));
    static const float none = 0.0f, smooth = 0.1f;
    DMX_ASSERT_GRADCHECK(dev, "cross_entropy", cross_entropy_fn, (void *)&none, in, 1, NULL);
    DMX_ASSERT_GRADCHECK(dev, "cross_entropy smoothing 0.1", cross_entropy_fn, (void *)&smooth,
                         in, 1, NULL);
    dmx_test_leaf_free(in[0]);
    dmx_device_close(dev);
}

/* Ids [2, 5] with repeats (3 three times, 0 twice) and out-of-range ids (-1, 7). */
static const int32_t emb_ids[10] = {3, 0, 3, 5, -1, 1, 3, 0, 7, 6};

/* With user != NULL the table first passes through scale(1): then its gradient is a fresh
 * activation gradient, which the scatter-add backward must zero before adding into it. */
static dmx_status embedding_fn(dmx_ctx *ctx, dmx_tensor *const *in, dmx_tensor **out, void *user)
{
    const int64_t shape[2] = {2, 5};
    dmx_tensor *ids = NULL, *table = in[0];
    dmx_status s = dmx_tensor_from_host(ctx, DMX_I32, 2, shape, emb_ids, "ids", &ids);
    if (s == DMX_OK && user)
        s = dmx_scale(ctx, in[0], 1.0f, &table);
    return s == DMX_OK ? dmx_embedding(ctx, ids, table, out) : s;
}

static void test_embedding_gradient(void **state)
{
    (void)state;
    dmx_device *dev = dmx_test_cpu();
    dmx_test_rng rng = {113};
    const int64_t shape[2] = {7, 3};
    dmx_tensor *in[1];
    DMX_ASSERT_OK(dmx_test_leaf_random(dev, "table", 2, shape, &rng, -1.0f, 1.0f, &in[0]));
    /* Rows 2 and 4 are never looked up: their gradient is checked to be zero too. */
    DMX_ASSERT_GRADCHECK(dev, "embedding", embedding_fn, NULL, in, 1, NULL);
    static int via_activation = 1;
    DMX_ASSERT_GRADCHECK(dev, "embedding of an activation", embedding_fn, &via_activation, in, 1,
                         NULL);
    dmx_test_leaf_free(in[0]);
    dmx_device_close(dev);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_cross_entropy_gradients),
        cmocka_unit_test(test_embedding_gradient),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
