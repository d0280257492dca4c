/* dmx_lra_batches: batch counts, every example once per epoch, a seeded order that depends only
 * on (seed, epoch), contents equal to dmx_lra_tokens_batch, and clear errors. */
#include <stdlib.h>
#include <string.h>

#include "dimix/lra_batches.h"
#include "test_util.h"

enum { COUNT = 23, SEQ = 8 };

/* 23 examples of 8 tokens: example i has 1 + i % 8 tokens of value i + k, label i % 10. */
static void make_set(dmx_lra_tokens *set, uint8_t *symbols, int32_t *lengths, uint8_t *labels)
{
    for (int i = 0; i < COUNT; i++) {
        lengths[i] = 1 + i % SEQ;
        labels[i] = (uint8_t)(i % 10);
        for (int k = 0; k < SEQ; k++)
            symbols[i * SEQ + k] = (uint8_t)(k < lengths[i] ? 1 + (i + k) % 17 : 0);
    }
    *set = (dmx_lra_tokens){.count = COUNT, .seq_len = SEQ, .vocab_size = 18, .num_classes = 10,
                            .id_offset = 0, .symbols = symbols, .lengths = lengths,
                            .labels = labels};
}

/* The example index of every row of every batch of `epoch`, in order; each row's ids, mask and
 * label are checked against that example (its first id 1 + i % 17 and its length 1 + i % 8
 * identify example i < 23). */
static void epoch_examples(dmx_batch_source *src, dmx_ctx *ctx, int64_t epoch, int *examples)
{
    int at = 0;
    for (int64_t b = 0; b < src->batches_per_epoch(src->self); b++) {
        dmx_model_input in = {0};
        dmx_tensor *labels = NULL;
        DMX_ASSERT_OK(dmx_ctx_reset(ctx));
        DMX_ASSERT_OK(src->get(src->self, ctx, epoch, b, &in, &labels));
        int64_t rows = in.ids->shape[0];
        assert_int_equal(in.ids->shape[1], SEQ);
        int32_t ids[8 * SEQ], lab[8];
        float mask[8 * SEQ];
        DMX_ASSERT_OK(dmx_tensor_to_host(in.ids, ids, (size_t)rows * SEQ * 4));
        DMX_ASSERT_OK(dmx_tensor_to_host(in.mask, mask, (size_t)rows * SEQ * 4));
        DMX_ASSERT_OK(dmx_tensor_to_host(labels, lab, (size_t)rows * 4));
        for (int64_t r = 0; r < rows; r++) {
            int len = 0;
            while (len < SEQ && mask[r * SEQ + len] == 1.0f)
                len++;
            int found = -1;
            for (int i = 0; i < COUNT; i++)
                if (1 + i % SEQ == len && 1 + i % 17 == ids[r * SEQ])
                    found = i;
            assert_true(found >= 0);
            assert_int_equal(lab[r], found % 10);
            for (int k = 0; k < SEQ; k++)
                assert_int_equal(ids[r * SEQ + k], k < len ? 1 + (found + k) % 17 : 0);
            examples[at++] = found;
        }
    }
    assert_int_equal(at, src->examples_per_epoch(src->self));
}

static void test_batches(void **state)
{
    (void)state;
    uint8_t symbols[COUNT * SEQ], labels[COUNT];
    int32_t lengths[COUNT];
    dmx_lra_tokens set;
    make_set(&set, symbols, lengths, labels);
    dmx_device *dev = dmx_test_cpu();
    dmx_ctx *ctx = NULL;
    DMX_ASSERT_OK(dmx_ctx_create(dev, &ctx));

    dmx_lra_batches *ordered = NULL, *shuffled = NULL, *again = NULL;
    dmx_lra_batch_options keep = {.batch_size = 8}, shuffle = {.batch_size = 8, .shuffle = true,
                                                               .drop_last = true, .seed = 4};
    DMX_ASSERT_OK(dmx_lra_batches_create(&set, &keep, &ordered));
    DMX_ASSERT_OK(dmx_lra_batches_create(&set, &shuffle, &shuffled));
    DMX_ASSERT_OK(dmx_lra_batches_create(&set, &shuffle, &again));
    dmx_batch_source a = dmx_lra_batches_source(ordered), s = dmx_lra_batches_source(shuffled),
                     t = dmx_lra_batches_source(again);
    assert_int_equal(a.batches_per_epoch(a.self), 3); /* 8 + 8 + 7 */
    assert_int_equal(a.examples_per_epoch(a.self), COUNT);
    assert_int_equal(s.batches_per_epoch(s.self), 2); /* the partial batch dropped */
    assert_int_equal(s.examples_per_epoch(s.self), 16);
    assert_int_equal(s.batch_size(s.self), 8);

    int in_order[COUNT], e0[16], e1[16], e1_again[16], e0_again[16];
    epoch_examples(&a, ctx, 0, in_order);
    for (int i = 0; i < COUNT; i++)
        assert_int_equal(in_order[i], i);
    epoch_examples(&s, ctx, 0, e0);
    epoch_examples(&s, ctx, 1, e1);
    epoch_examples(&t, ctx, 1, e1_again); /* a fresh source jumping straight to epoch 1 */
    epoch_examples(&s, ctx, 0, e0_again);
    assert_memory_equal(e1, e1_again, sizeof e1);
    assert_memory_equal(e0, e0_again, sizeof e0);
    assert_memory_not_equal(e0, e1, sizeof e0);
    for (int i = 0; i < 16; i++) /* no example twice within an epoch */
        for (int j = i + 1; j < 16; j++)
            assert_int_not_equal(e0[i], e0[j]);

    dmx_model_input in = {0};
    dmx_tensor *lab = NULL;
    DMX_ASSERT_FAILS(s.get(s.self, ctx, 0, 2, &in, &lab), DMX_ERR_INVALID_ARG, "batch 2");
    dmx_lra_batches *bad = NULL;
    dmx_lra_batch_options too_big = {.batch_size = 24, .drop_last = true};
    DMX_ASSERT_FAILS(dmx_lra_batches_create(&set, &too_big, &bad), DMX_ERR_INVALID_ARG,
                     "no full batch");
    dmx_lra_batch_options zero = {.batch_size = 0};
    DMX_ASSERT_FAILS(dmx_lra_batches_create(&set, &zero, &bad), DMX_ERR_INVALID_ARG,
                     "batch size 0");
    dmx_lra_batches_destroy(ordered);
    dmx_lra_batches_destroy(shuffled);
    dmx_lra_batches_destroy(again);
    dmx_ctx_destroy(ctx);
    dmx_device_close(dev);
}

int main(void)
{
    const struct CMUnitTest tests[] = {cmocka_unit_test(test_batches)};
    return cmocka_run_group_tests(tests, NULL, NULL);
}
