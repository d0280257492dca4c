/* Times a few ops at model-like sizes on an OpenCL device and on the CPU reference (not a test:
 * numbers for docs/opencl.md). Usage: bench_opencl_ops [device] [repeats]. */
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "ops/op_table.h"
#include "test_util.h"

typedef struct bench {
    const char *what;
    dmx_op op;
    const void *params;
    size_t count[DMX_MAX_ARGS];
    double flops; /* per call, 0 when not meaningful */
    int ids_arg, id_max;
} bench;

static double now(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + 1e-9 * (double)t.tv_nsec;
}

/* Mean milliseconds per call after one warm-up call; negative on failure. */
static double time_op(dmx_device *dev, const bench *b, int repeats)
{
    const dmx_op_desc *d = dmx_op_describe(b->op);
    dmx_buffer *bufs[DMX_MAX_ARGS] = {0};
    dmx_op_call call = {.op = b->op, .params = b->params};
    dmx_test_rng rng = {7};
    double ms = -1.0;
    for (int i = 0; i < d->n_in + d->n_out; i++) {
        size_t n = b->count[i];
        if (n == 0)
            continue;
        float *host = malloc(n * sizeof *host);
        if (i == b->ids_arg)
            for (size_t k = 0; k < n; k++) {
                int32_t id = (int32_t)(dmx_test_next(&rng) % (uint64_t)b->id_max);
                memcpy(&host[k], &id, sizeof id);
            }
        else
            dmx_test_fill(&rng, host, n, -1.0f, 1.0f);
        bool ok = dmx_buffer_alloc(dev, n * sizeof *host, &bufs[i]) == DMX_OK &&
                  dmx_buffer_write(bufs[i], 0, host, n * sizeof *host) == DMX_OK;
        free(host);
        if (!ok)
            goto done;
        call.args[i] = (dmx_arg){bufs[i], 0, n};
    }
    if (dmx_op_run(dev, &call) != DMX_OK || dmx_device_sync(dev) != DMX_OK)
        goto done;
    double t0 = now();
    for (int r = 0; r < repeats; r++)
        if (dmx_op_run(dev, &call) != DMX_OK)
            goto done;
    if (dmx_device_sync(dev) != DMX_OK)
        goto done;
    ms = (now() - t0) * 1e3 / repeats;
done:
    if (ms < 0)
        fprintf(stderr, "%s: %s\n", b->what, dmx_last_error());
    for (int i = 0; i < DMX_MAX_ARGS; i++)
        dmx_buffer_free(bufs[i]);
    return ms;
}

