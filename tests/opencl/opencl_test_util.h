/* Helpers for the OpenCL backend's own tests (the op-by-op comparison lives in tests/parity). */
#ifndef DMX_OPENCL_TEST_UTIL_H
#define DMX_OPENCL_TEST_UTIL_H

#include "test_util.h"

/* ctest's SKIP_RETURN_CODE for these programs: a machine without an OpenCL device reports the
 * test as skipped (with the reason printed), never as passed. */
#define DMX_TEST_SKIPPED 77

/* Returns DMX_TEST_SKIPPED after printing why when there is no OpenCL device, else 0. */
int dmx_cl_test_require_device(void);

/* Opens opencl:0; fails the test when it cannot. */
dmx_device *dmx_cl_test_open(void);

/* y = 2 x on a small buffer of `dev`, checked: the device still works. */
void dmx_cl_test_device_works(dmx_device *dev);

/* A fresh directory holding copies of the .cl files of the repository's cl/ directory, for
 * DIMIX_KERNEL_DIR tests;
 * the path is written to `dir` (capacity cap). */
void dmx_cl_test_copy_kernels(char *dir, size_t cap);

/* Replaces the first `from` in file dir/name by `to`; fails the test when `from` is absent. */
void dmx_cl_test_patch_kernel(const char *dir, const char *name, const char *from,
                              const char *to);

/* Removes the directory made by dmx_cl_test_copy_kernels. */
void dmx_cl_test_remove_dir(const char *dir);

#endif
