/* The Vulkan device itself: what it reports, buffers and the order of host writes against
 * recorded work, batches past one command buffer, memory past maxStorageBufferRange, and the
 * errors a user meets (out of memory, a missing shader, a lost device), each with a clear
 * message while other devices keep working. Also run with DIMIX_VK_STAGING=1 and under the
 * validation layer (CMakeLists.txt). */
#include <dirent.h>
#include <stdbool.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "ops/op_table.h"
#include "test_util.h"
#include "vulkan/vk_internal.h"

static dmx_device *open_or_skip(void)
{
    dmx_device *dev = NULL;
    if (dmx_device_open("vulkan:0", &dev) != DMX_OK) {
        fprintf(stderr, "SKIPPED: no vulkan:0: %s\n", dmx_last_error());
        skip();
    }
    return dev;
}

static dmx_buffer *alloc(dmx_device *dev, size_t bytes)
{
    dmx_buffer *b = NULL;
    DMX_ASSERT_OK(dmx_buffer_alloc(dev, bytes, &b));
    return b;
}

static dmx_status run_scale(dmx_device *dev, dmx_buffer *x, size_t xo, dmx_buffer *y, size_t yo,
                            size_t n, float alpha)
{
    dmx_p_scale p = {.n = (int32_t)n, .alpha = alpha};
    dmx_op_call call = {.op = DMX_OP_SCALE, .params = &p};
    call.args[0] = (dmx_arg){x, xo, n};
    call.args[1] = (dmx_arg){y, yo, n};
    return dmx_op_run(dev, &call);
}

static void test_reports_limits_and_quirks(void **state)
{
    (void)state;
    dmx_device *dev = open_or_skip();
    const dmx_device_info *info = dmx_device_info_of(dev);
    printf("vulkan:0: %s | %s | %s | binding %llu MiB | workgroup %u | shared %u | subgroup %u "
           "| quirks 0x%x | %s\n", info->description, info->vendor, info->driver,
           (unsigned long long)(info->max_binding_bytes >> 20), info->max_workgroup_size,
           info->shared_memory_bytes, info->subgroup_size, info->quirks,
           dmx_vk_of(dev)->mapped ? "mapped buffers" : "staging copies");
    assert_int_equal(info->backend, DMX_BACKEND_VULKAN);
    assert_string_equal(info->name, "vulkan:0");
    assert_true(info->max_workgroup_size >= 256 && info->memory_bytes > 0);
    if (strncmp(info->description, "llvmpipe", 8) == 0) {
        assert_int_equal(info->type, DMX_DEVICE_CPU);
        assert_true(info->quirks & DMX_QUIRK_LOOP_LIMIT);
        assert_int_equal(info->max_binding_bytes, 128u << 20);
    }
    const char *staging = getenv("DIMIX_VK_STAGING");
    if (staging && strcmp(staging, "1") == 0)
        assert_false(dmx_vk_of(dev)->mapped); /* the variant run really takes that path */
    assert_string_equal(dmx_backend_why_none(DMX_BACKEND_VULKAN), "");
    dmx_device_close(dev);
}

/* Host writes land between the recorded ops around them, mapped or staged. */
static void test_host_writes_are_ordered_with_recorded_work(void **state)
{
    (void)state;
    dmx_device *dev = open_or_skip();
    enum { N = 1000 };
    dmx_buffer *a = alloc(dev, N * 4), *b = alloc(dev, N * 4);
    float host[N], got[N];
    for (int i = 0; i < N; i++)
        host[i] = (float)i;
    DMX_ASSERT_OK(dmx_buffer_fill(a, 0, N * 4, 0x40000000u));    /* a = 2 (recorded) */
    DMX_ASSERT_OK(dmx_buffer_write(a, 400, host, 400));           /* a[100..200) = i */
    DMX_ASSERT_OK(run_scale(dev, a, 0, b, 0, N, 3.0f));           /* b = 3 a */
    for (int i = 0; i < N; i++)
        host[i] = -1.0f;
    DMX_ASSERT_OK(dmx_buffer_write(a, 0, host, N * 4));           /* after the scale read a */
    DMX_ASSERT_OK(dmx_buffer_read(b, 0, got, N * 4));
    for (int i = 0; i < N; i++) {
        float want = i >= 100 && i < 200 ? 3.0f * (float)(i - 100) : 6.0f;
        if (got[i] != want)
            fail_msg("b[%d] = %g, want %g", i, got[i], want);
    }
    DMX_ASSERT_OK(dmx_buffer_read(a, 0, got, N * 4));
    assert_memory_equal(got, host, N * 4);
    /* Large writes (past vkCmdUpdateBuffer's 64 KiB) while the buffer is still in use. */
    enum { BIG = 1 << 20 };
    dmx_buffer *c = alloc(dev, BIG * 4), *e = alloc(dev, BIG * 4);
    float *big = malloc(BIG * 4), *back = malloc(BIG * 4);
    for (int i = 0; i < BIG; i++)
        big[i] = (float)(i % 977);
    DMX_ASSERT_OK(dmx_buffer_fill(c, 0, BIG * 4, 0));
    DMX_ASSERT_OK(run_scale(dev, c, 0, e, 0, BIG, 1.0f)); /* e = 0, reads c */
    DMX_ASSERT_OK(dmx_buffer_write(c, 0, big, BIG * 4));
    DMX_ASSERT_OK(dmx_buffer_read(e, 0, back, BIG * 4));
    for (int i = 0; i < BIG; i += 4099)
        assert_true(back[i] == 0.0f);
    DMX_ASSERT_OK(dmx_buffer_read(c, 0, back, BIG * 4));
    assert_memory_equal(back, big, BIG * 4);
    free(big);
    free(back);
    dmx_buffer_free(a), dmx_buffer_free(b), dmx_buffer_free(c), dmx_buffer_free(e);
    dmx_device_close(dev);
}

