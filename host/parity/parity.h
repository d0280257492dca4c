/* The parity harness: every device operator on every device against the CPU reference.
 *
 * Cases (parity_cases.c) cover each op of host/ops/ops.def, forward and backward kernels alike,
 * over shape sweeps with odd sizes, one larger shape, extreme values, accumulate and overwrite.
 * For each case and device the runner (parity_run.c):
 *   - surrounds every argument with guard bands and checks them afterwards (out-of-bounds writes),
 *   - pre-fills outputs with NaN (an op that reads an output it should overwrite is caught),
 *   - checks inputs are left untouched,
 *   - compares outputs with the CPU reference: NaN/inf class per element, a per-element tolerance
 *     and the normalised MSE per op class (BITWISE ops must match bit for bit),
 *   - runs the case twice and requires bitwise equal results (determinism).
 * Used by tests/parity (ctest) and `dimix parity` (apps/dimix/cmd_parity.c). */
#ifndef DMX_PARITY_H
#define DMX_PARITY_H

#include <stdbool.h>
#include <stdio.h>

#include "ops/op_table.h"

typedef enum dmx_parity_class {
    DMX_PARITY_BITWISE,      /* copies, fills, gathers: bit for bit */
    DMX_PARITY_ELEMENTWISE,  /* one or two roundings per element (FMA contraction allowed) */
    DMX_PARITY_TRANSCENDENTAL, /* exp, erf, sqrt, division */
    DMX_PARITY_REDUCTION,    /* sums over many terms: order may differ */
} dmx_parity_class;

typedef struct dmx_parity_tolerance {
    double atol_rel; /* absolute tolerance, relative to the largest |reference| of the output */
    double rtol;     /* relative to each |reference| element */
    double nmse;     /* sum (a-b)^2 / sum a^2 */
} dmx_parity_tolerance;

const dmx_parity_tolerance *dmx_parity_tolerance_of(dmx_parity_class cls);

typedef struct dmx_parity_opts {
    const char *op_filter; /* run only ops whose name contains this, or NULL */
    bool small_only;       /* skip the larger shapes (e.g. under oclgrind) */
    bool single_run;       /* run each case once on the devices under test, without the second
                            * run that checks determinism and prefill reads: for simulators as
                            * slow as oclgrind, whose own checks are the point there */
    bool verbose;          /* one line per case */
    FILE *log;             /* where failures and the table go (stderr when NULL) */
} dmx_parity_opts;

/* Worst result of one op on one device. */
typedef struct dmx_parity_cell {
    int cases, failed, unsupported;
    double worst_nmse;      /* over the op's cases */
    double worst_err_ratio; /* worst |a-b| / tolerance (<= 1 passes) */
} dmx_parity_cell;

#define DMX_PARITY_MAX_DEVICES 8

typedef struct dmx_parity_report {
    int n_devices;
    char device[DMX_PARITY_MAX_DEVICES][32];
    bool present[DMX_PARITY_MAX_DEVICES];
    char why_absent[DMX_PARITY_MAX_DEVICES][160];
    dmx_parity_cell cell[DMX_OP_COUNT][DMX_PARITY_MAX_DEVICES];
    int total_cases, total_failed;
    double seconds[DMX_PARITY_MAX_DEVICES];
} dmx_parity_report;

/* The device every other is compared with: the plain CPU kernels. The fast "cpu" device is
 * checked against it like any GPU. */
#define DMX_PARITY_REFERENCE "cpu-ref"

/* Runs every case on each named device (DMX_PARITY_REFERENCE checks the reference against
 * itself: guards, untouched inputs, NaN prefill, determinism). Absent devices are recorded as
 * such, not run. Returns DMX_OK when the harness itself ran; check report->total_failed for the verdict. */
dmx_status dmx_parity_run(const char *const *devices, int n_devices, const dmx_parity_opts *opts,
                          dmx_parity_report *report);

/* Prints the op x device table (worst NMSE per cell, FAIL / skipped marks) and a summary. */
void dmx_parity_print_table(const dmx_parity_report *report, FILE *out);

/* Writes the report as JSON. */
void dmx_parity_print_json(const dmx_parity_report *report, FILE *out);

/* ---- case construction (parity_cases.c) ---- */

typedef enum dmx_parity_role {
    DMX_PARITY_ABSENT = 0,
    DMX_PARITY_IN,  /* uploaded, must come back unchanged */
    DMX_PARITY_OUT, /* pre-filled with NaN, compared */
    DMX_PARITY_ACC, /* pre-filled with data, read and written, compared */
} dmx_parity_role;

typedef struct dmx_parity_arg {
    dmx_parity_role role;
    size_t count;
    void *data; /* count 4-byte words (float or int32), owned by the case */
} dmx_parity_arg;

/* A case's parameter block. Backends read it as the op's dmx_p_* struct, so it is a union of
 * every op's struct (ops.def): aligned for, and of the effective type of, each of them (a
 * plain byte array read through a struct pointer is undefined behaviour, issue 15). */
typedef union dmx_parity_params {
#define DMX_OP(ID, name, n_in, n_out, optional, ptype) ptype name;
#include "ops/ops.def"
#undef DMX_OP
    unsigned char bytes[DMX_MAX_PARAMS_BYTES];
} dmx_parity_params;

typedef struct dmx_parity_case {
    dmx_op op;
    char name[96];
    dmx_parity_class cls;
    bool large;
    dmx_parity_params params;
    dmx_parity_arg args[DMX_MAX_ARGS];
} dmx_parity_case;

typedef struct dmx_parity_cases {
    dmx_parity_case *items;
    int count, cap;
} dmx_parity_cases;

/* Runs case `c` once on `dev` with OUT arguments pre-filled with `out_fill` (bit pattern) and
 * returns the whole argument buffer, guards included, in *image (caller frees). */
dmx_status dmx_parity_run_case(dmx_device *dev, const dmx_parity_case *c, uint32_t out_fill,
                               uint32_t **image, size_t *words);

/* Checks a device's image of case `c` against the reference image: guards, untouched inputs,
 * outputs within the class tolerance. Updates `cell` (may be NULL); returns the number of
 * problems found (printed to `log` when not NULL). */
int dmx_parity_check(const dmx_parity_case *c, const uint32_t *ref_image, const uint32_t *image,
                     FILE *log, const char *device, dmx_parity_cell *cell);

/* Builds every case of every op (deterministic). */
dmx_status dmx_parity_build_cases(dmx_parity_cases *cases);
void dmx_parity_free_cases(dmx_parity_cases *cases);

#endif
