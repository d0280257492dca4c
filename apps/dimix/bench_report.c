/* dimix bench: what a run reports. The JSON file (schema "dimix-bench/1", the same one
 * tools/bench_torch.py writes), a baseline file read back, one line per case, and the ratios
 * that matter: butterfly against dense in the same run, dimix against the baseline. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/utsname.h>
#include <unistd.h>

#include "bench.h"
#include "core/error.h"
#include "io/json.h"

#ifndef DIMIX_BUILD_TYPE
#define DIMIX_BUILD_TYPE "unknown"
#endif

static void put_string(FILE *f, const char *s)
{
    size_t n = strlen(s);
    size_t len = dmx_json_quote(s, n, NULL);
    char *q = malloc(len + 1);
    if (!q) {
        fputs("\"\"", f);
        return;
    }
    dmx_json_quote(s, n, q);
    fwrite(q, 1, len, f);
    free(q);
}

/* The processor's model name from /proc/cpuinfo ("unknown" elsewhere). */
static void cpu_model(char *out, size_t cap)
{
    snprintf(out, cap, "unknown");
    FILE *f = fopen("/proc/cpuinfo", "r");
    if (!f)
        return;
    char line[512];
    while (fgets(line, sizeof line, f))
        if (strncmp(line, "model name", 10) == 0) {
            char *v = strchr(line, ':');
            if (v) {
                v += 1 + (v[1] == ' ');
                v[strcspn(v, "\n")] = 0;
                snprintf(out, cap, "%s", v);
            }
            break;
        }
    fclose(f);
}

static void put_record(FILE *f, const dmx_bench_record *r, const dmx_bench_options *o)
{
    const dmx_bench_case *c = r->c;
    static const char *const suites[] = {"", "ops", "models", "", "lra"};
    fprintf(f, "    {\"case\": ");
    put_string(f, c->name);
    fprintf(f, ", \"suite\": \"%s\", \"device\": ", suites[c->suite]);
    put_string(f, r->dev.name);
    fprintf(f, ", \"backend\": \"%s\", \"device_type\": \"%s\", \"description\": ",
            dmx_backend_name(r->dev.backend),
            r->dev.type == DMX_DEVICE_CPU ? "cpu" : "gpu");
    put_string(f, r->dev.description);
    fprintf(f, ", \"driver\": ");
    put_string(f, r->dev.driver);
    fprintf(f, ",\n     \"threads\": %d, \"batch\": ", o->threads);
    if (c->batch)
        fprintf(f, "%d", c->batch);
    else
        fprintf(f, "null");
    fprintf(f, ", \"unit\": \"%s\", \"work\": %.9g, \"repeats\": %d, ", c->unit, c->work,
            r->repeats);
    if (r->ok)
        fprintf(f, "\"median_ms\": %.6g, \"min_ms\": %.6g, \"rate\": %.6g, ", r->median_ms,
                r->min_ms, r->rate);
    else
        fprintf(f, "\"median_ms\": null, \"min_ms\": null, \"rate\": null, ");
    if (r->params >= 0)
        fprintf(f, "\"params\": %lld,\n", (long long)r->params);
    else
        fprintf(f, "\"params\": null,\n");
    const dmx_bench_memory *m = &r->mem;
    if (r->ok)
        fprintf(f, "     \"memory\": {\"parameters\": %zu, \"gradients\": %zu, "
                   "\"activations_peak\": %zu, \"total\": %zu}, ",
                m->parameters, m->gradients, m->activations,
                m->parameters + m->gradients + m->activations);
    else
        fprintf(f, "     \"memory\": null, ");
    if (r->ok)
        fprintf(f, "\"per_iter\": {\"ops\": %.6g, \"op_bytes\": %.6g, \"transfers\": %.6g, "
                   "\"transfer_bytes\": %.6g}, ", r->ops, r->op_bytes, r->transfers,
                r->transfer_bytes);
    else
        fprintf(f, "\"per_iter\": null, ");
    fprintf(f, "\"vs\": ");
    if (c->vs[0])
        put_string(f, c->vs);
    else
        fprintf(f, "null");
    fprintf(f, ", \"status\": \"%s\", \"error\": ", r->ok ? "ok" : "failed");
    if (r->ok)
        fprintf(f, "null}");
    else
        put_string(f, r->error);
}

