// Shared by every dimix compute shader (shaders/*.comp); each starts with
//   #version 450
//   #extension GL_GOOGLE_include_directive : require
//   #include "common.glsl"
//
// Workgroups are 1-D; their size is specialization constant 0 (the host passes it, 256 unless a
// shader says otherwise). The host dispatches a number of workgroups folded into a 2-D or 3-D
// grid (maxComputeWorkGroupCount may be 65535 per dimension); dmx_group() unfolds it. The folded
// grid can hold a few workgroups past the end, so every shader checks its own bounds.
//
// Push constants (128 bytes): words 0..7 hold each binding's element offset (the host binds a
// range at an offset aligned down to minStorageBufferOffsetAlignment and passes the rest here);
// the op's parameter block (host/ops/op_params.h, field for field) follows from word 8, then
// any fields the host adds for one dispatch of a split op.
//
// Loops: lavapipe cuts every invocation off after about 65535 dynamic loop iterations (all
// loops together; constant-trip loops of up to 16 are unrolled and do not count). Shaders keep
// their trips bounded and the host splits work so they stay well under that.

layout(local_size_x_id = 0) in;
#define WG gl_WorkGroupSize.x

#define DMX_PUSH(fields) layout(push_constant) uniform Push { uint off[8]; fields } pc;
#define DMX_BUFFER(b, access, type, name) \
    layout(std430, binding = b) access buffer Buffer##b { type name[]; };

uint dmx_group()
{
    return gl_WorkGroupID.x +
           gl_NumWorkGroups.x * (gl_WorkGroupID.y + gl_NumWorkGroups.y * gl_WorkGroupID.z);
}

uint dmx_index() { return dmx_group() * WG + gl_LocalInvocationID.x; }

// ---- erf and the normal CDF, to 1e-7 absolute (GLSL has no erf) ----
// Three pieces, each ending in one rounding of a well-conditioned sum (no fma assumed):
//   |z| <= 0.5:        erf(z) = z (C0 + P(z^2)), with z C0 formed exactly from 12-bit halves;
//   0.5 < |z| <= 1.5:  erf(z) = E + d Q(d), d = |z| - c around c = 0.75 and 1.25, E = erf(c)
//                      carried as hi + lo;
//   |z| > 1.5:         erfc(z) = exp(-z^2) R(t), t = 1 / (1 + z/2), erf = 1 - erfc.
// Coefficients are least-squares fits made for dimix (fp32 error below 6e-8 in emulation; the
// parity suite checks GELU on the device against the double-precision CPU reference).

float dmx_erf_near0(float z)
{
    const float C0_HI = 1.1279296875;      // 2/sqrt(pi) to 12 bits
    const float C0_LO = 4.4947958668e-04;  // the rest
    float u = z * z;
    float p = -6.839757687e-09 + u * (-3.761261093e-01 + u * (1.128346977e-01 +
              u * (-2.684997283e-02 + u * (5.182100856e-03 + u * (-7.961588961e-04 +
              u * 7.707608561e-05)))));
    float z_hi = uintBitsToFloat(floatBitsToUint(z) & 0xFFFFF000u);
    float z_lo = z - z_hi;
    return z_hi * C0_HI + (z_lo * C0_HI + z * (C0_LO + p));
}

// erf(a) for 0.5 < a <= 1.5.
float dmx_erf_mid(float a)
{
    float d, q;
    if (a <= 1.0) {
        d = a - 0.75;
        q = -3.864902877e-03;
        q = q * d + 2.327933031e-03;
        q = q * d + 1.842897823e-02;
        q = q * d - 2.687382034e-02;
        q = q * d - 5.324256387e-02;
        q = q * d + 1.506869954e-01;
        q = q * d + 2.678879278e-02;
        q = q * d - 4.821983021e-01;
        q = q * d + 6.429310692e-01;
        return 7.1115563365e-01 + (-1.934636e-08 + d * q);
    }
    d = a - 1.25;
    q = 8.242716122e-04;
    q = q * d - 5.580365495e-03;
    q = q * d + 3.629207101e-03;
    q = q * d + 2.129528783e-02;
    q = q * d - 4.718112151e-02;
    q = q * d - 6.159284197e-03;
    q = q * d + 1.675357960e-01;
    q = q * d - 2.956514038e-01;
    q = q * d + 2.365211224e-01;
    return 9.2290012826e-01 + (-1.202903e-08 + d * q);
}

// erfc(a) for a > 1 (and +inf: 0; NaN stays NaN).
float dmx_erfc_far(float a)
{
    float t = 1.0 / (1.0 + 0.5 * a);
    float r = 3.454760423e-02;
    r = r * t - 1.175417439e-01;
    r = r * t + 9.927443592e-02;
    r = r * t + 7.800874507e-02;
    r = r * t - 1.011534694e-01;
    r = r * t - 9.157684412e-02;
    r = r * t + 5.053512316e-02;
    r = r * t + 5.196392495e-02;
    r = r * t + 1.868374668e-01;
    r = r * t + 2.447074076e-01;
    r = r * t + 2.823451376e-01;
    r = r * t + 2.820802945e-01;
    r = r * t + 2.183640041e-07;
    return exp(-a * a) * r;
}

float dmx_erf(float x)
{
    float a = abs(x);
    if (a <= 0.5)
        return dmx_erf_near0(x);
    float v = a <= 1.5 ? dmx_erf_mid(a) : 1.0 - dmx_erfc_far(a);
    return x < 0.0 ? -v : v;
}

// Phi(x) = P(N(0,1) <= x) = (1 + erf(x / sqrt 2)) / 2; past |z| = 1.5 from the far tail, so
// that Phi of a large negative x keeps its relative accuracy.
float dmx_phi(float x)
{
    float z = x * 0.7071067811865476;
    float a = abs(z);
    if (a <= 1.5)
        return 0.5 + 0.5 * dmx_erf(z);
    float half_tail = 0.5 * dmx_erfc_far(a);
    return x < 0.0 ? half_tail : 1.0 - half_tail;
}

// exp(x) - 1 without cancellation near 0 (Taylor series below |x| = 0.5).
float dmx_expm1(float x)
{
    if (abs(x) >= 0.5)
        return exp(x) - 1.0;
    float p = 1.0 / 40320.0;
    p = p * x + 1.0 / 5040.0;
    p = p * x + 1.0 / 720.0;
    p = p * x + 1.0 / 120.0;
    p = p * x + 1.0 / 24.0;
    p = p * x + 1.0 / 6.0;
    p = p * x + 0.5;
    return x + x * x * p;
}
