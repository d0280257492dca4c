/* Kernel programs: one per cl/ file, common.cl prepended, built for the device at open (the
 * pre-warm), from the embedded copies or, when DIMIX_KERNEL_DIR is set, from that directory.
 * A build failure names the file and the device and carries the compiler's log. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "opencl/cl_internal.h"
#include "opencl/cl_sources.h"

/* No fast-math flags: masks, infinities and NaN must behave as on the CPU reference. */
#define DMX_CL_BUILD_OPTIONS "-cl-std=CL1.2 -DDMX_WG=256"
_Static_assert(DMX_CL_WG == 256, "keep DMX_CL_BUILD_OPTIONS in step with DMX_CL_WG");

#define DMX_CL_MAX_LOG 2800

static const char *const prog_files[DMX_CL_PROG_COUNT] = {
#define DMX_CL_PROG_FILE(id, file) [DMX_CL_PROG_##id] = file,
    DMX_CL_PROGRAMS(DMX_CL_PROG_FILE)
#undef DMX_CL_PROG_FILE
};

const char *dmx_cl_prog_file(dmx_cl_prog prog)
{
    return (unsigned)prog < DMX_CL_PROG_COUNT ? prog_files[prog] : "?";
}

/* The source of `file`: a malloc'd, NUL-terminated copy. */
static dmx_status load_source(const dmx_cl_device *cd, const char *file, char **out)
{
    *out = NULL;
    const char *dir = getenv("DIMIX_KERNEL_DIR");
    if (dir && *dir) {
        char path[4096];
        snprintf(path, sizeof path, "%s/%s", dir, file);
        FILE *f = fopen(path, "rb");
        if (!f)
            return dmx_fail(DMX_ERR_NOT_FOUND, "%s: DIMIX_KERNEL_DIR: cannot open %s: %s",
                            cd->label, path, strerror(errno));
        size_t cap = 1 << 16, len = 0;
        char *text = malloc(cap);
        while (text) {
            len += fread(text + len, 1, cap - len - 1, f);
            if (len < cap - 1)
                break;
            char *bigger = realloc(text, cap * 2);
            if (!bigger) {
                free(text);
                text = NULL;
                break;
            }
            text = bigger;
            cap *= 2;
        }
        int read_error = ferror(f);
        fclose(f);
        if (!text)
            return dmx_fail(DMX_ERR_OUT_OF_MEMORY, "%s: reading %s: out of host memory",
                            cd->label, path);
        if (read_error) {
            free(text);
            return dmx_fail(DMX_ERR_IO, "%s: reading %s failed", cd->label, path);
        }
        text[len] = '\0';
        *out = text;
        return DMX_OK;
    }
    for (const dmx_cl_source *s = dmx_cl_sources; s->name; s++)
        if (strcmp(s->name, file) == 0) {
            *out = malloc(*s->len + 1);
            if (!*out)
                return dmx_fail(DMX_ERR_OUT_OF_MEMORY, "%s: out of host memory", cd->label);
            memcpy(*out, s->data, *s->len + 1);
            return DMX_OK;
        }
    return dmx_fail(DMX_ERR_NOT_FOUND, "%s: kernel file %s is not embedded in this build",
                    cd->label, file);
}

static dmx_status build_failed(dmx_cl_device *cd, cl_program program, const char *file,
                               cl_int err)
{
    char log[DMX_CL_MAX_LOG + 1] = "";
    size_t len = 0;
    if (clGetProgramBuildInfo(program, cd->device, CL_PROGRAM_BUILD_LOG, 0, NULL, &len) ==
            CL_SUCCESS && len > 1) {
        char *full = malloc(len);
        if (full && clGetProgramBuildInfo(program, cd->device, CL_PROGRAM_BUILD_LOG, len, full,
                                          NULL) == CL_SUCCESS) {
            snprintf(log, sizeof log, "%s", full);
            if (len > DMX_CL_MAX_LOG)
                memcpy(log + DMX_CL_MAX_LOG - 5, "\n...", 5);
        }
        free(full);
    }
    const char *dir = getenv("DIMIX_KERNEL_DIR");
    return dmx_fail(DMX_ERR_COMPILE, "%s: building cl/%s (%s%s) failed: %s (%d); build log:\n%s",
                    cd->label, file, dir && *dir ? "from DIMIX_KERNEL_DIR=" : "embedded",
                    dir && *dir ? dir : "", dmx_cl_error_name(err), (int)err,
                    log[0] ? log : "(empty)");
}

