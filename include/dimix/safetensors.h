/* safetensors files: checkpoints, exported weights and fixtures shared with PyTorch.
 *
 * Layout (huggingface safetensors): an 8-byte little-endian header length N, N bytes of UTF-8
 * JSON `{"__metadata__": {"key": "value", ...}, "name": {"dtype": "F32", "shape": [2, 3],
 * "data_offsets": [BEGIN, END]}, ...}`, then the tensors' bytes, little-endian and row-major,
 * with offsets relative to the end of the header.
 *
 * Reading (dmx_st_open) validates the whole header before anything is returned and trusts no
 * number in it: a short file, a header length larger than the file or than 100,000,000 bytes,
 * a header that does not start with '{', malformed JSON or UTF-8, an unknown dtype, a byte
 * range that does not match the shape, ranges out of the file, overlapping or leaving holes,
 * trailing bytes after the last tensor, duplicate names and non-string metadata are all
 * DMX_ERR_FORMAT, with a message naming the file and what is wrong. Rank-0 and zero-size
 * tensors are valid.
 *
 * Writing (dmx_st_writer_*) collects tensors and metadata, then writes the file atomically: a
 * temporary file in the target's directory is written, flushed and fsync'ed, then renamed
 * over the target, so readers see the old file or the new one, never a part. The header lists
 * `__metadata__` first and is padded with spaces to a multiple of 8 bytes; tensors are laid
 * out as the reference writer does (larger dtypes first, then by name).
 *
 * Names and metadata are arbitrary UTF-8 strings (JSON-escaped as needed) without NUL bytes.
 * "st" stands for safetensors throughout. Data is little-endian: dimix supports little-endian
 * hosts only. */
#ifndef DIMIX_SAFETENSORS_H
#define DIMIX_SAFETENSORS_H

#include <stddef.h>
#include <stdint.h>

#include "dimix/status.h"

#ifdef __cplusplus
extern "C" {
#endif

/* Every dtype of the format, in the reference implementation's order (by alignment). */
typedef enum dmx_st_dtype {
    DMX_ST_BOOL,
    DMX_ST_F4,
    DMX_ST_F6_E2M3,
    DMX_ST_F6_E3M2,
    DMX_ST_U8,
    DMX_ST_I8,
    DMX_ST_F8_E5M2,
    DMX_ST_F8_E4M3,
    DMX_ST_F8_E8M0,
    DMX_ST_I16,
    DMX_ST_U16,
    DMX_ST_F16,
    DMX_ST_BF16,
    DMX_ST_I32,
    DMX_ST_U32,
    DMX_ST_F32,
    DMX_ST_C64,
    DMX_ST_F64,
    DMX_ST_I64,
    DMX_ST_U64,
    DMX_ST_DTYPE_COUNT
} dmx_st_dtype;

/* "F32", "I64", ...; NULL for a value outside the enum. */
DMX_API const char *dmx_st_dtype_name(dmx_st_dtype dtype);
/* Bits per element (4 for F4, 6 for the F6 types); 0 for a value outside the enum. */
DMX_API int dmx_st_dtype_bits(dmx_st_dtype dtype);

/* ---- reading ---- */

typedef struct dmx_st_file dmx_st_file;

/* One tensor as the header describes it. Pointers stay valid until dmx_st_close. */
typedef struct dmx_st_tensor_info {
    const char *name;
    dmx_st_dtype dtype;
    int ndim;             /* 0 for a scalar */
    const int64_t *shape; /* ndim sizes, outermost first */
    int64_t numel;        /* product of shape (1 for a scalar) */
    uint64_t begin, end;  /* byte range, relative to the start of the data */
} dmx_st_tensor_info;

/* Opens and validates a file. DMX_ERR_NOT_FOUND when it does not exist, DMX_ERR_IO when it
 * cannot be read, DMX_ERR_FORMAT when it is not a valid safetensors file. */
DMX_API dmx_status dmx_st_open(const char *path, dmx_st_file **out);
DMX_API void dmx_st_close(dmx_st_file *file);
DMX_API const char *dmx_st_path(const dmx_st_file *file);

/* Tensors in the order of their data in the file. */
DMX_API int64_t dmx_st_count(const dmx_st_file *file);
DMX_API const dmx_st_tensor_info *dmx_st_info_at(const dmx_st_file *file, int64_t index);

/* The tensor called `name`, or NULL (no error recorded) when the file has none. */
DMX_API const dmx_st_tensor_info *dmx_st_find(const dmx_st_file *file, const char *name);

/* Fails with DMX_ERR_NOT_FOUND when the tensor is missing and DMX_ERR_SHAPE when its shape is
 * not exactly `shape`; the message names the file, the tensor and both shapes. */
DMX_API dmx_status dmx_st_check_shape(const dmx_st_file *file, const char *name, int ndim,
                                      const int64_t *shape);

/* Reads tensor `name` into dst as dtype `as`; dst_bytes must be exactly numel * size of `as`
 * (DMX_ERR_SHAPE otherwise). Any dtype reads as itself (raw bytes); the conversions are
 * F16 and BF16 to F32 (exact), I64 to I32 (a value out of range is DMX_ERR_FORMAT naming its
 * index), U8 to I32, and I32 or U8 to I64. Other combinations are DMX_ERR_INVALID_ARG naming
 * both dtypes. */
DMX_API dmx_status dmx_st_read(const dmx_st_file *file, const char *name, dmx_st_dtype as,
                               void *dst, size_t dst_bytes);

/* Metadata (`__metadata__`), in the file's order. */
DMX_API int64_t dmx_st_metadata_count(const dmx_st_file *file);
DMX_API dmx_status dmx_st_metadata_at(const dmx_st_file *file, int64_t index, const char **key,
                                      const char **value);
/* The value stored under `key`, or NULL when there is none. */
DMX_API const char *dmx_st_metadata(const dmx_st_file *file, const char *key);

/* ---- writing ---- */

typedef struct dmx_st_writer dmx_st_writer;

DMX_API dmx_status dmx_st_writer_create(dmx_st_writer **out);
DMX_API void dmx_st_writer_destroy(dmx_st_writer *writer);

/* Adds a tensor. The name and shape are copied; `data` (numel * element size bytes, may be
 * NULL only when that is 0) is borrowed and must stay valid until dmx_st_writer_save returns.
 * A name that is not UTF-8, "__metadata__", a negative size or a size overflow is an error;
 * a name added twice is reported by dmx_st_writer_save. */
DMX_API dmx_status dmx_st_writer_add(dmx_st_writer *writer, const char *name, dmx_st_dtype dtype,
                                     int ndim, const int64_t *shape, const void *data);
/* The same, but the data is copied now (for data from a temporary buffer). */
DMX_API dmx_status dmx_st_writer_add_copy(dmx_st_writer *writer, const char *name,
                                          dmx_st_dtype dtype, int ndim, const int64_t *shape,
                                          const void *data);

/* Sets a metadata entry, replacing an earlier value of the same key. Both are copied. */
DMX_API dmx_status dmx_st_writer_set_metadata(dmx_st_writer *writer, const char *key,
                                              const char *value);

/* Writes everything to `path` atomically (see above). On failure the temporary file is
 * removed and whatever was at `path` before is left as it was. The writer can be saved again. */
DMX_API dmx_status dmx_st_writer_save(dmx_st_writer *writer, const char *path);

#ifdef __cplusplus
}
#endif
#endif
