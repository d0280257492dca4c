/* Shared pieces of `dimix lra eval` and `dimix lra train`: finding and reading a task's split
 * for a model, and the memory a model and its context use on the device. */
#ifndef DMX_APP_LRA_CLI_H
#define DMX_APP_LRA_CLI_H

#include <stddef.h>
#include <stdio.h>

#include "dimix/dimix.h"

/* Reads split `split` ("train", "val", "test") of `task` ("listops" or "pathfinder") for a
 * model of configuration `cfg`. `data` is a directory (ListOps: basic_<split>.tsv; Pathfinder:
 * pathfinder<R>_cl<C>_<split>.pfb with R^2 = seq_len, C = contour_length) or one file. Fails,
 * naming the file (and line), when it is malformed, when a sequence is longer than the model's
 * seq_len, or when its tokens or labels do not fit the model. `path` receives the file read. */
dmx_status dmx_lra_cli_load(const char *task, const char *data, const char *split,
                            int contour_length, const dmx_model_config *cfg, dmx_lra_tokens *out,
                            char *path, size_t cap);

/* The model configuration of `preset` with `knobs` ("KEY=VALUE", as `dimix train` takes them)
 * applied in order, checked. */
dmx_status dmx_lra_cli_config(const char *preset, const char *const *knobs, int n_knobs,
                              dmx_model_config *cfg);

/* Device memory of a model and its context: parameter values and gradients buffers, and the
 * most activation memory the context had in use at once (dmx_ctx_peak_bytes). */
typedef struct dmx_lra_memory {
    size_t values, grads, activations, total;
} dmx_lra_memory;

dmx_lra_memory dmx_lra_cli_memory(dmx_model *model, const dmx_ctx *ctx);

/* "parameters 0.80 + gradients 0.80 + activations (peak) 412.3 = 413.9 MiB" */
void dmx_lra_cli_print_memory(FILE *out, const dmx_lra_memory *m);

#endif
