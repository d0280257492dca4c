/* The batch loader: shuffled, augmented, normalised float batches, prepared one ahead on a
 * background thread.
 *
 * A batch is a pure function of (seed, epoch, batch index) and the dataset: the order comes
 * from the epoch's permutation, each image's crop and flip from draws keyed by (epoch, image
 * index). Which thread computes a batch, and when, cannot change a bit of it.
 *
 * Threading protocol: two slots. The caller holds the slot it was last given; the worker fills
 * the other one. Only one thread prepares a batch at any time (the caller waits for the worker
 * to go idle before it prepares or requests anything), so the scratch buffers and the cached
 * permutation need no lock of their own. */
#include <pthread.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>

#include "core/error.h"
#include "data/image_augment.h"
#include "data/image_shuffle.h"
#include "dimix/data.h"

#define LOADER_MAX_RESIZE 4096
#define LOADER_MAX_PADDING 1024

typedef struct batch_slot {
    float *images;     /* [batch_size, C, H', W'] */
    int32_t *labels;   /* [batch_size] */
    int64_t epoch, index, size; /* what it holds; epoch -1 when nothing */
} batch_slot;

struct dmx_loader {
    const dmx_image_dataset *ds;
    dmx_loader_options opt;
    int padding;                 /* crop padding in effect (0 without random crop) */
    int out_h, out_w;
    int64_t batches;             /* per epoch */
    size_t in_pixels, out_floats; /* per image */

    /* Scratch of whichever thread is preparing a batch (never two at once). */
    uint32_t *perm;
    int64_t perm_epoch;          /* whose permutation `perm` holds; -1 none */
    uint8_t *augmented;          /* [C, H, W] after crop and flip */
    float *unit;                 /* [C, H, W] pixel / 255 */
    float *resized;              /* [C, H', W'] when resizing */

    batch_slot slots[2];
    int front;                   /* the slot the caller holds; -1 before the first batch */
    int64_t next_epoch, next_index;

    bool threaded;
    pthread_t thread;
    pthread_mutex_t mutex;
    pthread_cond_t cond;
    bool job_pending;            /* the worker owes slots[job_slot] */
    bool stop;
    int job_slot;
};

static const uint32_t *permutation_for(dmx_loader *ld, int64_t epoch)
{
    if (ld->perm_epoch != epoch) {
        dmx_shuffle_permutation(ld->opt.seed, (uint32_t)epoch, (uint32_t)ld->ds->count, ld->perm);
        ld->perm_epoch = epoch;
    }
    return ld->perm;
}

/* Dataset image `index` as it appears in `epoch`: augmented, resized, normalised into dst. */
static void prepare_image(dmx_loader *ld, int64_t epoch, uint32_t index, float *dst)
{
    const dmx_image_dataset *ds = ld->ds;
    const uint8_t *src = ds->pixels + (size_t)index * ld->in_pixels;
    if (ld->opt.random_crop || ld->opt.random_flip) {
        dmx_augment_draw d = dmx_augment_draw_for(ld->opt.seed, (uint32_t)epoch, index,
                                                  ld->opt.random_crop, ld->padding,
                                                  ld->opt.random_flip);
        dmx_crop_flip_u8(src, ds->channels, ds->height, ds->width, ld->padding, d,
                         ld->augmented);
        src = ld->augmented;
    }
    dmx_pixels_to_unit(src, (int64_t)ld->in_pixels, ld->unit);
    const float *unit = ld->unit;
    if (ld->opt.resize > 0) {
        dmx_resize_bilinear(ld->unit, ds->channels, ds->height, ds->width, ld->resized,
                            ld->out_h, ld->out_w);
        unit = ld->resized;
    }
    dmx_normalize_planes(unit, ds->channels, (int64_t)ld->out_h * ld->out_w, ds->mean, ds->std,
                         dst);
}

/* Batch (epoch, index) into images/labels, or this process's slice of it (options part,
 * parts); returns its image count. */
