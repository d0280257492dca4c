/* Named model presets: the papers' configurations (notes/papers.md "Experiment configs") and
 * this project's defaults. The parameter counts in `about` are the papers' (checked by
 * tests/models/test_model_params.c). */
#include <stdio.h>
#include <string.h>

#include "core/error.h"
#include "dimix/models.h"

typedef struct preset {
    const char *name, *text, *about;
} preset;

#define E1 "family=mixer channels=3 image=32 classes=10 patch=4 dim=121 depth=7 "
#define E1_BF "token_radix=8 channel_radix=11 "
#define E2 "family=vit channels=3 image=32 classes=10 heads=8 "
#define E4 "family=lra dim=64 depth=2 heads=2 mlp_hidden=128 head_hidden=128 dropout=0.1 "
#define E4_LISTOPS E4 "vocab=18 seq_len=2048 classes=10 "
#define E4_PATHFINDER E4 "vocab=257 seq_len=1024 classes=2 "
static const preset presets[] = {
    {"e1-dense", E1 "token_mix=dense channel_mix=dense expansion=1",
     "Dimension Mixer Table 3, CIFAR-10 MLP-Mixer, dense mixing, e=1: 351,675 parameters"},
    {"e1-butterfly-linear",
     E1 E1_BF "token_mix=butterfly_linear channel_mix=butterfly_linear expansion=1",
     "Table 3, Butterfly-Linear (ELU), e=1: 140,961 parameters"},
    {"e1-butterfly-mlp", E1 E1_BF "token_mix=butterfly_mlp channel_mix=butterfly_mlp expansion=1",
     "Table 3, Butterfly-MLP, e=1: 143,551 parameters"},
    {"e1x2-dense", E1 "token_mix=dense channel_mix=dense expansion=2",
     "Table 3, dense, e=2: 615,288 parameters"},
    {"e1x2-butterfly-linear",
     E1 E1_BF "token_mix=butterfly_linear channel_mix=butterfly_linear expansion=2",
     "Table 3, Butterfly-Linear, e=2: 193,860 parameters"},
    {"e1x2-butterfly-mlp", E1 E1_BF "token_mix=butterfly_mlp channel_mix=butterfly_mlp expansion=2",
     "Table 3, Butterfly-MLP, e=2: 197,745 parameters"},
    {"e2-vit", E2 "patch=4 dim=128 depth=4 attention=dense",
     "Table 4, ViT (4 layers, patch 4, no position embedding), dense attention: 618,122"},
    {"e2-vit-butterfly", E2 "patch=4 dim=128 depth=4 attention=butterfly",
     "Table 4, same with butterfly attention (radix 8, 2 stages)"},
    {"e2-vit-8", E2 "patch=4 dim=128 depth=8 attention=dense",
     "Table 4, 8 layers, patch 4, dense: 1,148,042 parameters"},
    {"e2-vit-p2", E2 "patch=2 dim=64 depth=4 attention=dense",
     "Table 4, 4 layers, patch 2 (S = 256), dense: 298,570 parameters"},
    {"e2-vit-p2-butterfly", E2 "patch=2 dim=64 depth=4 attention=butterfly",
     "Table 4, 4 layers, patch 2, butterfly attention (radix 16)"},
    {"e3-patchonly", "family=patchonly channels=3 image=35 classes=10 k1=5 k2=7 depth=7",
     "Table 7, Patch-Only Mixer, 7 layers (14 blocks), CIFAR-10: 807,082 parameters"},
    {"e3-patchonly-10", "family=patchonly channels=3 image=35 classes=10 k1=5 k2=7 depth=10",
     "Table 7, Patch-Only Mixer, 10 layers"},
    {"imixer-small",
     "family=imixer channels=3 image=32 classes=10 patch=4 dim=128 depth=4 token_ratio=0.5 "
     "h_ratio=2 n_iter=2 n_power=8 mlp_ratio=4",
     "a small iMixer for 32 px images (the README's h_ratio 2, n_iter 2, n_power 8)"},
    {"fmnist-bmlp",
     "family=mixer channels=1 image=28 classes=10 patch=4 dim=64 depth=4 "
     "token_mix=butterfly_mlp channel_mix=butterfly_mlp token_radix=7 channel_radix=8 "
     "expansion=2",
     "the default: a butterfly-MLP Mixer for 28 px images (49 tokens radix 7, 64 channels "
     "radix 8)"},
    {"fmnist-dense",
     "family=mixer channels=1 image=28 classes=10 patch=4 dim=64 depth=4 token_mix=dense "
     "channel_mix=dense expansion=2",
     "the same Mixer with dense token and channel MLPs"},
    {"lra-listops", E4_LISTOPS "attention=butterfly attn_radix=64",
     "Table 5 (E4), ListOps at 2048 tokens: 2 pre-LN layers, D 64, 2 heads, butterfly "
     "attention radix 64 (strides 1, 32)"},
    {"lra-listops-dense", E4_LISTOPS "attention=dense attn_radix=64",
     "the same with dense attention (the Standard Transformer row)"},
    {"lra-pathfinder", E4_PATHFINDER "attention=butterfly attn_radix=128",
     "Table 5 (E4), Pathfinder-32 (1024 pixels, id = pixel + 1): butterfly attention radix 128 "
     "(strides 1, 8)"},
    {"lra-pathfinder-dense", E4_PATHFINDER "attention=dense attn_radix=128",
     "the same with dense attention"},
};
#define N_PRESETS ((int)(sizeof presets / sizeof presets[0]))

dmx_status dmx_model_preset(const char *name, dmx_model_config *cfg)
{
    for (int i = 0; i < N_PRESETS; i++)
        if (name && strcmp(presets[i].name, name) == 0)
            return dmx_model_config_parse(presets[i].text, cfg);
    char list[1024];
    size_t len = 0;
    list[0] = '\0';
    for (int i = 0; i < N_PRESETS && len < sizeof list; i++)
        len += (size_t)snprintf(list + len, sizeof list - len, "%s%s", i ? ", " : "",
                                presets[i].name);
    return dmx_fail(DMX_ERR_NOT_FOUND, "unknown model preset '%s'; presets: %s",
                    name ? name : "(null)", list);
}

void dmx_model_presets_help(FILE *out, bool lra)
{
    fprintf(out, "presets:\n");
    for (int i = 0; i < N_PRESETS; i++)
        if ((strncmp(presets[i].text, "family=lra ", 11) == 0) == lra)
            fprintf(out, "  %-22s %s\n", presets[i].name, presets[i].about);
}
