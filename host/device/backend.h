/* The backend interface: a table of function pointers per backend (ggml's design, reduced).
 * A backend enumerates its devices, manages buffers, and implements every device operator
 * through `ops`, a table of DMX_OP_COUNT entries (host/ops/ops.def). */
#ifndef DMX_DEVICE_BACKEND_H
#define DMX_DEVICE_BACKEND_H

#include <pthread.h>
#include <stdbool.h>

#include "dimix/device.h"
#include "ops/op_table.h"

typedef dmx_status (*dmx_op_fn)(dmx_device *dev, const dmx_op_call *call);

typedef struct dmx_backend {
    const char *name; /* "cpu", "cpu-ref", "opencl", "vulkan" */
    dmx_backend_kind kind;
    /* Finds the backend's devices. A missing driver is not an error: it yields 0 devices and
     * a reason the registry can print (`why_none`). Called once. */
    dmx_status (*init)(void);
    int (*device_count)(void);
    const char *(*why_none)(void);
    dmx_status (*device_info)(int index, dmx_device_info *out);
    dmx_status (*device_open)(dmx_device *dev);   /* dev->index set; fills dev->impl */
    void (*device_close)(dmx_device *dev);
    dmx_status (*buffer_alloc)(dmx_buffer *buf);  /* buf->dev, buf->size set; fills buf->impl */
    void (*buffer_free)(dmx_buffer *buf);
    dmx_status (*buffer_write)(dmx_buffer *buf, size_t offset, const void *src, size_t bytes);
    dmx_status (*buffer_read)(dmx_buffer *buf, size_t offset, void *dst, size_t bytes);
    dmx_status (*buffer_copy)(dmx_buffer *src, size_t src_offset, dmx_buffer *dst,
                              size_t dst_offset, size_t bytes);
    dmx_status (*sync)(dmx_device *dev);
    /* NULL: every op in `ops` accepts every valid call. */
    bool (*supports)(dmx_device *dev, const dmx_op_call *call);
    const dmx_op_fn *ops; /* DMX_OP_COUNT entries; NULL entry = op missing */
    /* true: ops and transfers may run concurrently from several threads on one device (they
     * touch only their arguments and per-thread scratch: the CPU backends). false: a queue,
     * cached kernels and their arguments are shared per device, so the registry runs every
     * call on the device under the device's lock (OpenCL, Vulkan). */
    bool concurrent_calls;
} dmx_backend;

struct dmx_device {
    const dmx_backend *backend;
    int index; /* within the backend */
    dmx_device_info info;
    void *impl;
    dmx_device_counters counters; /* dmx_device_counters_get; updated under `lock` */
    /* Recursive (a backend may call back into the registry). Held around every backend call
     * unless the backend allows concurrent calls, and around every counter update. */
    pthread_mutex_t lock;
};

/* The device's lock for a backend call: taken unless the backend allows concurrent calls.
 * Returns whether it was taken, for dmx_device_call_end. */
bool dmx_device_call_begin(dmx_device *dev);
void dmx_device_call_end(dmx_device *dev, bool locked);
/* One op counted (under the lock): dmx_op_run. */
void dmx_device_count_op(dmx_device *dev, uint64_t arg_bytes);

struct dmx_buffer {
    dmx_device *dev;
    size_t size;
    void *impl;
    /* Non-NULL only for the shape-only buffer of a context's planning pass (autograd/ctx.c):
     * it has no memory; ops, transfers and fills on it are recorded, not run. */
    struct dmx_plan_recorder *plan;
};

/* For ops and transfers on a planning buffer (autograd/ctx.c): records which arguments an op
 * uses and returns true when the call involved a planning buffer (and must not run). */
bool dmx_plan_note_call(const dmx_op_call *call);
/* A host transfer or copy on a planning buffer: recorded as a use, nothing moves. */
void dmx_plan_note_range(dmx_buffer *buf, size_t byte_offset, size_t bytes);

/* Every compiled-in backend, the fast CPU first, then the CPU reference; NULL-terminated. */
extern const dmx_backend *const dmx_backends[];

#endif
