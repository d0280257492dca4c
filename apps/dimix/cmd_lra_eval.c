/* dimix lra eval: a checkpoint of the lra model on a task's split or on a batch file (such as
 * the PyTorch fixtures of tools/make_lra_fixtures.py): accuracy, loss, sequences per second
 * and the device memory used. */
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "cli_options.h"
#include "core/error.h" /* dmx_fail: the CLI links the library statically */
#include "commands.h"
#include "infer/planned.h"
#include "dimix/lra_batches.h"
#include "logit_dump.h"
#include "lra_cli.h"
#include "progress.h"

static const char *const cmd = "lra eval";

static void usage(FILE *out)
{
    fprintf(out,
            "usage: dimix lra eval (--ckpt FILE | --preset NAME [KNOB=VALUE ...])\n"
            "                      (--data DIR|FILE --task listops|pathfinder [--split test]\n"
            "                       [--contour-length 14] | --batch-file FILE)\n"
            "                      [--device NAME] [--batch 32] [--max-batches N]\n"
            "                      [--dump-logits FILE] [--json FILE] [--no-plan]\n\n"
            "Runs an lra checkpoint in inference mode and prints accuracy, mean cross-entropy,\n"
            "sequences per second and the device memory used (parameters, gradients buffer and\n"
            "the activations' peak).\n\n"
            "  --ckpt FILE          a dimix checkpoint of family lra (or exported weights with\n"
            "                       the model configuration in their metadata)\n"
            "  --preset NAME        instead of --ckpt: a freshly initialised model of that\n"
            "                       preset (lra-listops, lra-pathfinder, ...; seed 0), to\n"
            "                       measure speed and memory (its accuracy is chance)\n"
            "  KNOB=VALUE           change a knob of the preset (seq_len=512 attention=dense)\n"
            "  --data DIR|FILE      the task's data: a directory written by `dimix lra gen`\n"
            "                       (ListOps basic_<split>.tsv, Pathfinder\n"
            "                       pathfinder<R>_cl<C>_<split>.pfb) or one such file\n"
            "  --task NAME          listops or pathfinder\n"
            "  --split NAME         train, val or test (test)\n"
            "  --contour-length C   Pathfinder split to read (14)\n"
            "  --batch-file FILE    a safetensors batch instead: ids [N, S] I32, mask [N, S] F32,\n"
            "                       labels [N] I32, optionally logits [N, classes] to compare with\n"
            "  --device NAME        cpu, opencl:N, vulkan:N or auto (DIMIX_DEVICE, else auto)\n"
            "  --batch N            sequences per forward pass (32; --batch-size is the same)\n"
            "  --max-batches N      stop after N batches (0: all)\n"
            "  --dump-logits FILE   write logits [N, classes] and labels [N] as safetensors\n"
            "  --json FILE          a JSON summary ('-': stdout, the text goes to stderr)\n"
            "  --no-plan            the training path instead: a model with gradients,\n"
            "                       activations in the bump arena (for comparison; same logits)\n"
            "Exit status: 0 done, 1 a failure, 2 bad usage.\n");
}

/* ---- the batch file: rows of ids, mask and labels held on the host ---- */

typedef struct batch_file {
    int64_t rows, seq_len;
    int32_t *ids, *labels;
    float *mask;
    float *logits; /* [rows, classes] PyTorch's, or NULL */
    int batch_size;
} batch_file;

static void batch_file_free(batch_file *f)
{
    free(f->ids), free(f->labels), free(f->mask), free(f->logits);
    memset(f, 0, sizeof *f);
}

