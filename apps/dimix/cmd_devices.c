/* dimix devices: one line per device, or JSON. */
#include <stdio.h>
#include <string.h>

#include "commands.h"
#include "dimix/dimix.h"

static void json_string(const char *s)
{
    putchar('"');
    for (; *s; s++) {
        if (*s == '"' || *s == '\\')
            printf("\\%c", *s);
        else if ((unsigned char)*s < 0x20)
            printf("\\u%04x", (unsigned char)*s);
        else
            putchar(*s);
    }
    putchar('"');
}

static void print_json(int n)
{
    printf("[");
    for (int i = 0; i < n; i++) {
        dmx_device_info d;
        if (dmx_device_get_info(i, &d) != DMX_OK)
            continue;
        printf("%s\n  {\"name\": ", i ? "," : "");
        json_string(d.name);
        printf(", \"backend\": \"%s\", \"type\": \"%s\", \"description\": ",
               dmx_backend_name(d.backend), dmx_device_type_name(d.type));
        json_string(d.description);
        printf(", \"vendor\": ");
        json_string(d.vendor);
        printf(", \"driver\": ");
        json_string(d.driver);
        printf(", \"memory_bytes\": %llu, \"max_alloc_bytes\": %llu, \"max_binding_bytes\": %llu, "
               "\"max_workgroup_size\": %u, \"shared_memory_bytes\": %u, \"compute_units\": %u, "
               "\"subgroup_size\": %u}",
               (unsigned long long)d.memory_bytes, (unsigned long long)d.max_alloc_bytes,
               (unsigned long long)d.max_binding_bytes, d.max_workgroup_size,
               d.shared_memory_bytes, d.compute_units, d.subgroup_size);
    }
    printf("\n]\n");
}

int dmx_cmd_devices(int argc, char **argv)
{
    int json = 0;
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--json") == 0) {
            json = 1;
        } else if (strcmp(argv[i], "--help") == 0 || strcmp(argv[i], "-h") == 0) {
            printf("usage: dimix devices [--json]\n\n"
                   "Lists every device of every compiled-in backend: name (what --device takes),\n"
                   "backend, type, memory, and the driver's description; for a backend without\n"
                   "devices, the reason (no driver installed, not built in).\n");
            return 0;
        } else {
            fprintf(stderr, "dimix devices: unknown option '%s' (try --help)\n", argv[i]);
            return 2;
        }
    }
    int n = dmx_device_count();
    if (json) {
        print_json(n);
        return 0;
    }
    printf("%-10s %-7s %-5s %10s  %s\n", "NAME", "BACKEND", "TYPE", "MEMORY", "DESCRIPTION");
    for (int i = 0; i < n; i++) {
        dmx_device_info d;
        if (dmx_device_get_info(i, &d) != DMX_OK)
            return dmx_app_fail("devices", "reading device information");
        printf("%-10s %-7s %-5s %7.1f GiB  %s (%s; %s)\n", d.name, dmx_backend_name(d.backend),
               dmx_device_type_name(d.type), (double)d.memory_bytes / (1024.0 * 1024.0 * 1024.0),
               d.description, d.vendor, d.driver);
    }
    /* Say why a GPU backend has no device, so a missing driver is not a silent omission. */
    const dmx_backend_kind gpu_backends[] = {DMX_BACKEND_OPENCL, DMX_BACKEND_VULKAN};
    for (size_t b = 0; b < sizeof gpu_backends / sizeof *gpu_backends; b++) {
        const char *why = dmx_backend_why_none(gpu_backends[b]);
        if (*why)
            printf("%s: no devices: %s\n", dmx_backend_name(gpu_backends[b]), why);
    }
    return 0;
}
