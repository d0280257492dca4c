/* Data-parallel training across processes: the collective operations dmx_train needs.
 *
 * dmx_train takes a dmx_dist in its options (NULL: one process). Each process ("rank") owns a
 * device and a copy of the model; every step each rank computes the gradient of its slice of
 * the global batch, the gradients are summed across ranks (in one call, or in buckets started
 * during backward when start_sum_f32 is given), and every rank takes the same optimizer step.
 * The library itself needs no MPI: the `dimix` command implements this interface with MPI
 * (apps/dimix/dist_mpi.c) and an embedder may do so with its own.
 *
 * Every rank calls every operation in the same order with the same sizes (collectives). An
 * operation that fails leaves the ranks out of step: the caller should end the whole job. */
#ifndef DIMIX_DIST_H
#define DIMIX_DIST_H

#include <stdint.h>

#include "dimix/status.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct dmx_dist {
    int rank, size;  /* this process's rank in 0..size-1; size 1: one process */
    int local_rank;  /* its rank among the processes on its machine */
    void *self;
    /* data[0..n) = the sum over ranks of every rank's data[0..n), on every rank. */
    dmx_status (*sum_f32)(void *self, float *data, int64_t n);
    dmx_status (*sum_f64)(void *self, double *data, int64_t n);
    /* bytes of data from rank `root` to every rank. */
    dmx_status (*broadcast)(void *self, void *data, int64_t bytes, int root);
    /* Optional non-blocking sum, so the gradient sum can overlap with backward (NULL: the
     * trainer calls sum_f32 once after backward). start_sum_f32 begins the same in-place sum
     * as sum_f32 and returns at once; data must stay untouched until wait_sums returns.
     * Every rank starts the same sums (sizes) in the same order. progress lets started sums
     * advance (an MPI library may move data only inside its calls) and never blocks;
     * wait_sums returns when every started sum is done. All on the thread that calls the
     * others. */
    dmx_status (*start_sum_f32)(void *self, float *data, int64_t n);
    dmx_status (*progress)(void *self);
    dmx_status (*wait_sums)(void *self);
} dmx_dist;

#ifdef __cplusplus
}
#endif
#endif
