/* Model configurations: one table of knobs drives defaults, setting by name, text round trips
 * (checkpoints store the text) and --help. Presets reproduce the papers' configurations
 * (notes/papers.md "Experiment configs"). */
#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <math.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include "core/error.h"
#include "dimix/models.h"

enum {
    F_MIXER = 1 << 0,
    F_PATCHONLY = 1 << 1,
    F_VIT = 1 << 2,
    F_IMIXER = 1 << 3,
    F_LRA = 1 << 4,
    F_IMAGE = F_MIXER | F_PATCHONLY | F_VIT | F_IMIXER,
    F_ALL = F_IMAGE | F_LRA,
};

typedef enum knob_type { K_INT, K_FLOAT, K_TEXT } knob_type;

typedef struct knob {
    const char *name;
    knob_type type;
    size_t offset;
    unsigned families;
    const char *help;
} knob;

#define KNOB(field, type, fam, help) {#field, type, offsetof(dmx_model_config, field), fam, help}

static const knob knobs[] = {
    KNOB(channels, K_INT, F_IMAGE, "input channels (set from the data)"),
    KNOB(image, K_INT, F_IMAGE, "input height = width (set from the data; patchonly: k1 k2)"),
    KNOB(classes, K_INT, F_ALL, "output classes (set from the data)"),
    KNOB(vocab, K_INT, F_LRA, "token vocabulary including padding id 0"),
    KNOB(seq_len, K_INT, F_LRA, "sequence length (tokens, padded)"),
    KNOB(patch, K_INT, F_MIXER | F_VIT | F_IMIXER, "patch size p (S = (image/p)^2 tokens)"),
    KNOB(dim, K_INT, F_MIXER | F_VIT | F_IMIXER | F_LRA, "model width D"),
    KNOB(depth, K_INT, F_ALL, "blocks (patchonly: layers, each a k1 and a k2 block)"),
    KNOB(eps, K_FLOAT, F_ALL, "LayerNorm epsilon"),
    KNOB(token_mix, K_TEXT, F_MIXER, "token mixing: dense | butterfly_mlp | butterfly_linear"),
    KNOB(channel_mix, K_TEXT, F_MIXER, "channel mixing: dense | butterfly_mlp | butterfly_linear"),
    KNOB(token_radix, K_INT, F_MIXER, "butterfly radix along tokens (0: sqrt S)"),
    KNOB(channel_radix, K_INT, F_MIXER, "butterfly radix along channels (0: sqrt D)"),
    KNOB(expansion, K_INT, F_MIXER, "MLP expansion e (hidden e N)"),
    KNOB(attention, K_TEXT, F_VIT | F_LRA, "attention: dense | butterfly"),
    KNOB(heads, K_INT, F_VIT | F_LRA, "attention heads"),
    KNOB(mlp_hidden, K_INT, F_VIT | F_LRA, "transformer MLP hidden width (0: 2 D)"),
    KNOB(attn_radix, K_INT, F_VIT | F_LRA, "butterfly attention radix (0: 2^ceil(log2 sqrt S))"),
    KNOB(dropout, K_FLOAT, F_LRA, "dropout probability (embeddings, attention, MLP)"),
    KNOB(head_hidden, K_INT, F_LRA, "classifier hidden width"),
    KNOB(k1, K_INT, F_PATCHONLY, "first patch size"),
    KNOB(k2, K_INT, F_PATCHONLY, "second patch size (coprime with k1)"),
    KNOB(token_ratio, K_FLOAT, F_IMIXER, "iMLP width T = token_ratio * D"),
    KNOB(h_ratio, K_FLOAT, F_IMIXER, "iMLP inner width H = h_ratio * T"),
    KNOB(n_iter, K_INT, F_IMIXER, "iMLP fixed-point iterations"),
    KNOB(n_power, K_INT, F_IMIXER, "spectral-norm power iterations per training step"),
    KNOB(mlp_ratio, K_INT, F_IMIXER, "channel MLP hidden = mlp_ratio * D"),
};
#define N_KNOBS ((int)(sizeof knobs / sizeof knobs[0]))

static const struct {
    const char *name;
    unsigned bit;
} families[] = {
    {"mixer", F_MIXER}, {"patchonly", F_PATCHONLY}, {"vit", F_VIT}, {"imixer", F_IMIXER},
    {"lra", F_LRA},
};
#define N_FAMILIES ((int)(sizeof families / sizeof families[0]))

