/* dimix train and dimix eval as a user runs them: a short run on synthetic data writes its
 * logs, curves and checkpoint and eval reads the checkpoint back; malformed data files and bad
 * options fail with an exit status and a message naming what is wrong. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "test_util.h"

#define DIMIX DIMIX_BINARY_DIR "/dimix"

/* Runs a shell command, returns its exit status and its stdout+stderr in out (cap bytes). */
static int run(const char *cmd, char *out, size_t cap)
{
    char full[2048];
    snprintf(full, sizeof full, "%s 2>&1", cmd);
    FILE *p = popen(full, "r");
    assert_non_null(p);
    size_t n = fread(out, 1, cap - 1, p);
    out[n] = '\0';
    int st = pclose(p);
    return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

static char dir[] = "/tmp/dimix_cli_XXXXXX";
static char out[65536];

static void test_short_run_then_eval(void **state)
{
    (void)state;
    char cmd[1024];
    snprintf(cmd, sizeof cmd, "%s train --data synthetic:1:8:3:96 --model mixer patch=2 dim=9 "
             "depth=1 token_radix=4 channel_radix=3 token_mix=butterfly_mlp "
             "channel_mix=butterfly_mlp --epochs 2 --batch 16 --out %s/run", DIMIX, dir);
    int rc = run(cmd, out, sizeof out);
    if (rc != 0)
        fail_msg("train exited %d:\n%s", rc, out);
    assert_non_null(strstr(out, "parameters"));
    assert_non_null(strstr(out, "epoch 2/2: train loss"));
    assert_non_null(strstr(out, "test accuracy"));
    const char *files[] = {"log.csv", "epochs.csv", "curves.svg", "checkpoint.safetensors"};
    for (int i = 0; i < 4; i++) {
        char path[512];
        struct stat st;
        snprintf(path, sizeof path, "%s/run/%s", dir, files[i]);
        if (stat(path, &st) != 0 || st.st_size == 0)
            fail_msg("%s missing or empty", path);
    }
    snprintf(cmd, sizeof cmd, "%s eval --ckpt %s/run/checkpoint.safetensors --data "
             "synthetic:1:8:3:96 --dump-logits %s/logits.safetensors", DIMIX, dir, dir);
    rc = run(cmd, out, sizeof out);
    if (rc != 0)
        fail_msg("eval exited %d:\n%s", rc, out);
    assert_non_null(strstr(out, "accuracy"));
    assert_non_null(strstr(out, "confusion matrix"));
}

static void write_bytes(const char *path, const void *data, size_t n)
{
    FILE *f = fopen(path, "wb");
    assert_non_null(f);
    assert_int_equal(fwrite(data, 1, n, f), n);
    fclose(f);
}

static void test_malformed_data_is_a_clear_error(void **state)
{
    (void)state;
    char data[512], path[600], cmd[1024];
    snprintf(data, sizeof data, "%s/bad-mnist", dir);
    mkdir(data, 0777);
    /* images claim 100 28x28 images but hold 10 bytes; labels are fine */
    const unsigned char images[] = {0, 0, 8, 3, 0, 0, 0, 100, 0, 0, 0, 28, 0, 0, 0, 28,
                                    1, 2, 3, 4, 5, 6, 7, 8, 9, 10};
    unsigned char labels[108] = {0, 0, 8, 1, 0, 0, 0, 100};
    snprintf(path, sizeof path, "%s/train-images-idx3-ubyte", data);
    write_bytes(path, images, sizeof images);
    snprintf(path, sizeof path, "%s/train-labels-idx1-ubyte", data);
    write_bytes(path, labels, sizeof labels);
    snprintf(path, sizeof path, "%s/t10k-images-idx3-ubyte", data);
    write_bytes(path, images, sizeof images);
    snprintf(path, sizeof path, "%s/t10k-labels-idx1-ubyte", data);
    write_bytes(path, labels, sizeof labels);
    snprintf(cmd, sizeof cmd, "%s train --data %s --epochs 1 --out %s/never", DIMIX, data, dir);
    int rc = run(cmd, out, sizeof out);
    assert_int_not_equal(rc, 0);
    if (!strstr(out, "train-images-idx3-ubyte"))
        fail_msg("the message does not name the file:\n%s", out);
    /* a wrong magic number */
    snprintf(path, sizeof path, "%s/train-images-idx3-ubyte", data);
    const unsigned char bad_magic[16] = {0, 0, 9, 9};
    write_bytes(path, bad_magic, sizeof bad_magic);
    rc = run(cmd, out, sizeof out);
    assert_int_not_equal(rc, 0);
    assert_non_null(strstr(out, "magic"));
}

static void test_bad_options_fail_with_usage_errors(void **state)
{
    (void)state;
    char cmd[512];
    snprintf(cmd, sizeof cmd, "%s train --data synthetic --preset e9", DIMIX);
    assert_int_not_equal(run(cmd, out, sizeof out), 0);
    assert_non_null(strstr(out, "unknown model preset 'e9'"));
    snprintf(cmd, sizeof cmd, "%s train --data synthetic --model mixer heads=3", DIMIX);
    assert_int_not_equal(run(cmd, out, sizeof out), 0);
    assert_non_null(strstr(out, "no knob 'heads'"));
    snprintf(cmd, sizeof cmd, "%s train --frobnicate", DIMIX);
    assert_int_equal(run(cmd, out, sizeof out), 2);
    snprintf(cmd, sizeof cmd, "%s train --model vit --help", DIMIX);
    assert_int_equal(run(cmd, out, sizeof out), 0);
    assert_non_null(strstr(out, "attention"));
    assert_non_null(strstr(out, "e1-butterfly-mlp"));
    assert_null(strstr(out, "lra-listops")); /* LRA presets belong to dimix lra train */
    snprintf(cmd, sizeof cmd, "%s train --data synthetic --preset lra-listops", DIMIX);
    assert_int_not_equal(run(cmd, out, sizeof out), 0);
    assert_non_null(strstr(out, "dimix lra train"));
    /* Patch-Only's image follows k1 * k2 unless set; a mismatching image is named. */
    snprintf(cmd, sizeof cmd, "%s train --data synthetic:1:8:3:32 --model patchonly depth=1 "
             "k1=2 k2=3 --max-steps 1 --batch 8 --out %s/not/yet/po", DIMIX, dir); /* mkdir -p */
    if (run(cmd, out, sizeof out) != 0)
        fail_msg("patchonly k1=2 k2=3 failed:\n%s", out);
    assert_non_null(strstr(out, "image=6 "));
    snprintf(cmd, sizeof cmd, "%s train --data synthetic:1:8:3:32 --model patchonly k1=2 k2=3 "
             "image=8 --max-steps 1", DIMIX);
    assert_int_not_equal(run(cmd, out, sizeof out), 0);
    assert_non_null(strstr(out, "image 8 must equal k1 * k2"));
    /* an output directory that cannot be made is named with the reason */
    snprintf(cmd, sizeof cmd, "%s/file", dir);
    write_bytes(cmd, "x", 1);
    snprintf(cmd, sizeof cmd, "%s train --data synthetic --max-steps 1 --out %s/file/run", DIMIX,
             dir);
    assert_int_not_equal(run(cmd, out, sizeof out), 0);
    assert_non_null(strstr(out, "/file: exists and is not a directory"));
    snprintf(cmd, sizeof cmd, "%s eval --ckpt /nonexistent.safetensors --data synthetic", DIMIX);
    assert_int_not_equal(run(cmd, out, sizeof out), 0);
    assert_non_null(strstr(out, "/nonexistent.safetensors"));
}

int main(void)
{
    if (!mkdtemp(dir))
        return 1;
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_short_run_then_eval),
        cmocka_unit_test(test_malformed_data_is_a_clear_error),
        cmocka_unit_test(test_bad_options_fail_with_usage_errors),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
