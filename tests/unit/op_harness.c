#include "op_harness.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

uint32_t dmx_bits_of(float f)
{
    uint32_t u;
    memcpy(&u, &f, 4);
    return u;
}

float dmx_float_of(uint32_t bits)
{
    float f;
    memcpy(&f, &bits, 4);
    return f;
}

dmx_arg dmx_optest_arg(dmx_device *dev, const void *data, size_t n)
{
    size_t words = n + 2 * DMX_GUARD_WORDS;
    dmx_buffer *buf = NULL;
    DMX_ASSERT_OK(dmx_buffer_alloc(dev, words * 4, &buf));
    DMX_ASSERT_OK(dmx_buffer_fill(buf, 0, words * 4, DMX_GUARD_BITS));
    if (data)
        DMX_ASSERT_OK(dmx_buffer_write(buf, DMX_GUARD_WORDS * 4, data, n * 4));
    else if (n)
        DMX_ASSERT_OK(dmx_buffer_fill(buf, DMX_GUARD_WORDS * 4, n * 4, DMX_NAN_BITS));
    return (dmx_arg){buf, DMX_GUARD_WORDS, n};
}

void dmx_optest_read(dmx_arg a, void *dst)
{
    DMX_ASSERT_OK(dmx_buffer_read(a.buf, a.offset * 4, dst, a.count * 4));
}

void dmx_optest_check_guards(dmx_arg a, const char *what)
{
    uint32_t guard[2][DMX_GUARD_WORDS];
    DMX_ASSERT_OK(dmx_buffer_read(a.buf, 0, guard[0], sizeof guard[0]));
    DMX_ASSERT_OK(dmx_buffer_read(a.buf, (a.offset + a.count) * 4, guard[1], sizeof guard[1]));
    for (int side = 0; side < 2; side++)
        for (unsigned i = 0; i < DMX_GUARD_WORDS; i++)
            if (guard[side][i] != DMX_GUARD_BITS)
                fail_msg("%s: guard word %u %s the argument was overwritten with 0x%08x", what, i,
                         side ? "after" : "before", guard[side][i]);
}

void dmx_optest_free(dmx_arg a, const char *what)
{
    if (!a.buf)
        return;
    dmx_optest_check_guards(a, what);
    dmx_buffer_free(a.buf);
}

void dmx_optest_run(dmx_device *dev, dmx_op op, const void *params, int n_args,
                    const dmx_arg *args)
{
    dmx_op_call call = {.op = op, .params = params};
    for (int i = 0; i < n_args && i < DMX_MAX_ARGS; i++)
        call.args[i] = args[i];
    dmx_status s = dmx_op_run(dev, &call);
    if (s != DMX_OK)
        fail_msg("%s failed: %s: %s", dmx_op_name(op), dmx_status_name(s), dmx_last_error());
}

size_t dmx_optest_count_nan(const float *x, size_t n)
{
    size_t count = 0;
    for (size_t i = 0; i < n; i++)
        count += isnan(x[i]) != 0;
    return count;
}
