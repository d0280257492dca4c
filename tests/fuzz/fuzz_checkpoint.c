/* Checkpoints (host/nn/checkpoint.c): open a file of any bytes as a checkpoint, parse its
 * model configuration and training state, and check the configuration; when it is a small
 * model, build it on the CPU reference and load the weights. */
#include "dimix/dimix.h"
#include "fuzz_util.h"

static dmx_device *cpu(void)
{
    static dmx_device *dev;
    if (!dev && dmx_device_open("cpu-ref", &dev) != DMX_OK)
        dev = NULL;
    return dev;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const char *path = dmx_fuzz_file(0, "checkpoint.safetensors", data, size);
    dmx_checkpoint *ck = NULL;
    if (dmx_checkpoint_open(path, &ck) != DMX_OK)
        return 0;
    dmx_model_config cfg;
    dmx_train_state st;
    dmx_checkpoint_state(ck, &st);
    if (dmx_checkpoint_config(ck, &cfg) == DMX_OK && dmx_model_config_check(&cfg) == DMX_OK &&
        cfg.dim <= 64 && cfg.depth <= 4 && cfg.image <= 32 && cfg.seq_len <= 256 &&
        cfg.classes <= 100 && cfg.vocab <= 1024 && cpu()) {
        dmx_model *m = NULL;
        if (dmx_checkpoint_build_model(ck, cpu(), &m) == DMX_OK)
            dmx_model_destroy(m), dmx_fuzz_accepted++;
    }
    dmx_checkpoint_close(ck);
    return 0;
}
