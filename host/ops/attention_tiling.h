/* How the OpenCL and Vulkan attention kernels split rows into work-groups (cl/attention.cl,
 * shaders/attention.glsl): `group_rows` consecutive rows of [batch * heads * seq] per group,
 * spanning at most `pairs` (batch, head) pairs, whose positions stream through local memory
 * in tiles of `tile` positions of every pair: pairs * tile * head_dim <= tile_floats. */
#ifndef DMX_OPS_ATTENTION_TILING_H
#define DMX_OPS_ATTENTION_TILING_H

#include <stddef.h>
#include <stdint.h>

#include "ops/op_params.h"

typedef struct dmx_attention_tiling {
    int32_t group_rows, pairs, tile;
    size_t groups; /* work-groups for all rows */
} dmx_attention_tiling;

/* The most pairs a group of R consecutive rows touches: groups start at multiples of R, so
 * when S divides R each covers R / S whole pairs; otherwise a group may start anywhere within
 * a pair. */
static inline int32_t dmx_attention_pairs_spanned(int32_t R, int32_t S)
{
    return R % S == 0 ? R / S : (R + S - 2) / S + 1;
}

/* For work-groups of `wg` items and tiles of `tile_floats` floats (seq >= 1). */
static inline dmx_attention_tiling dmx_attention_tiling_of(const dmx_p_attention *p, int32_t wg,
                                                           int32_t tile_floats)
{
    dmx_attention_tiling t = {.group_rows = wg};
    /* Very short sequences with wide heads: fewer rows per group, so that a tile of one
     * position of every pair still fits (head_dim <= DMX_ATTENTION_MAX_HEAD_DIM <= tile_floats). */
    while (t.group_rows > 1 &&
           dmx_attention_pairs_spanned(t.group_rows, p->seq) * p->head_dim > tile_floats)
        t.group_rows /= 2;
    t.pairs = dmx_attention_pairs_spanned(t.group_rows, p->seq);
    t.tile = tile_floats / (t.pairs * p->head_dim);
    if (t.tile > p->seq)
        t.tile = p->seq;
    const size_t rows = (size_t)p->batch * (size_t)p->heads * (size_t)p->seq;
    t.groups = (rows + (size_t)t.group_rows - 1) / (size_t)t.group_rows;
    return t;
}

#endif
