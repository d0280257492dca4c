/* Element conversions offered by dmx_st_read: exact widenings, and I64 to I32 with a range
 * check. Sources are read with memcpy because file data carries no alignment promise. */
#include <string.h>

#include "io/safetensors_internal.h"

bool dmx_st_can_convert(dmx_st_dtype from, dmx_st_dtype to)
{
    switch (to) {
    case DMX_ST_F32: return from == DMX_ST_F16 || from == DMX_ST_BF16;
    case DMX_ST_I32: return from == DMX_ST_I64 || from == DMX_ST_U8;
    case DMX_ST_I64: return from == DMX_ST_I32 || from == DMX_ST_U8;
    default: return false;
    }
}

/* IEEE binary16 to binary32, exactly (subnormals, infinities and NaN payloads kept). */
static float half_to_float(uint16_t h)
{
    uint32_t sign = (uint32_t)(h & 0x8000u) << 16;
    uint32_t exponent = (h >> 10) & 0x1Fu;
    uint32_t mantissa = h & 0x3FFu;
    uint32_t bits;
    if (exponent == 0x1F)
        bits = sign | 0x7F800000u | mantissa << 13;
    else if (exponent != 0)
        bits = sign | (exponent + 112) << 23 | mantissa << 13;
    else if (mantissa == 0)
        bits = sign;
    else {
        /* Subnormal: shift the mantissa up until its leading 1 is implicit. */
        int e = -1;
        do {
            e++;
            mantissa <<= 1;
        } while (!(mantissa & 0x400u));
        bits = sign | (uint32_t)(112 - e) << 23 | (mantissa & 0x3FFu) << 13;
    }
    float f;
    memcpy(&f, &bits, 4);
    return f;
}

static float bfloat_to_float(uint16_t b)
{
    uint32_t bits = (uint32_t)b << 16;
    float f;
    memcpy(&f, &bits, 4);
    return f;
}

/* Reads element i of a source array as a signed 64-bit integer. */
static int64_t integer_at(dmx_st_dtype from, const unsigned char *src, int64_t i)
{
    if (from == DMX_ST_U8)
        return src[i];
    if (from == DMX_ST_I32) {
        int32_t v;
        memcpy(&v, src + 4 * i, 4);
        return v;
    }
    int64_t v;
    memcpy(&v, src + 8 * i, 8);
    return v;
}

bool dmx_st_convert(dmx_st_dtype from, const void *src, dmx_st_dtype to, void *dst,
                    int64_t numel, int64_t *bad)
{
    const unsigned char *s = src;
    for (int64_t i = 0; i < numel; i++) {
        if (to == DMX_ST_F32) {
            uint16_t h;
            memcpy(&h, s + 2 * i, 2);
            float v = from == DMX_ST_F16 ? half_to_float(h) : bfloat_to_float(h);
            memcpy((char *)dst + 4 * i, &v, 4);
            continue;
        }
        int64_t v = integer_at(from, s, i);
        if (to == DMX_ST_I64) {
            memcpy((char *)dst + 8 * i, &v, 8);
            continue;
        }
        if (v < INT32_MIN || v > INT32_MAX) {
            *bad = i;
            return false;
        }
        int32_t narrow = (int32_t)v;
        memcpy((char *)dst + 4 * i, &narrow, 4);
    }
    return true;
}
