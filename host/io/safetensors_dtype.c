/* safetensors dtypes: names, sizes, and the element count and byte size of a shape. */
#include <stdio.h>
#include <string.h>

#include "core/error.h"
#include "io/safetensors_internal.h"

static const struct {
    const char *name;
    int bits;
} dtypes[DMX_ST_DTYPE_COUNT] = {
    [DMX_ST_BOOL] = {"BOOL", 8},       [DMX_ST_F4] = {"F4", 4},
    [DMX_ST_F6_E2M3] = {"F6_E2M3", 6}, [DMX_ST_F6_E3M2] = {"F6_E3M2", 6},
    [DMX_ST_U8] = {"U8", 8},           [DMX_ST_I8] = {"I8", 8},
    [DMX_ST_F8_E5M2] = {"F8_E5M2", 8}, [DMX_ST_F8_E4M3] = {"F8_E4M3", 8},
    [DMX_ST_F8_E8M0] = {"F8_E8M0", 8}, [DMX_ST_I16] = {"I16", 16},
    [DMX_ST_U16] = {"U16", 16},        [DMX_ST_F16] = {"F16", 16},
    [DMX_ST_BF16] = {"BF16", 16},      [DMX_ST_I32] = {"I32", 32},
    [DMX_ST_U32] = {"U32", 32},        [DMX_ST_F32] = {"F32", 32},
    [DMX_ST_C64] = {"C64", 64},        [DMX_ST_F64] = {"F64", 64},
    [DMX_ST_I64] = {"I64", 64},        [DMX_ST_U64] = {"U64", 64},
};

const char *dmx_st_dtype_name(dmx_st_dtype dtype)
{
    return (unsigned)dtype < DMX_ST_DTYPE_COUNT ? dtypes[dtype].name : NULL;
}

int dmx_st_dtype_bits(dmx_st_dtype dtype)
{
    return (unsigned)dtype < DMX_ST_DTYPE_COUNT ? dtypes[dtype].bits : 0;
}

bool dmx_st_dtype_parse(const char *s, size_t len, dmx_st_dtype *out)
{
    for (int d = 0; d < DMX_ST_DTYPE_COUNT; d++) {
        if (strlen(dtypes[d].name) == len && memcmp(dtypes[d].name, s, len) == 0) {
            *out = (dmx_st_dtype)d;
            return true;
        }
    }
    return false;
}

dmx_status dmx_st_measure(const char *what, dmx_st_dtype dtype, int ndim, const int64_t *shape,
                          int64_t *numel, uint64_t *bytes)
{
    int bits = dmx_st_dtype_bits(dtype);
    if (bits == 0)
        return dmx_fail(DMX_ERR_INVALID_ARG, "%s: dtype %d is not a safetensors dtype", what,
                        (int)dtype);
    bool empty = false;
    for (int i = 0; i < ndim; i++) {
        if (shape[i] < 0)
            return dmx_fail(DMX_ERR_SHAPE, "%s: negative size %lld in dimension %d", what,
                            (long long)shape[i], i);
        empty |= shape[i] == 0;
    }
    uint64_t n = 1;
    for (int i = 0; i < ndim && !empty; i++) {
        if (n > (uint64_t)INT64_MAX / (uint64_t)shape[i])
            return dmx_fail(DMX_ERR_SHAPE, "%s: shape has more than 2^63 elements", what);
        n *= (uint64_t)shape[i];
    }
    if (empty)
        n = 0;
    if (n > (uint64_t)INT64_MAX / (uint64_t)bits)
        return dmx_fail(DMX_ERR_SHAPE, "%s: data larger than 2^63 bits", what);
    if (n * (uint64_t)bits % 8 != 0)
        return dmx_fail(DMX_ERR_SHAPE, "%s: %llu elements of %s are not a whole number of bytes",
                        what, (unsigned long long)n, dtypes[dtype].name);
    *numel = (int64_t)n;
    *bytes = n * (uint64_t)bits / 8;
    return DMX_OK;
}

const char *dmx_st_shape_str(int ndim, const int64_t *shape, char *buf, size_t cap)
{
    size_t len = (size_t)snprintf(buf, cap, "[");
    for (int i = 0; i < ndim && len < cap; i++)
        len += (size_t)snprintf(buf + len, cap - len, "%s%lld", i ? ", " : "",
                                (long long)shape[i]);
    if (len < cap)
        snprintf(buf + len, cap - len, "]");
    return buf;
}