dmx_status dmx_bench_write_json(const char *path, const dmx_bench_record *recs, int n,
                                const dmx_bench_options *opts)
{
    FILE *f = strcmp(path, "-") == 0 ? stdout : fopen(path, "w");
    if (!f)
        return dmx_fail(DMX_ERR_IO, "bench: cannot write %s: %s", path, strerror(errno));
    char cpu[256];
    cpu_model(cpu, sizeof cpu);
    struct utsname u;
    char os[300] = "unknown";
    if (uname(&u) == 0)
        snprintf(os, sizeof os, "%s %s %s", u.sysname, u.release, u.machine);
    fprintf(f, "{\"schema\": \"dimix-bench/1\", \"tool\": \"dimix\", \"version\": \"%d.%d.%d\", "
               "\"build_type\": \"%s\",\n \"machine\": {\"cpu\": ",
            DIMIX_VERSION_MAJOR, DIMIX_VERSION_MINOR, DIMIX_VERSION_PATCH, DIMIX_BUILD_TYPE);
    put_string(f, cpu);
    fprintf(f, ", \"cores\": %ld, \"os\": ", sysconf(_SC_NPROCESSORS_ONLN));
    put_string(f, os);
    fprintf(f, "},\n \"threads\": %d, \"quick\": %s,\n \"records\": [\n", opts->threads,
            opts->quick ? "true" : "false");
    for (int i = 0; i < n; i++) {
        put_record(f, &recs[i], opts);
        fprintf(f, i + 1 < n ? ",\n" : "\n");
    }
    fprintf(f, " ]}\n");
    bool bad = ferror(f) != 0;
    if (f != stdout)
        bad = fclose(f) != 0 || bad;
    else
        fflush(f);
    return bad ? dmx_fail(DMX_ERR_IO, "bench: error writing %s", path) : DMX_OK;
}

/* ---- the baseline ---- */

static const dmx_json_node *member(const dmx_json_doc *d, const dmx_json_node *obj,
                                   const char *key)
{
    if (obj->kind != DMX_JSON_OBJECT)
        return NULL;
    for (const dmx_json_node *m = dmx_json_first(d, obj); m; m = dmx_json_next(d, m))
        if (m->key && strlen(key) == m->key_len && memcmp(m->key, key, m->key_len) == 0)
            return m;
    return NULL;
}

static double number(const char *text, const dmx_json_node *n)
{
    return n && n->kind == DMX_JSON_NUMBER ? strtod(text + n->offset, NULL) : -1.0;
}

static void text_of(const dmx_json_node *n, char *out, size_t cap)
{
    snprintf(out, cap, "%s", n && n->kind == DMX_JSON_STRING ? n->str : "");
}

static dmx_status read_all(const char *path, char **text, size_t *len)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return dmx_fail(DMX_ERR_IO, "baseline %s: %s", path, strerror(errno));
    size_t cap = 1 << 16, n = 0;
    char *buf = malloc(cap);
    while (buf) {
        n += fread(buf + n, 1, cap - n, f);
        if (n < cap)
            break;
        char *more = realloc(buf, cap * 2);
        if (!more) {
            free(buf);
            buf = NULL;
            break;
        }
        buf = more;
        cap *= 2;
    }
    bool err = ferror(f) != 0;
    fclose(f);
    if (!buf || err) {
        free(buf);
        return dmx_fail(buf ? DMX_ERR_IO : DMX_ERR_OUT_OF_MEMORY, "baseline %s: cannot read",
                        path);
    }
    *text = buf;
    *len = n;
    return DMX_OK;
}

dmx_status dmx_bench_baseline_read(const char *path, dmx_bench_baseline *out)
{
    *out = (dmx_bench_baseline){0};
    char *text = NULL;
    size_t len = 0;
    DMX_TRY(read_all(path, &text, &len));
    dmx_json_doc doc = {0};
    dmx_status s = dmx_json_parse(text, len, &doc);
    if (s != DMX_OK) {
        free(text);
        return dmx_fail_context(s, "baseline %s: ", path);
    }
    const dmx_json_node *root = dmx_json_root(&doc), *schema = member(&doc, root, "schema");
    const dmx_json_node *recs = member(&doc, root, "records");
    if (!schema || schema->kind != DMX_JSON_STRING || strcmp(schema->str, "dimix-bench/1") != 0 ||
        !recs || recs->kind != DMX_JSON_ARRAY) {
        s = dmx_fail(DMX_ERR_FORMAT, "baseline %s: not a dimix-bench/1 file (written by dimix "
                     "bench --json or tools/bench_torch.py)", path);
    } else {
        text_of(member(&doc, root, "tool"), out->tool, sizeof out->tool);
        out->threads = (int)number(text, member(&doc, root, "threads"));
        out->rows = calloc(recs->count ? recs->count : 1, sizeof *out->rows);
        if (!out->rows)
            s = dmx_fail(DMX_ERR_OUT_OF_MEMORY, "baseline %s: out of host memory", path);
        for (const dmx_json_node *r = out->rows ? dmx_json_first(&doc, recs) : NULL; r;
             r = dmx_json_next(&doc, r)) {
            const dmx_json_node *st = member(&doc, r, "status");
            if (!st || st->kind != DMX_JSON_STRING || strcmp(st->str, "ok") != 0)
                continue;
            dmx_bench_baseline_row *row = &out->rows[out->n];
            text_of(member(&doc, r, "case"), row->name, sizeof row->name);
            text_of(member(&doc, r, "device_type"), row->device_type, sizeof row->device_type);
            text_of(member(&doc, r, "device"), row->device, sizeof row->device);
            row->median_ms = number(text, member(&doc, r, "median_ms"));
            const dmx_json_node *mem = member(&doc, r, "memory");
            row->total_bytes = mem ? number(text, member(&doc, mem, "total")) : -1.0;
            if (row->name[0] && row->median_ms > 0)
                out->n++;
        }
    }
    dmx_json_free(&doc);
    free(text);
    if (s != DMX_OK)
        dmx_bench_baseline_free(out);
    return s;
}