/* Copies within one buffer overlap (memmove); byte offsets need not be aligned. */
static void test_copies_overlap_and_unaligned_bytes(void **state)
{
    (void)state;
    dmx_device *dev = open_or_skip();
    unsigned char init[256], want[256], got[256];
    for (int i = 0; i < 256; i++)
        init[i] = (unsigned char)(i * 7 + 1);
    dmx_buffer *a = alloc(dev, 256);
    DMX_ASSERT_OK(dmx_buffer_write(a, 0, init, 256));
    DMX_ASSERT_OK(dmx_buffer_copy(a, 3, a, 10, 100)); /* forward overlap */
    memcpy(want, init, 256);
    memmove(want + 10, want + 3, 100);
    DMX_ASSERT_OK(dmx_buffer_copy(a, 50, a, 41, 77)); /* backward overlap */
    memmove(want + 41, want + 50, 77);
    DMX_ASSERT_OK(dmx_buffer_write(a, 201, init, 13)); /* odd offset and size */
    memcpy(want + 201, init, 13);
    DMX_ASSERT_OK(dmx_buffer_read(a, 0, got, 256));
    assert_memory_equal(got, want, 256);
    DMX_ASSERT_OK(dmx_buffer_read(a, 5, got, 7));
    assert_memory_equal(got, want + 5, 7);
    dmx_buffer_free(a);
    dmx_device_close(dev);
}

/* 700 dependent ops without a sync: three command buffers, submitted as they fill. */
static void test_batches_past_one_command_buffer(void **state)
{
    (void)state;
    dmx_device *dev = open_or_skip();
    enum { N = 3000, STEPS = 700 };
    dmx_buffer *x = alloc(dev, N * 4), *y = alloc(dev, N * 4);
    DMX_ASSERT_OK(dmx_buffer_fill(x, 0, N * 4, 0x3f800000u)); /* 1 */
    DMX_ASSERT_OK(dmx_buffer_fill(y, 0, N * 4, 0));
    dmx_p_axpy p = {.n = N, .alpha = 0.5f};
    dmx_op_call call = {.op = DMX_OP_AXPY, .params = &p};
    call.args[0] = (dmx_arg){x, 0, N};
    call.args[1] = (dmx_arg){y, 0, N};
    for (int s = 0; s < STEPS; s++)
        DMX_ASSERT_OK(dmx_op_run(dev, &call));
    float got[N];
    DMX_ASSERT_OK(dmx_buffer_read(y, 0, got, sizeof got));
    for (int i = 0; i < N; i++)
        if (got[i] != 350.0f)
            fail_msg("y[%d] = %g after %d steps of +0.5, want 350", i, got[i], STEPS);
    /* 2000 small writes into y while ops still use it: recorded transfers, past the most one
     * command buffer takes, each after the scale that reads y before it. */
    DMX_ASSERT_OK(run_scale(dev, y, 0, x, 0, N, 1.0f)); /* x = y, recorded */
    for (int i = 0; i < 2000; i++) {
        float v = (float)i;
        DMX_ASSERT_OK(dmx_buffer_write(y, (size_t)(i % N) * 4, &v, 4));
    }
    DMX_ASSERT_OK(dmx_buffer_read(y, 0, got, sizeof got));
    for (int i = 0; i < N; i++)
        if (got[i] != (i < 2000 ? (float)i : 350.0f))
            fail_msg("y[%d] = %g after the writes", i, got[i]);
    DMX_ASSERT_OK(dmx_buffer_read(x, 0, got, sizeof got));
    for (int i = 0; i < N; i++)
        if (got[i] != 350.0f)
            fail_msg("x[%d] = %g: the write overtook the scale that read y", i, got[i]);
    DMX_ASSERT_OK(dmx_device_sync(dev));
    dmx_buffer_free(x), dmx_buffer_free(y);
    dmx_device_close(dev);
}

