/* Uses the installed public API only: lists devices, adds two tensors on the CPU device, and
 * saves and reloads the sum as safetensors in the directory given as argv[1]. Prints one
 * known line on success; any failure prints the library's message and exits 1. */
#include <stdio.h>
#include <string.h>

#include <dimix/dimix.h>

static int fail(const char *what)
{
    fprintf(stderr, "consumer: %s failed: %s\n", what, dmx_last_error());
    return 1;
}

static int round_trip(const char *dir, const float *sum)
{
    char path[4096];
    snprintf(path, sizeof path, "%s/sum.safetensors", dir);
    int64_t shape[1] = {3};
    dmx_st_writer *w = NULL;
    if (dmx_st_writer_create(&w) != DMX_OK || dmx_st_writer_add(w, "sum", DMX_ST_F32, 1, shape,
                                                                sum) != DMX_OK ||
        dmx_st_writer_save(w, path) != DMX_OK) {
        dmx_st_writer_destroy(w);
        return fail("safetensors save");
    }
    dmx_st_writer_destroy(w);
    dmx_st_file *f = NULL;
    float back[3];
    if (dmx_st_open(path, &f) != DMX_OK ||
        dmx_st_read(f, "sum", DMX_ST_F32, back, sizeof back) != DMX_OK) {
        dmx_st_close(f);
        return fail("safetensors load");
    }
    dmx_st_close(f);
    return memcmp(back, sum, sizeof back) == 0 ? 0 : fail("safetensors comparison");
}

int main(int argc, char **argv)
{
    if (argc != 2) {
        fprintf(stderr, "usage: app SCRATCH_DIR\n");
        return 2;
    }
    dmx_device *dev = NULL;
    dmx_ctx *ctx = NULL;
    dmx_tensor *a, *b, *y;
    const float x1[3] = {1, 2, 3}, x2[3] = {10, 20, 30};
    float sum[3];
    int64_t shape[1] = {3};
    if (dmx_device_open("cpu", &dev) != DMX_OK || dmx_ctx_create(dev, &ctx) != DMX_OK ||
        dmx_tensor_from_host(ctx, DMX_F32, 1, shape, x1, "a", &a) != DMX_OK ||
        dmx_tensor_from_host(ctx, DMX_F32, 1, shape, x2, "b", &b) != DMX_OK ||
        dmx_add(ctx, a, b, &y) != DMX_OK || dmx_tensor_to_host(y, sum, sizeof sum) != DMX_OK)
        return fail("cpu add");
    int rc = round_trip(argv[1], sum);
    dmx_ctx_destroy(ctx);
    dmx_device_close(dev);
    if (rc)
        return rc;
    printf("dimix consumer: %d device(s), cpu add = %g %g %g, safetensors round trip ok\n",
           dmx_device_count(), sum[0], sum[1], sum[2]);
    return 0;
}
