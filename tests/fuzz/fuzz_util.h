/* Shared by the fuzz harnesses: each defines LLVMFuzzerTestOneInput (libFuzzer's entry); the
 * readers that take a path get the input through a file in a private temporary folder. */
#ifndef DMX_FUZZ_UTIL_H
#define DMX_FUZZ_UTIL_H

#include <stddef.h>
#include <stdint.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* Inputs the reader accepted as valid (harnesses count them): the replay driver requires at
 * least one, so the seeds keep exercising the reader past its first check. */
extern int dmx_fuzz_accepted;

/* The process's temporary folder (made on first use, removed at exit). */
const char *dmx_fuzz_dir(void);

/* Writes data to <dmx_fuzz_dir()>/name and returns the path (static storage per name slot:
 * valid until the next call with the same slot). */
const char *dmx_fuzz_file(int slot, const char *name, const uint8_t *data, size_t size);

#endif
