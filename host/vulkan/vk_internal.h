/* Internals of the Vulkan backend, shared by its files:
 *   vk_instance.c   instance, validation messenger, physical devices and their capabilities
 *   vk_device.c     logical device, queue, layouts, frames; open and close
 *   vk_memory.c     sub-allocation from a few large VkDeviceMemory blocks
 *   vk_buffer.c     VkBuffers on those blocks; host writes, reads and copies
 *   vk_recorder.c   command recording: dispatches, hazard barriers, batching, submission
 *   vk_pipeline.c   shaders (embedded or DIMIX_SHADER_DIR), pipelines on first use
 *   vk_pipeline_cache.c   the VkPipelineCache persisted on disk
 *   vk_ops_*.c      the device operators (host/ops/ops.def) on shaders/ *.comp
 *   vk_backend.c    the dmx_backend table */
#ifndef DMX_VK_INTERNAL_H
#define DMX_VK_INTERNAL_H

#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>

#include "device/backend.h"
#include "vulkan/vk_api.h"

#define DMX_VK_MAX_PHYSICAL 16
#define DMX_VK_BINDINGS 8       /* storage buffers in the one descriptor-set layout */
#define DMX_VK_PUSH_BYTES 128   /* the spec's minimum maxPushConstantsSize */
#define DMX_VK_PUSH_OFFSETS 8   /* words 0..7: each binding's element offset (see below) */
#define DMX_VK_MAX_SPEC 8       /* specialization constants per pipeline */
#define DMX_VK_FRAMES 2         /* command buffers in rotation: one records while one runs */
#define DMX_VK_BATCH 256        /* dispatches per command buffer before it is submitted */
#define DMX_VK_MIN_WORKGROUP 256 /* every shader's workgroup: devices must allow it */

/* ---- physical devices (vk_instance.c) ---- */

typedef struct dmx_vk_physical {
    VkPhysicalDevice handle;
    VkPhysicalDeviceProperties props;
    VkPhysicalDeviceMemoryProperties memory;
    uint32_t queue_family;
    uint32_t subgroup_size;
    VkShaderStageFlags subgroup_stages;         /* VkPhysicalDeviceSubgroupProperties */
    VkSubgroupFeatureFlags subgroup_operations;
    uint64_t max_alloc;
    dmx_device_info info; /* everything but name and backend (the registry fills those) */
} dmx_vk_physical;

dmx_status dmx_vk_instance_init(void);
int dmx_vk_physical_count(void);
const dmx_vk_physical *dmx_vk_physical_get(int index);
const char *dmx_vk_why_none(void);

/* ---- the validation layer (vk_instance.c); DIMIX_VK_VALIDATION=1 turns it on ---- */

bool dmx_vk_validation_enabled(void);
/* Errors the debug-utils messenger has counted since the instance was made. */
uint32_t dmx_vk_validation_errors(void);
/* The first error's message ("" when none). */
const char *dmx_vk_validation_first(void);

/* ---- memory (vk_memory.c) ---- */

typedef struct dmx_vk_block dmx_vk_block;

/* One kind of memory (one memory type), handed out from large blocks. */
typedef struct dmx_vk_heap {
    const char *what;        /* "device" or "staging", for messages */
    uint32_t type;           /* memory type index */
    bool host_visible;       /* mapped once per block; sub-allocations get a pointer */
    uint64_t block_size;
    uint64_t heap_size;      /* the Vulkan heap behind the type */
    uint64_t budget;         /* most bytes dimix may allocate here (DIMIX_VK_MEMORY_BUDGET) */
    uint64_t allocated;      /* bytes in VkDeviceMemory objects */
    dmx_vk_block *blocks;
} dmx_vk_heap;

typedef struct dmx_vk_memory {
    dmx_vk_block *block;
    VkDeviceMemory handle;
    VkDeviceSize offset, size;
    void *map; /* host pointer to `offset`, or NULL */
} dmx_vk_memory;

typedef struct dmx_vk_device dmx_vk_device;