/* An arena of 384 MiB (three times lavapipe's maxStorageBufferRange): an op on a tensor at
 * offset 300 MiB, and an elementwise op over 160 MiB, which runs in pieces. */
static void test_memory_past_the_binding_limit(void **state)
{
    (void)state;
    dmx_device *dev = open_or_skip();
    const size_t arena = 384u << 20, at = (300u << 20) / 4, n = 1000003;
    dmx_buffer *big = alloc(dev, arena);
    float *host = malloc(n * 4), *got = malloc(n * 4);
    for (size_t i = 0; i < n; i++)
        host[i] = (float)(i % 1001) - 500.0f;
    DMX_ASSERT_OK(dmx_buffer_write(big, at * 4, host, n * 4));
    DMX_ASSERT_OK(run_scale(dev, big, at, big, at + n, n, -2.0f));
    DMX_ASSERT_OK(dmx_buffer_read(big, (at + n) * 4, got, n * 4));
    for (size_t i = 0; i < n; i++)
        if (got[i] != -2.0f * host[i])
            fail_msg("scale at 300 MiB: [%zu] = %g, want %g", i, got[i], -2.0f * host[i]);
    const size_t wide = (160u << 20) / 4;
    DMX_ASSERT_OK(dmx_buffer_fill(big, 0, wide * 4, 0x3f800000u)); /* 1 */
    dmx_p_axpy p = {.n = (int32_t)wide, .alpha = 2.0f};
    dmx_op_call call = {.op = DMX_OP_AXPY, .params = &p};
    call.args[0] = (dmx_arg){big, 0, wide};
    call.args[1] = (dmx_arg){big, wide, wide};
    DMX_ASSERT_OK(dmx_buffer_fill(big, wide * 4, wide * 4, 0x40400000u)); /* 3 */
    DMX_ASSERT_OK(dmx_op_run(dev, &call));
    float *all = malloc(wide * 4);
    DMX_ASSERT_OK(dmx_buffer_read(big, wide * 4, all, wide * 4));
    for (size_t i = 0; i < wide; i++)
        if (all[i] != 5.0f)
            fail_msg("axpy over 160 MiB: [%zu] = %g, want 5", i, all[i]);
    free(all), free(host), free(got);
    dmx_buffer_free(big);
    dmx_device_close(dev);
}

static void test_out_of_device_memory_is_a_clear_error(void **state)
{
    (void)state;
    dmx_device *dev = open_or_skip();
    const dmx_device_info *info = dmx_device_info_of(dev);
    /* Most of the heap in one buffer, then more than is left (allocations are lazy on lavapipe,
     * so this costs no RAM). */
    size_t most = (size_t)(info->memory_bytes / 4 * 3);
    if (info->max_alloc_bytes && most > info->max_alloc_bytes)
        most = (size_t)info->max_alloc_bytes;
    dmx_buffer *a = alloc(dev, most), *b = NULL;
    size_t more = (size_t)(info->memory_bytes - most) + (64u << 20);
    if (info->max_alloc_bytes && more > info->max_alloc_bytes)
        more = (size_t)info->max_alloc_bytes;
    DMX_ASSERT_FAILS(dmx_buffer_alloc(dev, more, &b), DMX_ERR_OUT_OF_MEMORY,
                     "out of device memory");
    assert_null(b);
    dmx_buffer_free(a);
    b = alloc(dev, more); /* room again */
    dmx_buffer_free(b);
    /* A budget (DIMIX_VK_MEMORY_BUDGET) on a second handle to the device. */
    setenv("DIMIX_VK_MEMORY_BUDGET", "300M", 1);
    dmx_device *capped = open_or_skip();
    unsetenv("DIMIX_VK_MEMORY_BUDGET");
    dmx_buffer *c = alloc(capped, 16u << 20);
    DMX_ASSERT_FAILS(dmx_buffer_alloc(capped, 200u << 20, &b), DMX_ERR_OUT_OF_MEMORY,
                     "DIMIX_VK_MEMORY_BUDGET");
    /* nothing else broke: the capped device and the first one still compute */
    DMX_ASSERT_OK(dmx_buffer_fill(c, 0, 64, 0));
    DMX_ASSERT_OK(dmx_device_sync(capped));
    dmx_buffer *d = alloc(dev, 64);
    DMX_ASSERT_OK(dmx_buffer_fill(d, 0, 64, 0));
    DMX_ASSERT_OK(dmx_device_sync(dev));
    dmx_buffer_free(c), dmx_buffer_free(d);
    dmx_device_close(capped);
    dmx_device_close(dev);
}

