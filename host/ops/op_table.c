#include "ops/op_table.h"

#include <string.h>

#include "core/error.h"
#include "core/log.h"
#include "device/backend.h"

static const dmx_op_desc op_descs[DMX_OP_COUNT] = {
#define DMX_OP(id, nm, nin, nout, opt, ptype)                                               \
    [DMX_OP_##id] = {.name = #nm, .n_in = nin, .n_out = nout, .optional = (opt),             \
                     .params_size = sizeof(ptype)},
#include "ops/ops.def"
#undef DMX_OP
};

#define DMX_OP(id, nm, nin, nout, opt, ptype) \
    _Static_assert((nin) + (nout) <= DMX_MAX_ARGS, #nm ": too many arguments");
#include "ops/ops.def"
#undef DMX_OP

const dmx_op_desc *dmx_op_describe(dmx_op op)
{
    return (unsigned)op < DMX_OP_COUNT ? &op_descs[op] : NULL;
}

const char *dmx_op_name(dmx_op op)
{
    return (unsigned)op < DMX_OP_COUNT ? op_descs[op].name : "unknown-op";
}

dmx_op dmx_op_from_name(const char *name)
{
    for (int i = 0; i < DMX_OP_COUNT; i++)
        if (name && strcmp(op_descs[i].name, name) == 0)
            return (dmx_op)i;
    return DMX_OP_COUNT;
}

bool dmx_op_supported(dmx_device *dev, const dmx_op_call *call)
{
    if (!dev || !call || (unsigned)call->op >= DMX_OP_COUNT || !dev->backend->ops[call->op])
        return false;
    return !dev->backend->supports || dev->backend->supports(dev, call);
}

dmx_status dmx_op_run(dmx_device *dev, const dmx_op_call *call)
{
    if (!dev || !call || (unsigned)call->op >= DMX_OP_COUNT || !call->params)
        return dmx_fail(DMX_ERR_INVALID_ARG, "dmx_op_run: NULL device, call or params");
    const dmx_op_desc *d = &op_descs[call->op];
    for (int i = 0; i < DMX_MAX_ARGS; i++) {
        const dmx_arg *a = &call->args[i];
        if (!a->buf) {
            if (i < d->n_in + d->n_out && !(d->optional & (1u << i)))
                return dmx_fail(DMX_ERR_INVALID_ARG, "%s: required argument %d is missing",
                                d->name, i);
            continue;
        }
        if (i >= d->n_in + d->n_out)
            return dmx_fail(DMX_ERR_INVALID_ARG, "%s: argument %d given, the op takes %d",
                            d->name, i, d->n_in + d->n_out);
        if (a->buf->dev != dev)
            return dmx_fail(DMX_ERR_INVALID_ARG, "%s on %s: argument %d lives on device %s",
                            d->name, dev->info.name, i, a->buf->dev->info.name);
        size_t elems = a->buf->size / 4;
        if (a->offset > elems || a->count > elems - a->offset)
            return dmx_fail(DMX_ERR_INVALID_ARG,
                            "%s on %s: argument %d spans elements [%zu, %zu) of a buffer of %zu",
                            d->name, dev->info.name, i, a->offset, a->offset + a->count, elems);
    }
    dmx_status s = dmx_op_check_extents(call);
    if (s != DMX_OK)
        return dmx_fail_context(s, "%s on %s: ", d->name, dev->info.name);
    if (dmx_plan_note_call(call))
        return DMX_OK; /* a planning pass: shapes and lifetimes only */
    bool locked = dmx_device_call_begin(dev);
    if (!dmx_op_supported(dev, call)) {
        dmx_device_call_end(dev, locked);
        return dmx_fail(DMX_ERR_UNSUPPORTED, "%s is not supported on %s (%s)", d->name,
                        dev->info.name, dev->info.description);
    }
    uint64_t arg_bytes = 0;
    for (int i = 0; i < d->n_in + d->n_out && i < DMX_MAX_ARGS; i++)
        arg_bytes += call->args[i].buf ? call->args[i].count * 4 : 0;
    dmx_device_count_op(dev, arg_bytes);
    s = dev->backend->ops[call->op](dev, call);
    dmx_device_call_end(dev, locked);
    return s == DMX_OK ? s : dmx_fail_context(s, "%s on %s: ", d->name, dev->info.name);
}

void dmx_log_op_times(const char *heading, const double *seconds, const uint64_t *counts,
                      const char *unit)
{
    int order[DMX_OP_COUNT], n = 0;
    double total = 0;
    for (int op = 0; op < DMX_OP_COUNT; op++)
        if (counts[op]) {
            order[n++] = op;
            total += seconds[op];
        }
    for (int i = 1; i < n; i++) /* insertion sort by time, descending */
        for (int k = i; k > 0 && seconds[order[k]] > seconds[order[k - 1]]; k--) {
            int t = order[k];
            order[k] = order[k - 1];
            order[k - 1] = t;
        }
    dmx_log_report("%s, %.3f s in all", heading, total);
    for (int i = 0; i < n; i++)
        dmx_log_report("  %-20s %8llu %s %10.3f s %6.1f%%", dmx_op_name((dmx_op)order[i]),
                       (unsigned long long)counts[order[i]], unit, seconds[order[i]],
                       total > 0 ? 100.0 * seconds[order[i]] / total : 0.0);
}
