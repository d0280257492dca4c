/* Model presets reproduce the papers' parameter counts (notes/papers.md 1.9, Tables 3, 4, 7),
 * every family runs a forward pass, and configurations round-trip through text. */
#include <stdio.h>
#include <string.h>

#include "dimix/models.h"
#include "test_util.h"

typedef struct count_case {
    const char *preset;
    int64_t params;
} count_case;

static const count_case paper_counts[] = {
    {"e1-dense", 351675},            {"e1-butterfly-linear", 140961},
    {"e1-butterfly-mlp", 143551},    {"e1x2-dense", 615288},
    {"e1x2-butterfly-linear", 193860}, {"e1x2-butterfly-mlp", 197745},
    {"e2-vit", 618122},              {"e2-vit-8", 1148042},
    {"e2-vit-p2", 298570},           {"e3-patchonly", 807082},
};

static void test_presets_match_paper_parameter_counts(void **state)
{
    (void)state;
    dmx_device *dev = dmx_test_cpu();
    int wrong = 0;
    for (size_t i = 0; i < sizeof paper_counts / sizeof paper_counts[0]; i++) {
        dmx_model_config cfg;
        dmx_model *m = NULL;
        DMX_ASSERT_OK(dmx_model_preset(paper_counts[i].preset, &cfg));
        DMX_ASSERT_OK(dmx_model_create(dev, &cfg, 1, &m));
        int64_t got = dmx_params_trainable_count(dmx_model_params(m));
        printf("  %-24s %8lld parameters (paper %lld)\n", paper_counts[i].preset, (long long)got,
               (long long)paper_counts[i].params);
        if (got != paper_counts[i].params)
            wrong++;
        dmx_model_destroy(m);
    }
    dmx_device_close(dev);
    assert_int_equal(wrong, 0);
}

static void test_butterfly_attention_keeps_vit_parameter_count(void **state)
{
    (void)state; /* butterfly attention shares the block weights across groups */
    dmx_device *dev = dmx_test_cpu();
    dmx_model_config dense, bf;
    dmx_model *a = NULL, *b = NULL;
    DMX_ASSERT_OK(dmx_model_preset("e2-vit", &dense));
    DMX_ASSERT_OK(dmx_model_preset("e2-vit-butterfly", &bf));
    DMX_ASSERT_OK(dmx_model_create(dev, &dense, 1, &a));
    DMX_ASSERT_OK(dmx_model_create(dev, &bf, 1, &b));
    assert_int_equal(dmx_params_trainable_count(dmx_model_params(a)),
                     dmx_params_trainable_count(dmx_model_params(b)));
    dmx_model_destroy(a);
    dmx_model_destroy(b);
    dmx_device_close(dev);
}

static void test_every_family_runs_forward(void **state)
{
    (void)state;
    static const char *const small[] = {
        "family=mixer channels=1 image=8 classes=3 patch=2 dim=9 depth=2 "
        "token_mix=butterfly_mlp channel_mix=butterfly_linear expansion=2",
        "family=mixer channels=2 image=8 classes=3 patch=4 dim=4 depth=1 token_mix=dense "
        "channel_mix=butterfly_mlp channel_radix=2 expansion=1",
        "family=vit channels=3 image=8 classes=4 patch=2 dim=8 depth=2 heads=2 "
        "attention=butterfly",
        "family=patchonly channels=1 image=6 classes=2 k1=2 k2=3 depth=1",
        "family=imixer channels=1 image=8 classes=5 patch=2 dim=8 depth=1 token_ratio=0.5 "
        "h_ratio=2 n_iter=2 n_power=2 mlp_ratio=2",
    };
    dmx_device *dev = dmx_test_cpu();
    dmx_ctx *ctx = NULL;
    DMX_ASSERT_OK(dmx_ctx_create(dev, &ctx));
    dmx_test_rng rng = {3};
    for (size_t i = 0; i < sizeof small / sizeof small[0]; i++) {
        dmx_model_config cfg;
        dmx_model *m = NULL;
        DMX_ASSERT_OK(dmx_model_config_defaults("mixer", &cfg));
        DMX_ASSERT_OK(dmx_model_config_parse(small[i], &cfg));
        DMX_ASSERT_OK(dmx_model_create(dev, &cfg, 7, &m));
        const int64_t shape[4] = {3, cfg.channels, cfg.image, cfg.image};
        float img[3 * 3 * 8 * 8];
        dmx_test_fill(&rng, img, (size_t)(3 * cfg.channels * cfg.image * cfg.image), -1, 1);
        dmx_tensor *x = NULL, *logits = NULL;
        DMX_ASSERT_OK(dmx_ctx_reset(ctx));
        DMX_ASSERT_OK(dmx_tensor_from_host(ctx, DMX_F32, 4, shape, img, "images", &x));
        dmx_model_input in = {.images = x};
        DMX_ASSERT_OK(dmx_model_forward(ctx, m, &in, &logits));
        assert_int_equal(logits->ndim, 2);
        assert_int_equal(logits->shape[0], 3);
        assert_int_equal(logits->shape[1], cfg.classes);
        dmx_model_destroy(m);
    }
    dmx_ctx_destroy(ctx);
    dmx_device_close(dev);
}

static void test_config_text_round_trip_and_errors(void **state)
{
    (void)state;
    dmx_model_config a, b;
    char text[2048], again[2048];
    DMX_ASSERT_OK(dmx_model_preset("e1-butterfly-mlp", &a));
    DMX_ASSERT_OK(dmx_model_config_format(&a, text, sizeof text));
    DMX_ASSERT_OK(dmx_model_config_parse(text, &b));
    DMX_ASSERT_OK(dmx_model_config_format(&b, again, sizeof again));
    assert_string_equal(text, again);
    assert_true(memcmp(&a, &b, sizeof a) == 0);
    DMX_ASSERT_FAILS(dmx_model_config_set(&a, "heads", "8"), DMX_ERR_INVALID_ARG,
                     "model mixer has no knob 'heads'");
    DMX_ASSERT_FAILS(dmx_model_config_set(&a, "dim", "-3"), DMX_ERR_INVALID_ARG, "dim");
    DMX_ASSERT_FAILS(dmx_model_preset("e9", &a), DMX_ERR_NOT_FOUND, "e1-dense");
    DMX_ASSERT_FAILS(dmx_model_config_parse("dim=3", &a), DMX_ERR_FORMAT, "family=");
    DMX_ASSERT_OK(dmx_model_preset("e1-dense", &a));
    DMX_ASSERT_OK(dmx_model_config_set(&a, "patch", "5"));
    DMX_ASSERT_FAILS(dmx_model_config_check(&a), DMX_ERR_SHAPE, "not a multiple of patch 5");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_presets_match_paper_parameter_counts),
        cmocka_unit_test(test_butterfly_attention_keeps_vit_parameter_count),
        cmocka_unit_test(test_every_family_runs_forward),
        cmocka_unit_test(test_config_text_round_trip_and_errors),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
