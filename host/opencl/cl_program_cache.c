/* The on-disk cache of OpenCL program binaries, for drivers that do not cache builds
 * themselves (Intel, AMD, Apple, ...): building a dozen programs costs seconds there.
 *
 * Rule: off for PoCL (it has its own kernel cache, and asking it for binaries forces an extra
 * compile) and for NVIDIA (the driver caches in ~/.nv/ComputeCache); on for every other
 * platform. DIMIX_OPENCL_CACHE=0 turns it off, =1 forces it on (tests use this on PoCL).
 *
 * Files live in $XDG_CACHE_HOME/dimix/opencl (else ~/.cache/dimix/opencl), named by a 128-bit
 * hash of (format version, sources, build options, device name, driver version, platform
 * version), written to a temporary file and renamed, so a reader never sees half a file.
 * A file that fails to load is deleted and the program is built from source. */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "opencl/cl_internal.h"

#define DMX_CL_CACHE_MAGIC "DMXCLB01"

bool dmx_cl_cache_enabled(const dmx_cl_device *cd)
{
    const char *v = getenv("DIMIX_OPENCL_CACHE");
    if (v && *v)
        return strcmp(v, "0") != 0;
    if (cd->is_pocl)
        return false;
    char vendor[128] = "";
    clGetPlatformInfo(cd->platform, CL_PLATFORM_VENDOR, sizeof vendor, vendor, NULL);
    return strstr(vendor, "NVIDIA") == NULL;
}

/* Two 64-bit FNV-1a streams with different offsets: a 128-bit key, ample for a cache. */
typedef struct cache_hash {
    uint64_t a, b;
} cache_hash;

static void hash_bytes(cache_hash *h, const void *data, size_t n)
{
    const unsigned char *p = data;
    /* The length first, so ("ab", "c") and ("a", "bc") differ. */
    for (size_t i = 0; i < sizeof n; i++) {
        h->a = (h->a ^ ((n >> (8 * i)) & 0xff)) * 0x100000001b3ull;
        h->b = (h->b ^ ((n >> (8 * i)) & 0xff)) * 0x100000001b3ull;
    }
    for (size_t i = 0; i < n; i++) {
        h->a = (h->a ^ p[i]) * 0x100000001b3ull;
        h->b = (h->b ^ (unsigned char)(p[i] + 0x5b)) * 0x100000001b3ull;
    }
}

static void hash_string(cache_hash *h, const char *s) { hash_bytes(h, s, strlen(s)); }

static void hash_device_string(cache_hash *h, cl_device_id d, cl_device_info what)
{
    char text[512] = "";
    clGetDeviceInfo(d, what, sizeof text, text, NULL);
    text[sizeof text - 1] = '\0';
    hash_string(h, text);
}

/* The cache directory (created when missing); false when there is none. */
static bool cache_dir(char *out, size_t cap)
{
    const char *xdg = getenv("XDG_CACHE_HOME"), *home = getenv("HOME");
    char base[3072];
    if (xdg && *xdg)
        snprintf(base, sizeof base, "%s", xdg);
    else if (home && *home)
        snprintf(base, sizeof base, "%s/.cache", home);
    else
        return false;
    char dimix[3200];
    snprintf(dimix, sizeof dimix, "%s/dimix", base);
    snprintf(out, cap, "%s/opencl", dimix);
    mkdir(base, 0755);
    mkdir(dimix, 0755);
    return mkdir(out, 0755) == 0 || errno == EEXIST;
}

