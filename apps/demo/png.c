#include "png.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <zlib.h>

static void put32(uint8_t *p, uint32_t v)
{
    p[0] = (uint8_t)(v >> 24);
    p[1] = (uint8_t)(v >> 16);
    p[2] = (uint8_t)(v >> 8);
    p[3] = (uint8_t)v;
}

/* length, type, data, CRC of type + data */
static bool write_chunk(FILE *f, const char *type, const uint8_t *data, uint32_t len)
{
    uint8_t head[8], tail[4];
    put32(head, len);
    memcpy(head + 4, type, 4);
    uLong crc = crc32(0L, (const Bytef *)type, 4);
    if (len)
        crc = crc32(crc, data, len);
    put32(tail, (uint32_t)crc);
    return fwrite(head, 1, 8, f) == 8 && (!len || fwrite(data, 1, len, f) == len) &&
           fwrite(tail, 1, 4, f) == 4;
}

bool demo_write_png(const char *path, int width, int height, const uint8_t *rgb, int pitch)
{
    if (width < 1 || height < 1)
        return false;
    /* Each row: filter byte 0 (none), then the row's RGB. */
    const size_t row = 1 + 3 * (size_t)width, raw_len = row * (size_t)height;
    uint8_t *raw = malloc(raw_len);
    uLongf packed_len = compressBound((uLong)raw_len);
    uint8_t *packed = malloc(packed_len);
    bool ok = raw && packed;
    if (ok) {
        for (int y = 0; y < height; y++) {
            raw[(size_t)y * row] = 0;
            memcpy(raw + (size_t)y * row + 1, rgb + (size_t)y * (size_t)pitch, row - 1);
        }
        ok = compress2(packed, &packed_len, raw, (uLong)raw_len, 9) == Z_OK;
    }
    FILE *f = ok ? fopen(path, "wb") : NULL;
    if (f) {
        static const uint8_t signature[8] = {0x89, 'P', 'N', 'G', '\r', '\n', 0x1a, '\n'};
        uint8_t ihdr[13];
        put32(ihdr, (uint32_t)width);
        put32(ihdr + 4, (uint32_t)height);
        ihdr[8] = 8;  /* bits per sample */
        ihdr[9] = 2;  /* colour type: RGB */
        ihdr[10] = 0; /* deflate */
        ihdr[11] = 0; /* adaptive filtering */
        ihdr[12] = 0; /* no interlace */
        ok = fwrite(signature, 1, 8, f) == 8 && write_chunk(f, "IHDR", ihdr, 13) &&
             write_chunk(f, "IDAT", packed, (uint32_t)packed_len) &&
             write_chunk(f, "IEND", NULL, 0);
        ok = (fclose(f) == 0) && ok;
    } else {
        ok = false;
    }
    free(raw);
    free(packed);
    return ok;
}
