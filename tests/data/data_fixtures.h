/* Fixtures for the data suite: temporary directories, small files in each dataset format, and
 * message checks. Failures stop the test through cmocka. */
#ifndef DMX_TEST_DATA_FIXTURES_H
#define DMX_TEST_DATA_FIXTURES_H

#include <stddef.h>
#include <stdint.h>

#include "test_util.h"

/* A new empty directory under $TMPDIR (or /tmp); with `leaf`, a subdirectory of that name
 * inside a new temporary directory (so tests can choose the folder's name). malloc'd. */
char *fixture_dir(const char *leaf);
/* Removes the directory and everything in it, then frees `dir`. */
void fixture_remove(char *dir);

/* dir/name (malloc'd). */
char *fixture_path(const char *dir, const char *name);
void fixture_write(const char *dir, const char *name, const void *data, size_t bytes);
void fixture_write_gz(const char *dir, const char *name, const void *data, size_t bytes);
/* The whole content of dir/name (malloc'd); *bytes gets its size. */
uint8_t *fixture_read(const char *dir, const char *name, size_t *bytes);

/* CIFAR records: n records of `label_bytes` labels (taken from labels[n * label_bytes]) and
 * 3072 pixels (from pixels[n * 3072]). malloc'd; *bytes gets the size. */
uint8_t *fixture_cifar_records(int n, int label_bytes, const uint8_t *labels,
                               const uint8_t *pixels, size_t *bytes);

/* An IDX ubyte file: magic 0x0800 | ndims, the dims, then the data. malloc'd. */
uint8_t *fixture_idx(int ndims, const uint32_t *dims, const uint8_t *data, size_t *bytes);

/* Fills n bytes with seeded random values. */
void fixture_random_bytes(uint64_t seed, uint8_t *dst, size_t n);

/* Fails the test unless the last error message contains `needle`. */
#define ASSERT_MESSAGE_HAS(needle)                                                          \
    do {                                                                                    \
        if (!strstr(dmx_last_error(), (needle)))                                            \
            fail_msg("message \"%s\" lacks \"%s\"", dmx_last_error(), (needle));            \
    } while (0)

#endif