/* Reads tensor `name` of dtype `as` with `rows` x `cols` elements (cols 0: a vector). */
static dmx_status read_rows(const dmx_st_file *st, const char *name, dmx_st_dtype as,
                            int64_t rows, int64_t cols, void **out)
{
    const dmx_st_tensor_info *t = dmx_st_find(st, name);
    if (!t)
        return dmx_fail(DMX_ERR_FORMAT, "%s has no tensor '%s'", dmx_st_path(st), name);
    bool ok = cols ? t->ndim == 2 && t->shape[0] == rows && t->shape[1] == cols
                   : t->ndim == 1 && t->shape[0] == rows;
    if (!ok && cols)
        return dmx_fail(DMX_ERR_SHAPE, "%s: tensor '%s' is not [%lld, %lld]", dmx_st_path(st),
                        name, (long long)rows, (long long)cols);
    if (!ok)
        return dmx_fail(DMX_ERR_SHAPE, "%s: tensor '%s' is not [%lld]", dmx_st_path(st), name,
                        (long long)rows);
    *out = malloc((size_t)(rows * (cols ? cols : 1)) * 4 + 4);
    if (!*out)
        return dmx_fail(DMX_ERR_OUT_OF_MEMORY, "%s: no host memory for '%s'", dmx_st_path(st),
                        name);
    return dmx_st_read(st, name, as, *out, (size_t)(rows * (cols ? cols : 1)) * 4);
}

/* Pads rows of s tokens to the model's seq_len (id 0, mask 0); refuses longer ones and ids or
 * labels the model does not have. */
static dmx_status fit_to_model(const dmx_st_file *st, batch_file *f, int64_t s,
                               const dmx_model_config *cfg)
{
    const char *path = dmx_st_path(st);
    if (s > cfg->seq_len)
        return dmx_fail(DMX_ERR_SHAPE, "%s: sequences of %lld tokens are longer than the "
                        "model's seq_len %d", path, (long long)s, cfg->seq_len);
    for (int64_t i = 0; i < f->rows * s; i++)
        if (f->ids[i] < 0 || f->ids[i] >= cfg->vocab)
            return dmx_fail(DMX_ERR_FORMAT, "%s: ids[%lld][%lld] = %d is not a token id of the "
                            "model (0..%d)", path, (long long)(i / s), (long long)(i % s),
                            f->ids[i], cfg->vocab - 1);
    for (int64_t r = 0; r < f->rows; r++)
        if (f->labels[r] < 0 || f->labels[r] >= cfg->classes)
            return dmx_fail(DMX_ERR_FORMAT, "%s: labels[%lld] = %d is not a class of the model "
                            "(0..%d)", path, (long long)r, f->labels[r], cfg->classes - 1);
    f->seq_len = cfg->seq_len;
    if (s == cfg->seq_len)
        return DMX_OK;
    int32_t *ids = calloc((size_t)(f->rows * f->seq_len), sizeof *ids);
    float *mask = calloc((size_t)(f->rows * f->seq_len), sizeof *mask);
    if (!ids || !mask) {
        free(ids), free(mask);
        return dmx_fail(DMX_ERR_OUT_OF_MEMORY, "%s: no host memory to pad the batch", path);
    }
    for (int64_t r = 0; r < f->rows; r++) {
        memcpy(ids + r * f->seq_len, f->ids + r * s, (size_t)s * sizeof *ids);
        memcpy(mask + r * f->seq_len, f->mask + r * s, (size_t)s * sizeof *mask);
    }
    free(f->ids), free(f->mask);
    f->ids = ids, f->mask = mask;
    return DMX_OK;
}

static dmx_status load_batch_file(const char *path, const dmx_model_config *cfg, batch_file *f)
{
    memset(f, 0, sizeof *f);
    dmx_st_file *st = NULL;
    DMX_TRY(dmx_st_open(path, &st));
    const dmx_st_tensor_info *ids = dmx_st_find(st, "ids");
    dmx_status s = DMX_OK;
    if (!ids || ids->ndim != 2 || ids->shape[0] < 1 || ids->shape[1] < 1)
        s = dmx_fail(DMX_ERR_FORMAT, "%s: needs a tensor 'ids' [N, S] (N, S >= 1)", path);
    int64_t rows = s == DMX_OK ? ids->shape[0] : 0, seq = s == DMX_OK ? ids->shape[1] : 0;
    f->rows = rows;
    if (s == DMX_OK)
        s = read_rows(st, "ids", DMX_ST_I32, rows, seq, (void **)&f->ids);
    if (s == DMX_OK)
        s = read_rows(st, "mask", DMX_ST_F32, rows, seq, (void **)&f->mask);
    if (s == DMX_OK)
        s = read_rows(st, "labels", DMX_ST_I32, rows, 0, (void **)&f->labels);
    if (s == DMX_OK && dmx_st_find(st, "logits"))
        s = read_rows(st, "logits", DMX_ST_F32, rows, cfg->classes, (void **)&f->logits);
    if (s == DMX_OK)
        s = fit_to_model(st, f, seq, cfg);
    dmx_st_close(st);
    if (s != DMX_OK)
        batch_file_free(f);
    return s;
}

