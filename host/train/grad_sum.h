/* Data-parallel training: the per-step sum of the ranks' gradients (trainer.c).
 *
 * Each rank's gradient of its mean loss over its `count` examples is weighted by count, summed
 * over the ranks together with three more values (the loss times count, count, the stop flag)
 * and divided by the summed count: the gradient of the mean loss over the global batch.
 *
 * Blocking: one sum_f32 of the whole flat gradient block after backward. Overlapped (when the
 * dist has start_sum_f32): the block is cut into buckets, contiguous ranges of at most
 * `bucket_floats` elements on parameter boundaries; during backward, as soon as no remaining
 * tape entry can write into a bucket, it is read to the host, weighted and its sum started,
 * while backward goes on. Every element is summed once over the same ranks' values either
 * way, so the two give the same result (bit for bit with 2 ranks, where a sum is one
 * addition). */
#ifndef DMX_GRAD_SUM_H
#define DMX_GRAD_SUM_H

#include <stdbool.h>

#include "dimix/dist.h"
#include "dimix/nn.h"
#include "dimix/tensor.h"

typedef struct dmx_grad_sum {
    const dmx_dist *dist;
    dmx_ctx *ctx;
    dmx_tensor grads; /* the flat gradient block (dmx_params_flat) */
    float *buf;       /* n + 3 host floats: the gradients, loss sum, count, stop flag */
    int64_t n;
    bool overlap;
    /* buckets: [bounds[b], bounds[b+1]); ready[b] as dmx_ctx_grad_ready gives it; the order
       the ranks start them in (rank 0's order of readiness, agreed once); this step's next */
    int n_buckets;
    int64_t *bounds;
    size_t *ready;
    int32_t *order; /* order[0]: whether agreed (the broadcast's flag), then the order */
    bool agreed;
    int next;
    size_t tape_len;
    float weight;
    int64_t early;  /* buckets started before backward ended, over all steps */
    double seconds; /* in the dist calls */
    double wait_seconds; /* from the end of backward until the sums were on the host */
} dmx_grad_sum;

/* `buf` holds n + 3 floats, n = the flat block's elements; it stays the caller's. */
dmx_status dmx_grad_sum_init(dmx_grad_sum *gs, dmx_ctx *ctx, const dmx_dist *dist,
                             dmx_params *ps, const dmx_tensor *grads, float *buf, bool overlap,
                             int64_t bucket_floats);
void dmx_grad_sum_free(dmx_grad_sum *gs);
/* After forward (its tape recorded when count > 0), before dmx_backward; every rank calls it,
 * also one whose slice is empty (count 0, no forward). */
dmx_status dmx_grad_sum_begin(dmx_grad_sum *gs, int64_t count);
/* After backward: *loss is this rank's mean loss and becomes the global one; *stop_all tells
 * whether any rank had `stop` set. The summed gradients are written back to the device. */
dmx_status dmx_grad_sum_finish(dmx_grad_sum *gs, float *loss, int64_t count, bool stop,
                               bool *stop_all);

#endif
