/* File helpers for the image readers. */
#include "data/image_files.h"

#include <errno.h>
#include <string.h>
#include <sys/stat.h>

#include "core/error.h"

dmx_status dmx_path_join(char *buf, size_t cap, const char *dir, const char *name)
{
    size_t dir_len = strlen(dir);
    const char *sep = dir_len > 0 && dir[dir_len - 1] != '/' ? "/" : "";
    int n = snprintf(buf, cap, "%s%s%s", dir, sep, name);
    if (n < 0 || (size_t)n >= cap)
        return dmx_fail(DMX_ERR_INVALID_ARG, "path '%s%s%s' is longer than %zu bytes", dir, sep,
                        name, cap - 1);
    return DMX_OK;
}

bool dmx_is_regular_file(const char *path)
{
    struct stat st;
    return stat(path, &st) == 0 && S_ISREG(st.st_mode);
}

bool dmx_is_directory(const char *path)
{
    struct stat st;
    return stat(path, &st) == 0 && S_ISDIR(st.st_mode);
}

dmx_status dmx_open_for_read(const char *path, const char *what, FILE **out)
{
    *out = NULL;
    FILE *f = fopen(path, "rb");
    if (!f) {
        int err = errno;
        if (err == ENOENT)
            return dmx_fail(DMX_ERR_NOT_FOUND, "%s '%s' is missing", what, path);
        return dmx_fail(DMX_ERR_IO, "cannot open %s '%s': %s", what, path, strerror(err));
    }
    *out = f;
    return DMX_OK;
}

dmx_status dmx_file_size(FILE *f, const char *path, uint64_t *size)
{
    struct stat st;
    if (fstat(fileno(f), &st) != 0)
        return dmx_fail(DMX_ERR_IO, "cannot stat '%s': %s", path, strerror(errno));
    if (!S_ISREG(st.st_mode))
        return dmx_fail(DMX_ERR_IO, "'%s' is not a regular file", path);
    *size = (uint64_t)st.st_size;
    return DMX_OK;
}

dmx_status dmx_read_exact(FILE *f, const char *path, void *dst, size_t bytes)
{
    size_t got = fread(dst, 1, bytes, f);
    if (got == bytes)
        return DMX_OK;
    if (ferror(f))
        return dmx_fail(DMX_ERR_IO, "read error in '%s': %s", path, strerror(errno));
    return dmx_fail(DMX_ERR_FORMAT, "'%s' is truncated: wanted %zu more bytes, got %zu", path,
                    bytes, got);
}
