#include "data_fixtures.h"

#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zlib.h>

char *fixture_dir(const char *leaf)
{
    const char *tmp = getenv("TMPDIR");
    char *dir = malloc(4096);
    assert_non_null(dir);
    snprintf(dir, 4096, "%s/dimix-data-XXXXXX", tmp && *tmp ? tmp : "/tmp");
    if (!mkdtemp(dir))
        fail_msg("mkdtemp(%s) failed", dir);
    if (leaf) {
        size_t n = strlen(dir);
        snprintf(dir + n, 4096 - n, "/%s", leaf);
        if (mkdir(dir, 0700) != 0)
            fail_msg("mkdir(%s) failed", dir);
    }
    return dir;
}

static int remove_entry(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
    (void)st, (void)flag, (void)ftw;
    return remove(path);
}

void fixture_remove(char *dir)
{
    /* Remove the temporary root, which is the parent when a leaf was asked for. */
    char *leaf = strstr(dir, "/dimix-data-");
    char *slash = leaf ? strchr(leaf + 1, '/') : NULL;
    if (slash)
        *slash = '\0';
    nftw(dir, remove_entry, 16, FTW_DEPTH | FTW_PHYS);
    free(dir);
}

char *fixture_path(const char *dir, const char *name)
{
    size_t n = strlen(dir) + strlen(name) + 2;
    char *p = malloc(n);
    assert_non_null(p);
    snprintf(p, n, "%s/%s", dir, name);
    return p;
}

void fixture_write(const char *dir, const char *name, const void *data, size_t bytes)
{
    char *path = fixture_path(dir, name);
    FILE *f = fopen(path, "wb");
    if (!f)
        fail_msg("cannot create %s", path);
    assert_int_equal(fwrite(data, 1, bytes, f), bytes);
    assert_int_equal(fclose(f), 0);
    free(path);
}

void fixture_write_gz(const char *dir, const char *name, const void *data, size_t bytes)
{
    char *path = fixture_path(dir, name);
    gzFile f = gzopen(path, "wb");
    if (!f)
        fail_msg("cannot create %s", path);
    assert_int_equal(gzwrite(f, data, (unsigned)bytes), (int)bytes);
    assert_int_equal(gzclose(f), Z_OK);
    free(path);
}

uint8_t *fixture_read(const char *dir, const char *name, size_t *bytes)
{
    char *path = fixture_path(dir, name);
    FILE *f = fopen(path, "rb");
    if (!f)
        fail_msg("cannot open %s", path);
    fseek(f, 0, SEEK_END);
    long n = ftell(f);
    fseek(f, 0, SEEK_SET);
    uint8_t *data = malloc((size_t)n + 1);
    assert_non_null(data);
    assert_int_equal(fread(data, 1, (size_t)n, f), (size_t)n);
    fclose(f);
    free(path);
    *bytes = (size_t)n;
    return data;
}

uint8_t *fixture_cifar_records(int n, int label_bytes, const uint8_t *labels,
                               const uint8_t *pixels, size_t *bytes)
{
    const size_t record = (size_t)label_bytes + 3072;
    uint8_t *data = malloc(record * (size_t)n + 1);
    assert_non_null(data);
    for (int i = 0; i < n; i++) {
        memcpy(data + record * i, labels + (size_t)label_bytes * i, (size_t)label_bytes);
        memcpy(data + record * i + label_bytes, pixels + (size_t)3072 * i, 3072);
    }
    *bytes = record * (size_t)n;
    return data;
}

static void put_be32(uint8_t *p, uint32_t v)
{
    p[0] = (uint8_t)(v >> 24), p[1] = (uint8_t)(v >> 16), p[2] = (uint8_t)(v >> 8);
    p[3] = (uint8_t)v;
}

uint8_t *fixture_idx(int ndims, const uint32_t *dims, const uint8_t *data, size_t *bytes)
{
    size_t n = 1;
    for (int d = 0; d < ndims; d++)
        n *= dims[d];
    size_t header = 4 * (size_t)(1 + ndims);
    uint8_t *out = malloc(header + n + 1);
    assert_non_null(out);
    put_be32(out, 0x0800u | (uint32_t)ndims);
    for (int d = 0; d < ndims; d++)
        put_be32(out + 4 + 4 * d, dims[d]);
    memcpy(out + header, data, n);
    *bytes = header + n;
    return out;
}

void fixture_random_bytes(uint64_t seed, uint8_t *dst, size_t n)
{
    dmx_test_rng rng = {seed};
    for (size_t i = 0; i < n; i++)
        dst[i] = (uint8_t)(dmx_test_next(&rng) >> 56);
}
