// Shared by the MIX_MLP shaders (mix_mlp*.comp): one butterfly-MLP stage y = W2 GELU(W1 x + c1)
// + c2 on a mix_linear view (host/ops/op_params.h). Row (m, j, r1, r2) of group g = j R1 + r1
// holds its K elements L = R1 R2 apart; the shaders read them in place (no gather) and keep one
// hidden unit at a time in registers. The push block is the op's parameters, then the range of
// hidden units h (forward, dx) or of rows m (weight gradients) this dispatch covers, so the
// host keeps every invocation's loop trips under lavapipe's limit. The weight gradients may
// split their rows further into `slices` of slice_rows rows, each invocation then writing a
// partial sum at part[s * part_stride + element] for reduce_slices to add in order.
DMX_PUSH(int M; int J; int Din; int Dh; int Dout; int R1; int R2; int accumulate;
         uint begin; uint end; uint overwrite; uint slice_rows; uint slices; uint part_stride;)

float dmx_gelu(float x) { return x * dmx_phi(x); }
float dmx_gelu_grad(float x) { return dmx_phi(x) + x * 0.3989422804014327 * exp(-0.5 * x * x); }

// Element 0 of row r in a tensor with K elements per row (binding offset not included);
// sets its group.
uint mlp_row_at(uint r, uint K, out uint g)
{
    uint L = uint(pc.R1) * uint(pc.R2), q = r % L, mj = r / L, j = mj % uint(pc.J);
    g = j * uint(pc.R1) + q / uint(pc.R2);
    return mj * K * L + q;
}
