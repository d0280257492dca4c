/* LRA batches for the trainer: a tokenised split (dmx_lra_tokens, from the ListOps or
 * Pathfinder readers) as a dmx_batch_source. Batch `index` of `epoch` holds ids [B, seq_len]
 * (I32, 0 = padding), mask [B, seq_len] (F32, 1 = token) and labels [B] (I32); with shuffling
 * the order is a permutation fixed by (seed, epoch), so a batch's content depends only on
 * (seed, epoch, index) and resumed training sees exactly the batches it would have seen. */
#ifndef DIMIX_LRA_BATCHES_H
#define DIMIX_LRA_BATCHES_H

#include <stdbool.h>
#include <stdint.h>

#include "dimix/lra_data.h"
#include "dimix/train.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct dmx_lra_batch_options {
    int batch_size;
    bool shuffle;   /* a new seeded permutation each epoch; else the file's order */
    bool drop_last; /* drop the last partial batch (training); else keep it, smaller */
    uint64_t seed;
    /* Data-parallel training: this process's slice of every batch, as the image loader's
     * (dimix/data.h): rows [n * part / parts, n * (part + 1) / parts) of a batch of n; an
     * empty slice gives NULL labels (dimix/train.h). parts 0 or 1: all of it. */
    int part, parts;
} dmx_lra_batch_options;

typedef struct dmx_lra_batches dmx_lra_batches;

/* `set` is borrowed: it must outlive the batches unchanged. */
DMX_API dmx_status dmx_lra_batches_create(const dmx_lra_tokens *set,
                                          const dmx_lra_batch_options *opts,
                                          dmx_lra_batches **out);
DMX_API void dmx_lra_batches_destroy(dmx_lra_batches *b);

/* The batch source view (valid while `b` lives). */
DMX_API dmx_batch_source dmx_lra_batches_source(dmx_lra_batches *b);

#ifdef __cplusplus
}
#endif
#endif
