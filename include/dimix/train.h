/* Training and evaluation loops shared by `dimix train` (images) and `dimix lra train`
 * (token sequences).
 *
 * Data comes from a batch source: anything that can produce batch `index` of `epoch` as device
 * tensors. Training is deterministic given the seed: the data order and augmentation come from
 * the source's counter-based generators, dropout from the step, the learning rate from the
 * schedule, so resuming from a checkpoint continues bit for bit as if never stopped.
 *
 * Each epoch the trainer evaluates on the test source, appends to `<out>/log.csv`, redraws
 * `<out>/curves.svg` and writes `<out>/checkpoint.safetensors` (atomically).
 *
 * Data parallelism (dmx_train_options.dist, dimix/dist.h): every rank runs dmx_train with the
 * same options, model configuration and seed, and sources that give its slice of every batch
 * (dmx_loader_options part, parts) and of every test batch. Each step the ranks sum
 * count-weighted gradients, the loss, the example count and the stop flag (in buckets started
 * during backward, or in one call after it: dist_blocking_sum), so the gradient is that of the
 * mean loss over the whole global batch, the reported loss its global mean, and all ranks stop
 * at the same step. Evaluation results are summed over the ranks.
 * Only the rank given an out_dir writes files: give it to rank 0 alone. */
#ifndef DIMIX_TRAIN_H
#define DIMIX_TRAIN_H

#include <signal.h>
#include <stdbool.h>

#include "dimix/checkpoint.h"
#include "dimix/dist.h"
#include "dimix/models.h"
#include "dimix/optim.h"

/* The default bucket of the overlapped gradient sum (dmx_train_options.dist_bucket_floats). */
#define DMX_DIST_BUCKET_FLOATS (1 << 18)

