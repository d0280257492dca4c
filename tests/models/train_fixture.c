#include "train_fixture.h"

#include <string.h>

const char *const small_family_configs[] = {
    "family=mixer channels=1 image=8 classes=4 patch=2 dim=9 depth=2 token_mix=butterfly_mlp "
    "channel_mix=butterfly_mlp expansion=2",
    "family=mixer channels=1 image=8 classes=4 patch=2 dim=9 depth=2 token_mix=dense "
    "channel_mix=dense expansion=2",
    "family=mixer channels=1 image=8 classes=4 patch=2 dim=9 depth=1 token_mix=butterfly_linear "
    "channel_mix=butterfly_linear expansion=1",
    "family=vit channels=1 image=8 classes=4 patch=2 dim=8 depth=2 heads=2 attention=butterfly",
    "family=vit channels=1 image=8 classes=4 patch=2 dim=8 depth=2 heads=2 attention=dense",
    "family=patchonly channels=1 image=8 classes=4 k1=2 k2=4 depth=1",
    "family=imixer channels=1 image=8 classes=4 patch=2 dim=8 depth=1 token_ratio=0.5 h_ratio=2 "
    "n_iter=2 n_power=2 mlp_ratio=2",
};
const int n_small_family_configs =
    (int)(sizeof small_family_configs / sizeof small_family_configs[0]);

dmx_status train_fixture_open(train_fixture *f, int channels, int height, int classes, int count,
                              int batch, uint64_t seed)
{
    memset(f, 0, sizeof *f);
    dmx_synthetic_options so = {.count = count, .channels = channels, .height = height,
                                .width = height, .num_classes = classes, .seed = 99,
                                .split = DMX_SPLIT_TRAIN, .noise = 60.0f};
    dmx_status s = dmx_synthetic_images(&so, &f->train_ds);
    so.split = DMX_SPLIT_TEST;
    so.count = count / 4;
    if (s == DMX_OK)
        s = dmx_synthetic_images(&so, &f->test_ds);
    dmx_loader_options lo = dmx_loader_train_defaults(batch, seed);
    lo.crop_padding = 1;
    dmx_loader_options eo = dmx_loader_eval_defaults(batch);
    if (s == DMX_OK)
        s = dmx_loader_create(f->train_ds, &lo, &f->train_loader);
    if (s == DMX_OK)
        s = dmx_loader_create(f->test_ds, &eo, &f->test_loader);
    if (s == DMX_OK)
        s = dmx_image_source_create(f->train_loader, &f->train);
    if (s == DMX_OK)
        s = dmx_image_source_create(f->test_loader, &f->test);
    if (s != DMX_OK)
        train_fixture_close(f);
    return s;
}

void train_fixture_close(train_fixture *f)
{
    dmx_image_source_destroy(f->train);
    dmx_image_source_destroy(f->test);
    dmx_loader_destroy(f->train_loader);
    dmx_loader_destroy(f->test_loader);
    dmx_image_dataset_free(f->train_ds);
    dmx_image_dataset_free(f->test_ds);
    memset(f, 0, sizeof *f);
}
