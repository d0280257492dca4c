// Row-wise reductions for the ops over the last axis (layernorm, softmax, cross-entropy and
// their backward). A workgroup of WG invocations holds WG / LANES rows with LANES invocations
// each (LANES, a power of two, is specialization constant 1; the host picks it from the row
// length). Sums and maxima go through a shared-memory tree in a fixed order: no subgroup
// operations, no atomics, the same result on every run.
//
// Rows past the end still take part in every barrier; they only skip loads and stores.

layout(constant_id = 1) const uint LANES = 256;

shared float row_scratch[gl_WorkGroupSize.x];

uint row_lane() { return gl_LocalInvocationID.x % LANES; }
uint row_index() { return dmx_group() * (WG / LANES) + gl_LocalInvocationID.x / LANES; }

// The sum of v over the row's LANES invocations, in every one of them.
float row_sum(float v)
{
    uint lane = row_lane(), base = gl_LocalInvocationID.x - lane;
    row_scratch[gl_LocalInvocationID.x] = v;
    barrier();
    for (uint s = LANES / 2; s > 0; s >>= 1) {
        if (lane < s)
            row_scratch[base + lane] += row_scratch[base + lane + s];
        barrier();
    }
    float total = row_scratch[base];
    barrier(); // the scratch is reused by the next reduction
    return total;
}

// The largest v over the row (a NaN loses every comparison, as in the CPU reference).
float row_max(float v)
{
    uint lane = row_lane(), base = gl_LocalInvocationID.x - lane;
    row_scratch[gl_LocalInvocationID.x] = v;
    barrier();
    for (uint s = LANES / 2; s > 0; s >>= 1) {
        if (lane < s) {
            float other = row_scratch[base + lane + s];
            if (other > row_scratch[base + lane])
                row_scratch[base + lane] = other;
        }
        barrier();
    }
    float total = row_scratch[base];
    barrier();
    return total;
}