#ifdef __cplusplus
extern "C" {
#endif

typedef struct dmx_batch_source {
    void *self;
    int64_t (*batches_per_epoch)(void *self);
    int64_t (*examples_per_epoch)(void *self);
    int64_t (*batch_size)(void *self);
    /* Uploads batch `index` of `epoch` into tensors of `ctx`: the model input and labels [B]
     * (I32). The batch's content depends only on (epoch, index). A source that gives this
     * process's slice of each batch (data-parallel training, dmx_train_options.dist) sets
     * *labels to NULL when its slice of that batch is empty. */
    dmx_status (*get)(void *self, dmx_ctx *ctx, int64_t epoch, int64_t index,
                      dmx_model_input *in, dmx_tensor **labels);
} dmx_batch_source;

/* A batch source over an image loader (dimix/data.h); the loader must outlive it. */
struct dmx_loader;
DMX_API dmx_status dmx_image_source_create(struct dmx_loader *loader, dmx_batch_source **out);
DMX_API void dmx_image_source_destroy(dmx_batch_source *src);

typedef struct dmx_eval_result {
    int64_t examples, correct;
    double loss;        /* mean cross-entropy */
    double accuracy;    /* correct / examples, in [0, 1] */
    double seconds;     /* wall time, uploads included */
    int classes;
    int64_t *confusion; /* classes x classes [true][predicted], owned by the result */
    /* With dmx_eval_options.planned: the largest planned activation buffer, and what the
     * unplanned arena takes for the same batch (0 without planning). */
    size_t planned_bytes, unplanned_bytes;
} dmx_eval_result;

DMX_API void dmx_eval_result_free(dmx_eval_result *r);

typedef struct dmx_eval_options {
    int64_t max_batches;   /* 0: all */
    /* Called after each batch with the logits tensor (e.g. to dump them); may be NULL. */
    dmx_status (*on_logits)(void *user, int64_t index, dmx_tensor *logits, dmx_tensor *labels);
    void (*on_batch)(void *user, int64_t done, int64_t total); /* progress; may be NULL */
    void *user;
    /* Plan the activations (docs/inference.md): each batch shape is first run for shapes only,
     * then its tensors share memory once they have no further reader; logits are the same.
     * Batches must all have the source's batch size but the last. Uses its own buffer, not
     * the context's arena. */
    bool planned;
} dmx_eval_options;

/* Accuracy, loss and confusion matrix of `model` on one pass over `src` (epoch 0), inference
 * mode. */
DMX_API dmx_status dmx_evaluate(dmx_ctx *ctx, dmx_model *model, dmx_batch_source *src,
                                const dmx_eval_options *opts, dmx_eval_result *out);

typedef struct dmx_step_info {
    int64_t step, epoch, batch, batches_per_epoch;
    float loss, lr;
} dmx_step_info;

typedef struct dmx_train_options {
    dmx_optim_config optim;
    dmx_schedule schedule;  /* total_steps 0: epochs x batches per epoch */
    int64_t epochs;         /* passes over the training data */
    /* Stop after this many steps in all (0: no limit). The schedule still spans the full
     * run (epochs x batches, or schedule.total_steps), so a run stopped here and resumed
     * without the limit is the same as one never stopped. */
    int64_t max_steps;
    float label_smoothing;
    float clip_norm;        /* gradient-norm clipping (0: off) */
    uint64_t seed;          /* dropout and everything else the model draws */
    const char *out_dir;    /* log.csv, curves.svg, checkpoint.safetensors; NULL: none */
    const char *resume;     /* a checkpoint to continue from, or NULL */
    /* The same, already open (read once, not reopened by path); takes precedence. The caller
     * keeps it open until dmx_train returns. */
    const dmx_checkpoint *resume_from;
    bool eval_each_epoch;   /* evaluate on `test` at the end of each epoch */
    int64_t eval_max_batches;
    char description[DMX_CHECKPOINT_TEXT]; /* stored in checkpoints ("train" metadata) */
    volatile sig_atomic_t *stop; /* when it becomes non-zero: checkpoint, then stop (with
                                    dist: on any rank, and all ranks stop at the same step) */
    const dmx_dist *dist;   /* NULL or size 1: one process */
    /* With dist: every this many steps, compare every rank's parameters with rank 0's
       (dmx_train_result.dist_max_diff); 0: never. */
    int64_t dist_check_every;
    /* With dist: the gradient sum overlaps with backward when the dist has start_sum_f32:
     * the flat gradient block is summed in buckets of at most this many floats (on parameter
     * boundaries; 0: DMX_DIST_BUCKET_FLOATS), each started as soon as backward has finished
     * writing into it. dist_blocking_sum: one blocking sum after backward instead. The result
     * is the same either way (docs/distributed.md). */
    bool dist_blocking_sum;
    int64_t dist_bucket_floats;
    /* The input normalisation and class names of the training data, recorded in every
     * checkpoint (dimix/checkpoint.h) so inference can feed the model the same way; may be
     * NULL (nothing recorded). The caller keeps it alive until dmx_train returns. */
    const dmx_checkpoint_input *input;
    /* Read the step losses back every this many steps (0: 16 on OpenCL and Vulkan, where a
     * read waits for the queue to drain; 1 on the CPU devices). Each step's loss is copied on
     * the device into a ring and read with the others in one transfer, before each epoch's
     * end, checkpoint and stop; the log, on_step and the divergence check then see every
     * step in order, up to this many steps late. With dist the loss is read every step. */
    int64_t loss_read_every;
    /* Progress callbacks (may be NULL). */
    void (*on_step)(void *user, const dmx_step_info *info);
    void (*on_epoch)(void *user, int64_t epoch, const dmx_eval_result *test, double train_loss);
    void *user;
} dmx_train_options;

typedef struct dmx_train_result {
    int64_t steps;       /* steps taken in all (resumed ones included) */
    double last_loss;    /* mean training loss of the last epoch run */
    double test_accuracy; /* after the last evaluation (-1 when none ran) */
    double seconds;
    bool interrupted;
    int64_t first_step;  /* where this call started (the checkpoint's step when resuming) */
    bool saved;          /* this call wrote <out>/checkpoint.safetensors (and curves.svg when
                            an epoch ended) */
    bool curves_saved;
    /* With dist (more than one rank): */
    int64_t dist_checks;      /* parameter comparisons made (dist_check_every) */
    double dist_max_diff;     /* the largest |parameter - rank 0's| any of them found */
    double reduce_seconds;    /* time in the per-step gradient sums' calls, this rank */
    double reduce_wait_seconds; /* from the end of backward until the sums were done (the
                                   part of the sums backward did not hide), this rank */
    int reduce_buckets;       /* buckets per step (0: one blocking sum) */
    int64_t reduce_buckets_early; /* buckets whose sum started during backward, all steps */
    int64_t reduce_bytes;     /* bytes summed per step (gradients, loss, count, stop flag) */
} dmx_train_result;

/* Trains `model` on `train` (evaluating on `test` when given). Returns DMX_ERR_INTERRUPTED
 * (after writing a checkpoint) when *opts->stop became non-zero. */
DMX_API dmx_status dmx_train(dmx_ctx *ctx, dmx_model *model, dmx_batch_source *train,
                             dmx_batch_source *test, const dmx_train_options *opts,
                             dmx_train_result *result);

#ifdef __cplusplus
}
#endif
#endif
