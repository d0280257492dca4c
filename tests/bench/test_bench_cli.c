/* dimix bench runs and writes valid JSON: `dimix bench --suite ops --quick --repeat 1` on one
 * device (the program's argument), every case present and measured, the JSON's schema and
 * fields as tools/bench_torch.py writes them, the ratios printed, a baseline read back, and
 * bad usage refused. No timing is asserted: a benchmark is not a test.
 * An absent device makes the program report itself skipped (exit 77). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "../lra/lra_test_util.h"
#include "dimix/dimix.h"
#include "io/json.h"

static const char *device;
static char dir[512];

static const dmx_json_node *member(const dmx_json_doc *d, const dmx_json_node *obj,
                                   const char *key)
{
    assert_int_equal(obj->kind, DMX_JSON_OBJECT);
    for (const dmx_json_node *m = dmx_json_first(d, obj); m; m = dmx_json_next(d, m))
        if (strlen(key) == m->key_len && memcmp(m->key, key, m->key_len) == 0)
            return m;
    fail_msg("JSON object lacks \"%s\"", key);
    return NULL;
}

static double number(const char *text, const dmx_json_node *n)
{
    assert_int_equal(n->kind, DMX_JSON_NUMBER);
    return strtod(text + n->offset, NULL);
}

static const char *string(const dmx_json_node *n)
{
    assert_int_equal(n->kind, DMX_JSON_STRING);
    return n->str;
}

/* How many cases `dimix bench ARGS --list` names. */
static int listed_cases(const char *args)
{
    char cmd[512], *out = NULL;
    snprintf(cmd, sizeof cmd, "bench %s --list", args);
    assert_int_equal(lra_run_dimix(dir, cmd, &out), 0);
    int n = 0;
    for (const char *p = out; (p = strstr(p, "ops/")) != NULL; p++)
        if (p == out || p[-1] == '\n')
            n++;
    free(out);
    return n;
}

static void check_record(const dmx_json_doc *doc, const char *text, const dmx_json_node *r)
{
    const char *name = string(member(doc, r, "case"));
    if (strcmp(string(member(doc, r, "status")), "ok") != 0)
        fail_msg("case %s failed: %s", name, string(member(doc, r, "error")));
    assert_string_equal(string(member(doc, r, "suite")), "ops");
    assert_string_equal(string(member(doc, r, "device")), device);
    assert_string_equal(string(member(doc, r, "backend")),
                        strncmp(device, "cpu", 3) == 0 ? "cpu" : strncmp(device, "opencl", 6) == 0
                                                                     ? "opencl"
                                                                     : "vulkan");
    const double median = number(text, member(doc, r, "median_ms"));
    const double min = number(text, member(doc, r, "min_ms"));
    assert_true(median > 0 && min > 0 && min <= median);
    assert_true(number(text, member(doc, r, "rate")) > 0);
    assert_true(number(text, member(doc, r, "work")) > 0);
    assert_int_equal((int)number(text, member(doc, r, "repeats")), 1);
    const char *unit = string(member(doc, r, "unit"));
    assert_true(strcmp(unit, "GFLOP/s") == 0 || strcmp(unit, "seq/s") == 0);
    const dmx_json_node *mem = member(doc, r, "memory");
    const double total = number(text, member(doc, mem, "total"));
    assert_true(total > 0);
    assert_true(total == number(text, member(doc, mem, "parameters")) +
                             number(text, member(doc, mem, "gradients")) +
                             number(text, member(doc, mem, "activations_peak")));
    const dmx_json_node *vs = member(doc, r, "vs");
    if (strstr(name, "/stage") || strstr(name, "/bmlp/") || strstr(name, "/battn/"))
        assert_int_equal(vs->kind, DMX_JSON_STRING);
    else
        assert_int_equal(vs->kind, DMX_JSON_NULL);
}

