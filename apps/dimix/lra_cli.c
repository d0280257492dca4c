/* Shared pieces of `dimix lra eval` and `dimix lra train` (lra_cli.h). */
#include "lra_cli.h"
#include "bench.h"
#include "core/error.h" /* dmx_fail: the CLI links the library statically */

#include <math.h>
#include <string.h>
#include <sys/stat.h>

static int is_directory(const char *path)
{
    struct stat st;
    return stat(path, &st) == 0 && S_ISDIR(st.st_mode);
}

/* The file of `split` inside directory `data`, or `data` itself when it is a file. */
static dmx_status split_path(const char *task, const char *data, const char *split,
                             int contour_length, const dmx_model_config *cfg, char *path,
                             size_t cap)
{
    if (!is_directory(data)) {
        snprintf(path, cap, "%s", data);
        return DMX_OK;
    }
    if (strcmp(task, "listops") == 0) {
        snprintf(path, cap, "%s/basic_%s.tsv", data, split);
        return DMX_OK;
    }
    int side = (int)lround(sqrt((double)cfg->seq_len));
    if (side * side != cfg->seq_len)
        return dmx_fail(DMX_ERR_SHAPE, "pathfinder: the model's seq_len %d is not the pixel count "
                        "of a square image", cfg->seq_len);
    snprintf(path, cap, "%s/pathfinder%d_cl%d_%s.pfb", data, side, contour_length, split);
    return DMX_OK;
}

/* The set's tokens and labels must be ids and classes the model has. */
static dmx_status check_fit(const dmx_lra_tokens *set, const dmx_model_config *cfg,
                            const char *path)
{
    if (set->seq_len != cfg->seq_len)
        return dmx_fail(DMX_ERR_SHAPE, "%s: sequences of %d tokens, the model takes %d (seq_len)",
                        path, set->seq_len, cfg->seq_len);
    if (set->vocab_size > cfg->vocab)
        return dmx_fail(DMX_ERR_SHAPE, "%s: token ids up to %d, the model's vocabulary has %d "
                        "(vocab)", path, set->vocab_size - 1, cfg->vocab);
    if (set->num_classes > cfg->classes)
        return dmx_fail(DMX_ERR_SHAPE, "%s: %d classes, the model has %d", path,
                        set->num_classes, cfg->classes);
    return DMX_OK;
}

dmx_status dmx_lra_cli_load(const char *task, const char *data, const char *split,
                            int contour_length, const dmx_model_config *cfg, dmx_lra_tokens *out,
                            char *path, size_t cap)
{
    memset(out, 0, sizeof *out);
    if (strcmp(task, "listops") != 0 && strcmp(task, "pathfinder") != 0)
        return dmx_fail(DMX_ERR_INVALID_ARG, "unknown LRA task '%s' (listops, pathfinder)", task);
    DMX_TRY(split_path(task, data, split, contour_length, cfg, path, cap));
    dmx_status s = strcmp(task, "listops") == 0 ? dmx_listops_load(path, cfg->seq_len, out)
                                                 : dmx_pathfinder_load(path, out);
    if (s == DMX_OK)
        s = check_fit(out, cfg, path);
    if (s != DMX_OK)
        dmx_lra_tokens_free(out);
    return s;
}

dmx_status dmx_lra_cli_config(const char *preset, const char *const *knobs, int n_knobs,
                              dmx_model_config *cfg)
{
    DMX_TRY(dmx_model_preset(preset, cfg));
    for (int k = 0; k < n_knobs; k++) {
        char key[64];
        const char *eq = strchr(knobs[k], '=');
        if (!eq || eq == knobs[k] || (size_t)(eq - knobs[k]) >= sizeof key)
            return dmx_fail(DMX_ERR_INVALID_ARG, "'%s' is not KNOB=VALUE", knobs[k]);
        snprintf(key, sizeof key, "%.*s", (int)(eq - knobs[k]), knobs[k]);
        DMX_TRY(dmx_model_config_set(cfg, key, eq + 1));
    }
    return dmx_model_config_check(cfg);
}

dmx_lra_memory dmx_lra_cli_memory(dmx_model *model, const dmx_ctx *ctx)
{
    dmx_bench_memory b = dmx_bench_store_memory(dmx_model_params(model), ctx);
    return (dmx_lra_memory){.values = b.parameters, .grads = b.gradients,
                            .activations = b.activations,
                            .total = b.parameters + b.gradients + b.activations};
}

void dmx_lra_cli_print_memory(FILE *out, const dmx_lra_memory *m)
{
    const double mib = 1024.0 * 1024.0;
    fprintf(out, "parameters %.2f + gradients %.2f + activations (peak) %.1f = %.1f MiB",
            (double)m->values / mib, (double)m->grads / mib, (double)m->activations / mib,
            (double)m->total / mib);
}
