#include "st_test_files.h"

#include <dirent.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <cmocka.h>

static char scratch[64];

const char *st_scratch_dir(void)
{
    if (!scratch[0]) {
        strcpy(scratch, "/tmp/dimix-io-XXXXXX");
        if (!mkdtemp(scratch))
            fail_msg("mkdtemp(%s) failed", scratch);
    }
    return scratch;
}

static void remove_tree(const char *path)
{
    struct stat st;
    if (lstat(path, &st) != 0)
        return;
    if (S_ISDIR(st.st_mode)) {
        chmod(path, 0700);
        DIR *d = opendir(path);
        struct dirent *e;
        while (d && (e = readdir(d))) {
            if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0)
                continue;
            char child[4096];
            snprintf(child, sizeof child, "%s/%s", path, e->d_name);
            remove_tree(child);
        }
        if (d)
            closedir(d);
        rmdir(path);
    } else
        unlink(path);
}

void st_scratch_cleanup(void)
{
    if (scratch[0])
        remove_tree(scratch);
    scratch[0] = '\0';
}

const char *st_path(const char *name)
{
    static char paths[4][4096];
    static int next;
    char *p = paths[next++ % 4];
    snprintf(p, sizeof paths[0], "%s/%s", st_scratch_dir(), name);
    return p;
}

void st_write_bytes(const char *path, const void *bytes, size_t n)
{
    /* A fresh file rather than a truncated one: ext4 flushes a file that was truncated and
     * rewritten when it is closed, which made thousands of trials wait on the disk. */
    unlink(path);
    FILE *f = fopen(path, "wb");
    if (!f)
        fail_msg("cannot create %s", path);
    if (n && fwrite(bytes, 1, n, f) != n)
        fail_msg("cannot write %s", path);
    fclose(f);
}

void st_write_raw(const char *path, uint64_t header_len_field, const char *header,
                  size_t data_len)
{
    size_t hlen = strlen(header);
    unsigned char *buf = malloc(8 + hlen + data_len + 1);
    assert_non_null(buf);
    for (int i = 0; i < 8; i++)
        buf[i] = (unsigned char)(header_len_field >> (8 * i));
    memcpy(buf + 8, header, hlen);
    for (size_t i = 0; i < data_len; i++)
        buf[8 + hlen + i] = (unsigned char)i;
    st_write_bytes(path, buf, 8 + hlen + data_len);
    free(buf);
}

void st_write_header(const char *path, const char *header, size_t data_len)
{
    st_write_raw(path, strlen(header), header, data_len);
}

unsigned char *st_read_bytes(const char *path, size_t *n)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        fail_msg("cannot open %s", path);
    fseek(f, 0, SEEK_END);
    long size = ftell(f);
    fseek(f, 0, SEEK_SET);
    unsigned char *buf = malloc(size > 0 ? (size_t)size : 1);
    assert_non_null(buf);
    if (size > 0 && fread(buf, 1, (size_t)size, f) != (size_t)size)
        fail_msg("cannot read %s", path);
    fclose(f);
    *n = (size_t)size;
    return buf;
}

int st_scratch_entries(void)
{
    DIR *d = opendir(st_scratch_dir());
    assert_non_null(d);
    int n = 0;
    struct dirent *e;
    while ((e = readdir(d)))
        n += strcmp(e->d_name, ".") != 0 && strcmp(e->d_name, "..") != 0;
    closedir(d);
    return n;
}
