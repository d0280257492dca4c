/* The parity runner: runs each case on each device, checks it, fills the op x device report. */
#include <math.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "core/error.h"
#include "device/backend.h"
#include "parity/parity.h"

/* Guard band around every argument, in elements. Odd, so arguments start at offsets that are
 * not aligned to anything: backends must handle arbitrary element offsets. */
#define GUARD 67
#define GUARD_BITS 0x7FA5A5A5u /* a NaN payload no op produces */
#define NAN_BITS 0x7FC00000u
#define ONE_BITS 0x3F800000u

static const dmx_parity_tolerance tolerances[] = {
    [DMX_PARITY_BITWISE] = {0.0, 0.0, 0.0},
    [DMX_PARITY_ELEMENTWISE] = {1e-7, 4e-6, 1e-12},
    [DMX_PARITY_TRANSCENDENTAL] = {1e-6, 2e-5, 1e-10},
    [DMX_PARITY_REDUCTION] = {2e-6, 1e-4, 1e-9},
};

const dmx_parity_tolerance *dmx_parity_tolerance_of(dmx_parity_class cls)
{
    return &tolerances[cls];
}

static double now_seconds(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

/* Where each argument sits in the case's one buffer: [G a0 G a1 G ...]. */
static size_t layout(const dmx_parity_case *c, size_t offsets[DMX_MAX_ARGS])
{
    size_t at = GUARD;
    for (int i = 0; i < DMX_MAX_ARGS; i++) {
        offsets[i] = at;
        if (c->args[i].role != DMX_PARITY_ABSENT)
            at += c->args[i].count + GUARD;
    }
    return at;
}

/* One run: the whole buffer comes back in `image` (caller frees). `out_fill` is the bit
 * pattern written into OUT arguments before the op. */
dmx_status dmx_parity_run_case(dmx_device *dev, const dmx_parity_case *c, uint32_t out_fill,
                               uint32_t **image, size_t *words)
{
    size_t offsets[DMX_MAX_ARGS];
    size_t total = layout(c, offsets);
    uint32_t *host = malloc(total * 4);
    if (!host)
        return dmx_fail(DMX_ERR_OUT_OF_MEMORY, "parity: out of host memory");
    for (size_t k = 0; k < total; k++)
        host[k] = GUARD_BITS;
    for (int i = 0; i < DMX_MAX_ARGS; i++) {
        const dmx_parity_arg *a = &c->args[i];
        if (a->role == DMX_PARITY_OUT)
            for (size_t k = 0; k < a->count; k++)
                host[offsets[i] + k] = out_fill;
        else if (a->role != DMX_PARITY_ABSENT)
            memcpy(host + offsets[i], a->data, a->count * 4);
    }
    dmx_buffer *buf = NULL;
    dmx_status s = dmx_buffer_alloc(dev, total * 4, &buf);
    if (s == DMX_OK)
        s = dmx_buffer_write(buf, 0, host, total * 4);
    if (s == DMX_OK) {
        dmx_op_call call = {.op = c->op, .params = &c->params};
        for (int i = 0; i < DMX_MAX_ARGS; i++)
            if (c->args[i].role != DMX_PARITY_ABSENT)
                call.args[i] = (dmx_arg){buf, offsets[i], c->args[i].count};
        s = dmx_op_run(dev, &call);
    }
    if (s == DMX_OK)
        s = dmx_buffer_read(buf, 0, host, total * 4);
    dmx_buffer_free(buf);
    if (s != DMX_OK) {
        free(host);
        return s;
    }
    *image = host;
    *words = total;
    return DMX_OK;
}

typedef struct check {
    FILE *log;
    const char *device;
    const dmx_parity_case *c;
    int problems;
} check;

static void problem(check *k, const char *fmt, ...)
{
    if (k->problems++ < 6 && k->log) {
        va_list ap;
        va_start(ap, fmt);
        fprintf(k->log, "  FAIL %s / %s [%s]: ", dmx_op_name(k->c->op), k->c->name, k->device);
        vfprintf(k->log, fmt, ap);
        fputc('\n', k->log);
        va_end(ap);
    }
}

/* Guards intact and inputs untouched. */
static void check_image(check *k, const uint32_t *image)
{
    size_t offsets[DMX_MAX_ARGS], at = 0;
    layout(k->c, offsets);
    for (int i = 0; i < DMX_MAX_ARGS; i++) {
        const dmx_parity_arg *a = &k->c->args[i];
        if (a->role == DMX_PARITY_ABSENT)
            continue;
        for (size_t g = at; g < offsets[i]; g++)
            if (image[g] != GUARD_BITS) {
                problem(k, "write outside the arguments: guard word %zu before argument %d "
                        "changed to 0x%08x", g, i, image[g]);
                break;
            }
        if (a->role == DMX_PARITY_IN && memcmp(image + offsets[i], a->data, a->count * 4) != 0)
            problem(k, "input argument %d was modified", i);
        at = offsets[i] + a->count;
    }
    for (size_t g = at; g < at + GUARD; g++)
        if (image[g] != GUARD_BITS) {
            problem(k, "write past the last argument: guard word %zu changed", g);
            break;
        }
}

static int value_kind(float v) { return isnan(v) ? 1 : isinf(v) ? (v > 0 ? 2 : 3) : 0; }

/* Device result `got` against the reference `ref` for one output argument. */
static void compare_output(check *k, int arg, const float *ref, const float *got, size_t n,
                           dmx_parity_cell *cell)
{
    const dmx_parity_tolerance *tol = &tolerances[k->c->cls];
    if (k->c->cls == DMX_PARITY_BITWISE) {
        for (size_t i = 0; i < n; i++)
            if (memcmp(&ref[i], &got[i], 4) != 0) {
                problem(k, "argument %d element %zu: got %.9g, reference %.9g (must be bitwise "
                        "equal)", arg, i, (double)got[i], (double)ref[i]);
                return;
            }
        return;
    }
    double maxref = 0.0, num = 0.0, den = 0.0, worst = 0.0;
    for (size_t i = 0; i < n; i++)
        if (isfinite(ref[i]) && fabs(ref[i]) > maxref)
            maxref = fabs(ref[i]);
    for (size_t i = 0; i < n; i++) {
        int kr = value_kind(ref[i]), kg = value_kind(got[i]);
        if (kr != kg) {
            problem(k, "argument %d element %zu: got %.9g, reference %.9g (NaN/inf class differs)",
                    arg, i, (double)got[i], (double)ref[i]);
            worst = INFINITY;
            continue;
        }
        if (kr)
            continue;
        double err = fabs((double)got[i] - ref[i]);
        double allowed = tol->atol_rel * maxref + tol->rtol * fabs(ref[i]);
        double ratio = allowed > 0 ? err / allowed : (err > 0 ? INFINITY : 0);
        if (ratio > 1.0)
            problem(k, "argument %d element %zu: got %.9g, reference %.9g (|diff| %.3g > %.3g)",
                    arg, i, (double)got[i], (double)ref[i], err, allowed);
        worst = ratio > worst ? ratio : worst;
        num += err * err;
        den += (double)ref[i] * ref[i];
    }
    double nmse = den > 0 ? num / den : (num > 0 ? INFINITY : 0.0);
    if (nmse > tol->nmse)
        problem(k, "argument %d: normalised MSE %.3g > %.3g", arg, nmse, tol->nmse);
    cell->worst_nmse = nmse > cell->worst_nmse ? nmse : cell->worst_nmse;
    cell->worst_err_ratio = worst > cell->worst_err_ratio ? worst : cell->worst_err_ratio;
}

int dmx_parity_check(const dmx_parity_case *c, const uint32_t *ref_image, const uint32_t *image,
                     FILE *log, const char *device, dmx_parity_cell *cell)
{
    check k = {.log = log, .device = device, .c = c};
    dmx_parity_cell scratch = {0};
    size_t offsets[DMX_MAX_ARGS];
    layout(c, offsets);
    check_image(&k, image);
    for (int a = 0; a < DMX_MAX_ARGS; a++)
        if (c->args[a].role == DMX_PARITY_OUT || c->args[a].role == DMX_PARITY_ACC)
            compare_output(&k, a, (const float *)(ref_image + offsets[a]),
                           (const float *)(image + offsets[a]), c->args[a].count,
                           cell ? cell : &scratch);
    return k.problems;
}

/* Runs case `c` on `dev` twice (outputs pre-filled with NaN, then with 1.0): both runs must
 * agree bit for bit, which catches nondeterminism and ops that read what they should overwrite.
 * With `once`, only the first run. Returns the first image (caller frees) or NULL with the
 * status in *status. */
static uint32_t *run_checked(check *k, dmx_device *dev, bool once, dmx_status *status)
{
    uint32_t *first = NULL, *second = NULL;
    size_t n1 = 0, n2 = 0;
    *status = dmx_parity_run_case(dev, k->c, NAN_BITS, &first, &n1);
    if (*status != DMX_OK || once)
        return first;
    *status = dmx_parity_run_case(dev, k->c, ONE_BITS, &second, &n2);
    if (*status != DMX_OK) {
        free(first);
        return NULL;
    }
    size_t offsets[DMX_MAX_ARGS];
    layout(k->c, offsets);
    for (int i = 0; i < DMX_MAX_ARGS; i++) {
        const dmx_parity_arg *a = &k->c->args[i];
        if (a->role != DMX_PARITY_OUT && a->role != DMX_PARITY_ACC)
            continue;
        for (size_t e = 0; e < a->count; e++)
            if (first[offsets[i] + e] != second[offsets[i] + e]) {
                problem(k, "argument %d element %zu differs between two runs (0x%08x vs 0x%08x): "
                        "nondeterministic, or the op read an output it should overwrite", i, e,
                        first[offsets[i] + e], second[offsets[i] + e]);
                break;
            }
    }
    free(second);
    return first;
}

static void open_devices(const char *const *names, int n, dmx_device **devs,
                         dmx_parity_report *r)
{
    r->n_devices = n < DMX_PARITY_MAX_DEVICES ? n : DMX_PARITY_MAX_DEVICES;
    for (int d = 0; d < r->n_devices; d++) {
        snprintf(r->device[d], sizeof r->device[d], "%s", names[d]);
        devs[d] = NULL;
        if (dmx_device_open(names[d], &devs[d]) == DMX_OK) {
            r->present[d] = true;
        } else {
            r->present[d] = false;
            snprintf(r->why_absent[d], sizeof r->why_absent[d], "%s", dmx_last_error());
        }
    }
}

dmx_status dmx_parity_run(const char *const *devices, int n_devices, const dmx_parity_opts *opts,
                          dmx_parity_report *report)
{
    dmx_parity_opts o = opts ? *opts : (dmx_parity_opts){0};
    FILE *log = o.log ? o.log : stderr;
    memset(report, 0, sizeof *report);
    dmx_device *ref = NULL, *devs[DMX_PARITY_MAX_DEVICES];
    DMX_TRY(dmx_device_open(DMX_PARITY_REFERENCE, &ref));
    open_devices(devices, n_devices, devs, report);
    dmx_parity_cases cases;
    dmx_status s = dmx_parity_build_cases(&cases);
    if (s != DMX_OK) {
        dmx_device_close(ref);
        return s;
    }
    for (int i = 0; i < cases.count && s == DMX_OK; i++) {
        const dmx_parity_case *c = &cases.items[i];
        if ((o.small_only && c->large) ||
            (o.op_filter && !strstr(dmx_op_name(c->op), o.op_filter)))
            continue;
        report->total_cases++;
        check kr = {.log = log, .device = DMX_PARITY_REFERENCE, .c = c};
        dmx_status rs = DMX_OK;
        double t_ref = now_seconds();
        uint32_t *ref_image = run_checked(&kr, ref, false, &rs);
        t_ref = now_seconds() - t_ref;
        if (!ref_image) {
            s = dmx_fail_context(rs, "parity: the CPU reference failed on %s / %s: ",
                                 dmx_op_name(c->op), c->name);
            break;
        }
        check_image(&kr, ref_image);
        for (int d = 0; d < report->n_devices; d++) {
            if (!report->present[d])
                continue;
            dmx_parity_cell *cell = &report->cell[c->op][d];
            cell->cases++;
            check k = {.log = log, .device = report->device[d], .c = c};
            dmx_status ds = DMX_OK;
            uint32_t *image = NULL;
            if (devs[d]->backend == ref->backend) {
                /* The reference against itself: its guard, input, prefill and determinism
                 * checks above are this column's verdict. */
                k.problems = kr.problems;
                report->seconds[d] += t_ref;
            } else {
                double t0 = now_seconds();
                image = run_checked(&k, devs[d], o.single_run, &ds);
                report->seconds[d] += now_seconds() - t0;
            }
            if (ds == DMX_ERR_UNSUPPORTED) {
                cell->unsupported++;
                fprintf(log, "  UNSUPPORTED %s / %s [%s]: %s\n", dmx_op_name(c->op), c->name,
                        report->device[d], dmx_last_error());
            } else if (ds != DMX_OK) {
                problem(&k, "%s: %s", dmx_status_name(ds), dmx_last_error());
            } else if (image) {
                k.problems += dmx_parity_check(c, ref_image, image, log, report->device[d], cell);
            }
            free(image);
            if (k.problems || ds != DMX_OK)
                cell->failed++;
            if (o.verbose)
                fprintf(log, "  %-4s %-18s %-48s %s\n", k.problems || ds ? "FAIL" : "ok",
                        dmx_op_name(c->op), c->name, report->device[d]);
        }
        free(ref_image);
    }
    for (int op = 0; op < DMX_OP_COUNT; op++)
        for (int d = 0; d < report->n_devices; d++)
            report->total_failed += report->cell[op][d].failed + report->cell[op][d].unsupported;
    dmx_parity_free_cases(&cases);
    for (int d = 0; d < report->n_devices; d++)
        dmx_device_close(devs[d]);
    dmx_device_close(ref);
    return s;
}

void dmx_parity_print_table(const dmx_parity_report *r, FILE *out)
{
    fprintf(out, "%-20s", "op (worst NMSE)");
    for (int d = 0; d < r->n_devices; d++)
        fprintf(out, " %-16s", r->device[d]);
    fputc('\n', out);
    for (int op = 0; op < DMX_OP_COUNT; op++) {
        fprintf(out, "%-20s", dmx_op_name((dmx_op)op));
        for (int d = 0; d < r->n_devices; d++) {
            const dmx_parity_cell *c = &r->cell[op][d];
            char text[32];
            if (!r->present[d])
                snprintf(text, sizeof text, "skipped");
            else if (c->cases == 0)
                snprintf(text, sizeof text, "-");
            else if (c->failed)
                snprintf(text, sizeof text, "FAIL %d/%d", c->failed, c->cases);
            else if (c->unsupported)
                snprintf(text, sizeof text, "UNSUPPORTED");
            else
                snprintf(text, sizeof text, "ok %.1e", c->worst_nmse);
            fprintf(out, " %-16s", text);
        }
        fputc('\n', out);
    }
    for (int d = 0; d < r->n_devices; d++) {
        if (r->present[d])
            fprintf(out, "%s: %.2f s\n", r->device[d], r->seconds[d]);
        else
            fprintf(out, "%s: skipped, device absent: %s\n", r->device[d], r->why_absent[d]);
    }
    fprintf(out, "%d cases, %d failures\n", r->total_cases, r->total_failed);
}

void dmx_parity_print_json(const dmx_parity_report *r, FILE *out)
{
    fprintf(out, "{\n  \"devices\": [");
    for (int d = 0; d < r->n_devices; d++)
        fprintf(out, "%s\n    {\"name\": \"%s\", \"present\": %s, \"seconds\": %.3f}",
                d ? "," : "", r->device[d], r->present[d] ? "true" : "false", r->seconds[d]);
    fprintf(out, "\n  ],\n  \"ops\": [");
    for (int op = 0; op < DMX_OP_COUNT; op++) {
        fprintf(out, "%s\n    {\"op\": \"%s\", \"devices\": [", op ? "," : "",
                dmx_op_name((dmx_op)op));
        for (int d = 0; d < r->n_devices; d++) {
            const dmx_parity_cell *c = &r->cell[op][d];
            fprintf(out, "%s{\"cases\": %d, \"failed\": %d, \"unsupported\": %d, "
                    "\"worst_nmse\": %.3e, \"worst_err_ratio\": %.3e}", d ? ", " : "", c->cases,
                    c->failed, c->unsupported, isfinite(c->worst_nmse) ? c->worst_nmse : -1.0,
                    isfinite(c->worst_err_ratio) ? c->worst_err_ratio : -1.0);
        }
        fprintf(out, "]}");
    }
    fprintf(out, "\n  ],\n  \"total_cases\": %d,\n  \"total_failed\": %d\n}\n", r->total_cases,
            r->total_failed);
}
