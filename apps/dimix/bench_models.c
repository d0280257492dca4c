/* dimix bench, model and LRA suites: a whole training step (upload, forward, cross-entropy,
 * backward, optimizer step, loss read back) and inference (upload, forward, logits read
 * back) of the papers' presets on synthetic inputs of the model's own geometry. */
#include <stdlib.h>
#include <string.h>

#include "bench.h"
#include "core/error.h"

enum { A_TRAIN, A_BATCH, A_SEQ };

typedef struct model_state {
    const dmx_bench_case *c;
    dmx_model *model;
    dmx_optimizer *opt;
    dmx_ctx *ctx;
    dmx_model_config cfg;
    float *images, *mask; /* host inputs, uploaded every iteration as a real step does */
    int32_t *ids, *labels;
    float *logits; /* [B, classes], read back after each inference */
    int64_t step;
} model_state;

static uint64_t next(uint64_t *z)
{
    *z ^= *z << 13, *z ^= *z >> 7, *z ^= *z << 17;
    return *z;
}

static void model_teardown(void *p)
{
    model_state *st = p;
    if (!st)
        return;
    dmx_optim_destroy(st->opt);
    dmx_ctx_destroy(st->ctx);
    dmx_model_destroy(st->model);
    free(st->images);
    free(st->mask);
    free(st->ids);
    free(st->labels);
    free(st->logits);
    free(st);
}

static dmx_status make_inputs(model_state *st)
{
    const dmx_model_config *m = &st->cfg;
    const int64_t B = st->c->arg[A_BATCH];
    uint64_t z = 0x2545F4914F6CDD1Dull;
    st->labels = malloc((size_t)B * sizeof *st->labels);
    st->logits = malloc((size_t)(B * m->classes) * sizeof *st->logits);
    if (!st->labels || !st->logits)
        return dmx_fail(DMX_ERR_OUT_OF_MEMORY, "bench: out of host memory");
    for (int64_t i = 0; i < B; i++)
        st->labels[i] = (int32_t)(next(&z) % (uint64_t)m->classes);
    if (strcmp(m->family, "lra") == 0) {
        const int64_t n = B * m->seq_len;
        st->ids = malloc((size_t)n * sizeof *st->ids);
        st->mask = malloc((size_t)n * sizeof *st->mask);
        if (!st->ids || !st->mask)
            return dmx_fail(DMX_ERR_OUT_OF_MEMORY, "bench: out of host memory");
        for (int64_t i = 0; i < n; i++) { /* every token present: the full-length cost */
            st->ids[i] = 1 + (int32_t)(next(&z) % (uint64_t)(m->vocab - 1));
            st->mask[i] = 1.0f;
        }
        return DMX_OK;
    }
    const int64_t n = B * m->channels * m->image * m->image;
    st->images = malloc((size_t)n * sizeof *st->images);
    if (!st->images)
        return dmx_fail(DMX_ERR_OUT_OF_MEMORY, "bench: out of host memory");
    for (int64_t i = 0; i < n; i++) /* roughly what normalised pixels look like */
        st->images[i] = (float)((double)(next(&z) >> 40) / (double)(1ull << 23) - 1.0);
    return DMX_OK;
}

static dmx_status model_setup(const dmx_bench_case *c, dmx_device *dev, void **state)
{
    model_state *st = calloc(1, sizeof *st);
    if (!st)
        return dmx_fail(DMX_ERR_OUT_OF_MEMORY, "bench: out of host memory");
    *state = st;
    st->c = c;
    DMX_TRY(dmx_model_preset(c->text, &st->cfg));
    if (c->arg[A_SEQ] > 0) {
        char seq[24];
        snprintf(seq, sizeof seq, "%d", c->arg[A_SEQ]);
        DMX_TRY(dmx_model_config_set(&st->cfg, "seq_len", seq));
        if (c->arg[A_SEQ] < 1024) /* the quick run's short sequences need a smaller radix */
            DMX_TRY(dmx_model_config_set(&st->cfg, "attn_radix", "16"));
    }
    DMX_TRY(dmx_model_config_check(&st->cfg));
    DMX_TRY(dmx_model_create(dev, &st->cfg, 1, &st->model));
    DMX_TRY(dmx_ctx_create(dev, &st->ctx));
    const bool train = c->arg[A_TRAIN] != 0;
    dmx_ctx_set_grad(st->ctx, train);
    dmx_ctx_set_training(st->ctx, train);
    if (train) {
        /* Adam for images (the presets' recipe), AdamW without decay for LRA: same update. */
        dmx_params *ps = dmx_model_params(st->model);
        int n = dmx_params_trainable(ps, NULL, 0);
        dmx_tensor **list = malloc((size_t)(n ? n : 1) * sizeof *list);
        if (!list)
            return dmx_fail(DMX_ERR_OUT_OF_MEMORY, "bench: out of host memory");
        dmx_params_trainable(ps, list, n);
        dmx_optim_config oc = {.kind = DMX_OPTIM_ADAM};
        dmx_status s = dmx_optim_create(dev, &oc, list, n, &st->opt);
        free(list);
        DMX_TRY(s);
    }
    return make_inputs(st);
}

static dmx_status upload(model_state *st, dmx_model_input *in, dmx_tensor **labels)
{
    const dmx_model_config *m = &st->cfg;
    const int64_t B = st->c->arg[A_BATCH];
    *in = (dmx_model_input){0};
    if (st->ids) {
        const int64_t shape[2] = {B, m->seq_len};
        DMX_TRY(dmx_tensor_from_host(st->ctx, DMX_I32, 2, shape, st->ids, "ids", &in->ids));
        DMX_TRY(dmx_tensor_from_host(st->ctx, DMX_F32, 2, shape, st->mask, "mask", &in->mask));
    } else {
        const int64_t shape[4] = {B, m->channels, m->image, m->image};
        DMX_TRY(dmx_tensor_from_host(st->ctx, DMX_F32, 4, shape, st->images, "images",
                                     &in->images));
    }
    return labels ? dmx_tensor_from_host(st->ctx, DMX_I32, 1, &B, st->labels, "labels", labels)
                  : DMX_OK;
}

