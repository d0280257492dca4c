/* dimix: the command-line front end. Each subcommand lives in its own cmd_*.c file. */
#include <stdio.h>
#include <string.h>

#include "commands.h"
#include "dimix/dimix.h"

static const dmx_command commands[] = {
    {"devices", "list every device of every backend (--json for machines)", dmx_cmd_devices},
    {"parity", "check every operator on the named devices against the CPU reference",
     dmx_cmd_parity},
    {"train", "train an image classifier (progress, test accuracy, checkpoints, resume)",
     dmx_cmd_train},
    {"eval", "evaluate a checkpoint: accuracy, confusion matrix, throughput, logits",
     dmx_cmd_eval},
    {"export", "weights, normalisation and class names of a checkpoint, no optimizer state",
     dmx_cmd_export},
    {"lra", "Long Range Arena: ListOps and Pathfinder (gen, train, eval)", dmx_cmd_lra},
    {"bench", "speed and memory of ops, models and LRA on every device; ratios, baselines",
     dmx_cmd_bench},
};
static const int n_commands = (int)(sizeof commands / sizeof commands[0]);

int dmx_app_fail(const char *cmd, const char *what)
{
    const char *detail = dmx_last_error();
    fprintf(stderr, "dimix %s: %s%s%s\n", cmd, what, *detail ? ": " : "", detail);
    return 1;
}

static void usage(FILE *out)
{
    fprintf(out, "usage: dimix <command> [options]\n\ncommands:\n");
    for (int i = 0; i < n_commands; i++)
        fprintf(out, "  %-10s %s\n", commands[i].name, commands[i].summary);
    fprintf(out, "\n'dimix <command> --help' describes a command's options.\n"
                 "Environment: DIMIX_DEVICE picks the default device (cpu, opencl:N, vulkan:N, "
                 "auto).\n");
}

int main(int argc, char **argv)
{
    if (argc < 2 || strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0 ||
        strcmp(argv[1], "help") == 0) {
        usage(stdout);
        return argc < 2 ? 2 : 0;
    }
    if (strcmp(argv[1], "--version") == 0) {
        printf("dimix %s\n", dmx_version()); /* the loaded library's, not the headers' */
        return 0;
    }
    for (int i = 0; i < n_commands; i++)
        if (strcmp(argv[1], commands[i].name) == 0)
            return commands[i].run(argc - 1, argv + 1);
    fprintf(stderr, "dimix: unknown command '%s'\n\n", argv[1]);
    usage(stderr);
    return 2;
}