dmx_status dmx_vk_memory_alloc(dmx_vk_device *d, dmx_vk_heap *heap,
                               const VkMemoryRequirements *req, dmx_vk_memory *out);
void dmx_vk_memory_free(dmx_vk_device *d, dmx_vk_heap *heap, dmx_vk_memory *m);
void dmx_vk_heap_release(dmx_vk_device *d, dmx_vk_heap *heap);

/* ---- buffers (vk_buffer.c) ---- */

typedef struct dmx_vk_buffer {
    VkBuffer handle;
    VkDeviceSize size;
    dmx_vk_memory mem;
    dmx_vk_heap *heap;
    uint64_t last_serial; /* the last batch that used it; idle once that batch completed */
} dmx_vk_buffer;

dmx_status dmx_vk_buffer_create(dmx_vk_device *d, dmx_vk_heap *heap, VkDeviceSize size,
                                dmx_vk_buffer *out);
void dmx_vk_buffer_destroy(dmx_vk_device *d, dmx_vk_buffer *b);

/* A device scratch buffer of at least `bytes`, shared by the ops that need temporaries
 * (partial sums, overlapping copies). Hazard tracking orders its reuse. */
dmx_status dmx_vk_scratch(dmx_vk_device *d, size_t bytes, dmx_vk_buffer **out);

/* ---- recording (vk_recorder.c) ---- */

enum { DMX_VK_READ = 1, DMX_VK_WRITE = 2, DMX_VK_READ_WRITE = 3 };

/* One storage-buffer binding: `count` 4-byte elements from element `offset` of `buf` (NULL for
 * an absent optional argument). The recorder binds the range at an offset aligned down to
 * minStorageBufferOffsetAlignment and passes the remainder in push-constant word `index`. */
typedef struct dmx_vk_binding {
    dmx_vk_buffer *buf;
    size_t offset, count;
    int access;
} dmx_vk_binding;

typedef struct dmx_vk_frame {
    VkCommandBuffer cmd;
    VkFence fence;
    VkDescriptorPool pool;
    uint64_t serial;
    bool open, submitted;
    uint32_t sets, commands;
    VkPipeline bound;
    dmx_vk_buffer staging; /* host-visible; writes and reads of unmapped memory pass here */
    VkDeviceSize staging_used;
} dmx_vk_frame;

/* A byte range of device memory touched since the last barrier. */
typedef struct dmx_vk_access {
    VkDeviceMemory mem;
    VkDeviceSize begin, end;
    bool write;
} dmx_vk_access;

typedef struct dmx_vk_pipeline {
    const char *shader;
    uint32_t spec[DMX_VK_MAX_SPEC];
    int n_spec;
    VkPipeline handle;
} dmx_vk_pipeline;

#define DMX_VK_PIPELINE_SLOTS 512

struct dmx_vk_device {
    const dmx_vk_physical *phys;
    VkDevice handle;
    VkQueue queue;
    pthread_mutex_t lock;

    dmx_vk_heap device_heap, staging_heap;
    bool mapped; /* device buffers are host-visible and written/read directly (UMA) */

    VkDescriptorSetLayout set_layout;
    VkPipelineLayout layout;
    VkPipelineCache cache;
    char cache_path[1024];
    bool cache_dirty;
    dmx_vk_pipeline pipelines[DMX_VK_PIPELINE_SLOTS];
    int n_pipelines;

    VkCommandPool cmd_pool;
    dmx_vk_frame frames[DMX_VK_FRAMES];
    int current;
    uint64_t next_serial, completed_serial;

    dmx_vk_access *pending;
    size_t n_pending, cap_pending;

    dmx_vk_buffer dummy;   /* bound to unused descriptor slots */
    dmx_vk_buffer scratch; /* grows on demand */

