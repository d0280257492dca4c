/* Internals of the OpenCL backend, shared by its files: the per-device state, kernel programs,
 * launch helpers and error mapping.
 *
 * Every kernel runs with one fixed local size, DMX_CL_WG work-items in dimension 0 (PoCL
 * compiles a kernel once per local size, and the kernels' reductions and tiles assume it).
 * Buffers are passed as (cl_mem, element offset) pairs, never as sub-buffers. A device is used
 * by one thread at a time (its kernels' arguments are shared state, like a CUDA stream).
 * Launchers trust the call's shape: dmx_op_run has checked sizes and that the parameters stay
 * inside every argument (host/ops/op_extents.c) before an op reaches the backend. */
#ifndef DMX_OPENCL_CL_INTERNAL_H
#define DMX_OPENCL_CL_INTERNAL_H

#include <stdbool.h>

#include "opencl/cl_api.h" /* OpenCL and CLBlast, loaded at run time */

#include "core/error.h"
#include "device/backend.h"

/* The local size of every kernel; passed to the compiler as -DDMX_WG. */
#define DMX_CL_WG 256

/* The kernel files of cl/, one per op family; common.cl is prepended to each of them. */
#define DMX_CL_PROGRAMS(X)                                                                   \
    X(COPY, "copy.cl")                                                                       \
    X(GEMM, "gemm.cl")                                                                       \
    X(MIX_LINEAR, "mix_linear.cl")                                                           \
    X(MIX_MLP, "mix_mlp.cl")                                                                 \
    X(ELEMENTWISE, "elementwise.cl")                                                         \
    X(ACTIVATION, "activation.cl")                                                           \
    X(LAYERNORM, "layernorm.cl")                                                             \
    X(SOFTMAX, "softmax.cl")                                                                 \
    X(CROSS_ENTROPY, "cross_entropy.cl")                                                     \
    X(EMBEDDING, "embedding.cl")                                                             \
    X(DROPOUT, "dropout.cl")                                                                 \
    X(OPTIM, "optim.cl")                                                                     \
    X(REDUCE, "reduce.cl")                                                                   \
    X(ATTENTION, "attention.cl")

typedef enum dmx_cl_prog {
#define DMX_CL_PROG_ENUM(id, file) DMX_CL_PROG_##id,
    DMX_CL_PROGRAMS(DMX_CL_PROG_ENUM)
#undef DMX_CL_PROG_ENUM
    DMX_CL_PROG_COUNT
} dmx_cl_prog;

#define DMX_CL_PRELUDE_FILE "common.cl"

const char *dmx_cl_prog_file(dmx_cl_prog prog);

typedef struct dmx_cl_program {
    cl_program program;
    cl_uint n_kernels;
    cl_kernel *kernels;
    char (*names)[64];
} dmx_cl_program;

typedef struct dmx_cl_device {
    cl_platform_id platform;
    cl_device_id device;
    cl_context context;
    cl_command_queue queue;
    dmx_cl_program programs[DMX_CL_PROG_COUNT];
    cl_mem scratch; /* grown on demand; reused by ops in queue order */
    size_t scratch_bytes;
    bool is_pocl;
    bool sync_each_op;   /* DIMIX_OPENCL_SYNC=1: wait after each op to localise faults */
    bool use_clblast;    /* DIMIX_OPENCL_CLBLAST=0 routes GEMMs to cl/gemm.cl instead */
    bool profile;        /* DIMIX_OPENCL_PROFILE=1: time each kernel with profiling events */
    double op_seconds[DMX_OP_COUNT]; /* with `profile`: device time per op */
    uint64_t op_launches[DMX_OP_COUNT];
    const char *last_op; /* the op most recently queued, for deferred-error messages */
    int cache_hits;      /* programs loaded from the binary cache at open */
    bool counted_open;   /* counted among the open devices (cl_backend.c) */
    char label[192];     /* "opencl:0 (pthread-haswell-AMD EPYC)" */
} dmx_cl_device;

static inline dmx_cl_device *dmx_cl_dev(dmx_device *dev) { return (dmx_cl_device *)dev->impl; }

/* ---- errors (cl_errors.c) ---- */

const char *dmx_cl_error_name(cl_int err);
/* The dmx_status a native OpenCL error maps to (allocation failures -> out of memory, ...). */
dmx_status dmx_cl_status_of(cl_int err);
/* Records "<device label>: <message>: CL_NAME (code)" and returns the mapped status. */
dmx_status dmx_cl_fail(const dmx_cl_device *cd, cl_int err, const char *fmt, ...) DMX_PRINTF(3, 4);

/* ---- programs (cl_program.c) ---- */

/* Builds every program of cl/ for the device (the pre-warm at open); a failure names the file,
 * the device and carries the build log. */