static int64_t file_batches(void *self)
{
    const batch_file *f = self;
    return (f->rows + f->batch_size - 1) / f->batch_size;
}

static int64_t file_examples(void *self) { return ((const batch_file *)self)->rows; }
static int64_t file_batch_size(void *self) { return ((const batch_file *)self)->batch_size; }

static dmx_status file_get(void *self, dmx_ctx *ctx, int64_t epoch, int64_t index,
                           dmx_model_input *in, dmx_tensor **labels)
{
    const batch_file *f = self;
    (void)epoch;
    const int64_t first = index * f->batch_size;
    const int64_t rows = f->rows - first < f->batch_size ? f->rows - first : f->batch_size;
    const int64_t shape[2] = {rows, f->seq_len};
    DMX_TRY(dmx_tensor_from_host(ctx, DMX_I32, 2, shape, f->ids + first * f->seq_len, "ids",
                                 &in->ids));
    DMX_TRY(dmx_tensor_from_host(ctx, DMX_F32, 2, shape, f->mask + first * f->seq_len, "mask",
                                 &in->mask));
    return dmx_tensor_from_host(ctx, DMX_I32, 1, &rows, f->labels + first, "labels", labels);
}

/* ---- evaluation: dmx_evaluate with a progress bar, the time of the first batch (arena
 * growth, kernel builds) and, when asked, every logit ---- */

typedef struct eval_watch {
    dmx_progress bar;
    double first_batch_done;
    bool keep;
    dmx_logit_dump dump;
} eval_watch;

static void on_batch(void *user, int64_t done, int64_t total)
{
    eval_watch *w = user;
    (void)total;
    if (done == 1)
        w->first_batch_done = dmx_now_seconds();
    dmx_progress_update(&w->bar, done, NULL);
}

static dmx_status on_logits(void *user, int64_t index, dmx_tensor *logits, dmx_tensor *labels)
{
    eval_watch *w = user;
    return w->keep ? dmx_logit_dump_keep(&w->dump, index, logits, labels) : DMX_OK;
}

static dmx_status evaluate(dmx_ctx *ctx, dmx_model *model, dmx_batch_source *src,
                           int64_t max_batches, bool planned, eval_watch *w, dmx_eval_result *r)
{
    int64_t batches = src->batches_per_epoch(src->self);
    if (max_batches > 0 && max_batches < batches)
        batches = max_batches;
    w->dump.classes = dmx_model_config_of(model)->classes;
    dmx_progress_begin(&w->bar, stderr, "eval", batches, (double)src->batch_size(src->self),
                       "seq");
    dmx_eval_options eo = {.max_batches = max_batches, .on_logits = on_logits,
                           .on_batch = on_batch, .user = w, .planned = planned};
    dmx_status s = dmx_evaluate(ctx, model, src, &eo, r);
    dmx_progress_end(&w->bar, NULL);
    return s;
}

/* max |got - want| / max |want| over the logits the batch file brought. */
static double logits_error(const float *got, const float *want, int64_t n)
{
    double diff = 0, scale = 0;
    for (int64_t i = 0; i < n; i++) {
        double d = fabs((double)got[i] - want[i]);
        diff = d > diff || isnan(d) ? d : diff;
        scale = fmax(scale, fabs((double)want[i]));
    }
    return diff / (scale > 0 ? scale : 1.0);
}

/* ---- the command ---- */

#define MAX_KNOBS 32 /* KNOB=VALUE words */

