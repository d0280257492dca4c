/* The LRA model family: presets, configuration checks, input checks, dropout only in training,
 * and sequences without any token. Its numbers against PyTorch are test_lra_model_torch. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "test_util.h"

/* Parameter counts of the E4 presets, derived by hand from papers.md 1.10 (D 64, 2 layers,
 * MLP 128, head 128): embed V*64 + pos S*64 + 2 blocks * 33472 + norm 128 + head.fc1 8320 +
 * head.fc2 (128 + 1) classes. Butterfly attention shares each block's weights across groups,
 * so dense and butterfly count the same. */
static void test_presets(void **state)
{
    (void)state;
    static const struct {
        const char *preset, *attention;
        int64_t params, radix, seq_len;
    } cases[] = {
        {"lra-listops", "butterfly", 18 * 64 + 2048 * 64 + 66944 + 128 + 8320 + 1290, 64, 2048},
        {"lra-listops-dense", "dense", 18 * 64 + 2048 * 64 + 66944 + 128 + 8320 + 1290, 64, 2048},
        {"lra-pathfinder", "butterfly", 257 * 64 + 1024 * 64 + 66944 + 128 + 8320 + 258, 128,
         1024},
        {"lra-pathfinder-dense", "dense", 257 * 64 + 1024 * 64 + 66944 + 128 + 8320 + 258, 128,
         1024},
    };
    dmx_device *dev = dmx_test_cpu();
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        dmx_model_config cfg;
        dmx_model *m = NULL;
        DMX_ASSERT_OK(dmx_model_preset(cases[i].preset, &cfg));
        assert_string_equal(cfg.attention, cases[i].attention);
        assert_int_equal(cfg.attn_radix, cases[i].radix);
        assert_int_equal(cfg.seq_len, cases[i].seq_len);
        assert_true(cfg.dropout == 0.1f && cfg.dim == 64 && cfg.depth == 2 && cfg.heads == 2);
        DMX_ASSERT_OK(dmx_model_create(dev, &cfg, 1, &m));
        printf("  %-22s %lld parameters\n", cases[i].preset,
               (long long)dmx_params_trainable_count(dmx_model_params(m)));
        assert_int_equal(dmx_params_trainable_count(dmx_model_params(m)), cases[i].params);
        dmx_params *ps = dmx_model_params(m);
        const char *names[] = {"embed.weight", "pos_embed", "blocks.1.attn.o.bias",
                               "blocks.0.norm2.weight", "blocks.1.mlp.fc2.weight", "norm.bias",
                               "head.fc1.weight", "head.fc2.bias"};
        for (size_t k = 0; k < sizeof names / sizeof names[0]; k++)
            assert_non_null(dmx_params_find(ps, names[k]));
        dmx_model_destroy(m);
    }
    dmx_device_close(dev);
}

static void expect_bad_config(const char *text, const char *needle)
{
    dmx_model_config cfg;
    DMX_ASSERT_OK(dmx_model_config_parse(text, &cfg));
    dmx_status s = dmx_model_config_check(&cfg);
    if (s == DMX_OK)
        fail_msg("'%s' was accepted", text);
    if (!strstr(dmx_last_error(), needle))
        fail_msg("'%s': message \"%s\" lacks \"%s\"", text, dmx_last_error(), needle);
}

static void test_config_checks(void **state)
{
    (void)state;
    expect_bad_config("family=lra seq_len=100 attn_radix=64", "attn_radix 64");
    expect_bad_config("family=lra seq_len=96 attn_radix=8", "seq_len 96");
    expect_bad_config("family=lra dim=63 heads=2", "not a multiple of heads");
    expect_bad_config("family=lra attention=sparse", "not dense or butterfly");
    expect_bad_config("family=lra dropout=1", "dropout");
    expect_bad_config("family=lra vocab=1", "vocab");
    expect_bad_config("family=lra head_hidden=0", "head_hidden");
    dmx_model_config cfg;
    DMX_ASSERT_OK(dmx_model_config_parse("family=lra seq_len=100 attention=dense", &cfg));
    DMX_ASSERT_OK(dmx_model_config_check(&cfg)); /* dense attention takes any length */
    /* the post-norm block has no dropout and says so rather than ignoring it */
    dmx_device *dev = dmx_test_cpu();
    dmx_params *ps = NULL;
    DMX_ASSERT_OK(dmx_params_create(dev, &ps));
    dmx_block_config bc = {.dim = 8, .heads = 2, .hidden = 16, .eps = 1e-5f, .dropout = 0.1f};
    dmx_nn_transformer_block blk;
    DMX_ASSERT_FAILS(dmx_transformer_block_init(ps, "b", &bc, &blk), DMX_ERR_INVALID_ARG,
                     "pre-norm");
    dmx_params_destroy(ps);
    dmx_device_close(dev);
}

#define SMALL "family=lra vocab=9 seq_len=16 classes=3 dim=8 depth=2 heads=2 mlp_hidden=16 " \
              "head_hidden=8 attention=butterfly attn_radix=4 "
enum { B = 3, S = 16 };

