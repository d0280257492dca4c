/* The CLI against a user's mistakes (issue 15), through the built dimix: resume takes the
 * checkpoint's model, data and settings and refuses what contradicts them (exit 2), with
 * --extend the one change allowed; resuming a finished run names no file it did not write;
 * every number option is strict and range-checked; --max-steps keeps the full schedule; an
 * absent parity device and a data file that is not a folder are errors; a run folder has one
 * writer at a time; --json summaries are JSON. */
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "io/json.h"
#include "test_util.h"

#define DIMIX DIMIX_BINARY_DIR "/dimix"
#define MODEL "--model mixer patch=2 dim=9 depth=1 token_radix=4 channel_radix=3 " \
              "token_mix=butterfly_mlp channel_mix=butterfly_mlp"
#define DATA "synthetic:1:8:3:96"

static char dir[] = "/tmp/dimix_harden_XXXXXX";
static char out[65536];

/* Runs a shell command; its exit status, and its output in out (stderr too unless
 * stdout_only). */
static int run_cmd(const char *cmd, bool stdout_only)
{
    char full[4096];
    snprintf(full, sizeof full, "%s %s", cmd, stdout_only ? "2>/dev/null" : "2>&1");
    FILE *p = popen(full, "r");
    assert_non_null(p);
    size_t n = fread(out, 1, sizeof out - 1, p);
    out[n] = '\0';
    int st = pclose(p);
    return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

/* dimix ARGS must exit `rc` and print each of the (up to two) texts. */
static void expect(int rc, const char *args, const char *text, const char *text2)
{
    char cmd[2048];
    snprintf(cmd, sizeof cmd, "%s %s", DIMIX, args);
    int got = run_cmd(cmd, false);
    if (got != rc || (text && !strstr(out, text)) || (text2 && !strstr(out, text2)))
        fail_msg("dimix %s: exit %d (expected %d), output lacks \"%s\" / \"%s\":\n%s", args, got,
                 rc, text ? text : "", text2 ? text2 : "", out);
}

static bool exists(const char *path)
{
    struct stat st;
    return stat(path, &st) == 0;
}

/* A finished 2-epoch run in <dir>/<name>: 12 steps of batch 16. */
static void train_run(const char *name)
{
    char args[1024];
    snprintf(args, sizeof args, "train --data %s " MODEL " --epochs 2 --batch 16 --device cpu "
             "--out %s/%s", DATA, dir, name);
    expect(0, args, "done: 12 steps", NULL);
}

static void test_resume_takes_over_and_refuses_contradictions(void **state)
{
    (void)state;
    train_run("r1");
    char ck[600], args[2048];
    snprintf(ck, sizeof ck, "%s/r1/checkpoint.safetensors", dir);
    /* the case: another batch and learning rate */
    snprintf(args, sizeof args, "train --resume %s --batch 32 --lr 0.5 --epochs 2", ck);
    expect(2, args, "--batch 32 contradicts the checkpoint, which records batch=16",
           "--lr 0.5 contradicts the checkpoint, which records lr=0.001");
    /* the same values are no contradiction; 1e-3 is 0.001 */
    snprintf(args, sizeof args, "train --resume %s --batch 16 --lr 1e-3", ck);
    expect(0, args, "nothing to train", NULL);
    /* data of another class count, image size or size */
    snprintf(args, sizeof args, "train --resume %s --data synthetic:1:8:5:96", ck);
    expect(2, args, "5 classes; the model takes 1 channels, image 8, 3 classes", NULL);
    snprintf(args, sizeof args, "train --resume %s --data synthetic:1:16:3:96", ck);
    expect(2, args, "the model takes", NULL);
    snprintf(args, sizeof args, "train --resume %s --data synthetic:1:8:3:128 --extend --epochs 3",
             ck);
    expect(2, args, "has 128 training images, the checkpoint's run had 96", NULL);
    /* the model comes from the checkpoint */
    snprintf(args, sizeof args, "train --resume %s --preset fmnist-bmlp", ck);
    expect(2, args, "--resume takes the model from the checkpoint", NULL);
    snprintf(args, sizeof args, "train --resume %s dim=12", ck);
    expect(2, args, "--resume takes the model from the checkpoint", NULL);
    /* more epochs only with --extend, never fewer */
    snprintf(args, sizeof args, "train --resume %s --epochs 3", ck);
    expect(2, args, "--epochs 3 contradicts the checkpoint", "only --epochs may change");
    snprintf(args, sizeof args, "train --resume %s --epochs 1 --extend", ck);
    expect(2, args, "can only grow", NULL);
    expect(2, "train --extend --epochs 3", "--extend goes with --resume", NULL);
    /* --extend: the data (recorded, not given) and settings come from the checkpoint */
    snprintf(args, sizeof args, "train --resume %s --extend --epochs 3 --device cpu", ck);
    expect(0, args, "epochs=3 (was 2, --extend) batch=16", "done: 18 steps");
    assert_non_null(strstr(out, "data=" DATA));
    assert_non_null(strstr(out, "optimizer=adam lr=0.001"));
}

static void test_finished_resume_names_no_files(void **state)
{
    (void)state;
    train_run("r2");
    char ck[600], args[1024], path[700];
    snprintf(ck, sizeof ck, "%s/r2/checkpoint.safetensors", dir);
    snprintf(path, sizeof path, "%s/r2/curves.svg", dir);
    assert_int_equal(remove(path), 0);
    snprintf(args, sizeof args, "train --resume %s --device cpu", ck);
    expect(0, args, "nothing to train", "at step 12, the end of its 2 epochs");
    if (strstr(out, "curves.svg") || strstr(out, "; checkpoint "))
        fail_msg("a finished resume names files it did not write:\n%s", out);
    assert_false(exists(path)); /* and indeed wrote none */
    /* --json says the same: nothing written */
    snprintf(args, sizeof args, "%s train --resume %s --device cpu --max-steps 3 --json -", DIMIX,
             ck);
    assert_int_equal(run_cmd(args, true), 0);
    if (!strstr(out, "\"status\": \"nothing to train\"") || !strstr(out, "\"checkpoint\": null"))
        fail_msg("--json of a finished resume:\n%s", out);
}

static void test_numbers_are_strict(void **state)
{
    (void)state;
    static const char *const bad[] = {
        "train --batch 1e12", "train --batch 2147483648", "train --batch 0",
        "train --max-steps -1", "train --warmup -5", "train --clip -1",
        "train --eval-batches -2", "train --seed -1", "train --epochs 1x",
        "train --lr 1e-3garbage", "train --lr nan", "train --lr inf", "train --epochs",
        "train --momentum 2", "train --label-smoothing 1.5",
        "eval --ckpt x --batch 0", "eval --ckpt x --batch 12abc", "eval --ckpt x --batch 1e3",
        "lra eval --preset lra-listops --task listops --data x --batch 1e3",
        "lra train --task listops --data . --batch 99999999999",
        "lra train --task listops --data . --max-steps -1",
        "lra gen listops --out x --train 5x",
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        char cmd[512];
        snprintf(cmd, sizeof cmd, "%s %s", DIMIX, bad[i]);
        int rc = run_cmd(cmd, false);
        if (rc != 2 || (!strstr(out, "takes") && !strstr(out, "needs a value")))
            fail_msg("dimix %s: exit %d, expected 2 with a range message:\n%s", bad[i], rc, out);
    }
    expect(2, "train --batch 1e12", "--batch takes an integer in 1..1048576, not '1e12'", NULL);
    /* one name for the batch size everywhere; --batch-size is the documented alias */
    char batch_args[1024];
    snprintf(batch_args, sizeof batch_args, "lra eval --ckpt x --batch '%s/tests/data/"
             "lra_dense_batch.safetensors'", DIMIX_SOURCE_DIR);
    expect(2, batch_args, "a batch file is --batch-file", NULL);
    char args[1024];
    snprintf(args, sizeof args, "train --data %s " MODEL " --max-steps 1 --batch-size 8 "
             "--device cpu --out %s/alias", DATA, dir);
    expect(0, args, "done: 1 steps", NULL);
    expect(1, "train --data synthetic:1:8:3:96x", "synthetic data is", NULL);
}

/* The lr column (5th) of the first n rows of a log.csv. */
static void read_lrs(const char *path, int n, char lrs[][32])
{
    FILE *f = fopen(path, "r");
    assert_non_null(f);
    char line[256];
    assert_non_null(fgets(line, sizeof line, f)); /* header */
    for (int i = 0; i < n; i++) {
        assert_non_null(fgets(line, sizeof line, f));
        const char *c = line;
        for (int k = 0; k < 4; k++)
            c = strchr(c, ',') + 1;
        snprintf(lrs[i], 32, "%s", c);
    }
    fclose(f);
}

static void test_max_steps_keeps_the_schedule(void **state)
{
    (void)state;
    char args[1024], path[700];
    snprintf(args, sizeof args, "train --data %s " MODEL " --epochs 2 --batch 16 --device cpu "
             "--max-steps 5 --out %s/ms", DATA, dir);
    expect(0, args, "--max-steps 5: stops at step 5 of the 12 the cosine schedule spans",
           "the schedule is not shortened");
    train_run("full");
    char a[5][32], b[5][32];
    snprintf(path, sizeof path, "%s/ms/log.csv", dir);
    read_lrs(path, 5, a);
    snprintf(path, sizeof path, "%s/full/log.csv", dir);
    read_lrs(path, 5, b);
    for (int i = 0; i < 5; i++)
        if (strcmp(a[i], b[i]) != 0)
            fail_msg("step %d: lr %s with --max-steps 5, %s in the full run", i + 1, a[i], b[i]);
    /* resumed without the limit, the run goes on to the full run's 12 steps */
    snprintf(args, sizeof args, "train --resume %s/ms/checkpoint.safetensors --device cpu", dir);
    expect(0, args, "done: 12 steps", NULL);
}

static void test_absent_device_and_data_file(void **state)
{
    (void)state;
    expect(2, "parity --device vulkan:7", "--device vulkan:7: ", NULL);
    expect(2, "parity --device opencl:9 --op fill", "--device opencl:9", NULL);
    char args[1024], file[600];
    snprintf(file, sizeof file, "%s/afile", dir);
    FILE *f = fopen(file, "w");
    assert_non_null(f);
    fputs("x", f);
    fclose(f);
    snprintf(args, sizeof args, "train --data %s --max-steps 1", file);
    expect(1, args, "is a file, not a data directory", NULL);
    assert_null(strstr(out, "does not exist"));
    snprintf(args, sizeof args, "train --data %s/nowhere --max-steps 1", dir);
    expect(1, args, "does not exist", NULL);
}

static void test_run_folder_has_one_writer(void **state)
{
    (void)state;
    char run_dir[600], args[1024];
    /* another process (this test) holds the folder */
    snprintf(run_dir, sizeof run_dir, "%s/locked", dir);
    assert_int_equal(mkdir(run_dir, 0777), 0);
    int fd = open(run_dir, O_RDONLY | O_DIRECTORY);
    assert_true(fd >= 0);
    assert_int_equal(flock(fd, LOCK_EX | LOCK_NB), 0);
    snprintf(args, sizeof args, "train --data %s " MODEL " --max-steps 1 --device cpu --out %s",
             DATA, run_dir);
    expect(1, args, "is in use: another dimix run is writing into it", NULL);
    char log[700];
    snprintf(log, sizeof log, "%s/log.csv", run_dir);
    assert_false(exists(log)); /* refused before writing anything */
    close(fd);
    expect(0, args, "done: 1 steps", NULL);

    /* two dimix processes: the second is refused while the first trains */
    snprintf(run_dir, sizeof run_dir, "%s/two", dir);
    snprintf(log, sizeof log, "%s/log.csv", run_dir);
    pid_t first = fork();
    assert_true(first >= 0);
    if (first == 0) {
        int devnull = open("/dev/null", O_WRONLY);
        dup2(devnull, 1);
        dup2(devnull, 2);
        execl(DIMIX, DIMIX, "train", "--data", "synthetic:1:8:3:512", "--model", "mixer",
              "patch=2", "dim=9", "depth=1", "token_radix=4", "channel_radix=3",
              "token_mix=butterfly_mlp", "channel_mix=butterfly_mlp", "--epochs", "100000",
              "--batch", "8", "--device", "cpu", "--no-prefetch", "--out", run_dir,
              (char *)NULL);
        _exit(127);
    }
    /* log.csv appears once the first holds the lock and trains */
    for (int i = 0; i < 600 && !exists(log); i++)
        usleep(50 * 1000);
    assert_true(exists(log));
    snprintf(args, sizeof args, "train --data %s " MODEL " --max-steps 1 --device cpu --out %s",
             DATA, run_dir);
    expect(1, args, "is in use", NULL);
    kill(first, SIGTERM); /* it writes a checkpoint and stops */
    int st = 0;
    assert_int_equal(waitpid(first, &st, 0), first);
    assert_true(WIFEXITED(st));
    assert_int_equal(WEXITSTATUS(st), 130);
}

/* Parses out as one JSON object and returns the number member `key`. */
static double json_number(const char *key)
{
    static char text_copy[sizeof out]; /* the parser decodes strings in place */
    snprintf(text_copy, sizeof text_copy, "%s", out);
    dmx_json_doc doc;
    if (dmx_json_parse(text_copy, strlen(text_copy), &doc) != DMX_OK)
        fail_msg("not JSON (%s):\n%s", dmx_last_error(), out);
    const dmx_json_node *root = dmx_json_root(&doc);
    assert_int_equal(root->kind, DMX_JSON_OBJECT);
    const char *text = NULL;
    for (const dmx_json_node *n = dmx_json_first(&doc, root); n; n = dmx_json_next(&doc, n))
        if (strcmp(n->key, key) == 0 && n->kind == DMX_JSON_NUMBER)
            text = out + n->offset; /* numbers are not rewritten: read them in out */
    if (!text)
        fail_msg("no number '%s' in %s", key, out);
    double v = strtod(text, NULL);
    dmx_json_free(&doc);
    return v;
}

static void test_json_summaries(void **state)
{
    (void)state;
    char cmd[2048];
    snprintf(cmd, sizeof cmd, "%s train --data %s " MODEL " --epochs 1 --batch 16 --device cpu "
             "--out %s/js --json -", DIMIX, DATA, dir);
    assert_int_equal(run_cmd(cmd, true), 0);
    assert_true(json_number("steps") == 6);
    assert_true(json_number("test_accuracy") >= 0);
    snprintf(cmd, sizeof cmd, "%s eval --ckpt %s/js/checkpoint.safetensors --data %s --device cpu "
             "--json -", DIMIX, dir, DATA);
    assert_int_equal(run_cmd(cmd, true), 0);
    assert_true(json_number("examples") == 24);
    assert_non_null(strstr(out, "\"confusion\": [["));
    snprintf(cmd, sizeof cmd, "%s lra eval --ckpt '%s/tests/data/lra_dense_weights.safetensors' "
             "--batch-file '%s/tests/data/lra_dense_batch.safetensors' --device cpu --json -",
             DIMIX, DIMIX_SOURCE_DIR, DIMIX_SOURCE_DIR);
    assert_int_equal(run_cmd(cmd, true), 0);
    assert_true(json_number("logits_relative_error") < 1e-5);
    assert_true(json_number("examples") > 0);
}

int main(void)
{
    if (!mkdtemp(dir))
        return 1;
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_resume_takes_over_and_refuses_contradictions),
        cmocka_unit_test(test_finished_resume_names_no_files),
        cmocka_unit_test(test_numbers_are_strict),
        cmocka_unit_test(test_max_steps_keeps_the_schedule),
        cmocka_unit_test(test_absent_device_and_data_file),
        cmocka_unit_test(test_run_folder_has_one_writer),
        cmocka_unit_test(test_json_summaries),
    };
    int rc = cmocka_run_group_tests(tests, NULL, NULL);
    char rm[600];
    snprintf(rm, sizeof rm, "rm -rf '%s'", dir);
    if (rc == 0 && system(rm) != 0)
        return 1;
    return rc;
}
