/* A tokenised LRA split as a batch source: host staging arrays for one batch, a per-epoch
 * permutation computed when the epoch changes, uploads into the caller's context. */
#include <stdlib.h>

#include "autograd/autograd.h"
#include "core/error.h"
#include "data/image_shuffle.h"
#include "dimix/lra_batches.h"

struct dmx_lra_batches {
    const dmx_lra_tokens *set;
    dmx_lra_batch_options opt;
    uint32_t *perm;        /* the order of perm_epoch (shuffle only) */
    int64_t perm_epoch;    /* -1: none yet */
    int64_t *indices;      /* [batch_size] examples of the batch being built */
    int32_t *ids, *labels; /* [batch_size, seq_len], [batch_size] */
    float *mask;           /* [batch_size, seq_len] */
};

static int64_t batches_per_epoch(void *self)
{
    const dmx_lra_batches *b = self;
    int64_t n = b->set->count, size = b->opt.batch_size;
    return b->opt.drop_last ? n / size : (n + size - 1) / size;
}

static int64_t examples_per_epoch(void *self)
{
    const dmx_lra_batches *b = self;
    return b->opt.drop_last ? batches_per_epoch(self) * b->opt.batch_size : b->set->count;
}

static int64_t batch_size(void *self) { return ((const dmx_lra_batches *)self)->opt.batch_size; }

static dmx_status get_batch(void *self, dmx_ctx *ctx, int64_t epoch, int64_t index,
                            dmx_model_input *in, dmx_tensor **labels)
{
    dmx_lra_batches *b = self;
    if (!ctx || !in || !labels || epoch < 0 || epoch > UINT32_MAX || index < 0 ||
        index >= batches_per_epoch(b))
        return dmx_fail(DMX_ERR_INVALID_ARG, "LRA batches: batch %lld of epoch %lld (an epoch "
                        "has %lld) or NULL argument", (long long)index, (long long)epoch,
                        (long long)batches_per_epoch(b));
    if (b->opt.shuffle && b->perm_epoch != epoch) {
        dmx_shuffle_permutation(b->opt.seed, (uint32_t)epoch, (uint32_t)b->set->count, b->perm);
        b->perm_epoch = epoch;
    }
    int64_t first = index * b->opt.batch_size;
    int64_t rows = b->set->count - first < b->opt.batch_size ? b->set->count - first
                                                              : b->opt.batch_size;
    if (b->opt.parts > 1) { /* this process's slice of the batch */
        const int64_t all = rows, lo = rows * b->opt.part / b->opt.parts;
        first += lo;
        rows = rows * (b->opt.part + 1) / b->opt.parts - lo;
        /* dropout masks: this slice's rows of the whole batch's */
        dmx_ctx_set_rng_rows(ctx, lo, rows, all);
    }
    *in = (dmx_model_input){0};
    *labels = NULL;
    if (rows == 0)
        return DMX_OK;
    for (int64_t r = 0; r < rows; r++)
        b->indices[r] = b->opt.shuffle ? b->perm[first + r] : first + r;
    DMX_TRY(dmx_lra_tokens_batch(b->set, b->indices, (int)rows, b->ids, b->mask, b->labels));
    const int64_t shape[2] = {rows, b->set->seq_len};
    DMX_TRY(dmx_tensor_from_host(ctx, DMX_I32, 2, shape, b->ids, "ids", &in->ids));
    DMX_TRY(dmx_tensor_from_host(ctx, DMX_F32, 2, shape, b->mask, "mask", &in->mask));
    return dmx_tensor_from_host(ctx, DMX_I32, 1, &rows, b->labels, "labels", labels);
}

dmx_status dmx_lra_batches_create(const dmx_lra_tokens *set, const dmx_lra_batch_options *opts,
                                  dmx_lra_batches **out)
{
    if (!set || !opts || !out)
        return dmx_fail(DMX_ERR_INVALID_ARG, "dmx_lra_batches_create: NULL argument");
    *out = NULL;
    if (opts->batch_size < 1 || set->count < 1 || set->count > UINT32_MAX || set->seq_len < 1)
        return dmx_fail(DMX_ERR_INVALID_ARG, "LRA batches: batch size %d of %lld examples of "
                        "%d tokens", opts->batch_size, (long long)set->count, set->seq_len);
    if (opts->parts < 0 || (opts->parts > 1 && (opts->part < 0 || opts->part >= opts->parts)))
        return dmx_fail(DMX_ERR_INVALID_ARG, "LRA batches: part %d of %d parts is not in "
                        "0..parts-1", opts->part, opts->parts);
    if (opts->drop_last && set->count < opts->batch_size)
        return dmx_fail(DMX_ERR_INVALID_ARG, "LRA batches: %lld examples make no full batch of "
                        "%d (drop_last)", (long long)set->count, opts->batch_size);
    dmx_lra_batches *b = calloc(1, sizeof *b);
    if (!b)
        return dmx_fail(DMX_ERR_OUT_OF_MEMORY, "LRA batches: out of host memory");
    const size_t rows = (size_t)opts->batch_size, cells = rows * (size_t)set->seq_len;
    *b = (dmx_lra_batches){.set = set, .opt = *opts, .perm_epoch = -1};
    b->perm = opts->shuffle ? malloc(sizeof *b->perm * (size_t)set->count) : NULL;
    b->indices = malloc(sizeof *b->indices * rows);
    b->ids = malloc(sizeof *b->ids * cells);
    b->mask = malloc(sizeof *b->mask * cells);
    b->labels = malloc(sizeof *b->labels * rows);
    if ((opts->shuffle && !b->perm) || !b->indices || !b->ids || !b->mask || !b->labels) {
        dmx_lra_batches_destroy(b);
        return dmx_fail(DMX_ERR_OUT_OF_MEMORY, "LRA batches: out of host memory for batches of "
                        "%d x %d tokens", opts->batch_size, set->seq_len);
    }
    *out = b;
    return DMX_OK;
}

void dmx_lra_batches_destroy(dmx_lra_batches *b)
{
    if (!b)
        return;
    free(b->perm);
    free(b->indices);
    free(b->ids);
    free(b->mask);
    free(b->labels);
    free(b);
}

dmx_batch_source dmx_lra_batches_source(dmx_lra_batches *b)
{
    return (dmx_batch_source){.self = b, .batches_per_epoch = batches_per_epoch,
                              .examples_per_epoch = examples_per_epoch,
                              .batch_size = batch_size, .get = get_batch};
}