/* Logits [B, 3] of `text` (seed 5) on a fixed batch; mode and dropout seed as given. */
static void run_small(const char *text, bool training, uint64_t seed, const int32_t *lengths,
                      float *logits_out)
{
    dmx_device *dev = dmx_test_cpu();
    dmx_model_config cfg;
    dmx_model *m = NULL;
    DMX_ASSERT_OK(dmx_model_config_parse(text, &cfg));
    DMX_ASSERT_OK(dmx_model_create(dev, &cfg, 5, &m));
    int32_t ids[B * S];
    float mask[B * S];
    for (int b = 0; b < B; b++)
        for (int s = 0; s < S; s++) {
            mask[b * S + s] = s < lengths[b] ? 1.0f : 0.0f;
            ids[b * S + s] = s < lengths[b] ? 1 + (b * 7 + s * 3) % 8 : 0;
        }
    dmx_ctx *ctx = NULL;
    DMX_ASSERT_OK(dmx_ctx_create(dev, &ctx));
    dmx_ctx_set_training(ctx, training);
    dmx_ctx_set_seed(ctx, seed);
    const int64_t shape[2] = {B, S};
    dmx_model_input in = {0};
    dmx_tensor *logits = NULL;
    DMX_ASSERT_OK(dmx_tensor_from_host(ctx, DMX_I32, 2, shape, ids, "ids", &in.ids));
    DMX_ASSERT_OK(dmx_tensor_from_host(ctx, DMX_F32, 2, shape, mask, "mask", &in.mask));
    DMX_ASSERT_OK(dmx_model_forward(ctx, m, &in, &logits));
    DMX_ASSERT_OK(dmx_tensor_to_host(logits, logits_out, B * 3 * sizeof(float)));
    dmx_ctx_destroy(ctx);
    dmx_model_destroy(m);
    dmx_device_close(dev);
}

static void test_dropout_only_in_training(void **state)
{
    (void)state;
    const int32_t lengths[B] = {16, 11, 5};
    float eval_mode[B * 3], no_dropout[B * 3], train_a[B * 3], train_b[B * 3], other[B * 3];
    run_small(SMALL "dropout=0.1", false, 1, lengths, eval_mode);
    run_small(SMALL "dropout=0", true, 1, lengths, no_dropout);
    run_small(SMALL "dropout=0.1", true, 1, lengths, train_a);
    run_small(SMALL "dropout=0.1", true, 1, lengths, train_b);
    run_small(SMALL "dropout=0.1", true, 2, lengths, other);
    assert_memory_equal(eval_mode, no_dropout, sizeof eval_mode); /* the knob leaves the weights */
    assert_memory_equal(train_a, train_b, sizeof train_a);       /* masks come from the seed */
    assert_memory_not_equal(train_a, eval_mode, sizeof train_a);
    assert_memory_not_equal(train_a, other, sizeof train_a);
}

/* A sequence without tokens pools to zeros (no division by zero); other rows are untouched. */
static void test_empty_sequence(void **state)
{
    (void)state;
    const int32_t lengths[B] = {16, 0, 5}, lengths_ref[B] = {16, 3, 5};
    float got[B * 3], ref[B * 3];
    run_small(SMALL, false, 1, lengths, got);
    run_small(SMALL, false, 1, lengths_ref, ref);
    for (int i = 0; i < B * 3; i++)
        assert_true(isfinite(got[i]));
    assert_memory_equal(got, ref, 3 * sizeof(float));
    assert_memory_equal(got + 6, ref + 6, 3 * sizeof(float));
}

static void test_input_checks(void **state)
{
    (void)state;
    dmx_device *dev = dmx_test_cpu();
    dmx_model_config cfg;
    dmx_model *m = NULL;
    DMX_ASSERT_OK(dmx_model_config_parse(SMALL, &cfg));
    DMX_ASSERT_OK(dmx_model_create(dev, &cfg, 5, &m));
    dmx_ctx *ctx = NULL;
    DMX_ASSERT_OK(dmx_ctx_create(dev, &ctx));
    dmx_tensor *ids = NULL, *short_ids = NULL, *mask = NULL, *fmask = NULL, *logits = NULL;
    const int64_t shape[2] = {2, S}, short_shape[2] = {2, S - 4};
    DMX_ASSERT_OK(dmx_tensor_new(ctx, DMX_I32, 2, shape, "ids", &ids));
    DMX_ASSERT_OK(dmx_tensor_new(ctx, DMX_I32, 2, short_shape, "short_ids", &short_ids));
    DMX_ASSERT_OK(dmx_tensor_new(ctx, DMX_I32, 2, shape, "int_mask", &mask));
    DMX_ASSERT_OK(dmx_tensor_new(ctx, DMX_F32, 2, short_shape, "short_mask", &fmask));
    dmx_model_input no_mask = {.ids = ids}, too_short = {.ids = short_ids, .mask = fmask},
                    int_mask = {.ids = ids, .mask = mask};
    DMX_ASSERT_FAILS(dmx_model_forward(ctx, m, &no_mask, &logits), DMX_ERR_INVALID_ARG, "mask");
    DMX_ASSERT_FAILS(dmx_model_forward(ctx, m, &too_short, &logits), DMX_ERR_SHAPE,
                     "expected [B, 16] I32");
    DMX_ASSERT_FAILS(dmx_model_forward(ctx, m, &int_mask, &logits), DMX_ERR_SHAPE, "int_mask");
    dmx_ctx_destroy(ctx);
    dmx_model_destroy(m);
    dmx_device_close(dev);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_presets),
        cmocka_unit_test(test_config_checks),
        cmocka_unit_test(test_dropout_only_in_training),
        cmocka_unit_test(test_empty_sequence),
        cmocka_unit_test(test_input_checks),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