static unsigned family_bit(const char *family)
{
    for (int i = 0; i < N_FAMILIES; i++)
        if (family && strcmp(families[i].name, family) == 0)
            return families[i].bit;
    return 0;
}

dmx_status dmx_model_config_defaults(const char *family, dmx_model_config *cfg)
{
    if (!cfg)
        return dmx_fail(DMX_ERR_INVALID_ARG, "model config: NULL");
    unsigned bit = family_bit(family);
    if (!bit)
        return dmx_fail(DMX_ERR_INVALID_ARG, "unknown model family '%s' (mixer, patchonly, vit, "
                        "imixer, lra)", family ? family : "(null)");
    *cfg = (dmx_model_config){.channels = 3, .image = 32, .classes = 10, .eps = 1e-5f};
    snprintf(cfg->family, sizeof cfg->family, "%s", family);
    switch (bit) {
    case F_MIXER: /* Dimension Mixer E1 with dense mixing */
        cfg->patch = 4, cfg->dim = 121, cfg->depth = 7, cfg->expansion = 1;
        snprintf(cfg->token_mix, sizeof cfg->token_mix, "dense");
        snprintf(cfg->channel_mix, sizeof cfg->channel_mix, "dense");
        break;
    case F_PATCHONLY: /* E3: 35 = 5 x 7, 7 layers */
        cfg->image = 35, cfg->k1 = 5, cfg->k2 = 7, cfg->depth = 7;
        break;
    case F_VIT: /* E2, Table 4 row (4 layers, patch 4) */
        cfg->patch = 4, cfg->dim = 128, cfg->depth = 4, cfg->heads = 8;
        snprintf(cfg->attention, sizeof cfg->attention, "dense");
        break;
    case F_IMIXER: /* a small iMixer for 32 px images (README's h_ratio 2, n_iter 2, n_power 8) */
        cfg->patch = 4, cfg->dim = 128, cfg->depth = 4, cfg->eps = 1e-6f;
        cfg->token_ratio = 0.5f, cfg->h_ratio = 2.0f, cfg->n_iter = 2, cfg->n_power = 8;
        cfg->mlp_ratio = 4;
        break;
    case F_LRA: /* E4: 2 layers, D 64, 2 heads, hidden 128 (ListOps) */
        cfg->vocab = 18, cfg->seq_len = 2048, cfg->dim = 64, cfg->depth = 2, cfg->heads = 2;
        cfg->mlp_hidden = 128, cfg->head_hidden = 128, cfg->dropout = 0.1f, cfg->attn_radix = 64;
        cfg->classes = 10;
        snprintf(cfg->attention, sizeof cfg->attention, "butterfly");
        break;
    }
    return DMX_OK;
}

static const knob *find_knob(const char *key)
{
    for (int i = 0; i < N_KNOBS; i++)
        if (strcmp(knobs[i].name, key) == 0)
            return &knobs[i];
    return NULL;
}

static void list_knobs(unsigned bit, char *buf, size_t cap)
{
    size_t len = 0;
    buf[0] = '\0';
    for (int i = 0; i < N_KNOBS && len < cap; i++)
        if (knobs[i].families & bit)
            len += (size_t)snprintf(buf + len, cap - len, "%s%s", len ? ", " : "", knobs[i].name);
}

dmx_status dmx_model_config_set(dmx_model_config *cfg, const char *key, const char *value)
{
    if (!cfg || !key || !value)
        return dmx_fail(DMX_ERR_INVALID_ARG, "model config: NULL key or value");
    if (strcmp(key, "family") == 0)
        return dmx_model_config_defaults(value, cfg);
    unsigned bit = family_bit(cfg->family);
    const knob *k = find_knob(key);
    if (!k || !(k->families & bit)) {
        char list[1024];
        list_knobs(bit, list, sizeof list);
        return dmx_fail(DMX_ERR_INVALID_ARG, "model %s has no knob '%s'; its knobs: %s",
                        cfg->family, key, list);
    }
    char *end = NULL;
    void *field = (char *)cfg + k->offset;
    errno = 0;
    if (k->type == K_INT) {
        long v = strtol(value, &end, 10);
        if (!*value || *end || errno || v < 0 || v > 1 << 30)
            return dmx_fail(DMX_ERR_INVALID_ARG, "model knob %s: '%s' is not a non-negative "
                            "integer", key, value);
        *(int *)field = (int)v;
    } else if (k->type == K_FLOAT) {
        float v = strtof(value, &end);
        if (!*value || *end || errno || !isfinite(v) || v < 0)
            return dmx_fail(DMX_ERR_INVALID_ARG, "model knob %s: '%s' is not a non-negative "
                            "number", key, value);
        *(float *)field = v;
    } else {
        if (strlen(value) >= DMX_MODEL_TEXT || strchr(value, ' '))
            return dmx_fail(DMX_ERR_INVALID_ARG, "model knob %s: '%s' is not a word", key, value);
        snprintf((char *)field, DMX_MODEL_TEXT, "%s", value);
    }
    return DMX_OK;
}

