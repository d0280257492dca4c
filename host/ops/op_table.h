/* The device-operator table: ids, names, argument counts, and the dispatcher that checks a
 * call (argument counts, device, bounds) before handing it to the device's backend. */
#ifndef DMX_OP_TABLE_H
#define DMX_OP_TABLE_H

#include <stdbool.h>
#include <stddef.h>

#include "dimix/device.h"
#include "ops/op_params.h"

typedef enum dmx_op {
#define DMX_OP(id, name, n_in, n_out, opt, ptype) DMX_OP_##id,
#include "ops/ops.def"
#undef DMX_OP
    DMX_OP_COUNT
} dmx_op;

#define DMX_MAX_ARGS 10

/* One buffer argument: `count` 4-byte elements starting `offset` elements into `buf`.
 * buf == NULL marks an absent optional argument (a bias, a mask). */
typedef struct dmx_arg {
    dmx_buffer *buf;
    size_t offset;
    size_t count;
} dmx_arg;

typedef struct dmx_op_call {
    dmx_op op;
    dmx_arg args[DMX_MAX_ARGS]; /* inputs, then outputs (op_params.h) */
    const void *params;         /* the op's dmx_p_* struct */
} dmx_op_call;

typedef struct dmx_op_desc {
    const char *name;
    int n_in, n_out;
    unsigned optional; /* bitmask of arguments that may be absent */
    size_t params_size;
} dmx_op_desc;

const dmx_op_desc *dmx_op_describe(dmx_op op);
const char *dmx_op_name(dmx_op op);

/* A per-op time table through the log, slowest first (DIMIX_VK_PROFILE, DIMIX_OPENCL_PROFILE):
 * "<heading>, T s in all", then one line per op that ran: name, count, `unit`, seconds, share. */
void dmx_log_op_times(const char *heading, const double *seconds, const uint64_t *counts,
                      const char *unit);

/* Looks an op up by name; returns DMX_OP_COUNT when unknown. */
dmx_op dmx_op_from_name(const char *name);

/* Runs one call on `dev`: checks that each present argument is a buffer of `dev` and lies in
 * bounds, that the parameters stay inside the arguments, that the device supports the call,
 * then dispatches. Errors name op and device. */
dmx_status dmx_op_run(dmx_device *dev, const dmx_op_call *call);

/* Checks that the call's parameters are valid sizes and reach no element past any present
 * argument's `count` (op_params.h defines what each argument spans). dmx_op_run calls it. */
dmx_status dmx_op_check_extents(const dmx_op_call *call);

/* Whether `dev` can run `call` (its backend has the op and accepts these parameters). */
bool dmx_op_supported(dmx_device *dev, const dmx_op_call *call);

#endif
