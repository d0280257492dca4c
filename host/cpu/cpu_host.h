/* What the two CPU devices share: host-memory buffers, device enumeration and
 * the reference op table. "cpu-ref" (cpu_backend.c) runs the plain kernels and
 * is the parity arbiter; "cpu" (fast_backend.c) runs the fast kernels where it
 * has them and the reference elsewhere. */
#ifndef DMX_CPU_HOST_H
#define DMX_CPU_HOST_H

#include "device/backend.h"

/* The reference kernels, indexed by op id (host/ops/ops.def); complete. */
extern const dmx_op_fn dmx_cpu_ref_ops[DMX_OP_COUNT];

dmx_status dmx_cpu_host_init(void);
int dmx_cpu_host_device_count(void);
const char *dmx_cpu_host_why_none(void);
/* Fills everything but the name: host memory, OpenMP threads, CPU type. */
void dmx_cpu_host_fill_info(dmx_device_info *out, const char *description);
dmx_status dmx_cpu_host_device_open(dmx_device *dev);
void dmx_cpu_host_device_close(dmx_device *dev);
dmx_status dmx_cpu_host_buffer_alloc(dmx_buffer *buf);
void dmx_cpu_host_buffer_free(dmx_buffer *buf);
dmx_status dmx_cpu_host_buffer_write(dmx_buffer *buf, size_t offset, const void *src, size_t n);
dmx_status dmx_cpu_host_buffer_read(dmx_buffer *buf, size_t offset, void *dst, size_t n);
dmx_status dmx_cpu_host_buffer_copy(dmx_buffer *src, size_t src_offset, dmx_buffer *dst,
                                    size_t dst_offset, size_t n);
dmx_status dmx_cpu_host_sync(dmx_device *dev);

#endif