static void test_ops_suite_runs_and_writes_valid_json(void **state)
{
    (void)state;
    char args[1024], json[600], *out = NULL;
    snprintf(json, sizeof json, "%s/ops.json", dir);
    snprintf(args, sizeof args, "bench --suite ops --quick --repeat 1 --warmup 0 --device %s "
             "--json '%s'", device, json);
    int rc = lra_run_dimix(dir, args, &out);
    if (rc != 0)
        fail_msg("dimix %s: exit %d:\n%s", args, rc, out);
    assert_non_null(strstr(out, "structured against dense, same run"));
    assert_non_null(strstr(out, "ops/bmlp/N1024/e2/fwdbwd"));
    free(out);

    size_t size = 0;
    char *text = lra_read_file(json, &size), *copy = malloc(size + 1);
    memcpy(copy, text, size + 1); /* the parser decodes strings in place; numbers stay */
    dmx_json_doc doc = {0};
    assert_int_equal(dmx_json_parse(copy, size, &doc), DMX_OK);
    const dmx_json_node *root = dmx_json_root(&doc);
    assert_string_equal(string(member(&doc, root, "schema")), "dimix-bench/1");
    assert_string_equal(string(member(&doc, root, "tool")), "dimix");
    assert_true(strlen(string(member(&doc, root, "build_type"))) > 0);
    const dmx_json_node *machine = member(&doc, root, "machine");
    assert_true(number(copy, member(&doc, machine, "cores")) >= 1);
    assert_true(number(copy, member(&doc, root, "threads")) >= 1);
    const dmx_json_node *recs = member(&doc, root, "records");
    assert_int_equal(recs->kind, DMX_JSON_ARRAY);
    assert_int_equal((int)recs->count, listed_cases("--suite ops --quick"));
    for (const dmx_json_node *r = dmx_json_first(&doc, recs); r; r = dmx_json_next(&doc, r))
        check_record(&doc, copy, r);
    dmx_json_free(&doc);
    free(copy);
    free(text);

    /* The file reads back as a baseline: every case is matched, against itself. */
    snprintf(args, sizeof args, "bench --quick --repeat 1 --warmup 0 --device %s --filter "
             "ops/stage0/N256/e1/fwd --baseline '%s'", device, json);
    lra_expect_run(dir, args, 0, "against the baseline (dimix", "ops/stage0/N256/e1/fwd", NULL);
}

static void test_bad_usage_is_refused(void **state)
{
    (void)state;
    lra_expect_run(dir, "bench --suite nonsense", 2, "unknown suite 'nonsense'", NULL);
    lra_expect_run(dir, "bench --repeat 0", 2, "--repeat", NULL);
    lra_expect_run(dir, "bench --filter no-such-case", 2, "no case matches", NULL);
    lra_expect_run(dir, "bench --quick --device vulkan:99 --filter gemm/512", 1,
                   "cannot open device 'vulkan:99'", NULL);
    char args[700], path[600];
    snprintf(path, sizeof path, "%s/not-a-baseline.json", dir);
    lra_write_text(path, "{\"schema\": \"something-else\", \"records\": []}");
    snprintf(args, sizeof args, "bench --quick --filter gemm/512 --baseline '%s'", path);
    lra_expect_run(dir, args, 1, "not a dimix-bench/1 file", NULL);
    snprintf(args, sizeof args, "bench --quick --filter gemm/512 --baseline '%s/missing.json'",
             dir);
    lra_expect_run(dir, args, 1, "missing.json", NULL);
}

int main(int argc, char **argv)
{
    device = argc > 1 ? argv[1] : "cpu";
    dmx_device *dev = NULL;
    if (dmx_device_open(device, &dev) != DMX_OK) {
        printf("SKIPPED: device %s is not present (%s)\n", device, dmx_last_error());
        return 77;
    }
    dmx_device_close(dev);
    lra_make_temp_dir(dir, sizeof dir, "bench");
    const struct CMUnitTest device_tests[] = {
        cmocka_unit_test(test_ops_suite_runs_and_writes_valid_json),
    };
    const struct CMUnitTest usage_tests[] = {
        cmocka_unit_test(test_bad_usage_is_refused),
    };
    int rc = cmocka_run_group_tests(device_tests, NULL, NULL);
    if (strcmp(device, "cpu") == 0) /* once is enough */
        rc |= cmocka_run_group_tests(usage_tests, NULL, NULL);
    lra_remove_tree(dir);
    return rc;
}