/* Creates the program's kernels and checks each can run DMX_CL_WG work-items per group. */
static dmx_status make_kernels(dmx_cl_device *cd, dmx_cl_program *p, const char *file)
{
    cl_uint n = 0;
    cl_int err = clCreateKernelsInProgram(p->program, 0, NULL, &n);
    if (err != CL_SUCCESS || n == 0)
        return dmx_cl_fail(cd, err, "cl/%s: no kernels", file);
    p->kernels = calloc(n, sizeof *p->kernels);
    p->names = calloc(n, sizeof *p->names);
    if (!p->kernels || !p->names)
        return dmx_fail(DMX_ERR_OUT_OF_MEMORY, "%s: out of host memory", cd->label);
    err = clCreateKernelsInProgram(p->program, n, p->kernels, NULL);
    if (err != CL_SUCCESS)
        return dmx_cl_fail(cd, err, "clCreateKernelsInProgram(cl/%s)", file);
    p->n_kernels = n;
    for (cl_uint i = 0; i < n; i++) {
        clGetKernelInfo(p->kernels[i], CL_KERNEL_FUNCTION_NAME, sizeof p->names[i], p->names[i],
                        NULL);
        size_t wg = 0;
        clGetKernelWorkGroupInfo(p->kernels[i], cd->device, CL_KERNEL_WORK_GROUP_SIZE, sizeof wg,
                                 &wg, NULL);
        if (wg < DMX_CL_WG)
            return dmx_fail(DMX_ERR_UNSUPPORTED,
                            "%s: kernel %s (cl/%s) runs at most %zu work-items per group here; "
                            "dimix needs %d", cd->label, p->names[i], file, wg, DMX_CL_WG);
    }
    return DMX_OK;
}

static dmx_status build_program(dmx_cl_device *cd, dmx_cl_prog prog, const char *prelude)
{
    const char *file = prog_files[prog];
    dmx_cl_program *p = &cd->programs[prog];
    char *body = NULL;
    DMX_TRY(load_source(cd, file, &body));
    char line_directive[128];
    snprintf(line_directive, sizeof line_directive, "\n#line 1 \"%s\"\n", file);
    const char *sources[3] = {prelude, line_directive, body};
    bool cached = dmx_cl_cache_enabled(cd);
    p->program = cached ? dmx_cl_cache_load(cd, sources, 3, DMX_CL_BUILD_OPTIONS) : NULL;
    dmx_status s = DMX_OK;
    if (!p->program) {
        cl_int err = CL_SUCCESS;
        p->program = clCreateProgramWithSource(cd->context, 3, sources, NULL, &err);
        if (err != CL_SUCCESS)
            s = dmx_cl_fail(cd, err, "clCreateProgramWithSource(cl/%s)", file);
        if (s == DMX_OK) {
            err = clBuildProgram(p->program, 1, &cd->device, DMX_CL_BUILD_OPTIONS, NULL, NULL);
            if (err != CL_SUCCESS)
                s = build_failed(cd, p->program, file, err);
        }
        if (s == DMX_OK && cached)
            dmx_cl_cache_store(cd, p->program, sources, 3, DMX_CL_BUILD_OPTIONS);
    }
    free(body);
    return s == DMX_OK ? make_kernels(cd, p, file) : s;
}

dmx_status dmx_cl_build_all(dmx_cl_device *cd)
{
    char *prelude = NULL;
    DMX_TRY(load_source(cd, DMX_CL_PRELUDE_FILE, &prelude));
    dmx_status s = DMX_OK;
    for (int i = 0; i < DMX_CL_PROG_COUNT && s == DMX_OK; i++)
        s = build_program(cd, (dmx_cl_prog)i, prelude);
    free(prelude);
    return s;
}

void dmx_cl_release_programs(dmx_cl_device *cd)
{
    for (int i = 0; i < DMX_CL_PROG_COUNT; i++) {
        dmx_cl_program *p = &cd->programs[i];
        for (cl_uint k = 0; k < p->n_kernels; k++)
            clReleaseKernel(p->kernels[k]);
        free(p->kernels);
        free(p->names);
        if (p->program)
            clReleaseProgram(p->program);
        memset(p, 0, sizeof *p);
    }
}

dmx_status dmx_cl_kernel(dmx_cl_device *cd, dmx_cl_prog prog, const char *name, cl_kernel *out)
{
    const dmx_cl_program *p = &cd->programs[prog];
    for (cl_uint i = 0; i < p->n_kernels; i++)
        if (strcmp(p->names[i], name) == 0) {
            *out = p->kernels[i];
            return DMX_OK;
        }
    return dmx_fail(DMX_ERR_NOT_FOUND, "%s: kernel %s is missing from cl/%s", cd->label, name,
                    prog_files[prog]);
}
