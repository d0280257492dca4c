/* Checkpoints: safetensors files (SPEC section 6) holding a model's parameters and buffers
 * under their SPEC names, optionally the optimizer state (optim.<name>.m|v|momentum), and in
 * __metadata__ the model configuration and where training stands. Written atomically (a
 * temporary file, then rename), so an interrupted save never leaves a half-written file.
 *
 * Metadata keys: format ("dimix-checkpoint-1"), model (dmx_model_config_format text), step,
 * epoch, batch, seed (decimal), train (the training configuration, free text), and what an
 * application needs to feed the model and name its outputs (dmx_checkpoint_input):
 *   normalization  "mean=M0,M1,... std=S0,S1,...": one number per input channel, the mean and
 *                  standard deviation of pixel / 255 the model was trained with (input
 *                  (x / 255 - mean) / std); each printed with 9 significant digits, so the
 *                  float reads back bit for bit.
 *   classes        the class names in label order, one per line ('\n' between names, none at
 *                  the end). A name cannot hold a newline; any other byte is kept as is.
 * Files written before these two keys existed still load; dmx_classifier_open then uses mean
 * 0, std 1 and names "0", "1", ...
 *
 * Exported weights (dmx_checkpoint_export, `dimix export`): format "dimix-weights-1", the same
 * parameters and buffers, `model`, `normalization` and `classes`; no optimizer state and no
 * training position. Everything that reads a checkpoint's weights reads them too.
 *
 * A weights file exported from PyTorch needs only `model` (or load it into a model you build
 * yourself with dmx_checkpoint_load_weights). */
#ifndef DIMIX_CHECKPOINT_H
#define DIMIX_CHECKPOINT_H

#include "dimix/models.h"
#include "dimix/optim.h"

#ifdef __cplusplus
extern "C" {
#endif

#define DMX_CHECKPOINT_TEXT 2048

typedef struct dmx_train_state {
    int64_t step;  /* optimizer steps taken */
    int64_t epoch; /* position of the next batch: epoch (0-based) */
    int64_t batch; /* and batch within it */
    uint64_t seed;
    char train[DMX_CHECKPOINT_TEXT]; /* how training was configured */
} dmx_train_state;

#define DMX_CHECKPOINT_MAX_CHANNELS 4

/* The input normalisation and class names a checkpoint records (metadata `normalization` and
 * `classes`, above). */
typedef struct dmx_checkpoint_input {
    int channels; /* entries of mean and std; 0: not recorded */
    float mean[DMX_CHECKPOINT_MAX_CHANNELS], std[DMX_CHECKPOINT_MAX_CHANNELS];
    int classes;          /* entries of class_names; 0: not recorded */
    char **class_names;   /* writing: the caller's; read: owned, dmx_checkpoint_input_free */
} dmx_checkpoint_input;

/* Saves `model`, the optimizer's state when `opt` is not NULL, and `state` (may be NULL). */
DMX_API dmx_status dmx_checkpoint_save(const char *path, dmx_model *model, dmx_optimizer *opt,
                                       const dmx_train_state *state);
/* The same, also recording `input` (may be NULL; channels or classes 0 leave that key out).
 * Fails on more than DMX_CHECKPOINT_MAX_CHANNELS channels, a std that is not positive, or a
 * class name with a newline. */
DMX_API dmx_status dmx_checkpoint_save_with(const char *path, dmx_model *model,
                                            dmx_optimizer *opt, const dmx_train_state *state,
                                            const dmx_checkpoint_input *input);

/* Builds the model the checkpoint describes on `dev` and loads its weights; `state` (may be
 * NULL) receives the training position. */
DMX_API dmx_status dmx_checkpoint_load_model(const char *path, dmx_device *dev,
                                             dmx_model **model, dmx_train_state *state);

/* Loads every parameter and buffer of `model` from `path` (names and shapes must match; a
 * tensor of the file that is neither a parameter nor optimizer state is an error). */
DMX_API dmx_status dmx_checkpoint_load_weights(const char *path, dmx_model *model);

/* Loads the optimizer state saved with the same model. */
DMX_API dmx_status dmx_checkpoint_load_optimizer(const char *path, dmx_optimizer *opt);

/* An open checkpoint, to read its configuration, training state, weights and optimizer state
 * from one open of the file (resume reads all four; the path-based calls above each open it).
 * Reads come from the file that was opened even if the path is replaced meanwhile. */
typedef struct dmx_checkpoint dmx_checkpoint;

DMX_API dmx_status dmx_checkpoint_open(const char *path, dmx_checkpoint **out);
DMX_API void dmx_checkpoint_close(dmx_checkpoint *ck);
DMX_API const char *dmx_checkpoint_path(const dmx_checkpoint *ck);
/* The model configuration (metadata `model`). */
DMX_API dmx_status dmx_checkpoint_config(const dmx_checkpoint *ck, dmx_model_config *cfg);
/* Where training stands and how it was configured (zeros and "" for what was not saved). */
DMX_API dmx_status dmx_checkpoint_state(const dmx_checkpoint *ck, dmx_train_state *state);
/* dmx_checkpoint_load_model, dmx_checkpoint_load_weights, dmx_checkpoint_load_optimizer on
 * the open file. */
DMX_API dmx_status dmx_checkpoint_build_model(const dmx_checkpoint *ck, dmx_device *dev,
                                              dmx_model **model);
DMX_API dmx_status dmx_checkpoint_read_weights(const dmx_checkpoint *ck, dmx_model *model);
DMX_API dmx_status dmx_checkpoint_read_optimizer(const dmx_checkpoint *ck, dmx_optimizer *opt);
/* The recorded normalisation and class names; a key the file lacks reads as 0 channels or 0
 * classes. A key that is present but malformed fails, naming it. */
DMX_API dmx_status dmx_checkpoint_input_read(const dmx_checkpoint *ck, dmx_checkpoint_input *out);
DMX_API void dmx_checkpoint_input_free(dmx_checkpoint_input *in);
/* Writes the weights of the open checkpoint (parameters and buffers: every tensor but the
 * optimizer's `optim.*`), its `model`, `normalization` and `classes` to `path` (format
 * "dimix-weights-1"), atomically. No device is involved: tensors are copied from the file. */
DMX_API dmx_status dmx_checkpoint_export(const dmx_checkpoint *ck, const char *path);

#ifdef __cplusplus
}
#endif
#endif
