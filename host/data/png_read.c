/* PNG decoding (RFC 2083 / ISO 15948), 8-bit grayscale and non-interlaced only: signature,
 * chunks with CRCs, IHDR, the zlib stream spread over IDAT chunks, and the five row filters. */
#include "data/png_read.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/error.h"
#include "data/zlib_api.h"

#define PNG_MAX_SIDE 16384
#define PNG_MAX_PIXELS (1u << 26)

static const uint8_t png_signature[8] = {0x89, 'P', 'N', 'G', '\r', '\n', 0x1a, '\n'};

static uint32_t be32(const uint8_t *p)
{
    return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

typedef struct png_state {
    const char *name;
    int width, height;
    uint8_t *raw;      /* height rows of 1 filter byte + width pixels */
    size_t raw_size;
    const dmx_zlib_api *zl; /* chunk CRCs and the pixel data */
    z_stream z;
    int z_open, z_done, seen_idat;
} png_state;

static dmx_status parse_ihdr(png_state *st, const uint8_t *d, uint32_t len)
{
    if (len != 13)
        return dmx_fail(DMX_ERR_FORMAT, "%s: IHDR of %u bytes, not 13", st->name, len);
    uint32_t w = be32(d), h = be32(d + 4);
    int depth = d[8], colour = d[9], interlace = d[12];
    if (w < 1 || h < 1 || w > PNG_MAX_SIDE || h > PNG_MAX_SIDE || (uint64_t)w * h > PNG_MAX_PIXELS)
        return dmx_fail(DMX_ERR_FORMAT, "%s: image size %ux%u out of range", st->name, w, h);
    if (depth != 8 || colour != 0)
        return dmx_fail(DMX_ERR_UNSUPPORTED, "%s: bit depth %d, colour type %d; only 8-bit "
                        "grayscale (depth 8, colour type 0) is read", st->name, depth, colour);
    if (d[10] != 0 || d[11] != 0)
        return dmx_fail(DMX_ERR_FORMAT, "%s: compression method %d, filter method %d (both must "
                        "be 0)", st->name, d[10], d[11]);
    if (interlace != 0)
        return dmx_fail(DMX_ERR_UNSUPPORTED, "%s: interlaced (Adam7) PNG is not read", st->name);
    st->width = (int)w;
    st->height = (int)h;
    st->raw_size = (size_t)h * ((size_t)w + 1);
    st->raw = malloc(st->raw_size);
    if (!st->raw)
        return dmx_fail(DMX_ERR_OUT_OF_MEMORY, "%s: %zu bytes", st->name, st->raw_size);
    if (st->zl->inflateInit_(&st->z, ZLIB_VERSION, (int)sizeof(z_stream)) != Z_OK)
        return dmx_fail(DMX_ERR_OUT_OF_MEMORY, "%s: zlib inflateInit failed", st->name);
    st->z_open = 1;
    st->z.next_out = st->raw;
    st->z.avail_out = (uInt)st->raw_size;
    return DMX_OK;
}

static dmx_status inflate_idat(png_state *st, const uint8_t *d, uint32_t len)
{
    st->seen_idat = 1;
    st->z.next_in = (Bytef *)d;
    st->z.avail_in = len;
    while (st->z.avail_in > 0) {
        if (st->z_done)
            return dmx_fail(DMX_ERR_FORMAT, "%s: data after the end of the zlib stream", st->name);
        int rc = st->zl->inflate(&st->z, Z_NO_FLUSH);
        if (rc == Z_STREAM_END)
            st->z_done = 1;
        else if (rc == Z_BUF_ERROR && st->z.avail_out == 0)
            return dmx_fail(DMX_ERR_FORMAT, "%s: more pixel data than %dx%d", st->name, st->width,
                            st->height);
        else if (rc != Z_OK)
            return dmx_fail(DMX_ERR_FORMAT, "%s: corrupt compressed data (zlib %d: %s)", st->name,
                            rc, st->z.msg ? st->z.msg : "no message");
    }
    return DMX_OK;
}

static int paeth(int a, int b, int c)
{
    int p = a + b - c, pa = abs(p - a), pb = abs(p - b), pc = abs(p - c);
    return pa <= pb && pa <= pc ? a : pb <= pc ? b : c;
}

/* Undoes the row filters in place into pixels [height, width]. */
static dmx_status unfilter(const png_state *st, uint8_t *pixels)
{
    const int w = st->width;
    for (int y = 0; y < st->height; y++) {
        const uint8_t *in = st->raw + (size_t)y * (size_t)(w + 1);
        uint8_t *row = pixels + (size_t)y * (size_t)w;
        const uint8_t *up = y > 0 ? row - w : NULL;
        int filter = in[0];
        if (filter > 4)
            return dmx_fail(DMX_ERR_FORMAT, "%s: row %d has filter type %d (0..4)", st->name, y,
                            filter);
        for (int x = 0; x < w; x++) {
            int a = x > 0 ? row[x - 1] : 0, b = up ? up[x] : 0, c = x > 0 && up ? up[x - 1] : 0;
            int predict = filter == 0 ? 0 : filter == 1 ? a : filter == 2 ? b
                        : filter == 3 ? (a + b) / 2 : paeth(a, b, c);
            row[x] = (uint8_t)(in[x + 1] + predict);
        }
    }
    return DMX_OK;
}

static dmx_status walk_chunks(png_state *st, const uint8_t *data, size_t size)
{
    size_t pos = 8;
    for (int index = 0;; index++) {
        if (size - pos < 12)
            return dmx_fail(DMX_ERR_FORMAT, "%s: truncated at byte %zu (no IEND chunk)", st->name,
                            pos);
        uint32_t len = be32(data + pos);
        const uint8_t *type = data + pos + 4, *body = data + pos + 8;
        if (len > size - pos - 12)
            return dmx_fail(DMX_ERR_FORMAT, "%s: chunk '%.4s' at byte %zu runs past the end",
                            st->name, (const char *)type, pos);
        uint32_t crc = (uint32_t)st->zl->crc32(st->zl->crc32(0L, Z_NULL, 0), type, len + 4);
        if (crc != be32(body + len))
            return dmx_fail(DMX_ERR_FORMAT, "%s: chunk '%.4s' at byte %zu fails its CRC", st->name,
                            (const char *)type, pos);
        int is_ihdr = memcmp(type, "IHDR", 4) == 0;
        if ((index == 0) != is_ihdr)
            return dmx_fail(DMX_ERR_FORMAT, "%s: IHDR must come first, and only once", st->name);
        if (is_ihdr)
            DMX_TRY(parse_ihdr(st, body, len));
        else if (memcmp(type, "IDAT", 4) == 0)
            DMX_TRY(inflate_idat(st, body, len));
        else if (memcmp(type, "IEND", 4) == 0)
            return DMX_OK;
        else if (!(type[0] & 0x20)) /* an unknown critical chunk (PLTE has no place here) */
            return dmx_fail(DMX_ERR_UNSUPPORTED, "%s: critical chunk '%.4s' is not supported",
                            st->name, (const char *)type);
        pos += 12 + (size_t)len;
    }
}

dmx_status dmx_png_decode_gray8(const uint8_t *data, size_t size, const char *name, int *width,
                                int *height, uint8_t **pixels)
{
    *pixels = NULL;
    if (size < 8 || memcmp(data, png_signature, 8) != 0)
        return dmx_fail(DMX_ERR_FORMAT, "%s: not a PNG file (%zu bytes, no PNG signature)", name,
                        size);
    png_state st = {.name = name};
    char what[300];
    snprintf(what, sizeof what, "the PNG image %s", name);
    DMX_TRY(dmx_zlib(what, &st.zl));
    dmx_status s = walk_chunks(&st, data, size);
    if (s == DMX_OK && !st.seen_idat)
        s = dmx_fail(DMX_ERR_FORMAT, "%s: no IDAT chunk (no pixel data)", name);
    else if (s == DMX_OK && (!st.z_done || st.z.avail_out != 0))
        s = dmx_fail(DMX_ERR_FORMAT, "%s: pixel data ends early (%zu of %zu bytes%s)", name,
                     st.raw_size - st.z.avail_out, st.raw_size,
                     st.z_done ? "" : ", zlib stream unfinished");
    if (s == DMX_OK) {
        *pixels = malloc((size_t)st.width * (size_t)st.height);
        s = *pixels ? unfilter(&st, *pixels)
                    : dmx_fail(DMX_ERR_OUT_OF_MEMORY, "%s: %dx%d pixels", name, st.width,
                               st.height);
    }
    if (s == DMX_OK) {
        *width = st.width;
        *height = st.height;
    } else {
        free(*pixels);
        *pixels = NULL;
    }
    if (st.z_open)
        st.zl->inflateEnd(&st.z);
    free(st.raw);
    return s;
}
