/* `dimix lra gen`: the built CLI writes files the readers accept, and refuses bad options. */

#include "lra_test_util.h"

static void test_gen_listops(void **state)
{
    (void)state;
    char dir[512], args[1024], path[700];
    lra_make_temp_dir(dir, sizeof dir, "cli-listops");
    snprintf(args, sizeof args, "lra gen listops --out '%s/set' --train 30 --val 4 --test 6 "
                                "--min-len 10 --max-len 60 --seed 3", dir);
    lra_expect_run(dir, args, 0, "basic_train.tsv (30)", NULL);
    const char *names[3] = {"basic_train.tsv", "basic_val.tsv", "basic_test.tsv"};
    const int64_t counts[3] = {30, 4, 6};
    for (int s = 0; s < 3; s++) {
        snprintf(path, sizeof path, "%s/set/%s", dir, names[s]);
        dmx_lra_tokens set;
        DMX_ASSERT_OK(dmx_listops_load(path, 60, &set));
        assert_int_equal(set.count, counts[s]);
        for (int64_t i = 0; i < set.count; i++)
            assert_true(set.lengths[i] > 10 && set.lengths[i] < 60);
        dmx_lra_tokens_free(&set);
    }
    lra_remove_tree(dir);
}

static void test_gen_pathfinder(void **state)
{
    (void)state;
    char dir[512], args[1024], path[700];
    lra_make_temp_dir(dir, sizeof dir, "cli-pathfinder");
    snprintf(args, sizeof args, "lra gen pathfinder --out '%s' --resolution 64 --count 40 "
                                "--contour-length 9 --seed 5", dir);
    lra_expect_run(dir, args, 0, "pathfinder64_cl9_train.pfb (32 images)", NULL);
    const char *splits[3] = {"train", "val", "test"};
    const int64_t counts[3] = {32, 4, 4};
    for (int s = 0; s < 3; s++) {
        snprintf(path, sizeof path, "%s/pathfinder64_cl9_%s.pfb", dir, splits[s]);
        dmx_lra_tokens set;
        DMX_ASSERT_OK(dmx_pathfinder_load(path, &set));
        assert_int_equal(set.count, counts[s]);
        assert_int_equal(set.seq_len, 64 * 64);
        dmx_lra_tokens_free(&set);
    }
    lra_remove_tree(dir);
}

static void test_help_and_usage_errors(void **state)
{
    (void)state;
    char dir[512], args[1024];
    lra_make_temp_dir(dir, sizeof dir, "cli-usage");
    lra_expect_run(dir, "--help", 0, "lra ", NULL);
    lra_expect_run(dir, "lra --help", 0, "gen ", NULL);
    lra_expect_run(dir, "lra gen --help", 0, "pathfinder", NULL);
    lra_expect_run(dir, "lra gen listops --help", 0, "--min-len L", NULL);
    lra_expect_run(dir, "lra gen pathfinder --help", 0, "--contour-length", NULL);
    lra_expect_run(dir, "lra", 2, "usage: dimix lra", NULL);
    lra_expect_run(dir, "lra frobnicate", 2, "unknown command 'frobnicate'", NULL);
    lra_expect_run(dir, "lra gen imdb", 2, "unknown task 'imdb'", NULL);
    lra_expect_run(dir, "lra gen listops --train 5", 2, "--out DIR is required", NULL);
    lra_expect_run(dir, "lra gen listops --out x --train -1", 2, "--train takes an integer", NULL);
    lra_expect_run(dir, "lra gen listops --out x --seed", 2, "--seed needs a value", NULL);
    lra_expect_run(dir, "lra gen listops --out x --bogus", 2, "unknown option '--bogus'", NULL);
    lra_expect_run(dir, "lra gen pathfinder --out x", 2, "--resolution R are required", NULL);
    lra_expect_run(dir, "lra gen pathfinder --out x --resolution 48", 2,
                   "--resolution takes 32, 64 or 128, not 48", NULL);
    lra_expect_run(dir, "lra gen pathfinder --out x --resolution 32 --contour-length 7", 2,
                   "--contour-length takes 6, 9 or 14, not 7", NULL);
    /* A library error reaches the user with its message, exit code 1. */
    snprintf(args, sizeof args, "lra gen listops --out '%s/out.txt' --train 1 --val 0 --test 0",
             dir);
    lra_expect_run(dir, args, 1, "exists and is not a directory", NULL);
    snprintf(args, sizeof args, "lra gen listops --out '%s/x' --min-len 100 --max-len 50", dir);
    lra_expect_run(dir, args, 1, "min_length 100, max_length 50", NULL);
    lra_remove_tree(dir);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_gen_listops),
        cmocka_unit_test(test_gen_pathfinder),
        cmocka_unit_test(test_help_and_usage_errors),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
