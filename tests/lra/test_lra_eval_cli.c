/* `dimix lra eval` through the built CLI: on the PyTorch weights and batches it reproduces
 * PyTorch's logits (dumped with --dump-logits, relative error under 1e-5, dense and butterfly);
 * on ListOps files it reports accuracy, speed and memory; bad input reaches the user as a
 * message naming the file and line (a line that is not Source<TAB>Target, an unknown token, a
 * sequence longer than the model) or the tensor and position (a batch file). */
#include <math.h>

#include "lra_test_util.h"

#define DIMIX DIMIX_BINARY_DIR "/dimix"
#define FIXTURE(name) DIMIX_SOURCE_DIR "/tests/data/lra_" name ".safetensors"

/* max |a - b| / max |b| over n floats of two tensors. */
static double rel_error(const float *got, const float *want, int64_t n)
{
    double diff = 0, scale = 0;
    for (int64_t i = 0; i < n; i++) {
        double d = fabs((double)got[i] - want[i]);
        diff = d > diff || isnan(d) ? d : diff;
        scale = fmax(scale, fabs((double)want[i]));
    }
    return diff / scale;
}

static float *read_f32(const char *path, const char *name, int64_t *numel)
{
    dmx_st_file *f = NULL;
    DMX_ASSERT_OK(dmx_st_open(path, &f));
    const dmx_st_tensor_info *t = dmx_st_find(f, name);
    if (!t)
        fail_msg("%s has no %s", path, name);
    float *v = malloc((size_t)t->numel * 4);
    DMX_ASSERT_OK(dmx_st_read(f, name, DMX_ST_F32, v, (size_t)t->numel * 4));
    *numel = t->numel;
    dmx_st_close(f);
    return v;
}

static void test_torch_weights_through_the_cli(void **state)
{
    (void)state;
    char dir[512], args[2048], dump[600];
    lra_make_temp_dir(dir, sizeof dir, "eval-torch");
    const char *kinds[2] = {"dense", "butterfly"};
    for (int k = 0; k < 2; k++) {
        char weights[256], batch[256];
        snprintf(weights, sizeof weights, DIMIX_SOURCE_DIR "/tests/data/lra_%s_weights"
                 ".safetensors", kinds[k]);
        snprintf(batch, sizeof batch, DIMIX_SOURCE_DIR "/tests/data/lra_%s_batch.safetensors",
                 kinds[k]);
        snprintf(dump, sizeof dump, "%s/logits_%s.safetensors", dir, kinds[k]);
        /* batch size 3: the 4 sequences take two forward passes, the second one short */
        snprintf(args, sizeof args, "lra eval --ckpt '%s' --batch-file '%s' --device cpu "
                 "--batch-size 3 --dump-logits '%s'", weights, batch, dump);
        lra_expect_run(dir, args, 0, "logits: relative error", NULL);
        int64_t n = 0, m = 0;
        float *got = read_f32(dump, "logits", &n), *want = read_f32(batch, "logits", &m);
        assert_int_equal(n, m);
        double err = rel_error(got, want, n);
        printf("dimix lra eval, %s: logits relative error %.3g\n", kinds[k], err);
        assert_true(err < 1e-5);
        /* The training path (--no-plan: gradients allocated, bump arena) and the exported
         * weights give the same logits, bit for bit. */
        char other[600], exported[600];
        const char *how[2] = {"no-plan", "export"};
        snprintf(exported, sizeof exported, "%s/export_%s.safetensors", dir, kinds[k]);
        snprintf(args, sizeof args, "export --ckpt '%s' --out '%s'", weights, exported);
        lra_expect_run(dir, args, 0, NULL, NULL);
        for (int h = 0; h < 2; h++) {
            snprintf(other, sizeof other, "%s/logits_%s_%s.safetensors", dir, kinds[k], how[h]);
            snprintf(args, sizeof args, "lra eval --ckpt '%s' --batch-file '%s' --device cpu "
                     "--batch-size 3 --dump-logits '%s'%s", h ? exported : weights, batch,
                     other, h ? "" : " --no-plan");
            lra_expect_run(dir, args, 0, h ? "activations planned" : "not planned", NULL);
            int64_t n2 = 0;
            float *again = read_f32(other, "logits", &n2);
            assert_int_equal(n2, n);
            assert_memory_equal(again, got, (size_t)n * sizeof *got);
            free(again);
        }
        free(got), free(want);
    }
    lra_remove_tree(dir);
}

/* A small lra checkpoint (seq_len 16, butterfly radix 4) saved from a fresh model. */
static void write_checkpoint(const char *path)
{
    dmx_device *dev = dmx_test_cpu();
    dmx_model_config cfg;
    dmx_model *m = NULL;
    DMX_ASSERT_OK(dmx_model_config_parse("family=lra vocab=18 seq_len=16 classes=10 dim=8 "
                                         "depth=1 heads=2 mlp_hidden=16 head_hidden=8 "
                                         "attention=butterfly attn_radix=4", &cfg));
    DMX_ASSERT_OK(dmx_model_create(dev, &cfg, 3, &m));
    DMX_ASSERT_OK(dmx_checkpoint_save(path, m, NULL, NULL));
    dmx_model_destroy(m);
    dmx_device_close(dev);
}

