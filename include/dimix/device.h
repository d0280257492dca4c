/* Devices and buffers.
 *
 * Devices are named "cpu" (the fast CPU kernels), "cpu-ref" (the plain CPU reference every
 * device is checked against), "opencl:N" and "vulkan:N" (N counts the devices of that backend,
 * from 0). "auto" picks the first GPU of any backend, else "cpu". When the name
 * passed to dmx_device_open is NULL or empty, the environment variable DIMIX_DEVICE is used,
 * then "auto". A backend whose driver is missing simply has no devices. */
#ifndef DIMIX_DEVICE_H
#define DIMIX_DEVICE_H

#include <stddef.h>
#include <stdint.h>

#include "dimix/status.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct dmx_device dmx_device;
typedef struct dmx_buffer dmx_buffer;

typedef enum dmx_backend_kind {
    DMX_BACKEND_CPU = 0,
    DMX_BACKEND_OPENCL = 1,
    DMX_BACKEND_VULKAN = 2,
} dmx_backend_kind;

typedef enum dmx_device_type {
    DMX_DEVICE_CPU = 0,   /* runs on the host processor (the reference, PoCL, lavapipe) */
    DMX_DEVICE_GPU = 1,   /* discrete GPU */
    DMX_DEVICE_IGPU = 2,  /* integrated GPU */
    DMX_DEVICE_OTHER = 3,
} dmx_device_type;

/* Quirks: known driver limitations the backends work around. */
enum {
    DMX_QUIRK_LOOP_LIMIT = 1u << 0,       /* lavapipe: ~65k loop iterations per invocation */
    DMX_QUIRK_NO_SUBGROUP_SHUFFLE = 1u << 1,
    DMX_QUIRK_SLOW_COMPILE = 1u << 2,     /* PoCL: compiles per local size at first launch */
};

typedef struct dmx_device_info {
    char name[32];          /* "cpu", "cpu-ref", "opencl:0", "vulkan:1" */
    char description[128];  /* the driver's device name */
    char vendor[64];
    char driver[96];        /* driver / platform version */
    dmx_backend_kind backend;
    dmx_device_type type;
    uint64_t memory_bytes;      /* global memory (host RAM for CPU devices) */
    uint64_t max_alloc_bytes;   /* largest single buffer */
    uint64_t max_binding_bytes; /* largest range one kernel argument may span (Vulkan) */
    uint32_t max_workgroup_size;
    uint32_t shared_memory_bytes;
    uint32_t compute_units;
    uint32_t subgroup_size;     /* 0 when unknown */
    uint32_t quirks;            /* DMX_QUIRK_* */
} dmx_device_info;

/* Number of devices over every compiled-in backend (enumerates drivers on the first call). */
DMX_API int dmx_device_count(void);

/* Description of device `index` in [0, dmx_device_count()). */
DMX_API dmx_status dmx_device_get_info(int index, dmx_device_info *out);

/* Opens a device by name (see above). A handle may be called from any thread: on OpenCL and
 * Vulkan every call into it runs under the handle's lock (serialised); on the CPU devices calls
 * run concurrently. Two handles on one physical device have their own queues. */
DMX_API dmx_status dmx_device_open(const char *name, dmx_device **out);
DMX_API void dmx_device_close(dmx_device *dev);
DMX_API const dmx_device_info *dmx_device_info_of(const dmx_device *dev);

/* Waits until all work submitted to the device has finished; reports deferred errors. */
DMX_API dmx_status dmx_device_sync(dmx_device *dev);

/* What a device was asked to do since it was opened: device operators run (one per op call; a
 * backend may launch more than one kernel for an op), the bytes their arguments span (inputs
 * plus outputs: what one pass over each argument moves), and host <-> device transfers
 * (dmx_buffer_read / dmx_buffer_write). For benchmarks and tests; counting costs nothing
 * measurable. Safe from any thread (updated under the device's lock). `buffers` and
 * `buffer_bytes` are the device buffers alive now and their sizes (dmx_buffer_alloc minus
 * dmx_buffer_free): what dimix holds on the device. */
typedef struct dmx_device_counters {
    uint64_t ops, op_bytes;
    uint64_t reads, read_bytes, writes, write_bytes;
    uint64_t buffers, buffer_bytes;
} dmx_device_counters;
DMX_API void dmx_device_counters_get(const dmx_device *dev, dmx_device_counters *out);

/* Why a backend offers no device: "" when it has devices, otherwise a reason naming what is
 * missing ("no OpenCL platform found (...): install an OpenCL driver ...", or "not built into
 * this dimix" when the build left the backend out). */
DMX_API const char *dmx_backend_why_none(dmx_backend_kind kind);

/* "cpu", "opencl", "vulkan". */
DMX_API const char *dmx_backend_name(dmx_backend_kind kind);
DMX_API const char *dmx_device_type_name(dmx_device_type type);

/* Buffers: untyped device memory. Offsets and sizes are in bytes. Reads wait for pending
 * work; writes and copies are ordered with the device's other work. */
DMX_API dmx_status dmx_buffer_alloc(dmx_device *dev, size_t bytes, dmx_buffer **out);
DMX_API void dmx_buffer_free(dmx_buffer *buf);
DMX_API size_t dmx_buffer_size(const dmx_buffer *buf);
DMX_API dmx_device *dmx_buffer_device(const dmx_buffer *buf);
DMX_API dmx_status dmx_buffer_write(dmx_buffer *buf, size_t offset, const void *src, size_t bytes);
DMX_API dmx_status dmx_buffer_read(dmx_buffer *buf, size_t offset, void *dst, size_t bytes);
DMX_API dmx_status dmx_buffer_copy(dmx_buffer *src, size_t src_offset, dmx_buffer *dst,
                                   size_t dst_offset, size_t bytes);
/* Fills `bytes` (a multiple of 4, at a 4-aligned offset) with a repeated 32-bit pattern. */
DMX_API dmx_status dmx_buffer_fill(dmx_buffer *buf, size_t offset, size_t bytes, uint32_t pattern);

#ifdef __cplusplus
}
#endif
#endif
