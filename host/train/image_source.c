/* A batch source over the image loader: batch (epoch, index) as device tensors. Reading in
 * order uses the loader's prefetching; a jump (resume, evaluation restart) seeks first. */
#include <stdlib.h>

#include "core/error.h"
#include "dimix/data.h"
#include "dimix/train.h"

typedef struct image_source {
    dmx_batch_source base;
    dmx_loader *loader;
    int64_t shape[4];
} image_source;

static int64_t batches_per_epoch(void *self)
{
    return dmx_loader_batches_per_epoch(((image_source *)self)->loader);
}

static int64_t batch_size(void *self) { return ((image_source *)self)->shape[0]; }

static int64_t examples_per_epoch(void *self)
{
    return batches_per_epoch(self) * batch_size(self); /* an upper bound with a kept last batch */
}

static dmx_status get(void *self, dmx_ctx *ctx, int64_t epoch, int64_t index, dmx_model_input *in,
                      dmx_tensor **labels)
{
    image_source *s = self;
    int64_t at_epoch = 0, at_index = 0;
    dmx_loader_position(s->loader, &at_epoch, &at_index);
    if (at_epoch != epoch || at_index != index)
        DMX_TRY(dmx_loader_seek(s->loader, epoch, index));
    dmx_batch b;
    DMX_TRY(dmx_loader_next(s->loader, &b));
    *in = (dmx_model_input){0};
    *labels = NULL;
    if (b.size == 0) /* this process's slice of the batch is empty (train.h) */
        return DMX_OK;
    const int64_t shape[4] = {b.size, b.channels, b.height, b.width};
    DMX_TRY(dmx_tensor_from_host(ctx, DMX_F32, 4, shape, b.images, "images", &in->images));
    return dmx_tensor_from_host(ctx, DMX_I32, 1, &b.size, b.labels, "labels", labels);
}

dmx_status dmx_image_source_create(dmx_loader *loader, dmx_batch_source **out)
{
    if (!loader || !out)
        return dmx_fail(DMX_ERR_INVALID_ARG, "image source: NULL loader or out");
    image_source *s = calloc(1, sizeof *s);
    if (!s)
        return dmx_fail(DMX_ERR_OUT_OF_MEMORY, "image source: out of host memory");
    s->loader = loader;
    dmx_loader_batch_shape(loader, s->shape);
    s->base = (dmx_batch_source){.self = s, .batches_per_epoch = batches_per_epoch,
                                 .examples_per_epoch = examples_per_epoch,
                                 .batch_size = batch_size, .get = get};
    *out = &s->base;
    return DMX_OK;
}

void dmx_image_source_destroy(dmx_batch_source *src)
{
    free(src ? src->self : NULL);
}