static void test_listops_files(void **state)
{
    (void)state;
    char dir[512], ckpt[600], args[2048], tsv[700];
    lra_make_temp_dir(dir, sizeof dir, "eval-listops");
    snprintf(ckpt, sizeof ckpt, "%s/model.safetensors", dir);
    write_checkpoint(ckpt);
    snprintf(tsv, sizeof tsv, "%s/basic_test.tsv", dir);
    lra_write_text(tsv, "Source\tTarget\n( ( [MAX 2 ) 9 ) ] )\t9\n( [SM 1 2 ] )\t3\n"
                        "( ( [MIN 4 ) 7 ) ] )\t4\n");
    snprintf(args, sizeof args, "lra eval --ckpt '%s' --data '%s' --task listops --batch 2",
             ckpt, dir);
    lra_expect_run(dir, args, 0, "sequences/s", NULL);
    lra_expect_run(dir, args, 0, "/3), loss", NULL);
    lra_expect_run(dir, args, 0, "activations (peak)", NULL);
    /* bad lines: each message names the file and the line */
    static const struct {
        const char *text, *needle;
    } bad[] = {
        {"Source\tTarget\n( [SM 1 2 ] )\t3\n( [MAX 2 9 ] ) 9\n", "basic_test.tsv:3: no tab"},
        {"Source\tTarget\n( [SM 1 2 ] )\t3\n( [AVG 2 9 ] )\t9\n",
         "basic_test.tsv:3: unknown token '[AVG'"},
        {"Source\tTarget\n( [SM 1 2 3 4 5 6 7 8 9 1 2 3 4 5 6 7 8 9 1 2 3 4 5 6 7 ] )\t3\n",
         "basic_test.tsv:2: more than 16 tokens"},
        {"Source\tTarget\n( [SM 1 2 ] )\tx\n", "basic_test.tsv:2: Target 'x'"},
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        lra_write_text(tsv, bad[i].text);
        lra_expect_run(dir, args, 1, bad[i].needle, NULL);
    }
    lra_write_text(tsv, "Source\tTarget\n( [SM 1 2 ] )\t3\n");
    snprintf(args, sizeof args, "lra eval --preset lra-listops-dense seq_len=16 --data '%s' "
             "--task listops", dir);
    lra_expect_run(dir, args, 0, "attention=dense heads=2", NULL);
    snprintf(args, sizeof args, "lra eval --preset lra-listops seq_len=17 --data '%s' "
             "--task listops", dir);
    lra_expect_run(dir, args, 1, "seq_len 17", NULL);
    snprintf(args, sizeof args, "lra eval --preset lra-listops =8 --data '%s' "
             "--task listops", dir);
    lra_expect_run(dir, args, 1, "'=8' is not KNOB=VALUE", NULL);
    lra_remove_tree(dir);
}

/* A batch file whose sequences are longer than the model, or with an id it lacks. */
static void test_bad_batch_files(void **state)
{
    (void)state;
    char dir[512], ckpt[600], path[700], args[2048];
    lra_make_temp_dir(dir, sizeof dir, "eval-batch");
    snprintf(ckpt, sizeof ckpt, "%s/model.safetensors", dir);
    write_checkpoint(ckpt);
    snprintf(path, sizeof path, "%s/batch.safetensors", dir);
    for (int variant = 0; variant < 2; variant++) {
        const int64_t S = variant == 0 ? 32 : 16, shape[2] = {2, S}, rows = 2;
        int32_t ids[64] = {0}, labels[2] = {1, 2};
        float mask[64] = {0};
        for (int i = 0; i < 2 * S; i++)
            ids[i] = 1, mask[i] = 1.0f;
        if (variant == 1)
            ids[S + 5] = 18; /* vocab is 18: ids 0..17 */
        dmx_st_writer *w = NULL;
        DMX_ASSERT_OK(dmx_st_writer_create(&w));
        DMX_ASSERT_OK(dmx_st_writer_add(w, "ids", DMX_ST_I32, 2, shape, ids));
        DMX_ASSERT_OK(dmx_st_writer_add(w, "mask", DMX_ST_F32, 2, shape, mask));
        DMX_ASSERT_OK(dmx_st_writer_add(w, "labels", DMX_ST_I32, 1, &rows, labels));
        DMX_ASSERT_OK(dmx_st_writer_save(w, path));
        dmx_st_writer_destroy(w);
        snprintf(args, sizeof args, "lra eval --ckpt '%s' --batch-file '%s'", ckpt, path);
        lra_expect_run(dir, args, 1, variant == 0 ? "batch.safetensors: sequences of 32 tokens are "
                                                    "longer than the model's seq_len 16"
                                                  : "batch.safetensors: ids[1][5] = 18", NULL);
    }
    /* Pathfinder images of 8 x 8 = 64 pixels for a model of 16 tokens */
    uint8_t labels8[2] = {0, 1}, pixels[2 * 64] = {0};
    snprintf(path, sizeof path, "%s/pf8.pfb", dir);
    DMX_ASSERT_OK(dmx_pathfinder_write(path, 8, 2, labels8, pixels));
    snprintf(args, sizeof args, "lra eval --ckpt '%s' --data '%s' --task pathfinder", ckpt,
             path);
    lra_expect_run(dir, args, 1, "pf8.pfb: sequences of 64 tokens, the model takes 16 (seq_len)",
                   NULL);
    lra_expect_run(dir, "lra eval --batch-file x", 2, "needs --ckpt FILE", NULL);
    snprintf(args, sizeof args, "lra eval --ckpt '%s' --data '%s' --task sudoku", ckpt, dir);
    lra_expect_run(dir, args, 1, "unknown LRA task 'sudoku'", NULL);
    lra_expect_run(dir, "lra --help", 0, "eval ", NULL);
    lra_remove_tree(dir);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_torch_weights_through_the_cli),
        cmocka_unit_test(test_listops_files),
        cmocka_unit_test(test_bad_batch_files),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
