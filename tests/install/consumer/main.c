/* Uses the installed public API only: lists devices, adds two tensors on the CPU device, and
 * saves and reloads the sum as safetensors in the directory given as argv[1]; then saves a
 * seeded fmnist-bmlp model with its normalisation and class names and classifies two images
 * with dmx_classifier_* on every device present, printing the top classes; then loads a small
 * plain IDX dataset it writes. With a second argument `no-zlib` (the hidden-libraries test) it
 * also checks that a gzip IDX file fails with a message naming zlib. Prints one known line on
 * success; any failure prints the library's message and exits 1. */
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

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

/* A seeded model saved as a checkpoint would be after training, with its metadata. */
static int save_model(const char *path)
{
    dmx_model_config cfg;
    dmx_device *cpu = NULL;
    dmx_model *m = NULL;
    char names[10][16], *list[10];
    for (int k = 0; k < 10; k++) {
        snprintf(names[k], sizeof names[k], "class-%d", k);
        list[k] = names[k];
    }
    dmx_checkpoint_input in = {.channels = 1, .mean = {0.286f}, .std = {0.353f}, .classes = 10,
                               .class_names = list};
    int ok = dmx_model_preset("fmnist-bmlp", &cfg) == DMX_OK &&
             dmx_device_open("cpu", &cpu) == DMX_OK &&
             dmx_model_create(cpu, &cfg, 3, &m) == DMX_OK &&
             dmx_checkpoint_save_with(path, m, NULL, NULL, &in) == DMX_OK;
    dmx_model_destroy(m);
    dmx_device_close(cpu);
    return ok ? 0 : fail("saving a model");
}

/* Classifies two images on every device; the top classes must agree across devices. */
static int classify_everywhere(const char *path)
{
    static uint8_t pixels[2 * 28 * 28];
    for (size_t i = 0; i < sizeof pixels; i++)
        pixels[i] = (uint8_t)((i * 37u) % 251u);
    int first_top[2] = {-1, -1};
    for (int d = 0; d < dmx_device_count(); d++) {
        dmx_device_info info;
        dmx_device *dev = NULL;
        dmx_classifier *c = NULL;
        float probs[2 * 10];
        if (dmx_device_get_info(d, &info) != DMX_OK || dmx_device_open(info.name, &dev) != DMX_OK)
            return fail("opening a device");
        if (dmx_classifier_open(path, dev, &c) != DMX_OK ||
            dmx_classifier_run(c, 2, DMX_PIXELS_U8, DMX_LAYOUT_NHWC, pixels, NULL, probs) !=
                DMX_OK) {
            dmx_classifier_close(c);
            dmx_device_close(dev);
            return fail("classifying");
        }
        for (int b = 0; b < 2; b++) {
            int top[2];
            float p[2];
            int n = dmx_top_k(probs + b * 10, 10, 2, top, p);
            printf("dimix consumer: %s image %d: %s %.3f, %s %.3f\n", info.name, b,
                   dmx_classifier_class_name(c, top[0]), p[0],
                   n > 1 ? dmx_classifier_class_name(c, top[1]) : "-", n > 1 ? p[1] : 0.0f);
            if (first_top[b] < 0)
                first_top[b] = top[0];
            else if (first_top[b] != top[0])
                fprintf(stderr, "dimix consumer: note: %s ranks another class first for image "
                        "%d (close probabilities?)\n", info.name, b);
        }
        dmx_classifier_close(c);
        dmx_device_close(dev);
    }
    return 0;
}

static int write_file(const char *dir, const char *name, const uint8_t *data, size_t n)
{
    char path[4096];
    snprintf(path, sizeof path, "%s/%s", dir, name);
    FILE *f = fopen(path, "wb");
    int ok = f && fwrite(data, 1, n, f) == n;
    if (f)
        ok = fclose(f) == 0 && ok;
    return ok ? 0 : fail("writing an IDX file");
}

/* Three 2x2 images with labels 0, 1, 2 as plain IDX files (big-endian headers). */
static int idx_round_trip(const char *scratch, int expect_no_zlib)
{
    char dir[4096];
    snprintf(dir, sizeof dir, "%s/idx", scratch);
    mkdir(dir, 0755);
    const uint8_t images[16 + 12] = {0, 0, 8, 3, 0, 0, 0, 3, 0, 0, 0, 2, 0, 0, 0, 2,
                                     1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12};
    const uint8_t labels[8 + 3] = {0, 0, 8, 1, 0, 0, 0, 3, 0, 1, 2};
    if (write_file(dir, "t10k-images-idx3-ubyte", images, sizeof images) ||
        write_file(dir, "t10k-labels-idx1-ubyte", labels, sizeof labels))
        return 1;
    dmx_image_load_options o = {.split = DMX_SPLIT_TEST, .idx_kind = DMX_IDX_GENERIC};
    dmx_image_dataset *ds = NULL;
    if (dmx_idx_load(dir, &o, &ds) != DMX_OK)
        return fail("loading a plain IDX dataset");
    int ok = ds->count == 3 && ds->height == 2 && ds->pixels[11] == 12 && ds->labels[2] == 2;
    dmx_image_dataset_free(ds);
    if (!ok)
        return fail("comparing the IDX dataset read back");
    if (!expect_no_zlib)
        return 0;
    /* A gzip file (its magic bytes are enough) must name what is missing. */
    snprintf(dir, sizeof dir, "%s/idx-gz", scratch);
    mkdir(dir, 0755);
    const uint8_t gz[16] = {0x1f, 0x8b, 8, 0};
    if (write_file(dir, "t10k-images-idx3-ubyte.gz", gz, sizeof gz) ||
        write_file(dir, "t10k-labels-idx1-ubyte", labels, sizeof labels))
        return 1;
    if (dmx_idx_load(dir, &o, &ds) == DMX_OK || !strstr(dmx_last_error(), "zlib")) {
        dmx_image_dataset_free(ds);
        fprintf(stderr, "consumer: a gzip IDX file without zlib: %s\n", dmx_last_error());
        return 1;
    }
    printf("dimix consumer: without zlib: %s\n", dmx_last_error());
    return 0;
}

int main(int argc, char **argv)
{
    if (argc != 2 && !(argc == 3 && strcmp(argv[2], "no-zlib") == 0)) {
        fprintf(stderr, "usage: app SCRATCH_DIR [no-zlib]\n");
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
    char model[4096];
    snprintf(model, sizeof model, "%s/model.safetensors", argv[1]);
    if (save_model(model) || classify_everywhere(model) || idx_round_trip(argv[1], argc == 3))
        return 1;
    printf("dimix consumer: %d device(s), cpu add = %g %g %g, safetensors round trip ok\n",
           dmx_device_count(), sum[0], sum[1], sum[2]);
    return 0;
}
