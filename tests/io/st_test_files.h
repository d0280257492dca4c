/* File helpers for the safetensors tests: a private scratch directory, raw files built from a
 * header text, and whole-file reads. */
#ifndef DMX_ST_TEST_FILES_H
#define DMX_ST_TEST_FILES_H

#include <stddef.h>
#include <stdint.h>

/* Creates a fresh scratch directory (under /tmp) and returns its path (static storage). */
const char *st_scratch_dir(void);
/* Removes the scratch directory and everything in it. */
void st_scratch_cleanup(void);
/* "<scratch>/<name>" in a static rotating buffer (valid for the next few calls). */
const char *st_path(const char *name);

/* Writes bytes[0, n) to path (not atomically: the tests need files of any shape). */
void st_write_bytes(const char *path, const void *bytes, size_t n);
/* Writes a file: the 8-byte length `header_len_field`, `header`, then `data_len` bytes
 * counting up from 0. */
void st_write_raw(const char *path, uint64_t header_len_field, const char *header,
                  size_t data_len);
/* The same with the header's true length in the length field. */
void st_write_header(const char *path, const char *header, size_t data_len);

/* Reads a whole file (malloc'd; *n gets its size); fails the test when it cannot. */
unsigned char *st_read_bytes(const char *path, size_t *n);

/* Number of entries in the scratch directory other than "." and "..". */
int st_scratch_entries(void);

#endif
