#include "opencl_test_util.h"

#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "ops/op_table.h"

int dmx_cl_test_require_device(void)
{
    for (int i = 0; i < dmx_device_count(); i++) {
        dmx_device_info info;
        if (dmx_device_get_info(i, &info) == DMX_OK && info.backend == DMX_BACKEND_OPENCL)
            return 0;
    }
    printf("SKIPPED: no OpenCL device: %s\n", dmx_backend_why_none(DMX_BACKEND_OPENCL));
    return DMX_TEST_SKIPPED;
}

dmx_device *dmx_cl_test_open(void)
{
    dmx_device *dev = NULL;
    if (dmx_device_open("opencl:0", &dev) != DMX_OK)
        fail_msg("cannot open opencl:0: %s", dmx_last_error());
    return dev;
}

void dmx_cl_test_device_works(dmx_device *dev)
{
    const float x[5] = {1.0f, -2.0f, 3.5f, 0.0f, 7.0f};
    float y[5];
    dmx_buffer *bx = NULL, *by = NULL;
    DMX_ASSERT_OK(dmx_buffer_alloc(dev, sizeof x, &bx));
    DMX_ASSERT_OK(dmx_buffer_alloc(dev, sizeof y, &by));
    DMX_ASSERT_OK(dmx_buffer_write(bx, 0, x, sizeof x));
    dmx_p_scale p = {.n = 5, .alpha = 2.0f};
    dmx_op_call call = {.op = DMX_OP_SCALE, .params = &p};
    call.args[0] = (dmx_arg){bx, 0, 5};
    call.args[1] = (dmx_arg){by, 0, 5};
    DMX_ASSERT_OK(dmx_op_run(dev, &call));
    DMX_ASSERT_OK(dmx_buffer_read(by, 0, y, sizeof y));
    for (int i = 0; i < 5; i++)
        if (y[i] != 2.0f * x[i])
            fail_msg("scale on %s: y[%d] = %g, want %g", dmx_device_info_of(dev)->name, i,
                     (double)y[i], 2.0 * x[i]);
    dmx_buffer_free(bx);
    dmx_buffer_free(by);
}

static char *read_text(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return NULL;
    fseek(f, 0, SEEK_END);
    long n = ftell(f);
    fseek(f, 0, SEEK_SET);
    char *text = n >= 0 ? malloc((size_t)n + 1) : NULL;
    if (text && fread(text, 1, (size_t)n, f) != (size_t)n) {
        free(text);
        text = NULL;
    }
    fclose(f);
    if (text) {
        text[n] = '\0';
        *len = (size_t)n;
    }
    return text;
}

static void write_text(const char *path, const char *text, size_t len)
{
    FILE *f = fopen(path, "wb");
    if (!f || fwrite(text, 1, len, f) != len)
        fail_msg("cannot write %s", path);
    fclose(f);
}

void dmx_cl_test_copy_kernels(char *dir, size_t cap)
{
    snprintf(dir, cap, "%s/dimix-cl-test-XXXXXX", DIMIX_BINARY_DIR);
    if (!mkdtemp(dir))
        fail_msg("mkdtemp %s failed", dir);
    const char *src_dir = DIMIX_SOURCE_DIR "/cl";
    DIR *d = opendir(src_dir);
    if (!d)
        fail_msg("cannot list %s", src_dir);
    struct dirent *e;
    while ((e = readdir(d))) {
        size_t n = strlen(e->d_name);
        if (n < 4 || strcmp(e->d_name + n - 3, ".cl") != 0)
            continue;
        char from[4096], to[4096];
        snprintf(from, sizeof from, "%s/%s", src_dir, e->d_name);
        snprintf(to, sizeof to, "%s/%s", dir, e->d_name);
        size_t len = 0;
        char *text = read_text(from, &len);
        if (!text)
            fail_msg("cannot read %s", from);
        write_text(to, text, len);
        free(text);
    }
    closedir(d);
}

void dmx_cl_test_patch_kernel(const char *dir, const char *name, const char *from, const char *to)
{
    char path[4096];
    snprintf(path, sizeof path, "%s/%s", dir, name);
    size_t len = 0;
    char *text = read_text(path, &len);
    if (!text)
        fail_msg("cannot read %s", path);
    char *at = strstr(text, from);
    if (!at)
        fail_msg("%s does not contain \"%s\"", path, from);
    size_t head = (size_t)(at - text), nfrom = strlen(from), nto = strlen(to);
    char *out = malloc(len - nfrom + nto + 1);
    memcpy(out, text, head);
    memcpy(out + head, to, nto);
    memcpy(out + head + nto, at + nfrom, len - head - nfrom);
    write_text(path, out, len - nfrom + nto);
    free(out);
    free(text);
}

void dmx_cl_test_remove_dir(const char *dir)
{
    DIR *d = opendir(dir);
    if (!d)
        return;
    struct dirent *e;
    while ((e = readdir(d))) {
        if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0)
            continue;
        char path[4096];
        snprintf(path, sizeof path, "%s/%s", dir, e->d_name);
        unlink(path);
    }
    closedir(d);
    rmdir(dir);
}
