/* Helpers of the LRA data tests: a scratch directory per test program, and small file I/O. */
#ifndef DMX_LRA_TEST_UTIL_H
#define DMX_LRA_TEST_UTIL_H

#include <ftw.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "test_util.h"

/* A fresh directory under the build tree; removed with everything in it by lra_remove_tree. */
static inline void lra_make_temp_dir(char *buf, size_t cap, const char *tag)
{
    snprintf(buf, cap, "%s/lra-%s-XXXXXX", DIMIX_BINARY_DIR, tag);
    if (!mkdtemp(buf))
        fail_msg("mkdtemp %s failed", buf);
}

static inline int lra_remove_entry(const char *path, const struct stat *st, int flag,
                                   struct FTW *ftw)
{
    (void)st, (void)flag, (void)ftw;
    return remove(path);
}

static inline void lra_remove_tree(const char *dir)
{
    nftw(dir, lra_remove_entry, 16, FTW_DEPTH | FTW_PHYS);
}

static inline void lra_write_file(const char *path, const void *bytes, size_t n)
{
    FILE *f = fopen(path, "wb");
    if (!f || fwrite(bytes, 1, n, f) != n)
        fail_msg("cannot write %s", path);
    fclose(f);
}

static inline void lra_write_text(const char *path, const char *text)
{
    lra_write_file(path, text, strlen(text));
}

/* The whole file (malloc'd, NUL-terminated); fails the test if unreadable. */
static inline char *lra_read_file(const char *path, size_t *size)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        fail_msg("cannot open %s", path);
    fseek(f, 0, SEEK_END);
    long n = ftell(f);
    fseek(f, 0, SEEK_SET);
    char *buf = malloc((size_t)n + 1);
    if (!buf || fread(buf, 1, (size_t)n, f) != (size_t)n)
        fail_msg("cannot read %s", path);
    fclose(f);
    buf[n] = '\0';
    if (size)
        *size = (size_t)n;
    return buf;
}

/* Runs the built `dimix <args>` with stdout and stderr in dir/out.txt; returns the exit code
 * and the output (malloc'd). */
static inline int lra_run_dimix(const char *dir, const char *args, char **output)
{
    char command[4096], path[600];
    snprintf(path, sizeof path, "%s/out.txt", dir);
    snprintf(command, sizeof command, "'%s/dimix' %s > '%s' 2>&1", DIMIX_BINARY_DIR, args, path);
    int status = system(command);
    if (status == -1 || !WIFEXITED(status))
        fail_msg("could not run: %s", command);
    *output = lra_read_file(path, NULL);
    return WEXITSTATUS(status);
}

/* Runs dimix and checks the exit code and that the output holds every needle (NULL-ended). */
static inline void lra_expect_run(const char *dir, const char *args, int code, ...)
{
    char *out = NULL;
    int got = lra_run_dimix(dir, args, &out);
    if (got != code)
        fail_msg("dimix %s: exit %d (want %d):\n%s", args, got, code, out);
    va_list ap;
    va_start(ap, code);
    for (const char *needle = va_arg(ap, const char *); needle; needle = va_arg(ap, const char *))
        if (!strstr(out, needle))
            fail_msg("dimix %s: output lacks \"%s\":\n%s", args, needle, out);
    va_end(ap);
    free(out);
}

#endif
