/* The in-memory image dataset: allocation, class names, statistics, normalisation constants. */
#include "data/image_dataset.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/error.h"
#include "data/image_files.h"

dmx_status dmx_load_options_resolve(const dmx_image_load_options *opts, const char *dir,
                                    dmx_image_dataset **out, const char *function,
                                    dmx_image_load_options *resolved)
{
    if (!dir || !out)
        return dmx_fail(DMX_ERR_INVALID_ARG, "%s: NULL %s", function, dir ? "out" : "dir");
    *out = NULL;
    *resolved = opts ? *opts : (dmx_image_load_options){.split = DMX_SPLIT_TRAIN};
    if (resolved->split != DMX_SPLIT_TRAIN && resolved->split != DMX_SPLIT_TEST)
        return dmx_fail(DMX_ERR_INVALID_ARG, "%s: split %d is neither train (0) nor test (1)",
                        function, (int)resolved->split);
    if (resolved->idx_kind < DMX_IDX_AUTO || resolved->idx_kind > DMX_IDX_GENERIC)
        return dmx_fail(DMX_ERR_INVALID_ARG, "%s: unknown IDX kind %d", function,
                        (int)resolved->idx_kind);
    return DMX_OK;
}

dmx_status dmx_image_dataset_alloc(const char *name, dmx_image_format format, dmx_split split,
                                   int64_t count, int channels, int height, int width,
                                   int num_classes, const char *source, dmx_image_dataset **out)
{
    *out = NULL;
    if (count <= 0 || channels <= 0 || channels > DMX_IMAGE_MAX_CHANNELS || height <= 0 ||
        height > DMX_IMAGE_MAX_SIDE || width <= 0 || width > DMX_IMAGE_MAX_SIDE ||
        num_classes <= 0)
        return dmx_fail(DMX_ERR_FORMAT,
                        "%s: %lld images of %d x %d x %d in %d classes is not a valid dataset "
                        "(at most %d channels, sides up to %d, at least one image and class)",
                        source, (long long)count, channels, height, width, num_classes,
                        DMX_IMAGE_MAX_CHANNELS, DMX_IMAGE_MAX_SIDE);
    size_t per_image = (size_t)channels * (size_t)height * (size_t)width;
    if ((uint64_t)count > SIZE_MAX / per_image || (uint64_t)count > UINT32_MAX)
        return dmx_fail(DMX_ERR_OUT_OF_MEMORY, "%s: %lld images of %zu bytes do not fit in memory",
                        source, (long long)count, per_image);
    dmx_image_dataset *ds = calloc(1, sizeof *ds);
    if (!ds)
        return dmx_fail(DMX_ERR_OUT_OF_MEMORY, "%s: no memory for the dataset", source);
    snprintf(ds->name, sizeof ds->name, "%s", name);
    ds->format = format;
    ds->split = split;
    ds->count = count;
    ds->channels = channels;
    ds->height = height;
    ds->width = width;
    ds->num_classes = num_classes;
    ds->pixels = malloc(per_image * (size_t)count);
    ds->labels = malloc(sizeof *ds->labels * (size_t)count);
    ds->mean = calloc((size_t)channels, sizeof *ds->mean);
    ds->std = calloc((size_t)channels, sizeof *ds->std);
    if (!ds->pixels || !ds->labels || !ds->mean || !ds->std) {
        dmx_image_dataset_free(ds);
        return dmx_fail(DMX_ERR_OUT_OF_MEMORY, "%s: no memory for %lld images of %zu bytes",
                        source, (long long)count, per_image);
    }
    for (int c = 0; c < channels; c++)
        ds->std[c] = 1.0f;
    *out = ds;
    return DMX_OK;
}

static void free_names(dmx_image_dataset *ds)
{
    if (!ds->class_names)
        return;
    for (int k = 0; k < ds->num_classes; k++)
        free(ds->class_names[k]);
    free(ds->class_names);
    ds->class_names = NULL;
}

void dmx_image_dataset_free(dmx_image_dataset *ds)
{
    if (!ds)
        return;
    free_names(ds);
    free(ds->pixels);
    free(ds->labels);
    free(ds->mean);
    free(ds->std);
    free(ds);
}

dmx_status dmx_image_dataset_set_names(dmx_image_dataset *ds, const char *const *names)
{
    free_names(ds);
    char **copy = calloc((size_t)ds->num_classes, sizeof *copy);
    if (!copy)
        return dmx_fail(DMX_ERR_OUT_OF_MEMORY, "no memory for %d class names", ds->num_classes);
    ds->class_names = copy;
    for (int k = 0; k < ds->num_classes; k++) {
        copy[k] = strdup(names[k]);
        if (!copy[k]) {
            free_names(ds);
            return dmx_fail(DMX_ERR_OUT_OF_MEMORY, "no memory for class name %d", k);
        }
    }
    return DMX_OK;
}

