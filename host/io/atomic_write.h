/* Replacing a file atomically: readers see the old content or the new, never a part, and a
 * crash never leaves a half-written file at the target path. */
#ifndef DMX_IO_ATOMIC_WRITE_H
#define DMX_IO_ATOMIC_WRITE_H

#include <stddef.h>

#include "dimix/status.h"

typedef struct dmx_write_chunk {
    const void *data;
    size_t bytes;
} dmx_write_chunk;

/* Writes the chunks, in order, to a new temporary file in the directory of `path`, flushes
 * and fsyncs it, renames it over `path`, then fsyncs the directory so the rename lasts. On any
 * failure the temporary file is removed and `path` is untouched. The new file gets mode 0666
 * less the umask. */
dmx_status dmx_write_file_atomic(const char *path, const dmx_write_chunk *chunks, size_t count);

#endif
