/* One process or the ranks of an MPI job (app_dist.h): detecting the launcher, mapping ranks
 * to devices. The MPI calls themselves are in dist_mpi.c. */
#include "app_dist.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dimix/device.h"

/* The job size a launcher announced in the environment (0: none). Open MPI's mpirun,
 * MPICH/Hydra and PMIx launchers (Slurm's srun among them) each set one of these. */
static int launcher_size(void)
{
    static const char *const vars[] = {"OMPI_COMM_WORLD_SIZE", "PMI_SIZE", "PMIX_SIZE"};
    for (size_t i = 0; i < sizeof vars / sizeof vars[0]; i++) {
        const char *v = getenv(vars[i]);
        if (v && *v)
            return atoi(v);
    }
    return getenv("PMIX_RANK") ? 1 : 0;
}

bool dmx_app_dist_available(void)
{
#ifdef DIMIX_HAVE_MPI
    return true;
#else
    return false;
#endif
}

int dmx_app_dist_init(const char *cmd, dmx_dist *out)
{
    *out = (dmx_dist){.rank = 0, .size = 1, .local_rank = 0};
    const int size = launcher_size();
#ifdef DIMIX_HAVE_MPI
    return size > 0 ? dmx_mpi_init(cmd, out) : 0;
#else
    if (size > 1) {
        fprintf(stderr, "dimix %s: started as one of %d processes (mpirun), but this dimix was "
                "built without MPI: each would train alone. Install MPI (libopenmpi-dev) and "
                "reconfigure, or run one process\n", cmd, size);
        return 1;
    }
    return 0;
#endif
}

void dmx_app_dist_finish(dmx_dist *d)
{
#ifdef DIMIX_HAVE_MPI
    if (d->sum_f32)
        dmx_mpi_finish(d);
#endif
    *d = (dmx_dist){.rank = 0, .size = 1};
}

void dmx_app_dist_abort(const dmx_dist *d, int rc)
{
#ifdef DIMIX_HAVE_MPI
    if (d->size > 1) {
        fflush(stdout);
        fflush(stderr);
        dmx_mpi_abort(rc);
    }
#else
    (void)d, (void)rc;
#endif
}

dmx_status dmx_app_dist_wait_all(const dmx_dist *d)
{
#ifdef DIMIX_HAVE_MPI
    if (d->size > 1)
        return dmx_mpi_wait_all();
#else
    (void)d;
#endif
    return DMX_OK;
}

/* The devices plain "auto" chooses among: the GPUs of the first GPU's backend and type
 * (discrete before integrated), so a card that OpenCL and Vulkan both list counts once. */
static int auto_gpus(int *list, int cap)
{
    const int n = dmx_device_count();
    const dmx_device_type types[2] = {DMX_DEVICE_GPU, DMX_DEVICE_IGPU};
    dmx_device_info info, pick;
    bool found = false;
    for (int k = 0; k < 2 && !found; k++)
        for (int i = 0; i < n && !found; i++)
            if (dmx_device_get_info(i, &info) == DMX_OK && info.type == types[k])
                found = true, pick = info;
    if (!found)
        return 0;
    int count = 0;
    for (int i = 0; i < n && count < cap; i++)
        if (dmx_device_get_info(i, &info) == DMX_OK && info.type == pick.type &&
            info.backend == pick.backend)
            list[count++] = i;
    return count;
}

int dmx_app_dist_device(const char *cmd, const char *spec, const dmx_dist *d, char *out,
                        size_t cap)
{
    if (!spec || !*spec)
        spec = getenv("DIMIX_DEVICE");
    if (!spec || !*spec)
        spec = "auto";
    if (strchr(spec, ',')) {
        int count = 1;
        for (const char *c = spec; *c; c++)
            count += *c == ',';
        int want = d->rank % count, at = 0;
        const char *start = spec;
        for (; at < want; start++)
            at += *start == ',';
        size_t len = strcspn(start, ",");
        if (len == 0 || len >= cap) {
            fprintf(stderr, "dimix %s: --device %s: item %d (for rank %d) is %s\n", cmd, spec,
                    want, d->rank, len ? "too long" : "empty");
            return 2;
        }
        memcpy(out, start, len);
        out[len] = '\0';
        return 0;
    }
    if (strcmp(spec, "auto") == 0 && d->size > 1) {
        int gpus[64];
        int n = auto_gpus(gpus, 64);
        dmx_device_info info;
        if (n > 0 && dmx_device_get_info(gpus[d->local_rank % n], &info) == DMX_OK) {
            snprintf(out, cap, "%s", info.name);
            return 0;
        }
        snprintf(out, cap, "cpu");
        return 0;
    }
    snprintf(out, cap, "%s", spec);
    return 0;
}

int dmx_app_dist_sum_options(const char *cmd, const char *overlap, long long bucket,
                             dmx_train_options *opts)
{
    if (overlap && strcmp(overlap, "on") && strcmp(overlap, "off")) {
        fprintf(stderr, "dimix %s: --allreduce-overlap %s is not on or off\n", cmd, overlap);
        return 2;
    }
    opts->dist_blocking_sum = overlap && strcmp(overlap, "off") == 0;
    opts->dist_bucket_floats = bucket;
    return 0;
}

void dmx_app_dist_print_sums(const dmx_dist *d, const dmx_train_result *res)
{
    printf("data-parallel: %lld bytes summed across %d ranks per step, %.3f s in the sums "
           "(rank 0)", (long long)res->reduce_bytes, d->size, res->reduce_seconds);
    const int64_t steps = res->steps - res->first_step;
    if (res->reduce_buckets)
        printf("; overlapped with backward: %d buckets per step, %.2f started during "
               "backward, %.3f s waiting after backward", res->reduce_buckets,
               steps > 0 ? (double)res->reduce_buckets_early / (double)steps : 0.0,
               res->reduce_wait_seconds);
    else
        printf("; one blocking sum after backward, %.3f s", res->reduce_wait_seconds);
}