typedef struct eval_args {
    const char *ckpt, *preset, *data, *task, *split, *batch, *device, *dump, *json;
    const char *knobs[MAX_KNOBS];
    int n_knobs;
    long long batch_size, max_batches, contour_length;
    bool no_plan;
} eval_args;

static bool is_file(const char *path)
{
    struct stat st;
    return stat(path, &st) == 0 && S_ISREG(st.st_mode);
}

static int parse_args(int argc, char **argv, eval_args *a)
{
    *a = (eval_args){.split = "test", .batch_size = 32, .contour_length = 14};
    for (int i = 1; i < argc; i++) {
        int ok = 1;
        if (dmx_cli_is_help(argv[i])) {
            usage(stdout);
            return 0;
        } else if (strcmp(argv[i], "--ckpt") == 0) {
            ok = dmx_cli_text(cmd, argc, argv, &i, &a->ckpt);
        } else if (strcmp(argv[i], "--preset") == 0) {
            ok = dmx_cli_text(cmd, argc, argv, &i, &a->preset);
        } else if (argv[i][0] != '-' && strchr(argv[i], '=')) {
            if (a->n_knobs == MAX_KNOBS) {
                fprintf(stderr, "dimix %s: at most %d KNOB=VALUE\n", cmd, MAX_KNOBS);
                return 2;
            }
            a->knobs[a->n_knobs++] = argv[i];
        } else if (strcmp(argv[i], "--data") == 0) {
            ok = dmx_cli_text(cmd, argc, argv, &i, &a->data);
        } else if (strcmp(argv[i], "--task") == 0) {
            ok = dmx_cli_text(cmd, argc, argv, &i, &a->task);
        } else if (strcmp(argv[i], "--split") == 0) {
            ok = dmx_cli_text(cmd, argc, argv, &i, &a->split);
        } else if (strcmp(argv[i], "--batch-file") == 0) {
            ok = dmx_cli_text(cmd, argc, argv, &i, &a->batch);
        } else if (strcmp(argv[i], "--json") == 0) {
            ok = dmx_cli_text(cmd, argc, argv, &i, &a->json);
        } else if (strcmp(argv[i], "--batch") == 0 && i + 1 < argc && is_file(argv[i + 1])) {
            /* --batch is the batch size, as in every command; the file has its own name */
            fprintf(stderr, "dimix %s: --batch takes sequences per pass; a batch file is "
                    "--batch-file %s\n", cmd, argv[i + 1]);
            return 2;
        } else if (strcmp(argv[i], "--device") == 0) {
            ok = dmx_cli_text(cmd, argc, argv, &i, &a->device);
        } else if (strcmp(argv[i], "--no-plan") == 0) {
            a->no_plan = true;
        } else if (strcmp(argv[i], "--dump-logits") == 0) {
            ok = dmx_cli_text(cmd, argc, argv, &i, &a->dump);
        } else if (strcmp(argv[i], "--batch") == 0 || strcmp(argv[i], "--batch-size") == 0) {
            ok = dmx_cli_int(cmd, argc, argv, &i, 1, 1 << 20, &a->batch_size);
        } else if (strcmp(argv[i], "--max-batches") == 0) {
            ok = dmx_cli_int(cmd, argc, argv, &i, 0, INT64_MAX, &a->max_batches);
        } else if (strcmp(argv[i], "--contour-length") == 0) {
            ok = dmx_cli_int(cmd, argc, argv, &i, 1, 1000, &a->contour_length);
        } else {
            fprintf(stderr, "dimix %s: unknown option '%s' (try --help)\n", cmd, argv[i]);
            return 2;
        }
        if (!ok)
            return 2;
    }
    if (!a->ckpt == !a->preset || (!a->batch == !a->data) || (a->data && !a->task) ||
        (a->n_knobs && !a->preset)) {
        fprintf(stderr, "dimix %s: needs --ckpt FILE or --preset NAME (with its knobs), and "
                        "either --data DIR --task NAME or --batch-file FILE (try --help)\n", cmd);
        return 2;
    }
    return -1;
}

