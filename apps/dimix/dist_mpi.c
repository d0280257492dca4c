/* dmx_dist over MPI (app_dist.h): MPI_COMM_WORLD, in-place all-reduce sums (blocking, and
 * non-blocking ones the trainer overlaps with backward), broadcasts. Built
 * only when CMake found MPI (DIMIX_HAVE_MPI). The gradients travel through host memory: no
 * GPU-aware MPI path. */
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#include <mpi.h>

#include "app_dist.h"
#include "core/error.h"

static dmx_status mpi_failed(int err, const char *what)
{
    char text[MPI_MAX_ERROR_STRING];
    int len = 0;
    if (MPI_Error_string(err, text, &len) != MPI_SUCCESS)
        snprintf(text, sizeof text, "error %d", err);
    return dmx_fail(DMX_ERR_BACKEND, "MPI: %s failed: %s", what, text);
}

/* MPI counts are int: long arrays go in pieces of at most INT_MAX / 2 elements. */
enum { PIECE = INT_MAX / 2 };

static dmx_status sum_f32(void *self, float *data, int64_t n)
{
    (void)self;
    for (int64_t at = 0; at < n; at += PIECE) {
        int count = (int)(n - at < PIECE ? n - at : PIECE);
        int err = MPI_Allreduce(MPI_IN_PLACE, data + at, count, MPI_FLOAT, MPI_SUM,
                                MPI_COMM_WORLD);
        if (err != MPI_SUCCESS)
            return mpi_failed(err, "MPI_Allreduce (float sum)");
    }
    return DMX_OK;
}

/* The non-blocking sums in flight (MPI_Iallreduce requests), completed by wait_sums. One
 * MPI job per process, so one list. */
static struct {
    MPI_Request *req;
    int n, cap;
} pending;

static dmx_status start_sum_f32(void *self, float *data, int64_t n)
{
    (void)self;
    for (int64_t at = 0; at < n; at += PIECE) {
        if (pending.n == pending.cap) {
            int cap = pending.cap ? 2 * pending.cap : 64;
            MPI_Request *r = realloc(pending.req, (size_t)cap * sizeof *r);
            if (!r)
                return dmx_fail(DMX_ERR_OUT_OF_MEMORY, "MPI: out of host memory");
            pending.req = r;
            pending.cap = cap;
        }
        int count = (int)(n - at < PIECE ? n - at : PIECE);
        int err = MPI_Iallreduce(MPI_IN_PLACE, data + at, count, MPI_FLOAT, MPI_SUM,
                                 MPI_COMM_WORLD, &pending.req[pending.n]);
        if (err != MPI_SUCCESS)
            return mpi_failed(err, "MPI_Iallreduce (float sum)");
        pending.n++;
    }
    return DMX_OK;
}

/* Open MPI has no progress thread by default: a started all-reduce moves on only inside MPI
 * calls, so the trainer calls this between backward ops (MPI_Testall drives progress; it
 * frees the requests only once all are done). */
static dmx_status progress(void *self)
{
    (void)self;
    if (pending.n == 0)
        return DMX_OK;
    int done = 0;
    int err = MPI_Testall(pending.n, pending.req, &done, MPI_STATUSES_IGNORE);
    if (err != MPI_SUCCESS)
        return mpi_failed(err, "MPI_Testall");
    if (done)
        pending.n = 0;
    return DMX_OK;
}

static dmx_status wait_sums(void *self)
{
    (void)self;
    const int n = pending.n;
    pending.n = 0;
    int err = n ? MPI_Waitall(n, pending.req, MPI_STATUSES_IGNORE) : MPI_SUCCESS;
    return err == MPI_SUCCESS ? DMX_OK : mpi_failed(err, "MPI_Waitall");
}

static dmx_status sum_f64(void *self, double *data, int64_t n)
{
    (void)self;
    for (int64_t at = 0; at < n; at += PIECE) {
        int count = (int)(n - at < PIECE ? n - at : PIECE);
        int err = MPI_Allreduce(MPI_IN_PLACE, data + at, count, MPI_DOUBLE, MPI_SUM,
                                MPI_COMM_WORLD);
        if (err != MPI_SUCCESS)
            return mpi_failed(err, "MPI_Allreduce (double sum)");
    }
    return DMX_OK;
}

static dmx_status broadcast(void *self, void *data, int64_t bytes, int root)
{
    (void)self;
    for (int64_t at = 0; at < bytes; at += PIECE) {
        int count = (int)(bytes - at < PIECE ? bytes - at : PIECE);
        int err = MPI_Bcast((char *)data + at, count, MPI_BYTE, root, MPI_COMM_WORLD);
        if (err != MPI_SUCCESS)
            return mpi_failed(err, "MPI_Bcast");
    }
    return DMX_OK;
}

int dmx_mpi_init(const char *cmd, dmx_dist *out)
{
    int provided = 0;
    if (MPI_Init_thread(NULL, NULL, MPI_THREAD_FUNNELED, &provided) != MPI_SUCCESS) {
        fprintf(stderr, "dimix %s: MPI_Init_thread failed\n", cmd);
        return 1;
    }
    /* Errors come back as codes (and become dmx_status messages) instead of aborting. */
    MPI_Comm_set_errhandler(MPI_COMM_WORLD, MPI_ERRORS_RETURN);
    int rank = 0, size = 1, local = 0;
    MPI_Comm_rank(MPI_COMM_WORLD, &rank);
    MPI_Comm_size(MPI_COMM_WORLD, &size);
    MPI_Comm node;
    if (MPI_Comm_split_type(MPI_COMM_WORLD, MPI_COMM_TYPE_SHARED, rank, MPI_INFO_NULL, &node) ==
        MPI_SUCCESS) {
        MPI_Comm_rank(node, &local);
        MPI_Comm_free(&node);
    }
    *out = (dmx_dist){.rank = rank, .size = size, .local_rank = local, .self = NULL,
                      .sum_f32 = sum_f32, .sum_f64 = sum_f64, .broadcast = broadcast,
                      .start_sum_f32 = start_sum_f32, .progress = progress,
                      .wait_sums = wait_sums};
    return 0;
}

void dmx_mpi_finish(dmx_dist *d)
{
    (void)d;
    free(pending.req);
    pending.req = NULL;
    pending.n = pending.cap = 0;
    MPI_Barrier(MPI_COMM_WORLD);
    MPI_Finalize();
}

void dmx_mpi_abort(int rc) { MPI_Abort(MPI_COMM_WORLD, rc); }

/* A barrier that sleeps between polls: Open MPI's blocking calls spin, which would take a
 * core from the rank being waited for when ranks share cores. */
dmx_status dmx_mpi_wait_all(void)
{
    MPI_Request req;
    int err = MPI_Ibarrier(MPI_COMM_WORLD, &req);
    if (err != MPI_SUCCESS)
        return mpi_failed(err, "MPI_Ibarrier");
    for (int done = 0; !done;) {
        err = MPI_Test(&req, &done, MPI_STATUS_IGNORE);
        if (err != MPI_SUCCESS)
            return mpi_failed(err, "MPI_Test");
        if (!done)
            nanosleep(&(struct timespec){0, 1000000}, NULL);
    }
    return DMX_OK;
}
