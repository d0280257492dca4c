/* The LRA model against PyTorch: tests/data/lra_{dense,butterfly}_weights.safetensors
 * (tools/make_lra_fixtures.py, a PyTorch module written from the SPEC) load as checkpoints
 * through dmx_checkpoint_load_model; on every device present the batch of
 * lra_*_batch.safetensors (padded sequences of 64, 41, 9 and 1 tokens) must give PyTorch's
 * logits, loss and parameter gradients with a relative error under 1e-5:
 *   err = max_i |got_i - want_i| / max(max_i |want_i|, 1e-2)
 * The floor only touches gradients that are zero analytically (the key biases: a shift of every
 * key's score by q.bk cancels in the softmax; embedding rows of ids the batch lacks). */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "test_util.h"

#define MAX_REL_ERR 1e-5
#define REL_FLOOR 1e-2
#define FIXTURE(name) DIMIX_SOURCE_DIR "/tests/data/lra_" name ".safetensors"

typedef struct lra_fixture {
    const char *kind, *weights, *batch;
} lra_fixture;

static const lra_fixture fixtures[] = {
    {"dense", FIXTURE("dense_weights"), FIXTURE("dense_batch")},
    {"butterfly", FIXTURE("butterfly_weights"), FIXTURE("butterfly_batch")},
};

/* Host copy of a batch-file tensor read as `as` (malloc'd). */
static void *read_tensor(const dmx_st_file *f, const char *name, dmx_st_dtype as, int64_t *numel)
{
    const dmx_st_tensor_info *t = dmx_st_find(f, name);
    if (!t)
        fail_msg("%s: no tensor %s", dmx_st_path(f), name);
    void *data = malloc((size_t)(t->numel ? t->numel : 1) * 4);
    DMX_ASSERT_OK(dmx_st_read(f, name, as, data, (size_t)t->numel * 4));
    if (numel)
        *numel = t->numel;
    return data;
}

/* Relative error of a device tensor against batch-file tensor `name`; fails above the mark.
 * Returns the error. */
static double compare(const dmx_st_file *f, const char *name, const dmx_tensor *got_t,
                      const char *device)
{
    int64_t n = 0;
    float *want = read_tensor(f, name, DMX_ST_F32, &n), *got = dmx_test_read(got_t);
    if (n != dmx_tensor_numel(got_t))
        fail_msg("%s: %s has %lld elements, dimix's %lld", dmx_st_path(f), name, (long long)n,
                 (long long)dmx_tensor_numel(got_t));
    double diff = 0, scale = 0;
    int64_t at = 0;
    for (int64_t i = 0; i < n; i++) {
        double d = fabs((double)got[i] - want[i]);
        if (!(d <= diff)) /* NaN lands here and stays */
            diff = d, at = i;
        scale = fmax(scale, fabs((double)want[i]));
    }
    double err = diff / fmax(scale, REL_FLOOR);
    if (!(err < MAX_REL_ERR))
        fail_msg("%s on %s: %s: relative error %.3g (|diff| %.3g at %lld: got %.9g, want %.9g; "
                 "max |want| %.3g)", dmx_st_path(f), device, name, err, diff, (long long)at,
                 (double)got[at], (double)want[at], scale);
    free(want), free(got);
    return err;
}

/* Loads the weights as a checkpoint on `dev`, checks the configuration text round-trips, runs
 * the batch forward (inference mode, dropout off) and backward, compares everything. */
