/* dimix export: a checkpoint's weights, model configuration, normalisation and class names,
 * without optimizer state or training position (for shipping a trained model). */
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

#include "cli_options.h"
#include "commands.h"
#include "dimix/dimix.h"

static void usage(FILE *out)
{
    fprintf(out,
            "usage: dimix export --ckpt FILE --out FILE\n\n"
            "Writes the weights of a checkpoint (parameters and buffers), its model\n"
            "configuration, input normalisation and class names as safetensors, without the\n"
            "optimizer state or the training position; written atomically. dimix eval and\n"
            "dmx_classifier_open read it like a checkpoint.\n"
            "Exit status: 0 done, 1 a failure, 2 bad usage.\n");
}

static long long file_size(const char *path)
{
    struct stat st;
    return stat(path, &st) == 0 ? (long long)st.st_size : -1;
}

int dmx_cmd_export(int argc, char **argv)
{
    const char *ckpt = NULL, *out = NULL;
    for (int i = 1; i < argc; i++) {
        const char *k = argv[i];
        int ok = 1;
        if (dmx_cli_is_help(k)) {
            usage(stdout);
            return 0;
        } else if (strcmp(k, "--ckpt") == 0) {
            ok = dmx_cli_text("export", argc, argv, &i, &ckpt);
        } else if (strcmp(k, "--out") == 0) {
            ok = dmx_cli_text("export", argc, argv, &i, &out);
        } else {
            fprintf(stderr, "dimix export: unknown option '%s' (try --help)\n", k);
            return 2;
        }
        if (!ok)
            return 2;
    }
    if (!ckpt || !out) {
        fprintf(stderr, "dimix export: --ckpt FILE and --out FILE are required\n");
        return 2;
    }
    dmx_checkpoint *ck = NULL;
    if (dmx_checkpoint_open(ckpt, &ck) != DMX_OK)
        return dmx_app_fail("export", "opening the checkpoint");
    dmx_status s = dmx_checkpoint_export(ck, out);
    dmx_checkpoint_close(ck);
    if (s != DMX_OK)
        return dmx_app_fail("export", "exporting");
    printf("%s (%lld bytes) -> %s (%lld bytes)\n", ckpt, file_size(ckpt), out, file_size(out));
    return 0;
}
