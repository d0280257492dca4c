/* The OpenCL C sources of the cl/ directory, embedded at build time (host/opencl/CMakeLists.txt).
 * The table ends with a row whose name is NULL. */
#ifndef DMX_OPENCL_CL_SOURCES_H
#define DMX_OPENCL_CL_SOURCES_H

#include <stddef.h>

typedef struct dmx_cl_source {
    const char *name;           /* "softmax.cl" */
    const unsigned char *data;  /* NUL-terminated */
    const size_t *len;          /* bytes, without the NUL */
} dmx_cl_source;

extern const dmx_cl_source dmx_cl_sources[];

#endif