void dmx_bench_baseline_free(dmx_bench_baseline *b)
{
    free(b->rows);
    *b = (dmx_bench_baseline){0};
}

/* ---- printing ---- */

static const char *mib(size_t bytes, char *buf, size_t cap)
{
    snprintf(buf, cap, "%.1f MiB", (double)bytes / (1024.0 * 1024.0));
    return buf;
}

static size_t total_bytes(const dmx_bench_record *r)
{
    return r->mem.parameters + r->mem.gradients + r->mem.activations;
}

void dmx_bench_print_record(FILE *out, const dmx_bench_record *r)
{
    if (!r->ok) {
        fprintf(out, "%-34s %-9s FAILED: %s\n", r->c->name, r->dev.name, r->error);
        return;
    }
    char m[32];
    fprintf(out, "%-34s %-9s median %10.3f ms  min %10.3f ms  %10.4g %-7s  %s (%d runs)  "
                 "%.0f ops, %.1f MiB op args, %.0f transfers\n",
            r->c->name, r->dev.name, r->median_ms, r->min_ms, r->rate, r->c->unit,
            mib(total_bytes(r), m, sizeof m), r->repeats, r->ops, r->op_bytes / 1048576.0,
            r->transfers);
    fflush(out);
}

static const dmx_bench_record *find(const dmx_bench_record *recs, int n, const char *name,
                                    const char *device)
{
    for (int i = 0; i < n; i++)
        if (recs[i].ok && strcmp(recs[i].c->name, name) == 0 &&
            strcmp(recs[i].dev.name, device) == 0)
            return &recs[i];
    return NULL;
}

/* The baseline row for a dimix record: same case, same kind of device (a CPU driver is
 * compared with PyTorch on the CPU, a GPU with PyTorch on CUDA). */
static const dmx_bench_baseline_row *baseline_row(const dmx_bench_baseline *b,
                                                  const dmx_bench_record *r)
{
    const char *type = r->dev.type == DMX_DEVICE_CPU ? "cpu" : "gpu";
    for (int i = 0; b && i < b->n; i++)
        if (strcmp(b->rows[i].name, r->c->name) == 0 && strcmp(b->rows[i].device_type, type) == 0)
            return &b->rows[i];
    return NULL;
}

static void print_pairs(FILE *out, const dmx_bench_record *recs, int n)
{
    bool header = false;
    for (int i = 0; i < n; i++) {
        const dmx_bench_record *r = &recs[i];
        const dmx_bench_record *d = r->ok && r->c->vs[0] ? find(recs, n, r->c->vs, r->dev.name)
                                                         : NULL;
        if (!d)
            continue;
        if (!header) {
            fprintf(out, "\nstructured against dense, same run (speed-up = dense time / "
                         "structured time; memory = dense / structured):\n");
            header = true;
        }
        double tb = (double)total_bytes(r), td = (double)total_bytes(d);
        fprintf(out, "  %-34s %-9s vs %-28s speed-up %6.2fx  memory %6.2fx", r->c->name,
                r->dev.name, d->c->name, d->median_ms / r->median_ms, tb > 0 ? td / tb : 0.0);
        if (strncmp(r->c->name, "lra/butterfly/S1024/train", 25) == 0)
            fprintf(out, "  (Dimension Mixer Table 4, ViT at S = 1024 on a GPU: 7.4x, 9.8x)");
        fprintf(out, "\n");
    }
}

static void print_baseline(FILE *out, const dmx_bench_record *recs, int n,
                           const dmx_bench_baseline *b)
{
    bool header = false;
    for (int i = 0; i < n; i++) {
        const dmx_bench_record *r = &recs[i];
        const dmx_bench_baseline_row *row = r->ok ? baseline_row(b, r) : NULL;
        if (!row)
            continue;
        if (!header) {
            fprintf(out, "\nagainst the baseline (%s, %d threads; speed-up = baseline time / "
                         "dimix time, > 1: dimix is faster):\n",
                    b->tool[0] ? b->tool : "?", b->threads);
            header = true;
        }
        fprintf(out, "  %-34s %-9s vs %-7s %10.3f ms / %10.3f ms  speed-up %6.2fx", r->c->name,
                r->dev.name, row->device, row->median_ms, r->median_ms,
                row->median_ms / r->median_ms);
        if (row->total_bytes > 0)
            fprintf(out, "  memory %6.2fx", row->total_bytes / (double)total_bytes(r));
        fprintf(out, "\n");
    }
    if (!header)
        fprintf(out, "\nthe baseline has no case of this run on a device of the same kind\n");
}

void dmx_bench_print_ratios(FILE *out, const dmx_bench_record *recs, int n,
                            const dmx_bench_baseline *base)
{
    print_pairs(out, recs, n);
    if (base)
        print_baseline(out, recs, n, base);
}
