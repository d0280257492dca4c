/* The dimix CLI: one function per subcommand (apps/dimix/cmd_*.c), listed in main.c. */
#ifndef DMX_APP_COMMANDS_H
#define DMX_APP_COMMANDS_H

typedef struct dmx_command {
    const char *name;
    const char *summary;
    int (*run)(int argc, char **argv); /* argv[0] is the subcommand; returns the exit code */
} dmx_command;

int dmx_cmd_devices(int argc, char **argv);
int dmx_cmd_parity(int argc, char **argv);
int dmx_cmd_lra(int argc, char **argv);
int dmx_cmd_lra_eval(int argc, char **argv);  /* dimix lra eval */
int dmx_cmd_lra_train(int argc, char **argv); /* dimix lra train */
int dmx_cmd_train(int argc, char **argv);
int dmx_cmd_eval(int argc, char **argv);
int dmx_cmd_export(int argc, char **argv);
int dmx_cmd_bench(int argc, char **argv);

/* Prints "dimix <cmd>: <message>" and the library's last error to stderr; returns 1. */
int dmx_app_fail(const char *cmd, const char *what);

#endif