static dmx_status model_iter(void *p)
{
    model_state *st = p;
    DMX_TRY(dmx_ctx_reset(st->ctx));
    dmx_ctx_set_seed(st->ctx, (uint64_t)++st->step);
    dmx_model_input in;
    dmx_tensor *labels = NULL, *logits = NULL, *loss = NULL;
    if (!st->c->arg[A_TRAIN]) {
        DMX_TRY(upload(st, &in, NULL));
        DMX_TRY(dmx_model_forward(st->ctx, st->model, &in, &logits));
        /* the logits reach the host: the whole batch is done */
        return dmx_tensor_to_host(logits, st->logits, dmx_tensor_bytes(logits));
    }
    DMX_TRY(upload(st, &in, &labels));
    DMX_TRY(dmx_params_zero_grad(dmx_model_params(st->model)));
    DMX_TRY(dmx_model_forward(st->ctx, st->model, &in, &logits));
    DMX_TRY(dmx_cross_entropy(st->ctx, logits, labels, 0.0f, &loss));
    DMX_TRY(dmx_backward(st->ctx, loss));
    DMX_TRY(dmx_optim_step(st->opt, 1e-4f));
    float l = 0;
    return dmx_tensor_to_host(loss, &l, sizeof l);
}

static dmx_bench_memory model_memory(void *p)
{
    model_state *st = p;
    dmx_bench_memory m = dmx_bench_store_memory(dmx_model_params(st->model), st->ctx);
    if (!st->c->arg[A_TRAIN])
        m.gradients = 0; /* allocated by the store, never touched in inference */
    return m;
}

static int64_t model_params(void *p)
{
    return dmx_params_trainable_count(dmx_model_params(((model_state *)p)->model));
}

static bool add_model(dmx_bench_list *l, const dmx_bench_options *opts, dmx_bench_suite suite,
                      const char *name, const char *vs, const char *preset, const char *unit,
                      int train, int batch, int seq)
{
    dmx_bench_case c = {.suite = suite, .unit = unit, .work = batch, .batch = batch,
                        .setup = model_setup, .iter = model_iter, .memory = model_memory,
                        .params = model_params, .teardown = model_teardown,
                        .arg = {train, batch, seq}};
    snprintf(c.name, sizeof c.name, "%s", name);
    snprintf(c.vs, sizeof c.vs, "%s", vs ? vs : "");
    snprintf(c.text, sizeof c.text, "%s", preset);
    return dmx_bench_add(l, &c, opts);
}

/* Each preset and the dense one it is measured against ("" for none). */
static const char *const model_presets[][2] = {
    {"e1-butterfly-mlp", "e1-dense"}, {"e1-dense", ""},
    {"e1-butterfly-linear", "e1-dense"}, {"e2-vit", ""},
    {"e2-vit-butterfly", "e2-vit"}, {"e2-vit-p2", ""},
    {"e2-vit-p2-butterfly", "e2-vit-p2"}, {"e3-patchonly", ""},
    {"imixer-small", ""},        {"fmnist-bmlp", "fmnist-dense"},
    {"fmnist-dense", ""},
};

bool dmx_bench_model_cases(dmx_bench_list *l, const dmx_bench_options *opts)
{
    const int train_batch = opts->quick ? 8 : 64, big = opts->quick ? 8 : 256;
    char name[DMX_BENCH_NAME], vs[DMX_BENCH_NAME], kind[16];
    bool ok = true;
    for (size_t i = 0; i < sizeof model_presets / sizeof model_presets[0]; i++) {
        const char *p = model_presets[i][0], *d = model_presets[i][1];
        for (int k = 0; k < 3; k++) {
            const int train = k == 0, batch = k == 0 ? train_batch : k == 1 ? 1 : big;
            if (train)
                snprintf(kind, sizeof kind, "train");
            else
                snprintf(kind, sizeof kind, "infer-b%d", batch);
            snprintf(name, sizeof name, "models/%s/%s", p, kind);
            snprintf(vs, sizeof vs, "models/%s/%s", d, kind);
            ok = ok && add_model(l, opts, DMX_BENCH_MODELS, name, *d ? vs : NULL, p, "img/s",
                                 train, batch, 0);
        }
    }
    return ok;
}

bool dmx_bench_lra_cases(dmx_bench_list *l, const dmx_bench_options *opts)
{
    const int seqs[2] = {1024, 2048}, n_seq = opts->quick ? 1 : 2;
    const int batch = opts->quick ? 2 : 8;
    static const char *const modes[2] = {"infer", "train"};
    char name[DMX_BENCH_NAME], vs[DMX_BENCH_NAME];
    bool ok = true;
    for (int k = 0; k < n_seq; k++)
        for (int train = 0; train <= 1; train++) {
            const int S = opts->quick ? 256 : seqs[k];
            snprintf(vs, sizeof vs, "lra/dense/S%d/%s", S, modes[train]);
            ok = ok && add_model(l, opts, DMX_BENCH_LRA, vs, NULL, "lra-listops-dense", "seq/s",
                                 train, batch, S);
            snprintf(name, sizeof name, "lra/butterfly/S%d/%s", S, modes[train]);
            ok = ok && add_model(l, opts, DMX_BENCH_LRA, name, vs, "lra-listops", "seq/s", train,
                                 batch, S);
        }
    return ok;
}
