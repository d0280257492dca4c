/* Creating an output directory with its missing parents, as `mkdir -p` does. */
#ifndef DMX_IO_MAKE_DIRS_H
#define DMX_IO_MAKE_DIRS_H

#include "dimix/status.h"

/* Creates `path` and its missing parents; DMX_OK when it is already a directory. DMX_ERR_IO
 * naming the path and the reason (or "exists and is not a directory") otherwise. */
dmx_status dmx_make_dirs(const char *path);

#endif