/* Everything the command opened, released in one place. */
typedef struct eval_run {
    dmx_device *dev;
    dmx_model *model;
    dmx_ctx *ctx;
    dmx_lra_tokens set;
    dmx_lra_batches *batches;
    batch_file file;
    eval_watch watch;
    FILE *json;
    dmx_eval_result result;
    double end; /* when the evaluation finished */
} eval_run;

static void release(eval_run *r)
{
    dmx_logit_dump_free(&r->watch.dump);
    dmx_eval_result_free(&r->result);
    batch_file_free(&r->file);
    dmx_lra_batches_destroy(r->batches);
    dmx_lra_tokens_free(&r->set);
    dmx_ctx_destroy(r->ctx);
    dmx_model_destroy(r->model);
    dmx_device_close(r->dev);
    dmx_cli_json_close(r->json);
}

/* The preset with its knobs, initialised from seed 0. */
static dmx_status fresh_model(const eval_args *a, dmx_device *dev, dmx_model **out)
{
    dmx_model_config cfg;
    DMX_TRY(dmx_lra_cli_config(a->preset, a->knobs, a->n_knobs, &cfg));
    return dmx_model_create(dev, &cfg, 0, out);
}

/* Opens the device, the model and the data; returns the batch source through *src. */
static int open_all(const eval_args *a, eval_run *r, dmx_batch_source *src)
{
    if (dmx_device_open(a->device, &r->dev) != DMX_OK)
        return dmx_app_fail(cmd, "opening the device");
    if (a->ckpt) { /* frozen: values only, no gradients (docs/inference.md) */
        dmx_checkpoint *ck = NULL;
        dmx_status s = dmx_checkpoint_open(a->ckpt, &ck);
        if (s == DMX_OK)
            s = a->no_plan ? dmx_checkpoint_build_model(ck, r->dev, &r->model)
                           : dmx_infer_build_model(ck, r->dev, &r->model);
        dmx_checkpoint_close(ck);
        if (s != DMX_OK)
            return dmx_app_fail(cmd, "loading the model");
    }
    if (a->preset && fresh_model(a, r->dev, &r->model) != DMX_OK)
        return dmx_app_fail(cmd, "building the model");
    const dmx_model_config *cfg = dmx_model_config_of(r->model);
    if (strcmp(cfg->family, "lra") != 0) {
        fprintf(stderr, "dimix %s: %s is a %s model, not an lra one\n", cmd,
                a->ckpt ? a->ckpt : a->preset, cfg->family);
        return 1;
    }
    if (dmx_ctx_create(r->dev, &r->ctx) != DMX_OK)
        return dmx_app_fail(cmd, "creating a context");
    char path[1024];
    if (a->batch) {
        if (load_batch_file(a->batch, cfg, &r->file) != DMX_OK)
            return dmx_app_fail(cmd, "reading the batch");
        r->file.batch_size = (int)a->batch_size;
        *src = (dmx_batch_source){&r->file, file_batches, file_examples, file_batch_size,
                                  file_get};
        snprintf(path, sizeof path, "%s", a->batch);
    } else {
        if (dmx_lra_cli_load(a->task, a->data, a->split, (int)a->contour_length, cfg, &r->set,
                             path, sizeof path) != DMX_OK)
            return dmx_app_fail(cmd, "reading the data");
        dmx_lra_batch_options bo = {.batch_size = (int)a->batch_size};
        if (dmx_lra_batches_create(&r->set, &bo, &r->batches) != DMX_OK)
            return dmx_app_fail(cmd, "batching the data");
        *src = dmx_lra_batches_source(r->batches);
    }
    char text[DMX_CHECKPOINT_TEXT];
    if (dmx_model_config_format(cfg, text, sizeof text) != DMX_OK)
        return dmx_app_fail(cmd, "describing the model");
    printf("model:  %s (%s, %lld parameters)\n", text, a->ckpt ? a->ckpt : "fresh weights",
           (long long)dmx_params_trainable_count(dmx_model_params(r->model)));
    printf("data:   %s: %lld sequences of %d tokens\n", path,
           (long long)src->examples_per_epoch(src->self), cfg->seq_len);
    printf("device: %s (%s)\n", dmx_device_info_of(r->dev)->name,
           dmx_device_info_of(r->dev)->description);
    return 0;
}