dmx_status dmx_cl_build_all(dmx_cl_device *cd);
void dmx_cl_release_programs(dmx_cl_device *cd);
/* The kernel `name` of program `prog`. */
dmx_status dmx_cl_kernel(dmx_cl_device *cd, dmx_cl_prog prog, const char *name, cl_kernel *out);

/* ---- the on-disk program-binary cache (cl_program_cache.c) ---- */

/* Whether this device's programs go through the cache: off for PoCL (it caches, and asking it
 * for binaries costs an extra compile) and NVIDIA (the driver caches); DIMIX_OPENCL_CACHE=0/1
 * overrides. */
bool dmx_cl_cache_enabled(const dmx_cl_device *cd);
/* Tries to create and build the program from a cached binary; returns NULL when absent or
 * unusable (the caller then builds from source). */
cl_program dmx_cl_cache_load(dmx_cl_device *cd, const char *const *sources, size_t n_sources,
                             const char *options);
/* Stores the built program's binary (best effort: a cache that cannot be written is skipped). */
void dmx_cl_cache_store(dmx_cl_device *cd, cl_program program, const char *const *sources,
                        size_t n_sources, const char *options);

/* ---- launches (cl_launch.c) ---- */

/* One kernel launch being prepared: arguments are set in order, the first failure is kept and
 * reported by dmx_cl_run. */
typedef struct dmx_cl_launch {
    dmx_cl_device *cd;
    const char *op;     /* the op's name, for messages */
    dmx_op op_id;       /* for DIMIX_OPENCL_PROFILE */
    const char *kname;  /* the kernel's name */
    cl_kernel kernel;
    cl_uint next_arg;
    cl_int err;
    cl_uint failed_arg;
} dmx_cl_launch;

/* DIMIX_OPENCL_PROFILE: waits for `ev` (a launch of op `op`), adds its device time to the op's
 * total and releases it. */
dmx_status dmx_cl_profile_event(dmx_cl_device *cd, dmx_op op, cl_event ev);
/* The per-op table through the log, slowest first (at device close). */
void dmx_cl_profile_report(const dmx_cl_device *cd);

dmx_status dmx_cl_begin(dmx_device *dev, const dmx_op_call *call, dmx_cl_prog prog,
                        const char *kernel, dmx_cl_launch *L);
/* Argument i of the call: its cl_mem (NULL when absent) and its element offset (ulong). */
void dmx_cl_arg_call(dmx_cl_launch *L, const dmx_op_call *call, int i);
void dmx_cl_arg_mem(dmx_cl_launch *L, cl_mem mem, size_t elem_offset);
void dmx_cl_arg_i32(dmx_cl_launch *L, int32_t v);
void dmx_cl_arg_u32(dmx_cl_launch *L, uint32_t v);
void dmx_cl_arg_f32(dmx_cl_launch *L, float v);
void dmx_cl_arg_raw(dmx_cl_launch *L, size_t size, const void *value);
/* Enqueues groups[0] x groups[1] x groups[2] work-groups of DMX_CL_WG x 1 x 1 work-items.
 * A zero count enqueues nothing. */
dmx_status dmx_cl_run(dmx_cl_launch *L, size_t g0, size_t g1, size_t g2);
/* One work-item per element of [0, n): ceil(n / DMX_CL_WG) groups. */
dmx_status dmx_cl_run_1d(dmx_cl_launch *L, size_t n);

/* The cl_mem of argument i (NULL when absent). */
cl_mem dmx_cl_mem_of(const dmx_op_call *call, int i);
/* A device scratch buffer of at least `bytes`, valid until the next call (queue order makes
 * reuse by the next op safe). */
dmx_status dmx_cl_scratch(dmx_cl_device *cd, size_t bytes, cl_mem *out);

/* Splits a reduction over `rows` into chunks (at most 64, each about 256 rows or more) whose
 * partial results a second pass adds in order: enough work-groups for a GPU, a result that
 * depends only on the shape. Returns the chunk count; *rows_per_chunk gets the chunk length. */
int dmx_cl_row_chunks(int rows, int *rows_per_chunk);

/* The smallest power of two >= v (v >= 1), and the largest <= v. */
int dmx_cl_pow2_ceil(int v);
int dmx_cl_pow2_floor(int v);

/* ---- GEMM (cl_gemm.c), shared by gemm and the dense cases of mix_linear ---- */

typedef struct dmx_cl_matrix {
    cl_mem mem;
    size_t offset; /* elements */
    int ld;
    long stride;   /* elements between batches */
} dmx_cl_matrix;

/* C_b = alpha op(A_b) op(B_b) + beta C_b for b in [0, batch), row-major, op(A) [M, K],
 * op(B) [K, N]. beta = 0 never reads C; batches whose C overlap run one after another. */
dmx_status dmx_cl_sgemm(dmx_device *dev, const dmx_op_call *call, bool trans_a, bool trans_b,
                         int M, int N, int K, float alpha, dmx_cl_matrix A, dmx_cl_matrix B,
                        float beta, dmx_cl_matrix C, int batch);

#endif
