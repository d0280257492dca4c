/* A few op timings on a device (not a test): build/tests/vulkan/bench_vk_ops [device...]
 * (default: cpu vulkan:0). Each op runs once to warm up (pipelines, caches), then enough times
 * to take about half a second; the time per op includes the final sync, so it is what a
 * training step pays, dispatch and barriers included. Besides wall time it reports the CPU
 * time of the whole process per op (every thread: lavapipe's and OpenMP's), which other jobs
 * on a shared machine disturb much less. */
#define _POSIX_C_SOURCE 200809L /* clock_gettime, CLOCK_MONOTONIC under -std=c11 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>

#include "dimix/dimix.h"
#include "ops/op_table.h"

static double now(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + 1e-9 * (double)t.tv_nsec;
}

static double cpu_seconds(void)
{
    struct rusage u;
    getrusage(RUSAGE_SELF, &u);
    return (double)u.ru_utime.tv_sec + 1e-6 * (double)u.ru_utime.tv_usec +
           (double)u.ru_stime.tv_sec + 1e-6 * (double)u.ru_stime.tv_usec;
}

typedef struct bench {
    const char *name;
    dmx_op op;
    const void *params;
    size_t counts[DMX_MAX_ARGS];
    double flops; /* per call, 0 when not meaningful */
} bench;

static int run_bench(dmx_device *dev, const bench *b)
{
    const dmx_op_desc *d = dmx_op_describe(b->op);
    dmx_buffer *buf[DMX_MAX_ARGS] = {0};
    dmx_op_call call = {.op = b->op, .params = b->params};
    for (int i = 0; i < d->n_in + d->n_out; i++) {
        if (!b->counts[i])
            continue;
        if (dmx_buffer_alloc(dev, b->counts[i] * 4, &buf[i]) != DMX_OK ||
            dmx_buffer_fill(buf[i], 0, b->counts[i] * 4, 0x3c23d70au) != DMX_OK) /* 0.01 */
            return 1;
        call.args[i] = (dmx_arg){buf[i], 0, b->counts[i]};
    }
    int reps = 0;
    double t0 = 0, t = 0, c0 = 0;
    if (dmx_op_run(dev, &call) != DMX_OK || dmx_device_sync(dev) != DMX_OK)
        goto fail;
    t0 = now();
    c0 = cpu_seconds();
    do {
        if (dmx_op_run(dev, &call) != DMX_OK)
            goto fail;
        reps++;
        if (reps % 4 == 0 && dmx_device_sync(dev) != DMX_OK)
            goto fail;
        t = now() - t0;
    } while (t < 0.5 && reps < 10000);
    if (dmx_device_sync(dev) != DMX_OK)
        goto fail;
    t = (now() - t0) / reps;
    double c = (cpu_seconds() - c0) / reps;
    printf("%-10s %-34s %10.3f ms wall %10.3f ms cpu", dmx_device_info_of(dev)->name, b->name,
           1e3 * t, 1e3 * c);
    if (b->flops)
        printf("  %7.2f GFLOP/s (wall)", b->flops / t * 1e-9);
    printf("\n");
    for (int i = 0; i < DMX_MAX_ARGS; i++)
        dmx_buffer_free(buf[i]);
    return 0;
fail:
    fprintf(stderr, "%s on %s: %s\n", b->name, dmx_device_info_of(dev)->name, dmx_last_error());
    for (int i = 0; i < DMX_MAX_ARGS; i++)
        dmx_buffer_free(buf[i]);
    return 1;
}

