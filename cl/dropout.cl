/* Dropout with the Philox4x32-10 mask of host/core/philox.h, bit for bit: element i draws
 * counter (offset + i, 0, 0, 0) under key (seed_lo, seed_hi); u = (word0 >> 8) 2^-24;
 * keep when u >= p. keep_scale = 1 / (1 - p) is computed on the host (in float, exactly as the
 * CPU reference does) so kept values match bitwise. */
#define DMX_PHILOX_M0 0xD2511F53u
#define DMX_PHILOX_M1 0xCD9E8D57u
#define DMX_PHILOX_W0 0x9E3779B9u
#define DMX_PHILOX_W1 0xBB67AE85u

inline uint dmx_philox_word0(uint counter, uint key0, uint key1)
{
    uint c0 = counter, c1 = 0, c2 = 0, c3 = 0;
    for (int round = 0; round < 10; round++) {
        const uint hi0 = mul_hi(DMX_PHILOX_M0, c0), lo0 = DMX_PHILOX_M0 * c0;
        const uint hi1 = mul_hi(DMX_PHILOX_M1, c2), lo1 = DMX_PHILOX_M1 * c2;
        c0 = hi1 ^ c1 ^ key0;
        c1 = lo1;
        c2 = hi0 ^ c3 ^ key1;
        c3 = lo0;
        key0 += DMX_PHILOX_W0;
        key1 += DMX_PHILOX_W1;
    }
    return c0;
}

DMX_KERNEL void dropout(__global const float *x, ulong x_off, __global float *y, ulong y_off,
                        int n, float p, float keep_scale, uint seed_lo, uint seed_hi, uint offset,
                        int accumulate)
{
    const long i = get_global_id(0);
    if (i >= n)
        return;
    const uint word = dmx_philox_word0(offset + (uint)i, seed_lo, seed_hi);
    const float u = (float)(word >> 8) * (1.0f / 16777216.0f);
    const float v = u >= p ? x[x_off + i] * keep_scale : 0.0f;
    y[y_off + i] = accumulate ? y[y_off + i] + v : v;
}