static int64_t prepare_batch(dmx_loader *ld, int64_t epoch, int64_t index, float *images,
                             int32_t *labels)
{
    int64_t first = index * ld->opt.batch_size;
    const int64_t left = ld->ds->count - first;
    int64_t size = left < ld->opt.batch_size ? left : ld->opt.batch_size;
    if (ld->opt.parts > 1) {
        const int64_t lo = size * ld->opt.part / ld->opt.parts;
        const int64_t hi = size * (ld->opt.part + 1) / ld->opt.parts;
        first += lo;
        size = hi - lo;
    }
    const uint32_t *order = ld->opt.shuffle ? permutation_for(ld, epoch) : NULL;
    for (int64_t k = 0; k < size; k++) {
        uint32_t image = order ? order[first + k] : (uint32_t)(first + k);
        labels[k] = ld->ds->labels[image];
        prepare_image(ld, epoch, image, images + (size_t)k * ld->out_floats);
    }
    return size;
}

static void *worker_main(void *arg)
{
    dmx_loader *ld = arg;
    pthread_mutex_lock(&ld->mutex);
    for (;;) {
        while (!ld->job_pending && !ld->stop)
            pthread_cond_wait(&ld->cond, &ld->mutex);
        if (ld->stop)
            break;
        batch_slot *slot = &ld->slots[ld->job_slot];
        pthread_mutex_unlock(&ld->mutex);
        slot->size = prepare_batch(ld, slot->epoch, slot->index, slot->images, slot->labels);
        pthread_mutex_lock(&ld->mutex);
        ld->job_pending = false;
        pthread_cond_broadcast(&ld->cond);
    }
    pthread_mutex_unlock(&ld->mutex);
    return NULL;
}

/* Returns once the worker has finished what it was asked (at once without a worker). */
static void wait_idle(dmx_loader *ld)
{
    if (!ld->threaded)
        return;
    pthread_mutex_lock(&ld->mutex);
    while (ld->job_pending)
        pthread_cond_wait(&ld->cond, &ld->mutex);
    pthread_mutex_unlock(&ld->mutex);
}

/* Asks the (idle) worker to prepare (epoch, index) into slot s. */
static void request(dmx_loader *ld, int s, int64_t epoch, int64_t index)
{
    pthread_mutex_lock(&ld->mutex);
    ld->slots[s].epoch = epoch;
    ld->slots[s].index = index;
    ld->job_slot = s;
    ld->job_pending = true;
    pthread_cond_broadcast(&ld->cond);
    pthread_mutex_unlock(&ld->mutex);
}

/* The worker blocks every signal, so Ctrl-C and the like reach the caller's threads. */
static dmx_status start_worker(dmx_loader *ld)
{
    if (pthread_mutex_init(&ld->mutex, NULL) != 0)
        return dmx_fail(DMX_ERR_BACKEND, "batch loader: pthread_mutex_init failed");
    if (pthread_cond_init(&ld->cond, NULL) != 0) {
        pthread_mutex_destroy(&ld->mutex);
        return dmx_fail(DMX_ERR_BACKEND, "batch loader: pthread_cond_init failed");
    }
    sigset_t all, old;
    sigfillset(&all);
    pthread_sigmask(SIG_SETMASK, &all, &old);
    int err = pthread_create(&ld->thread, NULL, worker_main, ld);
    pthread_sigmask(SIG_SETMASK, &old, NULL);
    if (err != 0) {
        pthread_cond_destroy(&ld->cond);
        pthread_mutex_destroy(&ld->mutex);
        return dmx_fail(DMX_ERR_BACKEND, "batch loader: pthread_create failed (error %d)", err);
    }
    ld->threaded = true;
    return DMX_OK;
}

static dmx_status check_options(const dmx_image_dataset *ds, const dmx_loader_options *o)
{
    if (o->batch_size < 1)
        return dmx_fail(DMX_ERR_INVALID_ARG, "batch loader: batch size %d must be at least 1",
                        o->batch_size);
    if (o->random_crop && (o->crop_padding < 0 || o->crop_padding > LOADER_MAX_PADDING))
        return dmx_fail(DMX_ERR_INVALID_ARG, "batch loader: crop padding %d is outside 0..%d",
                        o->crop_padding, LOADER_MAX_PADDING);
    if (o->resize < 0 || o->resize > LOADER_MAX_RESIZE)
        return dmx_fail(DMX_ERR_INVALID_ARG, "batch loader: resize %d is outside 0..%d",
                        o->resize, LOADER_MAX_RESIZE);
    if (o->parts < 0 || (o->parts > 1 && (o->part < 0 || o->part >= o->parts)))
        return dmx_fail(DMX_ERR_INVALID_ARG, "batch loader: part %d of %d parts is not in "
                        "0..parts-1", o->part, o->parts);
    if (o->drop_last && ds->count < o->batch_size)
        return dmx_fail(DMX_ERR_INVALID_ARG,
                        "batch loader: %s has %lld images, too few for one full batch of %d "
                        "(drop_last is set)",
                        ds->name, (long long)ds->count, o->batch_size);
    return DMX_OK;
}