static bool cache_path(dmx_cl_device *cd, const char *const *sources, size_t n_sources,
                       const char *options, char *out, size_t cap)
{
    char dir[3300];
    if (!cache_dir(dir, sizeof dir))
        return false;
    cache_hash h = {0xcbf29ce484222325ull, 0x84222325cbf29ce4ull};
    hash_string(&h, DMX_CL_CACHE_MAGIC);
    for (size_t i = 0; i < n_sources; i++)
        hash_string(&h, sources[i]);
    hash_string(&h, options);
    hash_device_string(&h, cd->device, CL_DEVICE_NAME);
    hash_device_string(&h, cd->device, CL_DRIVER_VERSION);
    char platform_version[512] = "";
    clGetPlatformInfo(cd->platform, CL_PLATFORM_VERSION, sizeof platform_version,
                      platform_version, NULL);
    platform_version[sizeof platform_version - 1] = '\0';
    hash_string(&h, platform_version);
    snprintf(out, cap, "%s/%016llx%016llx.bin", dir, (unsigned long long)h.a,
             (unsigned long long)h.b);
    return true;
}

/* The binary stored at `path` (malloc'd), or NULL. */
static unsigned char *read_binary(const char *path, size_t *size)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return NULL;
    char magic[8];
    uint64_t n = 0;
    unsigned char *data = NULL;
    if (fread(magic, 1, 8, f) == 8 && memcmp(magic, DMX_CL_CACHE_MAGIC, 8) == 0 &&
        fread(&n, sizeof n, 1, f) == 1 && n > 0 && n < ((uint64_t)1 << 30)) {
        data = malloc((size_t)n);
        if (data && fread(data, 1, (size_t)n, f) != n) {
            free(data);
            data = NULL;
        }
    }
    fclose(f);
    *size = (size_t)n;
    return data;
}

cl_program dmx_cl_cache_load(dmx_cl_device *cd, const char *const *sources, size_t n_sources,
                             const char *options)
{
    char path[4096];
    if (!cache_path(cd, sources, n_sources, options, path, sizeof path))
        return NULL;
    size_t size = 0;
    unsigned char *binary = read_binary(path, &size);
    if (!binary) {
        if (access(path, F_OK) == 0)
            remove(path); /* unreadable or truncated */
        return NULL;
    }
    cl_int err = CL_SUCCESS, status = CL_SUCCESS;
    const unsigned char *bins[1] = {binary};
    cl_program program =
        clCreateProgramWithBinary(cd->context, 1, &cd->device, &size, bins, &status, &err);
    free(binary);
    if (err == CL_SUCCESS && status == CL_SUCCESS)
        err = clBuildProgram(program, 1, &cd->device, options, NULL, NULL);
    if (err != CL_SUCCESS || status != CL_SUCCESS) {
        if (program)
            clReleaseProgram(program);
        remove(path); /* stale: another driver build, or corrupt */
        return NULL;
    }
    cd->cache_hits++;
    return program;
}

void dmx_cl_cache_store(dmx_cl_device *cd, cl_program program, const char *const *sources,
                        size_t n_sources, const char *options)
{
    char path[4096], tmp[4200];
    if (!cache_path(cd, sources, n_sources, options, path, sizeof path))
        return;
    size_t size = 0;
    if (clGetProgramInfo(program, CL_PROGRAM_BINARY_SIZES, sizeof size, &size, NULL) !=
            CL_SUCCESS || size == 0)
        return;
    unsigned char *binary = malloc(size);
    unsigned char *bins[1] = {binary};
    if (!binary ||
        clGetProgramInfo(program, CL_PROGRAM_BINARIES, sizeof bins, bins, NULL) != CL_SUCCESS) {
        free(binary);
        return;
    }
    snprintf(tmp, sizeof tmp, "%s.tmp.%ld", path, (long)getpid());
    FILE *f = fopen(tmp, "wb");
    uint64_t n = size;
    bool ok = f && fwrite(DMX_CL_CACHE_MAGIC, 1, 8, f) == 8 && fwrite(&n, sizeof n, 1, f) == 1 &&
              fwrite(binary, 1, size, f) == size;
    if (f)
        ok = fclose(f) == 0 && ok;
    free(binary);
    if (!ok || rename(tmp, path) != 0)
        remove(tmp);
}
