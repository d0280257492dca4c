/* File helpers shared by the image readers: paths, existence, sizes, exact reads. Every failure
 * names the file. */
#ifndef DMX_DATA_IMAGE_FILES_H
#define DMX_DATA_IMAGE_FILES_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "dimix/status.h"

#define DMX_PATH_CAPACITY 4096

/* dir + "/" + name into buf (cap bytes); fails when the result does not fit. */
dmx_status dmx_path_join(char *buf, size_t cap, const char *dir, const char *name);

bool dmx_is_regular_file(const char *path);
bool dmx_is_directory(const char *path);

/* Opens `path` for reading; a missing file is DMX_ERR_NOT_FOUND naming `what` ("CIFAR-10
 * train batch"), any other failure DMX_ERR_IO with the system's reason. */
dmx_status dmx_open_for_read(const char *path, const char *what, FILE **out);

/* Size in bytes of an open file. */
dmx_status dmx_file_size(FILE *f, const char *path, uint64_t *size);

/* Reads exactly `bytes` or fails: a short read is DMX_ERR_FORMAT ("truncated"). */
dmx_status dmx_read_exact(FILE *f, const char *path, void *dst, size_t bytes);

#endif
