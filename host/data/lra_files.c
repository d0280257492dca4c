/* Progress reports, directories and staged output files for the LRA generators. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "core/error.h"
#include "data/lra_internal.h"
#include "io/make_dirs.h"

dmx_status dmx_lra_report_progress(const dmx_lra_progress *p)
{
    if (p->fn && p->fn(p->user, p->done, p->total))
        return dmx_fail(DMX_ERR_INTERRUPTED, "%s: stopped after %lld of %lld %s", p->what,
                        (long long)p->done, (long long)p->total, p->unit);
    return DMX_OK;
}


dmx_status dmx_staged_open(dmx_staged_file *sf, const char *dir, const char *name)
{
    memset(sf, 0, sizeof *sf);
    int n = snprintf(sf->path, sizeof sf->path, "%s/%s", dir, name);
    if (n < 0 || (size_t)n >= sizeof sf->path)
        return dmx_fail(DMX_ERR_INVALID_ARG, "output path '%s/%s' is too long", dir, name);
    snprintf(sf->part, sizeof sf->part, "%s.part", sf->path);
    sf->f = fopen(sf->part, "wb");
    if (!sf->f)
        return dmx_fail(DMX_ERR_IO, "%s: cannot create: %s", sf->part, strerror(errno));
    /* Large writes: the ListOps train split is hundreds of megabytes. */
    setvbuf(sf->f, NULL, _IOFBF, 1 << 20);
    return DMX_OK;
}

dmx_status dmx_staged_write(dmx_staged_file *sf, const void *bytes, size_t n)
{
    if (fwrite(bytes, 1, n, sf->f) != n)
        return dmx_fail(DMX_ERR_IO, "%s: write failed: %s", sf->part, strerror(errno));
    return DMX_OK;
}

dmx_status dmx_staged_commit(dmx_staged_file *sf)
{
    int failed = fflush(sf->f) != 0 || ferror(sf->f);
    int err = errno;
    failed |= fclose(sf->f) != 0;
    sf->f = NULL;
    if (failed) {
        remove(sf->part);
        return dmx_fail(DMX_ERR_IO, "%s: write failed: %s", sf->part, strerror(err));
    }
    if (rename(sf->part, sf->path) != 0) {
        err = errno;
        remove(sf->part);
        return dmx_fail(DMX_ERR_IO, "%s: cannot rename to %s: %s", sf->part, sf->path,
                        strerror(err));
    }
    return DMX_OK;
}

void dmx_staged_abort(dmx_staged_file *sf)
{
    if (sf->f) {
        fclose(sf->f);
        sf->f = NULL;
        remove(sf->part);
    }
}
