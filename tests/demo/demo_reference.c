/* What the demo test checks the demo against, through the public API only:
 *   demo_reference predict CKPT DATA INDEX DEVICE   prints "class=K" for test image INDEX
 *   demo_reference bmp FILE WIDTH HEIGHT            checks a screenshot: a BMP of that size
 *                                                   whose pixels are not all alike
 * DATA is a directory dimix reads or "synthetic" (the demo's synthetic set). Exit 0 on
 * success, 1 on failure with the reason on stderr. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dimix/data.h"
#include "dimix/device.h"
#include "dimix/infer.h"

static int fail(const char *what)
{
    fprintf(stderr, "demo_reference: %s: %s\n", what, dmx_last_error());
    return 1;
}

static int predict(const char *ckpt, const char *data, long index, const char *device)
{
    dmx_device *dev = NULL;
    dmx_classifier *c = NULL;
    dmx_image_dataset *ds = NULL;
    dmx_classifier_info in;
    if (dmx_device_open(device, &dev) != DMX_OK)
        return fail(device);
    int rc = 1;
    if (dmx_classifier_open(ckpt, dev, &c) != DMX_OK || dmx_classifier_info_get(c, &in) != DMX_OK) {
        rc = fail(ckpt);
        goto done;
    }
    dmx_status st;
    if (strcmp(data, "synthetic") == 0) {
        /* as apps/demo/main.c makes it */
        dmx_synthetic_options so = {.count = 256, .channels = in.channels, .height = in.height,
                                    .width = in.width, .num_classes = in.classes, .seed = 1234,
                                    .split = DMX_SPLIT_TEST, .noise = 40.0f};
        st = dmx_synthetic_images(&so, &ds);
    } else {
        dmx_image_load_options lo = {.split = DMX_SPLIT_TEST};
        st = dmx_image_dataset_open(data, &lo, &ds);
    }
    if (st != DMX_OK) {
        rc = fail(data);
        goto done;
    }
    if (index < 0 || index >= ds->count) {
        fprintf(stderr, "demo_reference: image %ld not in [0, %lld)\n", index,
                (long long)ds->count);
        goto done;
    }
    const size_t size = (size_t)in.channels * (size_t)in.height * (size_t)in.width;
    float *probs = calloc((size_t)in.classes, sizeof *probs);
    int top = -1;
    float p = 0.0f;
    if (probs && dmx_classifier_run(c, 1, DMX_PIXELS_U8, DMX_LAYOUT_NCHW,
                                    ds->pixels + (size_t)index * size, NULL, probs) == DMX_OK &&
        dmx_top_k(probs, in.classes, 1, &top, &p) == 1) {
        printf("class=%d p=%.6f name=%s\n", top, (double)p, dmx_classifier_class_name(c, top));
        rc = 0;
    } else {
        rc = fail("run");
    }
    free(probs);
done:
    dmx_image_dataset_free(ds);
    dmx_classifier_close(c);
    dmx_device_close(dev);
    return rc;
}

static uint32_t le(const uint8_t *p, int bytes)
{
    uint32_t v = 0;
    for (int j = bytes - 1; j >= 0; j--)
        v = v << 8 | p[j];
    return v;
}

static int check_bmp(const char *path, long want_w, long want_h)
{
    FILE *f = fopen(path, "rb");
    if (!f) {
        fprintf(stderr, "demo_reference: cannot open %s\n", path);
        return 1;
    }
    fseek(f, 0, SEEK_END);
    const long size = ftell(f);
    fseek(f, 0, SEEK_SET);
    uint8_t *b = size > 54 ? malloc((size_t)size) : NULL;
    const bool read = b && fread(b, 1, (size_t)size, f) == (size_t)size;
    fclose(f);
    if (!read || b[0] != 'B' || b[1] != 'M') {
        fprintf(stderr, "demo_reference: %s is not a BMP file\n", path);
        free(b);
        return 1;
    }
    const uint32_t offset = le(b + 10, 4);
    const int32_t w = (int32_t)le(b + 18, 4), h = (int32_t)le(b + 22, 4);
    const int bpp = (int)le(b + 28, 2), compression = (int)le(b + 30, 4);
    const long rows = h < 0 ? -(long)h : h, stride = ((long)w * bpp / 8 + 3) / 4 * 4;
    int rc = 1;
    if (w != want_w || rows != want_h) {
        fprintf(stderr, "demo_reference: %s is %dx%ld, the window %ldx%ld\n", path, w, rows,
                want_w, want_h);
    } else if ((bpp != 24 && bpp != 32) || (compression != 0 && compression != 3) ||
               (long)offset + stride * rows > size) {
        fprintf(stderr, "demo_reference: %s: %d bits per pixel, compression %d, %ld bytes: "
                "not a whole uncompressed image\n", path, bpp, compression, size);
    } else {
        /* distinct colours, up to a few: a real frame has text, bars and the canvas */
        uint32_t seen[16];
        int n = 0;
        for (long y = 0; y < rows && n < 16; y++)
            for (long x = 0; x < w && n < 16; x++) {
                const uint32_t v = le(b + offset + y * stride + x * (bpp / 8), 3);
                int j = 0;
                while (j < n && seen[j] != v)
                    j++;
                if (j == n)
                    seen[n++] = v;
            }
        if (n < 16)
            fprintf(stderr, "demo_reference: %s has only %d colours\n", path, n);
        else
            rc = 0;
    }
    free(b);
    return rc;
}

int main(int argc, char **argv)
{
    if (argc == 6 && strcmp(argv[1], "predict") == 0)
        return predict(argv[2], argv[3], strtol(argv[4], NULL, 10), argv[5]);
    if (argc == 5 && strcmp(argv[1], "bmp") == 0)
        return check_bmp(argv[2], strtol(argv[3], NULL, 10), strtol(argv[4], NULL, 10));
    fprintf(stderr, "usage: demo_reference predict CKPT DATA INDEX DEVICE\n"
                    "       demo_reference bmp FILE WIDTH HEIGHT\n");
    return 2;
}
