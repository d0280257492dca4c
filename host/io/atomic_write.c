/* Atomic file replacement: temporary file + fsync + rename (see atomic_write.h). */
#include "io/atomic_write.h"

#include <errno.h>
#include <fcntl.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "core/error.h"

static dmx_status write_all(int fd, const char *tmp, const void *data, size_t bytes)
{
    const char *p = data;
    while (bytes > 0) {
        ssize_t done = write(fd, p, bytes);
        if (done < 0 && errno == EINTR)
            continue;
        if (done < 0)
            return dmx_fail(DMX_ERR_IO, "writing '%s' failed: %s", tmp, strerror(errno));
        p += done;
        bytes -= (size_t)done;
    }
    return DMX_OK;
}

/* A name beside `path` that no other writer (thread or process) picks at the same time. */
static char *temporary_name(const char *path)
{
    static atomic_uint counter;
    unsigned n = atomic_fetch_add(&counter, 1);
    size_t cap = strlen(path) + 48;
    char *tmp = malloc(cap);
    if (tmp)
        snprintf(tmp, cap, "%s.tmp-%ld-%u", path, (long)getpid(), n);
    return tmp;
}

/* fsync of the directory holding `path`, so that the rename itself survives a crash. The
 * file is already complete at its name; a filesystem that cannot sync directories loses only
 * that guarantee, so failures here are not reported. */
static void sync_directory_of(const char *path)
{
    const char *slash = strrchr(path, '/');
    char *dir = slash ? strndup(path, slash == path ? 1 : (size_t)(slash - path)) : strdup(".");
    if (!dir)
        return;
    int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd >= 0) {
        (void)fsync(fd);
        close(fd);
    }
    free(dir);
}

static dmx_status write_and_sync(int fd, const char *tmp, const dmx_write_chunk *chunks,
                                 size_t count)
{
    for (size_t i = 0; i < count; i++)
        DMX_TRY(write_all(fd, tmp, chunks[i].data, chunks[i].bytes));
    if (fsync(fd) != 0)
        return dmx_fail(DMX_ERR_IO, "fsync of '%s' failed: %s", tmp, strerror(errno));
    return DMX_OK;
}

dmx_status dmx_write_file_atomic(const char *path, const dmx_write_chunk *chunks, size_t count)
{
    char *tmp = temporary_name(path);
    if (!tmp)
        return dmx_fail(DMX_ERR_OUT_OF_MEMORY, "no memory for a temporary file name");
    int fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0666);
    if (fd < 0) {
        dmx_status s = dmx_fail(errno == ENOENT ? DMX_ERR_NOT_FOUND : DMX_ERR_IO,
                                "cannot create '%s': %s", tmp, strerror(errno));
        free(tmp);
        return s;
    }
    dmx_status s = write_and_sync(fd, tmp, chunks, count);
    if (close(fd) != 0 && s == DMX_OK)
        s = dmx_fail(DMX_ERR_IO, "closing '%s' failed: %s", tmp, strerror(errno));
    if (s == DMX_OK && rename(tmp, path) != 0)
        s = dmx_fail(DMX_ERR_IO, "renaming '%s' to '%s' failed: %s", tmp, path, strerror(errno));
    if (s != DMX_OK)
        unlink(tmp);
    else
        sync_directory_of(path);
    free(tmp);
    return s;
}
