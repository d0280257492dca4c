/* dlopen of the OpenCL ICD loader and of CLBlast (see cl_api.h). */
#define DMX_CL_API_IMPLEMENTATION
#include "opencl/cl_api.h"

#include <dlfcn.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>

#include "core/log.h"

dmx_cl_api dmx_cl_fn;

static pthread_once_t cl_once = PTHREAD_ONCE_INIT, blast_once = PTHREAD_ONCE_INIT;
static bool cl_loaded, blast_loaded;
static char cl_why[384];

static const char *library_name(const char *env, const char *fallback)
{
    const char *name = getenv(env);
    return name && *name ? name : fallback;
}

static void load_cl(void)
{
    const char *name = library_name("DIMIX_OPENCL_LIBRARY", "libOpenCL.so.1");
    /* OpenCL already in the process (a tool such as oclgrind preloads its own runtime, or the
     * application links the ICD loader itself) is used as it is, unless the user named one. */
    const char *env = getenv("DIMIX_OPENCL_LIBRARY");
    void *lib = NULL; /* RTLD_DEFAULT is a null handle in glibc: `in_process` tells them apart */
    const bool in_process = (!env || !*env) && dlsym(RTLD_DEFAULT, "clGetPlatformIDs");
    if (in_process)
        name = "the process's OpenCL";
    else
        lib = dlopen(name, RTLD_NOW | RTLD_LOCAL);
    if (!in_process && !lib) {
        snprintf(cl_why, sizeof cl_why, "%s not found (%s): install ocl-icd-libopencl1 and an "
                 "OpenCL driver", name, dlerror());
        return;
    }
#define DMX_CL_RESOLVE(fn)                                                                   \
    if (!(dmx_cl_fn.fn = (__typeof__(dmx_cl_fn.fn))dlsym(in_process ? RTLD_DEFAULT : lib, #fn))) {\
        snprintf(cl_why, sizeof cl_why, "%s lacks %s: an OpenCL 1.2 ICD loader is needed",    \
                 name, #fn);                                                                 \
        if (!in_process)                                                             \
            dlclose(lib);                                                                    \
        return;                                                                              \
    }
    DMX_CL_FUNCTIONS(DMX_CL_RESOLVE)
    cl_loaded = true;
}

static void load_clblast(void)
{
    const char *name = library_name("DIMIX_CLBLAST_LIBRARY", "libclblast.so.1");
    void *lib = dlopen(name, RTLD_NOW | RTLD_LOCAL);
    if (!lib) {
        dmx_log(DMX_LOG_WARN, "%s not found (%s): OpenCL GEMM uses dimix's own kernel "
                "(install libclblast1 for CLBlast's)", name, dlerror());
        return;
    }
#define DMX_CLBLAST_RESOLVE(fn)                                                              \
    if (!(dmx_cl_fn.fn = (__typeof__(dmx_cl_fn.fn))dlsym(lib, #fn))) {                       \
        dmx_log(DMX_LOG_WARN, "%s lacks %s: OpenCL GEMM uses dimix's own kernel", name, #fn);  \
        dlclose(lib);                                                                        \
        return;                                                                              \
    }
    DMX_CLBLAST_FUNCTIONS(DMX_CLBLAST_RESOLVE)
    blast_loaded = true;
}

bool dmx_cl_api_load(char *why, size_t cap)
{
    pthread_once(&cl_once, load_cl);
    if (!cl_loaded && why && cap)
        snprintf(why, cap, "%s", cl_why);
    return cl_loaded;
}

bool dmx_cl_clblast_load(void)
{
    pthread_once(&blast_once, load_clblast);
    return blast_loaded;
}
