#version 450
#extension GL_GOOGLE_include_directive : require
#extension GL_KHR_shader_subgroup_basic : require
#extension GL_KHR_shader_subgroup_arithmetic : require
#include "common.glsl"

// Skinny GEMM with long reductions (matrix-vector products, batch-1 inference), where a tile
// of the tiled shader (gemm.comp) would be mostly padding. The host (vk_ops_linear.c) casts
// the product as
//   C(r, l) = alpha sum_k X(r, k) Y(k, l) + beta C(r, l),   r < ROWS (at most 8), l < lines,
// with element strides: X(r, k) = X[r x_r + k x_k], Y(k, l) = Y[k y_k + l y_l],
// C(r, l) = C[r c_r + l c_l]; X is op(A) for a small M, or op(B) transposed for a small N.
// When Y is contiguous along k: one subgroup per line l of one batch, its lanes walking k with
// stride gl_SubgroupSize, each keeping ROWS partial sums, which subgroupAdd reduces; the first
// active lane writes. When Y is contiguous along l instead (LANE_PER_LINE), one invocation
// per line: neighbouring lanes then read neighbouring elements.
// Nothing assumes a subgroup size: the host gives each workgroup per_group lines and the
// subgroups take them in turn, so any number of subgroups per workgroup covers them all.
// beta = 0 never reads C. The host cuts K into pieces (loop limit; beta = 1 after the first).
// mix_linear's dense forward comes here too, with its bias (has_bias: C(r, l) += bias(l)).
layout(constant_id = 1) const uint ROWS = 1;
layout(constant_id = 2) const bool LANE_PER_LINE = false;

DMX_PUSH(int lines; int K; int batch; int per_group; int x_r; int x_k; int y_k; int y_l;
         int c_r; int c_l; int stride_x; int stride_y; int stride_c; float alpha; float beta;
         int has_bias; int stride_bias;)
DMX_BUFFER(0, readonly, float, X)
DMX_BUFFER(1, readonly, float, Y)
DMX_BUFFER(2, , float, C)
DMX_BUFFER(3, readonly, float, bias)

// Rows as written-out scalars tested against the constant ROWS (no private array indexed by a
// variable: llvmpipe would keep it in memory).
#define ROWS_APPLY(STEP) STEP(0, s0) STEP(1, s1) STEP(2, s2) STEP(3, s3) \
                         STEP(4, s4) STEP(5, s5) STEP(6, s6) STEP(7, s7)
#define ROW_MAC(r, s) if (ROWS > r) s += X[xk + r * x_r] * y;
#define ROW_SUM(r, s) if (ROWS > r) s = subgroupAdd(s);
#define ROW_STORE(r, s)                                                       \
    if (ROWS > r) {                                                           \
        uint at = c0 + r * uint(pc.c_r);                                      \
        float v = pc.alpha * s + add;                                         \
        C[at] = pc.beta == 0.0 ? v : v + pc.beta * C[at];                     \
    }

float bias_of(uint b, uint l)
{
    return pc.has_bias != 0 ? bias[pc.off[3] + b * uint(pc.stride_bias) + l] : 0.0;
}

// The long operand contiguous along l instead (y_l = 1): no reduction across lanes, but one
// invocation per line walking all of k, so that neighbouring lanes read neighbouring elements.
void lane_per_line()
{
    const uint lines = uint(pc.lines), K = uint(pc.K);
    const uint g = dmx_index();
    if (g >= lines * uint(pc.batch))
        return;
    const uint b = g / lines, l = g % lines;
    const uint x_r = uint(pc.x_r), x_k = uint(pc.x_k), y_k = uint(pc.y_k);
    const uint x0 = pc.off[0] + b * uint(pc.stride_x);
    const uint y0 = pc.off[1] + b * uint(pc.stride_y) + l * uint(pc.y_l);
    float s0 = 0.0, s1 = 0.0, s2 = 0.0, s3 = 0.0, s4 = 0.0, s5 = 0.0, s6 = 0.0, s7 = 0.0;
    for (uint k = 0; k < K; k++) {
        float y = Y[y0 + k * y_k];
        uint xk = x0 + k * x_k;
        ROWS_APPLY(ROW_MAC)
    }
    uint c0 = pc.off[2] + b * uint(pc.stride_c) + l * uint(pc.c_l);
    float add = bias_of(b, l);
    ROWS_APPLY(ROW_STORE)
}

void main()
{
    if (LANE_PER_LINE) {
        lane_per_line();
        return;
    }
    const uint lines = uint(pc.lines), K = uint(pc.K), per_group = uint(pc.per_group);
    const uint total = lines * uint(pc.batch), first = dmx_group() * per_group;
    const uint x_r = uint(pc.x_r), x_k = uint(pc.x_k), y_k = uint(pc.y_k);
    // Both bounds are uniform in the subgroup, so every lane reaches the subgroupAdds.
    for (uint i = gl_SubgroupID; i < per_group && first + i < total; i += gl_NumSubgroups) {
        uint g = first + i, b = g / lines, l = g % lines;
        uint x0 = pc.off[0] + b * uint(pc.stride_x);
        uint y0 = pc.off[1] + b * uint(pc.stride_y) + l * uint(pc.y_l);
        float s0 = 0.0, s1 = 0.0, s2 = 0.0, s3 = 0.0, s4 = 0.0, s5 = 0.0, s6 = 0.0, s7 = 0.0;
        for (uint k = gl_SubgroupInvocationID; k < K; k += gl_SubgroupSize) {
            float y = Y[y0 + k * y_k];
            uint xk = x0 + k * x_k;
            ROWS_APPLY(ROW_MAC)
        }
        ROWS_APPLY(ROW_SUM)
        if (subgroupElect()) {
            uint c0 = pc.off[2] + b * uint(pc.stride_c) + l * uint(pc.c_l);
            float add = bias_of(b, l);
            ROWS_APPLY(ROW_STORE)
        }
    }
}
