/* mkdir -p (make_dirs.h). */
#include "io/make_dirs.h"

#include <errno.h>
#include <string.h>
#include <sys/stat.h>

#include "core/error.h"

static dmx_status make_one_dir(const char *path)
{
    struct stat st;
    if (mkdir(path, 0777) == 0)
        return DMX_OK;
    if (errno == EEXIST && stat(path, &st) == 0 && S_ISDIR(st.st_mode))
        return DMX_OK;
    if (errno == EEXIST)
        return dmx_fail(DMX_ERR_IO, "%s: exists and is not a directory", path);
    return dmx_fail(DMX_ERR_IO, "%s: cannot create the directory: %s", path, strerror(errno));
}

dmx_status dmx_make_dirs(const char *path)
{
    char buf[4096];
    size_t n = strlen(path);
    if (n == 0 || n >= sizeof buf)
        return dmx_fail(DMX_ERR_INVALID_ARG, "output directory '%s': empty or too long", path);
    memcpy(buf, path, n + 1);
    for (size_t i = 1; i < n; i++) {
        if (buf[i] != '/')
            continue;
        buf[i] = '\0';
        DMX_TRY(make_one_dir(buf));
        buf[i] = '/';
    }
    return make_one_dir(buf);
}