static void make_temp_dir(char *path, size_t cap, const char *what)
{
    snprintf(path, cap, "%s/vk-test-%s-XXXXXX", DIMIX_BINARY_DIR, what);
    assert_non_null(mkdtemp(path));
}

/* The one cache file under dir/dimix: its path, and whether it starts with a valid header for
 * `dev` (lavapipe 22.3 stores nothing past the 32-byte header: it does not cache pipelines). */
static int cache_files(const char *dir, const dmx_device *dev, char *path, size_t cap,
                       bool *valid)
{
    char sub[700];
    snprintf(sub, sizeof sub, "%s/dimix", dir);
    DIR *d = opendir(sub);
    int n = 0;
    *valid = false;
    for (struct dirent *e; d && (e = readdir(d));) {
        if (strncmp(e->d_name, "vulkan-", 7) != 0)
            continue;
        n++;
        snprintf(path, cap, "%s/%s", sub, e->d_name);
        uint32_t words[4] = {0};
        FILE *f = fopen(path, "rb");
        if (f && fread(words, 4, 4, f) == 4)
            *valid = words[0] >= 32 && words[1] == VK_PIPELINE_CACHE_HEADER_VERSION_ONE &&
                     words[2] == dmx_vk_of((dmx_device *)dev)->phys->props.vendorID;
        if (f)
            fclose(f);
    }
    if (d)
        closedir(d);
    return n;
}

/* gelu of 1 on 16 elements (written from the host: no other shader involved). */
static void gelu_once(dmx_device *dev, dmx_status expect, const char *needle)
{
    const float ones[16] = {1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1};
    dmx_buffer *x = alloc(dev, 64);
    DMX_ASSERT_OK(dmx_buffer_write(x, 0, ones, 64));
    dmx_p_unary p = {.n = 16};
    dmx_op_call call = {.op = DMX_OP_GELU, .params = &p};
    call.args[0] = (dmx_arg){x, 0, 16};
    call.args[1] = (dmx_arg){x, 0, 16};
    if (expect == DMX_OK) {
        DMX_ASSERT_OK(dmx_op_run(dev, &call));
        float y;
        DMX_ASSERT_OK(dmx_buffer_read(x, 0, &y, 4));
        assert_true(fabsf(y - 0.841344746f) < 1e-6f);
    } else {
        DMX_ASSERT_FAILS(dmx_op_run(dev, &call), expect, needle);
    }
    dmx_buffer_free(x);
}

static void test_pipeline_cache_on_disk(void **state)
{
    (void)state;
    char dir[512], path[1024];
    make_temp_dir(dir, sizeof dir, "cache");
    const char *old = getenv("XDG_CACHE_HOME");
    char *saved = old ? strdup(old) : NULL;
    setenv("XDG_CACHE_HOME", dir, 1);
    dmx_device *dev = open_or_skip();
    gelu_once(dev, DMX_OK, NULL);
    bool valid = false;
    assert_int_equal(cache_files(dir, dev, path, sizeof path, &valid), 0); /* written at close */
    dmx_device_close(dev);
    dev = open_or_skip(); /* for its vendorID */
    assert_int_equal(cache_files(dir, dev, path, sizeof path, &valid), 1);
    assert_true(valid);
    dmx_device_close(dev);
    /* A corrupt file is ignored, and replaced at close. */
    FILE *f = fopen(path, "wb");
    assert_non_null(f);
    fputs("not a pipeline cache, not even close", f);
    fclose(f);
    dev = open_or_skip();
    gelu_once(dev, DMX_OK, NULL);
    dmx_device_close(dev);
    dev = open_or_skip();
    assert_int_equal(cache_files(dir, dev, path, sizeof path, &valid), 1);
    assert_true(valid);
    dmx_device_close(dev);
    char sub[700];
    snprintf(sub, sizeof sub, "%s/dimix", dir);
    remove(path);
    rmdir(sub);
    rmdir(dir);
    if (saved) {
        setenv("XDG_CACHE_HOME", saved, 1);
        free(saved);
    } else {
        unsetenv("XDG_CACHE_HOME");
    }
}

