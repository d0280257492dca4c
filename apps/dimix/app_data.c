#include "app_data.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <fcntl.h>
#include <sys/file.h>
#include <unistd.h>

#include "core/error.h" /* dmx_fail: the CLI links the library statically */

/* "synthetic" or "synthetic:C:H:classes:count", each field a plain positive integer. */
static dmx_status open_synthetic(const char *spec, dmx_split split, dmx_image_dataset **out)
{
    long v[4] = {1, 16, 4, 512};
    const long hi[4] = {4, 1024, 1000, 1000000};
    if (spec[9] == ':') {
        const char *p = spec + 10;
        for (int k = 0; k < 4; k++) {
            char *end = NULL;
            errno = 0;
            v[k] = strtol(p, &end, 10);
            if (errno || end == p || v[k] < 1 || v[k] > hi[k] || *end != (k < 3 ? ':' : '\0')) {
                return dmx_fail(DMX_ERR_INVALID_ARG, "synthetic data is 'synthetic' or "
                                "'synthetic:C:H:classes:count' (C 1..4, H 1..1024, classes "
                                "1..1000, count 1..1000000), not '%s'", spec);
            }
            p = end + 1;
        }
    }
    const int c = (int)v[0], h = (int)v[1], classes = (int)v[2], count = (int)v[3];
    dmx_synthetic_options o = {.count = split == DMX_SPLIT_TEST ? count / 4 : count,
                               .channels = c, .height = h, .width = h, .num_classes = classes,
                               .seed = 1234, .split = split, .noise = 40.0f};
    return dmx_synthetic_images(&o, out);
}

dmx_status dmx_app_open_images(const char *spec, dmx_split split, dmx_image_dataset **out)
{
    if (strncmp(spec, "synthetic", 9) == 0 && (spec[9] == '\0' || spec[9] == ':'))
        return open_synthetic(spec, split, out);
    dmx_image_load_options o = {.split = split};
    return dmx_image_dataset_open(spec, &o, out);
}

dmx_status dmx_app_images_make(dmx_image_dataset *ds, const dmx_loader_options *opts,
                               dmx_app_images *out)
{
    memset(out, 0, sizeof *out);
    out->ds = ds;
    dmx_status s = dmx_loader_create(ds, opts, &out->loader);
    if (s == DMX_OK)
        s = dmx_image_source_create(out->loader, &out->source);
    if (s != DMX_OK)
        dmx_app_images_free(out);
    return s;
}

void dmx_app_images_free(dmx_app_images *im)
{
    dmx_image_source_destroy(im->source);
    dmx_loader_destroy(im->loader);
    dmx_image_dataset_free(im->ds);
    memset(im, 0, sizeof *im);
}

dmx_status dmx_app_open_device(const char *cmd, const char *name, dmx_device **out)
{
    dmx_status s = dmx_device_open(name, out);
    if (s != DMX_OK)
        return s;
    const dmx_device_info *d = dmx_device_info_of(*out);
    fprintf(stderr, "dimix %s: device %s (%s, %s)\n", cmd, d->name, d->description,
            dmx_device_type_name(d->type));
    return DMX_OK;
}

int dmx_app_lock_run_dir(const char *cmd, const char *dir, int *fd)
{
    *fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (*fd < 0) {
        fprintf(stderr, "dimix %s: cannot open the run folder %s: %s\n", cmd, dir,
                strerror(errno));
        return 1;
    }
    if (flock(*fd, LOCK_EX | LOCK_NB) != 0) {
        int e = errno;
        close(*fd);
        *fd = -1;
        if (e == EWOULDBLOCK)
            fprintf(stderr, "dimix %s: %s is in use: another dimix run is writing into it (it "
                    "holds the folder's lock); wait for it to end or choose another --out\n",
                    cmd, dir);
        else
            fprintf(stderr, "dimix %s: cannot lock the run folder %s: %s\n", cmd, dir,
                    strerror(e));
        return 1;
    }
    return 0;
}

void dmx_app_dirname(const char *path, char *out, size_t cap)
{
    const char *slash = strrchr(path, '/');
    if (!slash)
        snprintf(out, cap, ".");
    else if (slash == path)
        snprintf(out, cap, "/");
    else
        snprintf(out, cap, "%.*s", (int)(slash - path), path);
}

void dmx_app_checkpoint_input(const dmx_image_dataset *ds, dmx_checkpoint_input *out)
{
    memset(out, 0, sizeof *out);
    if (ds->mean && ds->std && ds->channels <= DMX_CHECKPOINT_MAX_CHANNELS) {
        out->channels = ds->channels;
        for (int c = 0; c < ds->channels; c++) {
            out->mean[c] = ds->mean[c];
            out->std[c] = ds->std[c];
        }
    }
    if (ds->class_names) {
        out->classes = ds->num_classes;
        out->class_names = ds->class_names;
    }
}