    VkDeviceSize max_range;    /* maxStorageBufferRange (or DIMIX_VK_MAX_BINDING) */
    VkDeviceSize offset_align; /* minStorageBufferOffsetAlignment */
    uint32_t max_groups[3];
    bool loop_limit;           /* DMX_QUIRK_LOOP_LIMIT: bounded loop trips per invocation */
    /* Subgroup arithmetic in compute shaders, not turned off by DIMIX_VK_SUBGROUP=0: skinny
     * GEMMs then run on gemm_subgroup (vk_ops_linear.c). */
    bool subgroup_gemm;
    uint32_t subgroup_size;    /* the driver's default subgroup size */
    uint32_t subgroup_wg;      /* gemm_subgroup's workgroup: a multiple of subgroup_size */
    uint64_t subgroup_gemm_dispatches; /* for tests: gemm_subgroup dispatches recorded */

    bool lost;                 /* VK_ERROR_DEVICE_LOST seen: every call fails from now on */
    bool profile;              /* DIMIX_VK_PROFILE: time each op to completion */
    double op_seconds[DMX_OP_COUNT];
    uint64_t op_calls[DMX_OP_COUNT];
    uint32_t validation_reported;
};

dmx_status dmx_vk_device_create(dmx_device *dev, dmx_vk_device **out);
void dmx_vk_device_destroy(dmx_vk_device *d);

/* Turns a Vulkan error into a dimix one naming the call, the device and the code; marks the
 * device lost on VK_ERROR_DEVICE_LOST. */
dmx_status dmx_vk_fail(dmx_vk_device *d, VkResult r, const char *call);
#define DMX_VK_CALL(d, expr)                                    \
    do {                                                        \
        VkResult dmx_vk_r_ = (expr);                            \
        if (dmx_vk_r_ != VK_SUCCESS)                            \
            return dmx_vk_fail((d), dmx_vk_r_, #expr);          \
    } while (0)

/* Fails when the device is lost, or when the validation layer reported new errors. */
dmx_status dmx_vk_check_health(dmx_vk_device *d);

dmx_status dmx_vk_dispatch(dmx_vk_device *d, const char *shader, const uint32_t *spec, int n_spec,
                           const dmx_vk_binding *bindings, int n_bindings, const void *params,
                           size_t params_bytes, uint64_t groups);
/* Records a copy between device buffers (ranges in bytes; they must not overlap). */
dmx_status dmx_vk_record_copy(dmx_vk_device *d, dmx_vk_buffer *src, VkDeviceSize src_offset,
                              dmx_vk_buffer *dst, VkDeviceSize dst_offset, VkDeviceSize bytes);
/* Records a write of host data into `dst` (staged when needed), ordered with recorded work. */
dmx_status dmx_vk_record_upload(dmx_vk_device *d, dmx_vk_buffer *dst, VkDeviceSize offset,
                                const void *src, VkDeviceSize bytes);
/* Reads `bytes` of `src` after all recorded work has finished. */
dmx_status dmx_vk_download(dmx_vk_device *d, dmx_vk_buffer *src, VkDeviceSize offset, void *dst,
                           VkDeviceSize bytes);
/* Submits what is recorded (non-blocking). */
dmx_status dmx_vk_submit(dmx_vk_device *d);
/* Submits and waits until the device is idle. */
dmx_status dmx_vk_finish(dmx_vk_device *d);
/* Whether `b` is used by work that has not completed (or not been submitted). */
bool dmx_vk_buffer_busy(const dmx_vk_device *d, const dmx_vk_buffer *b);
void dmx_vk_recorder_release(dmx_vk_device *d);

/* ---- pipelines (vk_pipeline.c, vk_pipeline_cache.c) ---- */

dmx_status dmx_vk_pipeline_get(dmx_vk_device *d, const char *shader, const uint32_t *spec,
                               int n_spec, VkPipeline *out);
void dmx_vk_pipelines_release(dmx_vk_device *d);
void dmx_vk_pipeline_cache_open(dmx_vk_device *d);
void dmx_vk_pipeline_cache_close(dmx_vk_device *d);

static inline dmx_vk_device *dmx_vk_of(dmx_device *dev) { return dev->impl; }
static inline dmx_vk_buffer *dmx_vk_buffer_of(const dmx_buffer *buf)
{
    return buf ? buf->impl : NULL;
}

#endif