static void report(const eval_args *a, const eval_run *r)
{
    const dmx_eval_result *t = &r->result;
    const int classes = dmx_model_config_of(r->model)->classes;
    printf("accuracy %.4f (%lld/%lld), loss %.4f\n", t->accuracy, (long long)t->correct,
           (long long)t->examples, t->loss);
    /* three significant digits: slow devices run well under one sequence per second */
    printf("speed:  %lld sequences in %.2f s: %.3g sequences/s", (long long)t->examples,
           t->seconds, (double)t->examples / t->seconds);
    const int64_t later = t->examples - (a->batch_size < t->examples ? a->batch_size
                                                                     : t->examples);
    if (later > 0)
        printf(" (%.3g/s after the first batch of %lld)",
               (double)later / (r->end - r->watch.first_batch_done), a->batch_size);
    printf("\nmemory: ");
    dmx_lra_memory mem = dmx_lra_cli_memory(r->model, r->ctx);
    dmx_lra_cli_print_memory(stdout, &mem);
    if (a->no_plan)
        printf(" (batch size %lld; activations in the bump arena, not planned)\n",
               a->batch_size);
    else
        printf(" (batch size %lld; activations planned, the bump arena takes %.1f MiB)\n",
               a->batch_size, (double)t->unplanned_bytes / (1024.0 * 1024.0));
    const double rel = r->file.logits ? logits_error(r->watch.dump.logits, r->file.logits,
                                                     t->examples * classes) : 0;
    if (r->file.logits)
        printf("logits: relative error %.3g against the batch file's (max |diff| / max |want|)"
               "\n", rel);
    if (!r->json)
        return;
    FILE *f = r->json;
    fprintf(f, "{\"command\": \"lra eval\", \"model\": ");
    dmx_cli_json_string(f, a->ckpt ? a->ckpt : a->preset);
    fprintf(f, ", \"data\": ");
    dmx_cli_json_string(f, a->batch ? a->batch : a->data);
    fprintf(f, ", \"examples\": %lld, \"correct\": %lld, \"accuracy\": %.6f, \"loss\": %.6f, "
            "\"seconds\": %.3f, \"sequences_per_second\": %.4g, \"batch\": %lld, "
            "\"memory_bytes\": {\"parameters\": %zu, \"gradients\": %zu, \"activations\": %zu, "
            "\"total\": %zu}", (long long)t->examples, (long long)t->correct, t->accuracy,
            t->loss, t->seconds, t->seconds > 0 ? (double)t->examples / t->seconds : 0.0,
            a->batch_size, mem.values, mem.grads, mem.activations, mem.total);
    if (r->file.logits)
        fprintf(f, ", \"logits_relative_error\": %.6g", rel);
    fprintf(f, "}\n");
}

int dmx_cmd_lra_eval(int argc, char **argv)
{
    eval_args a;
    int code = parse_args(argc, argv, &a);
    if (code >= 0)
        return code;
    eval_run r = {0};
    dmx_batch_source src = {0};
    if (a.json && !(r.json = dmx_cli_json_open(cmd, a.json))) {
        release(&r);
        return 2;
    }
    code = open_all(&a, &r, &src);
    if (code == 0) {
        r.watch.keep = a.dump || r.file.logits;
        if (evaluate(r.ctx, r.model, &src, a.max_batches, !a.no_plan, &r.watch, &r.result) !=
            DMX_OK)
            code = dmx_app_fail(cmd, "evaluation failed");
        r.end = dmx_now_seconds();
    }
    if (code == 0)
        report(&a, &r);
    if (code == 0 && a.dump && dmx_logit_dump_write(a.dump, &r.watch.dump) != DMX_OK)
        code = dmx_app_fail(cmd, "writing the logits");
    release(&r);
    return code;
}
