/* The processes of one `dimix train` / `dimix lra train` run: one, or the ranks of an MPI job
 * (data-parallel training, docs/distributed.md). The MPI calls live in dist_mpi.c, built only
 * when CMake found MPI; without it a run started by mpirun with more than one process is
 * refused rather than run N times over. */
#ifndef DMX_APP_DIST_H
#define DMX_APP_DIST_H

#include <stdbool.h>
#include <stddef.h>

#include "dimix/dist.h"
#include "dimix/train.h"

/* Joins the MPI job when a launcher (mpirun, srun) started this process, else makes *out one
 * rank. Returns 0, or prints why and returns 1. */
int dmx_app_dist_init(const char *cmd, dmx_dist *out);
/* Waits for every rank (so rank 0 has written its files before any rank's exit status can
 * end the job), then leaves MPI. One rank: nothing. */
void dmx_app_dist_finish(dmx_dist *d);
/* A failure on one rank: ends every rank with status rc (the others would wait forever in
 * the next sum). One rank: returns. */
void dmx_app_dist_abort(const dmx_dist *d, int rc);
/* Waits for every rank without spinning a core (a rank that waits for rank 0 alone). */
dmx_status dmx_app_dist_wait_all(const dmx_dist *d);
/* Whether this build can run more than one rank (built with MPI). */
bool dmx_app_dist_available(void);

/* The device this rank opens, from --device `spec` (NULL: $DIMIX_DEVICE or auto):
 *   a comma list "cpu,vulkan:0" gives rank r item r % count;
 *   "auto" with more than one rank on a machine gives local rank l the GPU l % count of the
 *   GPUs that plain auto would choose among (those of its backend and type), else cpu;
 *   anything else is the same device name on every rank.
 * Returns 0, or prints why and returns 2 (bad usage). */
int dmx_app_dist_device(const char *cmd, const char *spec, const dmx_dist *d, char *out,
                        size_t cap);

/* --allreduce-overlap on|off and --allreduce-bucket N (0: the default) into opts; returns 0,
 * or prints why and returns 2. */
int dmx_app_dist_sum_options(const char *cmd, const char *overlap, long long bucket,
                             dmx_train_options *opts);
/* The data-parallel summary of a run on stdout (rank 0's): bytes summed per step, time in
 * the sums, the buckets and the wait after backward; no newline. */
void dmx_app_dist_print_sums(const dmx_dist *d, const dmx_train_result *res);

/* The MPI side (dist_mpi.c, only with DIMIX_HAVE_MPI). */
int dmx_mpi_init(const char *cmd, dmx_dist *out);
void dmx_mpi_finish(dmx_dist *d);
void dmx_mpi_abort(int rc);
dmx_status dmx_mpi_wait_all(void);

#endif