static void check_fixture(const lra_fixture *fx, dmx_device *dev)
{
    const char *device = dmx_device_info_of(dev)->name;
    dmx_model *model = NULL;
    DMX_ASSERT_OK(dmx_checkpoint_load_model(fx->weights, dev, &model, NULL));
    const dmx_model_config *cfg = dmx_model_config_of(model);
    assert_string_equal(cfg->family, "lra");
    assert_string_equal(cfg->attention, fx->kind);
    dmx_st_file *f = NULL;
    DMX_ASSERT_OK(dmx_st_open(fx->batch, &f));
    char text[DMX_CHECKPOINT_TEXT];
    DMX_ASSERT_OK(dmx_model_config_format(cfg, text, sizeof text));
    assert_string_equal(text, dmx_st_metadata(f, "model")); /* PyTorch wrote what C prints */

    int64_t n_ids = 0, n_labels = 0;
    int32_t *ids = read_tensor(f, "ids", DMX_ST_I32, &n_ids);
    float *mask = read_tensor(f, "mask", DMX_ST_F32, NULL);
    int32_t *labels = read_tensor(f, "labels", DMX_ST_I32, &n_labels);
    assert_int_equal(n_ids, n_labels * cfg->seq_len);
    const int64_t shape[2] = {n_labels, cfg->seq_len};

    dmx_ctx *ctx = NULL;
    DMX_ASSERT_OK(dmx_ctx_create(dev, &ctx));
    dmx_ctx_set_training(ctx, false);
    dmx_model_input in = {0};
    dmx_tensor *label_t = NULL, *logits = NULL, *loss = NULL;
    DMX_ASSERT_OK(dmx_tensor_from_host(ctx, DMX_I32, 2, shape, ids, "ids", &in.ids));
    DMX_ASSERT_OK(dmx_tensor_from_host(ctx, DMX_F32, 2, shape, mask, "mask", &in.mask));
    DMX_ASSERT_OK(dmx_tensor_from_host(ctx, DMX_I32, 1, &n_labels, labels, "labels", &label_t));
    DMX_ASSERT_OK(dmx_model_forward(ctx, model, &in, &logits));
    double logit_err = compare(f, "logits", logits, device);
    DMX_ASSERT_OK(dmx_cross_entropy(ctx, logits, label_t, 0.0f, &loss));
    compare(f, "loss", loss, device);
    DMX_ASSERT_OK(dmx_backward(ctx, loss));

    dmx_params *ps = dmx_model_params(model);
    double worst = 0;
    for (int i = 0; i < dmx_params_count(ps); i++) {
        const dmx_tensor *p = dmx_params_at(ps, i);
        char name[160];
        snprintf(name, sizeof name, "grad.%s", p->name);
        worst = fmax(worst, compare(f, name, p->grad, device));
    }
    printf("lra %-9s on %-9s: logits %.3g, worst gradient %.3g (relative error)\n", fx->kind,
           device, logit_err, worst);
    free(ids), free(mask), free(labels);
    dmx_ctx_destroy(ctx);
    dmx_st_close(f);
    dmx_model_destroy(model);
}

static void test_torch_fixtures_on_every_device(void **state)
{
    (void)state;
    int devices = dmx_device_count();
    for (int d = 0; d < devices; d++) {
        dmx_device_info info;
        DMX_ASSERT_OK(dmx_device_get_info(d, &info));
        dmx_device *dev = NULL;
        DMX_ASSERT_OK(dmx_device_open(info.name, &dev));
        for (size_t k = 0; k < sizeof fixtures / sizeof fixtures[0]; k++)
            check_fixture(&fixtures[k], dev);
        dmx_device_close(dev);
    }
    const char *backends[2] = {"opencl:0", "vulkan:0"};
    for (int b = 0; b < 2; b++) {
        dmx_device *dev = NULL;
        if (dmx_device_open(backends[b], &dev) == DMX_OK)
            dmx_device_close(dev);
        else
            printf("%s: SKIPPED (not present: %s)\n", backends[b], dmx_last_error());
    }
}

/* Padding must not matter: other ids under the padding give bitwise the same logits. */
static void test_padding_is_ignored(void **state)
{
    (void)state;
    dmx_device *dev = dmx_test_cpu();
    dmx_model *model = NULL;
    DMX_ASSERT_OK(dmx_checkpoint_load_model(fixtures[1].weights, dev, &model, NULL));
    dmx_st_file *f = NULL;
    DMX_ASSERT_OK(dmx_st_open(fixtures[1].batch, &f));
    int64_t n = 0;
    int32_t *ids = read_tensor(f, "ids", DMX_ST_I32, &n);
    float *mask = read_tensor(f, "mask", DMX_ST_F32, NULL);
    const int64_t S = dmx_model_config_of(model)->seq_len, shape[2] = {n / S, S};
    dmx_ctx *ctx = NULL;
    DMX_ASSERT_OK(dmx_ctx_create(dev, &ctx));
    dmx_ctx_set_grad(ctx, false);
    dmx_ctx_set_training(ctx, false);
    float *out[2] = {NULL, NULL};
    for (int pass = 0; pass < 2; pass++) {
        if (pass == 1)
            for (int64_t i = 0; i < n; i++)
                if (mask[i] == 0.0f)
                    ids[i] = 1 + (int32_t)(i % 17);
        dmx_model_input in = {0};
        dmx_tensor *logits = NULL;
        DMX_ASSERT_OK(dmx_ctx_reset(ctx));
        DMX_ASSERT_OK(dmx_tensor_from_host(ctx, DMX_I32, 2, shape, ids, "ids", &in.ids));
        DMX_ASSERT_OK(dmx_tensor_from_host(ctx, DMX_F32, 2, shape, mask, "mask", &in.mask));
        DMX_ASSERT_OK(dmx_model_forward(ctx, model, &in, &logits));
        out[pass] = dmx_test_read(logits);
        if (pass == 1)
            assert_memory_equal(out[0], out[1], (size_t)dmx_tensor_numel(logits) * 4);
    }
    free(out[0]), free(out[1]), free(ids), free(mask);
    dmx_ctx_destroy(ctx);
    dmx_st_close(f);
    dmx_model_destroy(model);
    dmx_device_close(dev);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_torch_fixtures_on_every_device),
        cmocka_unit_test(test_padding_is_ignored),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
