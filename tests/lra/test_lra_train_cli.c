/* `dimix lra train` through the built CLI: a short ListOps run writes the logs, curves and a
 * checkpoint that `dimix lra eval` reads; a run stopped with --stop-after (the alias of --max-steps) and resumed ends with
 * the same checkpoint and step log, byte for byte, as an uninterrupted one; Pathfinder trains
 * from .pfb files; bad data and options fail naming the file, line or option. */

#include "lra_test_util.h"

static void expect_same_file(const char *a, const char *b)
{
    size_t na = 0, nb = 0;
    char *x = lra_read_file(a, &na), *y = lra_read_file(b, &nb);
    if (na != nb || memcmp(x, y, na) != 0)
        fail_msg("%s and %s differ (%zu and %zu bytes)", a, b, na, nb);
    free(x), free(y);
}

/* 12 batches of 16 per epoch; two epochs. */
#define LISTOPS_RUN "lra train --task listops --data '%s/data' seq_len=64 attn_radix=8 dim=16 " \
                    "mlp_hidden=32 head_hidden=16 --steps 24 --batch 16 --warmup 5 --lr 1e-3 " \
                    "--device cpu --out '%s/%s'"

static void test_listops_train_resume_eval(void **state)
{
    (void)state;
    char dir[512], args[4096], a[700], b[700];
    lra_make_temp_dir(dir, sizeof dir, "train-listops");
    snprintf(args, sizeof args, "lra gen listops --out '%s/data' --train 200 --val 20 --test 40 "
             "--min-len 10 --max-len 64 --seed 2", dir);
    lra_expect_run(dir, args, 0, "basic_train.tsv (200)", NULL);

    snprintf(args, sizeof args, LISTOPS_RUN, dir, dir, "full");
    lra_expect_run(dir, args, 0, "epoch 1/2: train loss", "epoch 2/2: train loss",
                   "done: 24 steps", NULL);
    const char *files[4] = {"log.csv", "epochs.csv", "curves.svg", "checkpoint.safetensors"};
    for (int f = 0; f < 4; f++) {
        snprintf(a, sizeof a, "%s/full/%s", dir, files[f]);
        free(lra_read_file(a, NULL)); /* fails the test when missing */
    }

    /* stopped after 10 steps (inside epoch 1), then resumed to 24 */
    snprintf(args, sizeof args, LISTOPS_RUN " --stop-after 10", dir, dir, "split");
    lra_expect_run(dir, args, 0, "done: 10 steps", NULL);
    /* resume takes the checkpoint's settings: another batch or lr is refused (issue 15) */
    snprintf(args, sizeof args, "lra train --resume '%s/split/checkpoint.safetensors' --batch 8 "
             "--lr 0.5", dir);
    lra_expect_run(dir, args, 2, "--batch 8 contradicts the checkpoint, which records batch=16",
                   "--lr 0.5 contradicts", NULL);
    snprintf(args, sizeof args, "lra train --resume '%s/split/checkpoint.safetensors' --steps 30",
             dir);
    lra_expect_run(dir, args, 2, "only --steps may change, with --extend", NULL);
    snprintf(args, sizeof args, "lra train --task listops --data '%s/data' --steps 24 --batch 16 "
             "--warmup 5 --lr 1e-3 --device cpu --out '%s/split' --resume "
             "'%s/split/checkpoint.safetensors'", dir, dir, dir);
    lra_expect_run(dir, args, 0, "done: 24 steps", NULL);
    /* finished: nothing to train, no file named */
    snprintf(args, sizeof args, "lra train --resume '%s/split/checkpoint.safetensors' --device "
             "cpu", dir);
    lra_expect_run(dir, args, 0, "nothing to train", "at step 24 of its 24 steps", NULL);
    for (int f = 0; f < 4; f += 3) { /* log.csv and the checkpoint */
        snprintf(a, sizeof a, "%s/full/%s", dir, files[f]);
        snprintf(b, sizeof b, "%s/split/%s", dir, files[f]);
        expect_same_file(a, b);
    }

    snprintf(args, sizeof args, "lra eval --ckpt '%s/full/checkpoint.safetensors' --data "
             "'%s/data' --task listops --device cpu", dir, dir);
    lra_expect_run(dir, args, 0, "/40), loss", NULL);

    /* a bad line in the training split stops training before it starts, naming the line */
    snprintf(a, sizeof a, "%s/data/basic_train.tsv", dir);
    lra_write_text(a, "Source\tTarget\n( [SM 1 2 ] )\t3\n( [SM 1 2 ] )\n");
    snprintf(args, sizeof args, LISTOPS_RUN, dir, dir, "bad");
    lra_expect_run(dir, args, 1, "basic_train.tsv:3: no tab", NULL);
    snprintf(args, sizeof args, LISTOPS_RUN " --resume x", dir, dir, "bad");
    lra_expect_run(dir, args, 2, "--resume takes the model from the checkpoint", NULL);
    snprintf(args, sizeof args, "lra train --task listops --data '%s/data' --steps 0", dir);
    lra_expect_run(dir, args, 2, "--steps takes an integer", NULL);
    lra_expect_run(dir, "lra train --data x", 2, "needs --task listops|pathfinder", NULL);
    lra_expect_run(dir, "lra train --help", 0, "--max-steps N", NULL);
    lra_remove_tree(dir);
}

static void test_pathfinder(void **state)
{
    (void)state;
    char dir[512], args[4096];
    lra_make_temp_dir(dir, sizeof dir, "train-pathfinder");
    snprintf(args, sizeof args, "lra gen pathfinder --out '%s' --resolution 32 --count 40 "
             "--seed 4", dir);
    lra_expect_run(dir, args, 0, "pathfinder32_cl14_train.pfb (32 images)", NULL);
    snprintf(args, sizeof args, "lra train --task pathfinder --data '%s' dim=16 mlp_hidden=32 "
             "head_hidden=16 --steps 3 --batch 8 --warmup 1 --device cpu --out '%s/run'", dir,
             dir);
    lra_expect_run(dir, args, 0, "pathfinder32_cl14_test.pfb (4) of 1024 tokens, 2 classes",
                   "done: 3 steps", NULL);
    /* a model of 256 tokens looks for 16 x 16 images */
    snprintf(args, sizeof args, "lra train --task pathfinder --data '%s' seq_len=256 "
             "attn_radix=16 --steps 3 --device cpu --out '%s/run'", dir, dir);
    lra_expect_run(dir, args, 1, "pathfinder16_cl14_train.pfb: cannot open", NULL);
    snprintf(args, sizeof args, "lra train --task pathfinder --data '%s/pathfinder32_cl14_train"
             ".pfb' --device cpu", dir);
    lra_expect_run(dir, args, 2, "--data must be a directory", NULL);
    lra_remove_tree(dir);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_listops_train_resume_eval),
        cmocka_unit_test(test_pathfinder),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