static void test_missing_shader_names_it(void **state)
{
    (void)state;
    dmx_device *keep = open_or_skip(); /* another handle: works again once the override goes */
    char empty[512];
    make_temp_dir(empty, sizeof empty, "shaders");
    setenv("DIMIX_SHADER_DIR", empty, 1);
    dmx_device *dev = open_or_skip();
    gelu_once(dev, DMX_ERR_NOT_FOUND, "shader 'gelu' not found");
    gelu_once(dev, DMX_ERR_NOT_FOUND, empty);
    /* The developer override works when the directory has the shaders. */
    setenv("DIMIX_SHADER_DIR", DIMIX_BINARY_DIR "/generated/shaders", 1);
    gelu_once(dev, DMX_OK, NULL);
    unsetenv("DIMIX_SHADER_DIR");
    gelu_once(keep, DMX_OK, NULL);
    dmx_device_close(dev);
    dmx_device_close(keep);
    rmdir(empty);
}

/* A lost device (VK_ERROR_DEVICE_LOST from any call) fails every later call with
 * DMX_ERR_DEVICE_LOST and says so; closing it does not hang; other devices keep working.
 * lavapipe cannot be made to lose itself, so the test marks the loss the way the backend does
 * when the driver reports it. */
static void test_lost_device_is_reported(void **state)
{
    (void)state;
    assert_int_equal(dmx_vk_status_of(VK_ERROR_DEVICE_LOST), DMX_ERR_DEVICE_LOST);
    assert_int_equal(dmx_vk_status_of(VK_ERROR_OUT_OF_DEVICE_MEMORY), DMX_ERR_OUT_OF_MEMORY);
    dmx_device *dev = open_or_skip(), *other = open_or_skip();
    dmx_buffer *x = alloc(dev, 64);
    DMX_ASSERT_OK(dmx_buffer_fill(x, 0, 64, 0));
    dmx_vk_device *d = dmx_vk_of(dev);
    DMX_ASSERT_FAILS(dmx_vk_fail(d, VK_ERROR_DEVICE_LOST, "vkQueueSubmit"), DMX_ERR_DEVICE_LOST,
                     "VK_ERROR_DEVICE_LOST");
    float v;
    DMX_ASSERT_FAILS(dmx_buffer_read(x, 0, &v, 4), DMX_ERR_DEVICE_LOST, "device was lost");
    DMX_ASSERT_FAILS(dmx_buffer_fill(x, 0, 64, 0), DMX_ERR_DEVICE_LOST, "vulkan:0");
    DMX_ASSERT_FAILS(dmx_device_sync(dev), DMX_ERR_DEVICE_LOST, "device was lost");
    dmx_buffer *y = NULL;
    DMX_ASSERT_FAILS(dmx_buffer_alloc(dev, 64, &y), DMX_ERR_DEVICE_LOST, "device was lost");
    dmx_buffer_free(x);
    dmx_device_close(dev);
    gelu_once(other, DMX_OK, NULL);
    dmx_device *cpu = dmx_test_cpu();
    gelu_once(cpu, DMX_OK, NULL);
    dmx_device_close(cpu);
    dmx_device_close(other);
}

int main(void)
{
    uint32_t errors_before = dmx_vk_validation_errors();
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_reports_limits_and_quirks),
        cmocka_unit_test(test_host_writes_are_ordered_with_recorded_work),
        cmocka_unit_test(test_copies_overlap_and_unaligned_bytes),
        cmocka_unit_test(test_batches_past_one_command_buffer),
        cmocka_unit_test(test_memory_past_the_binding_limit),
        cmocka_unit_test(test_out_of_device_memory_is_a_clear_error),
        cmocka_unit_test(test_pipeline_cache_on_disk),
        cmocka_unit_test(test_missing_shader_names_it),
        cmocka_unit_test(test_lost_device_is_reported),
    };
    int failed = cmocka_run_group_tests(tests, NULL, NULL);
    /* Under DIMIX_VK_VALIDATION every layer error fails the run, also one from a last close. */
    uint32_t errors = dmx_vk_validation_errors() - errors_before;
    if (dmx_vk_validation_enabled())
        printf("Vulkan validation layer: %u error(s)\n", errors);
    return failed || errors ? 1 : 0;
}