/* Drops trailing blanks and line ends in place; returns the length left. */
static size_t trim_right(char *s)
{
    size_t n = strlen(s);
    while (n > 0 && (s[n - 1] == '\n' || s[n - 1] == '\r' || s[n - 1] == ' ' || s[n - 1] == '\t'))
        s[--n] = '\0';
    return n;
}

dmx_status dmx_image_dataset_read_names(dmx_image_dataset *ds, const char *path)
{
    FILE *f = NULL;
    DMX_TRY(dmx_open_for_read(path, "class-name file", &f));
    char **names = calloc((size_t)ds->num_classes, sizeof *names);
    char line[256];
    int found = 0;
    dmx_status s = names ? DMX_OK : dmx_fail(DMX_ERR_OUT_OF_MEMORY, "no memory for names");
    while (s == DMX_OK && fgets(line, sizeof line, f)) {
        if (trim_right(line) == 0)
            continue;
        if (found < ds->num_classes && !(names[found] = strdup(line)))
            s = dmx_fail(DMX_ERR_OUT_OF_MEMORY, "no memory for class names of '%s'", path);
        found++;
    }
    if (s == DMX_OK && ferror(f))
        s = dmx_fail(DMX_ERR_IO, "read error in '%s'", path);
    if (s == DMX_OK && found != ds->num_classes)
        s = dmx_fail(DMX_ERR_FORMAT, "'%s' lists %d class names, expected %d (one per line)",
                     path, found, ds->num_classes);
    if (s == DMX_OK)
        s = dmx_image_dataset_set_names(ds, (const char *const *)names);
    for (int k = 0; names && k < ds->num_classes; k++)
        free(names[k]);
    free(names);
    fclose(f);
    return s;
}

dmx_status dmx_image_dataset_stats(const dmx_image_dataset *ds, float *mean, float *std)
{
    if (!ds || !mean || !std)
        return dmx_fail(DMX_ERR_INVALID_ARG, "dmx_image_dataset_stats: NULL argument");
    size_t plane = (size_t)ds->height * (size_t)ds->width;
    for (int c = 0; c < ds->channels; c++) {
        /* Integer sums are exact; one double division at the end. */
        uint64_t sum = 0, sum_sq = 0;
        for (int64_t i = 0; i < ds->count; i++) {
            const uint8_t *p = ds->pixels + ((size_t)i * ds->channels + c) * plane;
            for (size_t k = 0; k < plane; k++) {
                sum += p[k];
                sum_sq += (uint64_t)p[k] * p[k];
            }
        }
        double n = (double)plane * (double)ds->count;
        double m = (double)sum / n;
        double var = (double)sum_sq / n - m * m;
        mean[c] = (float)(m / 255.0);
        std[c] = (float)(sqrt(var > 0.0 ? var : 0.0) / 255.0);
    }
    return DMX_OK;
}

dmx_status dmx_image_dataset_set_normalization(dmx_image_dataset *ds, const float *mean,
                                               const float *std)
{
    if (!ds || !mean || !std)
        return dmx_fail(DMX_ERR_INVALID_ARG, "dmx_image_dataset_set_normalization: NULL argument");
    for (int c = 0; c < ds->channels; c++)
        if (!(std[c] > 0.0f) || !isfinite(std[c]) || !isfinite(mean[c]))
            return dmx_fail(DMX_ERR_INVALID_ARG,
                            "%s: channel %d needs a finite mean and a positive std (got %g, %g)",
                            ds->name, c, (double)mean[c], (double)std[c]);
    memcpy(ds->mean, mean, sizeof *mean * (size_t)ds->channels);
    memcpy(ds->std, std, sizeof *std * (size_t)ds->channels);
    return DMX_OK;
}

dmx_status dmx_image_dataset_normalize_by_stats(dmx_image_dataset *ds)
{
    float *mean = calloc((size_t)ds->channels, sizeof *mean);
    float *std = calloc((size_t)ds->channels, sizeof *std);
    dmx_status s = mean && std ? dmx_image_dataset_stats(ds, mean, std)
                               : dmx_fail(DMX_ERR_OUT_OF_MEMORY, "no memory for statistics");
    /* A constant channel (std 0) is only centred: dividing by 0 would make every value inf. */
    for (int c = 0; s == DMX_OK && c < ds->channels; c++)
        if (!(std[c] > 0.0f))
            std[c] = 1.0f;
    if (s == DMX_OK)
        s = dmx_image_dataset_set_normalization(ds, mean, std);
    free(mean);
    free(std);
    return s;
}