int main(int argc, char **argv)
{
    const char *defaults[] = {"cpu", "vulkan:0"};
    const char **names = argc > 1 ? (const char **)argv + 1 : defaults;
    int n_devices = argc > 1 ? argc - 1 : 2;

    dmx_p_gemm g512 = {0, 0, 512, 512, 512, 512, 512, 512, 1, 0, 0, 0, 1.0f, 0.0f};
    dmx_p_gemm attn = {0, 1, 64, 64, 32, 32, 32, 64, 256, 2048, 2048, 4096, 0.125f, 0.0f};
    /* dense linear on [4096, 256] -> 512 (rows = batch x tokens) */
    dmx_p_mix_linear dense = {4096, 1, 256, 512, 1, 1, 1, 0};
    /* butterfly stage 0, radix 16, on [4096, 1024]: 64 groups of 16 x 16 */
    dmx_p_mix_linear fly16 = {4096, 64, 16, 16, 1, 1, 0, 0};
    /* butterfly radix 2 stage 5 on [1024, 1024]: s = 32, J = 16, R1 = 32 */
    dmx_p_mix_linear fly2 = {1024, 16, 2, 2, 32, 1, 0, 0};
    dmx_p_layernorm ln = {4096, 256, 1e-5f, 0};
    dmx_p_softmax sm = {32768, 64, 0.125f, 0, 1, 0};
    dmx_p_unary gelu = {1 << 22, 0};
    dmx_p_adamw adam = {1 << 22, 1e-3f, 0.9f, 0.999f, 1e-8f, 0.01f, 1e-3f, 1.0f};
    const size_t n4m = 1u << 22;
    const bench benches[] = {
        {"gemm 512x512x512", DMX_OP_GEMM, &g512, {512 * 512, 512 * 512, 512 * 512}, 2.0 * 512 * 512 * 512},
        {"gemm 256 x (64x32 . 32x64)", DMX_OP_GEMM, &attn, {256 * 2048, 256 * 2048, 256 * 4096},
         2.0 * 256 * 64 * 64 * 32},
        {"mix_linear dense 4096x256->512", DMX_OP_MIX_LINEAR, &dense,
         {4096 * 256, 512 * 256, 512, 4096 * 512}, 2.0 * 4096 * 256 * 512},
        {"mix_linear_bwd_x dense", DMX_OP_MIX_LINEAR_BWD_X, &dense,
         {4096 * 512, 512 * 256, 4096 * 256}, 2.0 * 4096 * 256 * 512},
        {"mix_linear_bwd_w dense (+bias)", DMX_OP_MIX_LINEAR_BWD_W, &dense,
         {4096 * 512, 4096 * 256, 512 * 256, 512}, 2.0 * 4096 * 256 * 512},
        {"mix_linear butterfly b=16", DMX_OP_MIX_LINEAR, &fly16,
         {4096 * 1024, 64 * 256, 0, 4096 * 1024}, 2.0 * 4096 * 1024 * 16},
        {"mix_linear_bwd_w butterfly b=16", DMX_OP_MIX_LINEAR_BWD_W, &fly16,
         {4096 * 1024, 4096 * 1024, 64 * 256, 0}, 2.0 * 4096 * 1024 * 16},
        {"mix_linear butterfly b=2", DMX_OP_MIX_LINEAR, &fly2,
         {1024 * 1024, 512 * 4, 0, 1024 * 1024}, 2.0 * 1024 * 1024 * 2},
        {"layernorm 4096x256", DMX_OP_LAYERNORM, &ln,
         {4096 * 256, 256, 256, 4096 * 256, 4096, 4096}, 0},
        {"softmax 32768x64", DMX_OP_SOFTMAX, &sm, {32768 * 64, 0, 32768 * 64}, 0},
        {"gelu 4M", DMX_OP_GELU, &gelu, {n4m, n4m}, 0},
        {"adamw 4M", DMX_OP_ADAMW, &adam, {n4m, n4m, n4m, n4m}, 0},
    };
    int failed = 0;
    for (int k = 0; k < n_devices; k++) {
        dmx_device *dev = NULL;
        if (dmx_device_open(names[k], &dev) != DMX_OK) {
            fprintf(stderr, "%s: %s\n", names[k], dmx_last_error());
            failed = 1;
            continue;
        }
        printf("%s: %s (%s)\n", names[k], dmx_device_info_of(dev)->description,
               dmx_device_info_of(dev)->driver);
        for (size_t i = 0; i < sizeof benches / sizeof benches[0]; i++)
            failed |= run_bench(dev, &benches[i]);
        dmx_device_close(dev);
    }
    return failed;
}
