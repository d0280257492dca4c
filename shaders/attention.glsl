// Shared by the fused attention shaders (attention*.comp; ATTENTION in host/ops/op_params.h):
// one invocation per query row r = (b * heads + h) * seq + i (forward, dq) or key row (dk, dv)
// of a (batch, head) pair. The invocations of a pair walk the same keys in the same order, so
// each k_j and v_j load is one address for all of them; the S x S scores exist only one at a
// time in registers. A row of o, dq, dk or dv is held in private memory (head_dim <= MAX_DH).
// The host bounds seq so the key loop stays within lavapipe's loop limiter.
DMX_PUSH(int batch; int seq; int heads; int head_dim; float scale; int has_mask;
         int accumulate_q; int accumulate_k; int accumulate_v;)

const int MAX_DH = 64;
const float MASK_REMOVED = -1e20;

uint rows() { return uint(pc.batch) * uint(pc.heads) * uint(pc.seq); }

// Row r's batch, head and position, and the element of position 0 of its head in q, k, v.
struct pair_row {
    uint b, h, i, base, ld;
};

pair_row pair_of(uint r)
{
    pair_row p;
    uint S = uint(pc.seq), H = uint(pc.heads), dh = uint(pc.head_dim);
    p.i = r % S;
    p.h = (r / S) % H;
    p.b = r / S / H;
    p.ld = H * dh;
    p.base = p.b * S * p.ld + p.h * dh;
    return p;
}