int main(int argc, char **argv)
{
    const char *name = argc > 1 ? argv[1] : "opencl:0";
    const int repeats = argc > 2 ? atoi(argv[2]) : 5;
    dmx_device *dev = NULL, *cpu = NULL;
    if (dmx_device_open(name, &dev) != DMX_OK || dmx_device_open("cpu", &cpu) != DMX_OK) {
        fprintf(stderr, "cannot open %s: %s\n", name, dmx_last_error());
        return 1;
    }
    const dmx_p_gemm gemm = {.M = 512, .N = 512, .K = 512, .lda = 512, .ldb = 512, .ldc = 512,
                             .batch = 1, .alpha = 1.0f};
    const dmx_p_mix_linear dense = {.M = 4096, .J = 1, .Din = 256, .Dout = 512, .R1 = 1, .R2 = 1,
                                    .has_bias = 1};
    /* Butterfly MLP stage 1 of N = 256, b = 16, e = 4 on 4096 rows: J = 1, R1 = s = 16. */
    const dmx_p_mix_linear bfly = {.M = 4096, .J = 1, .Din = 16, .Dout = 64, .R1 = 16, .R2 = 1,
                                   .has_bias = 1};
    /* Butterfly stage on the token axis of [64, 64, 256]: b = 8, s = 8, C = 256. */
    const dmx_p_mix_linear tok = {.M = 64, .J = 1, .Din = 8, .Dout = 8, .R1 = 8, .R2 = 256};
    const dmx_p_softmax sm = {.rows = 4096, .cols = 256, .scale = 0.125f};
    const dmx_p_layernorm ln = {.rows = 8192, .cols = 256, .eps = 1e-5f};
    const dmx_p_unary un = {.n = 1 << 22};
    const dmx_p_embedding em = {.n = 32768, .dim = 256, .vocab = 256};
    const dmx_p_adamw aw = {.n = 1 << 22, .lr = 1e-3f, .beta1 = 0.9f, .beta2 = 0.999f,
                            .eps = 1e-8f, .weight_decay = 0.01f, .step_size = 1e-2f,
                            .bc2_sqrt = 0.05f};
    const size_t M4 = 4096, bx = M4 * 256, by = M4 * 1024, tx = 64 * 64 * 256;
    const bench benches[] = {
        {"gemm 512^3 (CLBlast)", DMX_OP_GEMM, &gemm, {512 * 512, 512 * 512, 512 * 512},
         2.0 * 512 * 512 * 512, -1, 0},
        {"dense 4096x256->512 (CLBlast)", DMX_OP_MIX_LINEAR, &dense,
         {M4 * 256, 512 * 256, 512, M4 * 512}, 2.0 * M4 * 256 * 512, -1, 0},
        {"butterfly b16 e4 s16, 4096 rows", DMX_OP_MIX_LINEAR, &bfly,
         {bx, 16 * 64 * 16, 16 * 64, by}, 2.0 * M4 * 16 * 16 * 64, -1, 0},
        {"  backward x", DMX_OP_MIX_LINEAR_BWD_X, &bfly, {by, 16 * 64 * 16, bx},
         2.0 * M4 * 16 * 16 * 64, -1, 0},
        {"  backward W, bias", DMX_OP_MIX_LINEAR_BWD_W, &bfly, {by, bx, 16 * 64 * 16, 16 * 64},
         2.0 * M4 * 16 * 16 * 64, -1, 0},
        {"token butterfly b8 s8 C256, B64", DMX_OP_MIX_LINEAR, &tok, {tx, 8 * 64, 0, tx},
         2.0 * tx * 8, -1, 0},
        {"  backward W", DMX_OP_MIX_LINEAR_BWD_W, &tok, {tx, tx, 8 * 64, 0}, 2.0 * tx * 8, -1, 0},
        {"softmax 4096x256", DMX_OP_SOFTMAX, &sm, {M4 * 256, 0, M4 * 256}, 0, -1, 0},
        {"layernorm 8192x256", DMX_OP_LAYERNORM, &ln,
         {8192 * 256, 256, 256, 8192 * 256, 8192, 8192}, 0, -1, 0},
        {"layernorm backward", DMX_OP_LAYERNORM_BWD, &ln,
         {8192 * 256, 8192 * 256, 256, 8192, 8192, 8192 * 256, 256, 256}, 0, -1, 0},
        {"gelu 4M", DMX_OP_GELU, &un, {1 << 22, 1 << 22}, 0, -1, 0},
        {"embedding backward 32768 ids, 256x256", DMX_OP_EMBEDDING_BWD, &em,
         {32768, 32768 * 256, 256 * 256}, 0, 0, 256},
        {"adamw 4M", DMX_OP_ADAMW, &aw, {1 << 22, 1 << 22, 1 << 22, 1 << 22}, 0, -1, 0},
    };
    printf("%-40s %12s %12s %10s\n", "op", name, "cpu", "GFLOP/s");
    for (size_t i = 0; i < sizeof benches / sizeof *benches; i++) {
        const bench *b = &benches[i];
        double t_dev = time_op(dev, b, repeats), t_cpu = time_op(cpu, b, repeats);
        printf("%-40s %9.2f ms %9.2f ms", b->what, t_dev, t_cpu);
        if (b->flops > 0 && t_dev > 0)
            printf(" %10.1f", b->flops / (t_dev * 1e6));
        printf("\n");
    }
    dmx_device_close(dev);
    dmx_device_close(cpu);
    return 0;
}
