/* Inference: open a trained classifier on a device and classify raw images with it.
 *
 * A classifier is opened from a training checkpoint (`dimix train` output) or from exported
 * weights (`dimix export`): only the parameters and buffers are placed on the device, with no
 * gradients, no optimizer state and no random initialisation. The file also carries what an
 * application needs to feed the model the way it was trained: the input shape, the per-channel
 * normalisation (x / 255 - mean) / std, and the class names.
 *
 * Activations are planned: buffers are reused along the forward pass once a tensor has no
 * further reader, so the activation memory is the largest set of tensors alive at one time,
 * not the sum of all of them (dmx_classifier_info reports the peak).
 *
 * Threads: a dmx_classifier may be used from any thread; calls on one classifier are
 * serialised by a lock inside it. Several classifiers may share one device handle (its own
 * lock serialises GPU calls); classifiers on different devices run in parallel. The
 * classifier does not own the device: close every classifier before closing its device. */
#ifndef DIMIX_INFER_H
#define DIMIX_INFER_H

#include <stddef.h>
#include <stdint.h>

#include "dimix/device.h"
#include "dimix/status.h"

#ifdef __cplusplus
extern "C" {
#endif

#define DMX_INFER_MAX_CHANNELS 4
#define DMX_INFER_TEXT 64

typedef struct dmx_classifier dmx_classifier;

typedef struct dmx_classifier_info {
    char family[DMX_INFER_TEXT];   /* model family: mixer, patchonly, vit, imixer */
    int channels, height, width;   /* the input one image must have */
    int classes;                   /* length of a row of logits */
    float mean[DMX_INFER_MAX_CHANNELS], std[DMX_INFER_MAX_CHANNELS]; /* of pixel / 255 */
    int64_t parameters;            /* scalars in the parameters and buffers */
    uint64_t weight_bytes;         /* device memory the weights take */
    uint64_t activation_peak_bytes;/* planned activation memory of the largest batch run so far
                                      (the input images on the device included) */
    int max_batch;                 /* largest batch run so far (0 before the first) */
    int defaults;                  /* DMX_INFER_DEFAULT_* bits: what the file lacked */
} dmx_classifier_info;

/* dmx_classifier_info.defaults: the file recorded no normalisation (mean 0, std 1 are used)
 * or no class names ("0", "1", ... are used). A warning says so when the classifier opens. */
#define DMX_INFER_DEFAULT_NORMALIZATION 1
#define DMX_INFER_DEFAULT_CLASSES 2

/* Opens `path` (a checkpoint or exported weights, safetensors) on `dev`. Files written before
 * the normalisation and class names were stored open with mean 0, std 1 and classes named
 * "0", "1", ... and a warning (on stderr, "dimix: warning: ..."; through the log callback
 * once dimix/log.h is implemented) and info.defaults set. Image families only: an LRA model
 * fails with DMX_ERR_UNSUPPORTED. */
DMX_API dmx_status dmx_classifier_open(const char *path, dmx_device *dev, dmx_classifier **out);
DMX_API void dmx_classifier_close(dmx_classifier *c);

DMX_API dmx_status dmx_classifier_info_get(dmx_classifier *c, dmx_classifier_info *out);
/* Name of class k in [0, classes); NULL when out of range. Valid until close. */
DMX_API const char *dmx_classifier_class_name(const dmx_classifier *c, int k);
DMX_API dmx_device *dmx_classifier_device(const dmx_classifier *c);

/* How input pixels are laid out and typed. */
typedef enum dmx_pixel_type {
    DMX_PIXELS_U8 = 0,   /* 0..255 */
    DMX_PIXELS_F32 = 1,  /* 0..1 (pixel / 255): the stored normalisation is still applied */
} dmx_pixel_type;

typedef enum dmx_pixel_layout {
    DMX_LAYOUT_NCHW = 0, /* planes: [B, C, H, W] */
    DMX_LAYOUT_NHWC = 1, /* interleaved: [B, H, W, C] (what image files and windows hold) */
} dmx_pixel_layout;

/* Classifies `batch` images of the classifier's shape (channels x height x width: the model's
 * input size; resize beforehand). `logits` and `probs` ([batch, classes], row-major, host
 * memory) may each be NULL, not both; probs are the softmax of the logits (computed on the
 * host in double precision). The normalisation runs on the host: x = pixel / 255 (U8) or the
 * float as given (F32), then (x - mean[c]) / std[c], the same float operations as training.
 * The first run of each batch size plans its activations (a pass that executes nothing);
 * later runs of that size replay the plan. Fails with a message on a NULL or closed
 * classifier, batch <= 0, NULL pixels or an unknown type or layout. */
DMX_API dmx_status dmx_classifier_run(dmx_classifier *c, int batch, dmx_pixel_type type,
                                      dmx_pixel_layout layout, const void *pixels,
                                      float *logits, float *probs);

/* The k most probable classes of one row of probabilities (or logits: the order is the same),
 * best first; ties go to the lower index. k is clamped to `classes`; returns the count. */
DMX_API int dmx_top_k(const float *row, int classes, int k, int *index, float *value);

#ifdef __cplusplus
}
#endif
#endif