static dmx_status allocate(dmx_loader *ld)
{
    const dmx_image_dataset *ds = ld->ds;
    const size_t batch = (size_t)ld->opt.batch_size;
    if (ld->out_floats > SIZE_MAX / sizeof(float) / batch)
        return dmx_fail(DMX_ERR_OUT_OF_MEMORY, "batch loader: a batch of %zu images of %zu "
                                               "values does not fit in memory",
                        batch, ld->out_floats);
    bool ok = true;
    for (int s = 0; s < 2; s++) {
        ld->slots[s].images = malloc(sizeof(float) * batch * ld->out_floats);
        ld->slots[s].labels = malloc(sizeof(int32_t) * batch);
        ld->slots[s].epoch = -1;
        ok = ok && ld->slots[s].images && ld->slots[s].labels;
    }
    ld->perm = ld->opt.shuffle ? malloc(sizeof(uint32_t) * (size_t)ds->count) : NULL;
    ld->augmented = malloc(ld->in_pixels);
    ld->unit = malloc(sizeof(float) * ld->in_pixels);
    ld->resized = ld->opt.resize > 0 ? malloc(sizeof(float) * ld->out_floats) : NULL;
    ok = ok && (ld->perm || !ld->opt.shuffle) && ld->augmented && ld->unit &&
         (ld->resized || ld->opt.resize == 0);
    if (!ok)
        return dmx_fail(DMX_ERR_OUT_OF_MEMORY, "batch loader: no memory for batches of %zu",
                        batch);
    return DMX_OK;
}

dmx_status dmx_loader_create(const dmx_image_dataset *ds, const dmx_loader_options *opts,
                             dmx_loader **out)
{
    if (!ds || !opts || !out)
        return dmx_fail(DMX_ERR_INVALID_ARG, "dmx_loader_create: NULL argument");
    *out = NULL;
    if (!ds->pixels || !ds->labels || !ds->mean || !ds->std || ds->count < 1)
        return dmx_fail(DMX_ERR_INVALID_ARG, "batch loader: dataset '%s' is empty", ds->name);
    DMX_TRY(check_options(ds, opts));
    dmx_loader *ld = calloc(1, sizeof *ld);
    if (!ld)
        return dmx_fail(DMX_ERR_OUT_OF_MEMORY, "batch loader: no memory");
    ld->ds = ds;
    ld->opt = *opts;
    ld->padding = opts->random_crop ? opts->crop_padding : 0;
    ld->out_h = opts->resize > 0 ? opts->resize : ds->height;
    ld->out_w = opts->resize > 0 ? opts->resize : ds->width;
    ld->batches = opts->drop_last ? ds->count / opts->batch_size
                                  : (ds->count + opts->batch_size - 1) / opts->batch_size;
    ld->in_pixels = (size_t)ds->channels * ds->height * ds->width;
    ld->out_floats = (size_t)ds->channels * ld->out_h * ld->out_w;
    ld->perm_epoch = -1;
    ld->front = -1;
    dmx_status s = allocate(ld);
    if (s == DMX_OK && opts->background)
        s = start_worker(ld);
    if (s != DMX_OK) {
        dmx_loader_destroy(ld);
        return s;
    }
    *out = ld;
    return DMX_OK;
}

void dmx_loader_destroy(dmx_loader *ld)
{
    if (!ld)
        return;
    if (ld->threaded) {
        pthread_mutex_lock(&ld->mutex);
        ld->stop = true;
        pthread_cond_broadcast(&ld->cond);
        pthread_mutex_unlock(&ld->mutex);
        pthread_join(ld->thread, NULL);
        pthread_cond_destroy(&ld->cond);
        pthread_mutex_destroy(&ld->mutex);
    }
    for (int s = 0; s < 2; s++) {
        free(ld->slots[s].images);
        free(ld->slots[s].labels);
    }
    free(ld->perm);
    free(ld->augmented);
    free(ld->unit);
    free(ld->resized);
    free(ld);
}

