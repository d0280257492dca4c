// Shared by the fused attention shaders (attention*.comp; ATTENTION in host/ops/op_params.h).
//
// One invocation per query row r = (b * heads + h) * seq + i (forward, dq) or key row (dk, dv)
// of a (batch, head) pair; a workgroup takes group_rows consecutive rows (WG unless the pairs
// they span would not fit the tiles), which span at most `pairs` pairs. The other side of the
// product (keys and values forward and for dq; queries and output gradients for dk and dv)
// streams through shared memory in tiles of `tile` positions of every pair the workgroup
// touches, each element loaded once per workgroup; the S x S scores exist only one at a time,
// in registers. A row of o, dq, dk or dv is held in private memory (HEAD_DIM floats). The
// host (host/vulkan/vk_ops_attention.c) picks group_rows, pairs and tile with
// pairs * tile * head_dim <= TILE, and bounds seq for lavapipe's loop limiter.
DMX_PUSH(int batch; int seq; int heads; int head_dim; float scale; int has_mask;
         int accumulate_q; int accumulate_k; int accumulate_v; int group_rows; int pairs;
         int tile;)

// head_dim as a specialization constant (constant_id 1; the host passes pc.head_dim): the
// rows held in private memory get a fixed size and their loops a constant trip count.
layout(constant_id = 1) const uint HEAD_DIM = 64;
const uint TILE = 2048;
const float MASK_REMOVED = -1e20;

uint rows() { return uint(pc.batch) * uint(pc.heads) * uint(pc.seq); }

// Element 0 of position `pos` of pair `pair` in a [batch, seq, heads * head_dim] tensor.
uint attn_at(uint pair, uint pos)
{
    uint H = uint(pc.heads), dh = uint(pc.head_dim);
    return ((pair / H) * uint(pc.seq) + pos) * H * dh + (pair % H) * dh;
}

// This invocation's row, whether it has one, and the first row and pair of its workgroup.
struct group_row {
    uint r, r0, pair, pos, pair0, local_pair;
    bool live;
};

group_row row_of_invocation()
{
    group_row g;
    uint lid = gl_LocalInvocationID.x, S = uint(pc.seq);
    g.r0 = dmx_group() * uint(pc.group_rows);
    g.r = g.r0 + lid;
    g.live = lid < uint(pc.group_rows) && g.r < rows(); // the others only help load tiles
    uint r = g.live ? g.r : g.r0;
    g.pair = r / S;
    g.pos = r % S;
    g.pair0 = g.r0 / S;
    g.local_pair = g.pair - g.pair0;
    return g;
}

// Positions [t0_, t0_ + tile) of the workgroup's pairs of buffer `src_` (element offset `off_`)
// into shared array `dst_`, [pair][position][head_dim], zeros past the tensor.
#define ATTN_LOAD_TILE(src_, off_, dst_, g_, t0_)                                           \
    {                                                                                     \
        uint dh_ = HEAD_DIM, tile_ = uint(pc.tile);                              \
        uint n_ = uint(pc.pairs) * tile_ * dh_, n_pairs_ = rows() / uint(pc.seq);         \
        for (uint e_ = gl_LocalInvocationID.x; e_ < n_; e_ += WG) {                       \
            uint p_ = e_ / (tile_ * dh_), k_ = (e_ / dh_) % tile_, c_ = e_ % dh_;         \
            uint pair_ = g_.pair0 + p_, pos_ = (t0_) + k_;                                \
            bool in_ = pair_ < n_pairs_ && pos_ < uint(pc.seq);                           \
            dst_[e_] = in_ ? src_[off_ + attn_at(pair_, pos_) + c_] : 0.0;                \
        }                                                                                 \
    }
