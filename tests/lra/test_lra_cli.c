/* `dimix lra gen`: the built CLI writes files the readers accept, and refuses bad options. */
#include <sys/wait.h>

#include "lra_test_util.h"

#define DIMIX DIMIX_BINARY_DIR "/dimix"

/* Runs `dimix <args>` with stdout and stderr in dir/out.txt; returns the exit code. */
static int run_dimix(const char *dir, const char *args, char **output)
{
    char command[2048], path[600];
    snprintf(path, sizeof path, "%s/out.txt", dir);
    snprintf(command, sizeof command, "'%s' %s > '%s' 2>&1", DIMIX, args, path);
    int status = system(command);
    if (status == -1 || !WIFEXITED(status))
        fail_msg("could not run: %s", command);
    *output = lra_read_file(path, NULL);
    return WEXITSTATUS(status);
}

static void expect_run(const char *dir, const char *args, int code, const char *needle)
{
    char *out = NULL;
    int got = run_dimix(dir, args, &out);
    if (got != code || !strstr(out, needle))
        fail_msg("dimix %s: exit %d (want %d), output lacks \"%s\":\n%s", args, got, code, needle,
                 out);
    free(out);
}

static void test_gen_listops(void **state)
{
    (void)state;
    char dir[512], args[1024], path[700];
    lra_make_temp_dir(dir, sizeof dir, "cli-listops");
    snprintf(args, sizeof args, "lra gen listops --out '%s/set' --train 30 --val 4 --test 6 "
                                "--min-len 10 --max-len 60 --seed 3", dir);
    expect_run(dir, args, 0, "basic_train.tsv (30)");
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
    expect_run(dir, args, 0, "pathfinder64_cl9_train.pfb (32 images)");
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
    expect_run(dir, "--help", 0, "lra ");
    expect_run(dir, "lra --help", 0, "gen ");
    expect_run(dir, "lra gen --help", 0, "pathfinder");
    expect_run(dir, "lra gen listops --help", 0, "--min-len L");
    expect_run(dir, "lra gen pathfinder --help", 0, "--contour-length");
    expect_run(dir, "lra", 2, "usage: dimix lra");
    expect_run(dir, "lra frobnicate", 2, "unknown command 'frobnicate'");
    expect_run(dir, "lra gen imdb", 2, "unknown task 'imdb'");
    expect_run(dir, "lra gen listops --train 5", 2, "--out DIR is required");
    expect_run(dir, "lra gen listops --out x --train -1", 2, "--train takes an integer");
    expect_run(dir, "lra gen listops --out x --seed", 2, "--seed needs a value");
    expect_run(dir, "lra gen listops --out x --bogus", 2, "unknown option '--bogus'");
    expect_run(dir, "lra gen pathfinder --out x", 2, "--resolution R are required");
    expect_run(dir, "lra gen pathfinder --out x --resolution 48", 2,
               "--resolution takes 32, 64 or 128, not 48");
    expect_run(dir, "lra gen pathfinder --out x --resolution 32 --contour-length 7", 2,
               "--contour-length takes 6, 9 or 14, not 7");
    /* A library error reaches the user with its message, exit code 1. */
    snprintf(args, sizeof args, "lra gen listops --out '%s/out.txt' --train 1 --val 0 --test 0",
             dir);
    expect_run(dir, args, 1, "exists and is not a directory");
    snprintf(args, sizeof args, "lra gen listops --out '%s/x' --min-len 100 --max-len 50", dir);
    expect_run(dir, args, 1, "min_length 100, max_length 50");
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