dmx_status dmx_model_config_format(const dmx_model_config *cfg, char *buf, size_t cap)
{
    unsigned bit = family_bit(cfg->family);
    if (!bit)
        return dmx_fail(DMX_ERR_INVALID_ARG, "model config: unknown family '%s'", cfg->family);
    size_t len = (size_t)snprintf(buf, cap, "family=%s", cfg->family);
    for (int i = 0; i < N_KNOBS && len < cap; i++) {
        if (!(knobs[i].families & bit))
            continue;
        const void *field = (const char *)cfg + knobs[i].offset;
        if (knobs[i].type == K_INT)
            len += (size_t)snprintf(buf + len, cap - len, " %s=%d", knobs[i].name,
                                    *(const int *)field);
        else if (knobs[i].type == K_FLOAT)
            len += (size_t)snprintf(buf + len, cap - len, " %s=%.9g", knobs[i].name,
                                    (double)*(const float *)field);
        else
            len += (size_t)snprintf(buf + len, cap - len, " %s=%s", knobs[i].name,
                                    (const char *)field);
    }
    if (len >= cap)
        return dmx_fail(DMX_ERR_INVALID_ARG, "model config: %zu bytes do not hold the text", cap);
    return DMX_OK;
}

dmx_status dmx_model_config_parse(const char *text, dmx_model_config *cfg)
{
    if (!text || !cfg)
        return dmx_fail(DMX_ERR_INVALID_ARG, "model config: NULL text");
    char buf[2048];
    if (strlen(text) >= sizeof buf)
        return dmx_fail(DMX_ERR_FORMAT, "model config text is longer than %zu bytes", sizeof buf);
    snprintf(buf, sizeof buf, "%s", text);
    bool have_family = false;
    for (char *save = NULL, *tok = strtok_r(buf, " \t\n", &save); tok;
         tok = strtok_r(NULL, " \t\n", &save)) {
        char *eq = strchr(tok, '=');
        if (!eq)
            return dmx_fail(DMX_ERR_FORMAT, "model config: '%s' is not key=value", tok);
        *eq = '\0';
        if (!have_family && strcmp(tok, "family") != 0)
            return dmx_fail(DMX_ERR_FORMAT, "model config must start with family=, not '%s'",
                            tok);
        have_family = true;
        DMX_TRY(dmx_model_config_set(cfg, tok, eq + 1));
    }
    if (!have_family)
        return dmx_fail(DMX_ERR_FORMAT, "model config text is empty");
    return DMX_OK;
}

void dmx_model_config_help(FILE *out, const char *family)
{
    for (int f = 0; f < N_FAMILIES; f++) {
        if (family && strcmp(family, families[f].name) != 0)
            continue;
        dmx_model_config d;
        dmx_model_config_defaults(families[f].name, &d);
        fprintf(out, "model %s knobs (default):\n", families[f].name);
        for (int i = 0; i < N_KNOBS; i++) {
            if (!(knobs[i].families & families[f].bit))
                continue;
            const void *field = (const char *)&d + knobs[i].offset;
            char def[48];
            if (knobs[i].type == K_INT)
                snprintf(def, sizeof def, "%d", *(const int *)field);
            else if (knobs[i].type == K_FLOAT)
                snprintf(def, sizeof def, "%g", (double)*(const float *)field);
            else
                snprintf(def, sizeof def, "%s", (const char *)field);
            fprintf(out, "  %-14s %-10s %s\n", knobs[i].name, def, knobs[i].help);
        }
    }
}