int64_t dmx_loader_batches_per_epoch(const dmx_loader *ld) { return ld ? ld->batches : 0; }

void dmx_loader_batch_shape(const dmx_loader *ld, int64_t shape[4])
{
    if (!shape)
        return;
    shape[0] = ld ? ld->opt.batch_size : 0;
    shape[1] = ld ? ld->ds->channels : 0;
    shape[2] = ld ? ld->out_h : 0;
    shape[3] = ld ? ld->out_w : 0;
}

static dmx_status check_position(const dmx_loader *ld, int64_t epoch, int64_t index,
                                 const char *function)
{
    if (epoch < 0 || epoch > (int64_t)UINT32_MAX || index < 0 || index >= ld->batches)
        return dmx_fail(DMX_ERR_INVALID_ARG,
                        "%s: batch (epoch %lld, index %lld) is outside epochs 0..%lld and "
                        "batches 0..%lld",
                        function, (long long)epoch, (long long)index, (long long)UINT32_MAX,
                        (long long)ld->batches - 1);
    return DMX_OK;
}

dmx_status dmx_loader_seek(dmx_loader *ld, int64_t epoch, int64_t index)
{
    if (!ld)
        return dmx_fail(DMX_ERR_INVALID_ARG, "dmx_loader_seek: NULL loader");
    DMX_TRY(check_position(ld, epoch, index, "dmx_loader_seek"));
    ld->next_epoch = epoch;
    ld->next_index = index;
    return DMX_OK;
}

void dmx_loader_position(const dmx_loader *ld, int64_t *epoch, int64_t *index)
{
    if (epoch)
        *epoch = ld ? ld->next_epoch : 0;
    if (index)
        *index = ld ? ld->next_index : 0;
}

dmx_status dmx_loader_next(dmx_loader *ld, dmx_batch *out)
{
    if (!ld || !out)
        return dmx_fail(DMX_ERR_INVALID_ARG, "dmx_loader_next: NULL argument");
    DMX_TRY(check_position(ld, ld->next_epoch, ld->next_index, "dmx_loader_next"));
    wait_idle(ld);
    const int s = ld->front < 0 ? 0 : 1 - ld->front;
    batch_slot *slot = &ld->slots[s];
    if (slot->epoch != ld->next_epoch || slot->index != ld->next_index) {
        /* Nothing prefetched for this position (first call, or after a seek). */
        slot->epoch = ld->next_epoch;
        slot->index = ld->next_index;
        slot->size = prepare_batch(ld, slot->epoch, slot->index, slot->images, slot->labels);
    }
    ld->front = s;
    if (++ld->next_index == ld->batches) {
        ld->next_index = 0;
        ld->next_epoch++;
    }
    if (ld->threaded && ld->next_epoch <= (int64_t)UINT32_MAX)
        request(ld, 1 - s, ld->next_epoch, ld->next_index);
    *out = (dmx_batch){slot->epoch, slot->index, slot->size, ld->ds->channels, ld->out_h,
                       ld->out_w, slot->images, slot->labels};
    return DMX_OK;
}

dmx_status dmx_loader_fill(dmx_loader *ld, int64_t epoch, int64_t index, float *images,
                           int32_t *labels, int64_t *size)
{
    if (!ld || !images || !labels || !size)
        return dmx_fail(DMX_ERR_INVALID_ARG, "dmx_loader_fill: NULL argument");
    DMX_TRY(check_position(ld, epoch, index, "dmx_loader_fill"));
    wait_idle(ld);
    *size = prepare_batch(ld, epoch, index, images, labels);
    return DMX_OK;
}

dmx_loader_options dmx_loader_train_defaults(int batch_size, uint64_t seed)
{
    return (dmx_loader_options){.batch_size = batch_size,
                                .shuffle = true,
                                .drop_last = false,
                                .random_crop = true,
                                .crop_padding = 4,
                                .random_flip = true,
                                .resize = 0,
                                .seed = seed,
                                .background = true};
}

dmx_loader_options dmx_loader_eval_defaults(int batch_size)
{
    return (dmx_loader_options){.batch_size = batch_size, .background = true};
}
