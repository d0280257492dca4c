#include "app_data.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static dmx_status open_synthetic(const char *spec, dmx_split split, dmx_image_dataset **out)
{
    int c = 1, h = 16, classes = 4, count = 512;
    if (spec[9] == ':' && sscanf(spec + 10, "%d:%d:%d:%d", &c, &h, &classes, &count) != 4) {
        fprintf(stderr, "synthetic data is 'synthetic' or 'synthetic:C:H:classes:count'\n");
        return DMX_ERR_INVALID_ARG;
    }
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
