/* The SIMD kernels of the fast mix_linear, written once over a small vector
 * vocabulary and included by fast_mix_simd.c once per instruction set (AVX-512,
 * AVX2). The includer defines:
 *   SFX(name)         the name with the set's suffix
 *   TARGET            the function attribute that enables the set
 *   VL                lanes per vector; vf, the vector type
 *   V_ZERO() V_SET1(x) V_LOADN(p, n) V_STOREN(p, v, n) V_FMA(a, b, c) V_ADD(a, b)
 *                     (the _N forms touch only the first n lanes, n in [1, VL])
 *   ROWS_MR           rows held per rows-kernel step, per vector count (1..4)
 *   LANES_MR, LANES_OB, TILE_OB, TILE_KB   register tile sizes
 *
 * Every kernel keeps its accumulators in registers (constant tile sizes, the
 * loops over them unrolled by the compiler) and sums each output in a fixed
 * order: k ascending for forward and bwd_x, rows ascending for bwd_w. Which
 * thread runs a tile never changes a result. Weights reach the kernels as
 * `panels`: laid out per call by fast_mix_simd.c so every vector load is
 * contiguous and zero-padded to whole vectors. */

#define MIN_I64(a, b) ((a) < (b) ? (a) : (b))
/* Loops over a tile's registers unroll completely, so its accumulator arrays live in
 * registers: left to itself GCC 12 kept them on the stack, a store per multiply-add. */
#define UNROLL _Pragma("GCC unroll 8")

/* ---- (a) L = 1: out[r][:kout] (+)= bias + sum_k in[r][k] P[k][:] for `MR` rows ----
 * P is [kin][NV VL] (zero beyond kout); in rows are in_ld apart, out rows out_ld. */
TARGET static inline __attribute__((always_inline)) void
SFX(rows_tile)(const int MR, const int NV, const float *in, int64_t in_ld, const float *P,
               int64_t kin, int64_t kout, const float *bias, float *out, int64_t out_ld,
               int accumulate)
{
    vf acc[4][8];
    UNROLL for (int v = 0; v < NV; v++) {
        const int64_t n = MIN_I64(VL, kout - v * VL);
        vf b = bias && n > 0 ? V_LOADN(bias + v * VL, n) : V_ZERO();
        UNROLL for (int r = 0; r < MR; r++)
            acc[v][r] = b;
    }
    for (int64_t k = 0; k < kin; k++) {
        const float *pk = P + k * NV * VL;
        UNROLL for (int v = 0; v < NV; v++) {
            const vf w = V_LOADN(pk + v * VL, VL);
            UNROLL for (int r = 0; r < MR; r++)
                acc[v][r] = V_FMA(V_SET1(in[r * in_ld + k]), w, acc[v][r]);
        }
    }
    UNROLL for (int v = 0; v < NV; v++) {
        const int64_t n = MIN_I64(VL, kout - v * VL);
        UNROLL for (int r = 0; r < MR; r++) {
            float *o = out + r * out_ld + v * VL;
            vf y = acc[v][r];
            if (accumulate)
                y = V_ADD(V_LOADN(o, n), y);
            V_STOREN(o, y, n);
        }
    }
}

#define ROWS_FN(MR, NV)                                                                       \
    TARGET static void SFX(rows_##MR##_##NV)(const float *in, int64_t in_ld, const float *P,  \
                                             int64_t kin, int64_t kout, const float *bias,    \
                                             float *out, int64_t out_ld, int accumulate)      \
    {                                                                                         \
        SFX(rows_tile)(MR, NV, in, in_ld, P, kin, kout, bias, out, out_ld, accumulate);       \
    }
ROWS_FN(ROWS_MR1, 1) ROWS_FN(1, 1)
ROWS_FN(ROWS_MR2, 2) ROWS_FN(1, 2)
ROWS_FN(ROWS_MR3, 3) ROWS_FN(1, 3)
ROWS_FN(ROWS_MR4, 4) ROWS_FN(1, 4)

typedef void (*SFX(rows_fn))(const float *, int64_t, const float *, int64_t, int64_t,
                             const float *, float *, int64_t, int);

/* Rows [r0, r1) of one group: full tiles of MR rows, then single rows. */
TARGET static void SFX(rows_run)(int NV, const float *in, int64_t in_ld, const float *P,
                                 int64_t kin, int64_t kout, const float *bias, float *out,
                                 int64_t out_ld, int accumulate, int64_t rows)
{
    static const int mr_of[5] = {0, ROWS_MR1, ROWS_MR2, ROWS_MR3, ROWS_MR4};
    static const SFX(rows_fn) many[5] = {0, SFX(rows_ROWS_MR1_1), SFX(rows_ROWS_MR2_2),
                                         SFX(rows_ROWS_MR3_3), SFX(rows_ROWS_MR4_4)};
    static const SFX(rows_fn) one[5] = {0, SFX(rows_1_1), SFX(rows_1_2), SFX(rows_1_3),
                                        SFX(rows_1_4)};
    const int mr = mr_of[NV];
    int64_t r = 0;
    for (; r + mr <= rows; r += mr)
        many[NV](in + r * in_ld, in_ld, P, kin, kout, bias, out + r * out_ld, out_ld, accumulate);
    for (; r < rows; r++)
        one[NV](in + r * in_ld, in_ld, P, kin, kout, bias, out + r * out_ld, out_ld, accumulate);
}

/* ---- (b) 1 < L < VL-ish lanes with lane-specific weights ----
 * For MR rows and OB outputs of one group block j, lanes [q0, q0 + nq):
 *   out[r][o][q] (+)= C[o][q] + sum_k P[o][k][q] in[r][k][q]
 * in rows in_ld apart, each [kin][L]; out rows out_ld apart, each [kout][L];
 * P is [kout][kin][Lp], C [kout][Lp] (or NULL), Lp = lanes padded to vectors. */
TARGET static inline __attribute__((always_inline)) void
SFX(lanes_tile)(const int MR, const int OB, const float *in, int64_t in_ld, int64_t L,
                const float *P, const float *C, int64_t kin, int64_t Lp, int64_t q0, int64_t nq,
                float *out, int64_t out_ld, int accumulate)
{
    vf acc[4][4];
    UNROLL for (int i = 0; i < OB; i++) {
        vf b = C ? V_LOADN(C + i * Lp + q0, VL) : V_ZERO();
        UNROLL for (int r = 0; r < MR; r++)
            acc[i][r] = b;
    }
    for (int64_t k = 0; k < kin; k++) {
        vf x[4];
        UNROLL for (int r = 0; r < MR; r++)
            x[r] = V_LOADN(in + r * in_ld + k * L + q0, nq);
        UNROLL for (int i = 0; i < OB; i++) {
            const vf w = V_LOADN(P + (i * kin + k) * Lp + q0, VL);
            UNROLL for (int r = 0; r < MR; r++)
                acc[i][r] = V_FMA(w, x[r], acc[i][r]);
        }
    }
    UNROLL for (int i = 0; i < OB; i++)
        UNROLL for (int r = 0; r < MR; r++) {
            float *o = out + r * out_ld + i * L + q0;
            vf y = acc[i][r];
            if (accumulate)
                y = V_ADD(V_LOADN(o, nq), y);
            V_STOREN(o, y, nq);
        }
}

#define LANES_FN(MR, OB)                                                                      \
    TARGET static void SFX(lanes_##MR##_##OB)(const float *in, int64_t in_ld, int64_t L,      \
                                              const float *P, const float *C, int64_t kin,    \
                                              int64_t Lp, int64_t q0, int64_t nq, float *out, \
                                              int64_t out_ld, int accumulate)                 \
    {                                                                                         \
        SFX(lanes_tile)(MR, OB, in, in_ld, L, P, C, kin, Lp, q0, nq, out, out_ld, accumulate); \
    }
#define LANES_ROW(MR) LANES_FN(MR, 1) LANES_FN(MR, 2) LANES_FN(MR, 3) LANES_FN(MR, 4)
LANES_ROW(1) LANES_ROW(2) LANES_ROW(3) LANES_ROW(4)
#undef LANES_ROW

typedef void (*SFX(lanes_fn))(const float *, int64_t, int64_t, const float *, const float *,
                              int64_t, int64_t, int64_t, int64_t, float *, int64_t, int);
#define LANES_ROW(MR) {SFX(lanes_##MR##_1), SFX(lanes_##MR##_2), SFX(lanes_##MR##_3), SFX(lanes_##MR##_4)}
static const SFX(lanes_fn) SFX(lanes_tab)[4][4] = {LANES_ROW(1), LANES_ROW(2), LANES_ROW(3), LANES_ROW(4)};
#undef LANES_ROW

/* Rows [0, rows) of one block j, every output and lane, in tiles of at most LANES_MR rows by
 * LANES_OB outputs (the last ones smaller: 11 outputs are tiles of 4, 4 and 3). */
TARGET static void SFX(lanes_run)(const float *in, int64_t in_ld, int64_t L, const float *P,
                                  const float *C, int64_t kin, int64_t kout, int64_t Lp,
                                  float *out, int64_t out_ld, int accumulate, int64_t rows)
{
    for (int64_t q0 = 0; q0 < L; q0 += VL) {
        const int64_t nq = MIN_I64(VL, L - q0);
        for (int64_t r = 0; r < rows; r += LANES_MR) {
            const int64_t mr = MIN_I64(LANES_MR, rows - r);
            for (int64_t o = 0; o < kout; o += LANES_OB) {
                const int64_t ob = MIN_I64(LANES_OB, kout - o);
                SFX(lanes_tab)[mr - 1][ob - 1](in + r * in_ld, in_ld, L, P + o * kin * Lp,
                                               C ? C + o * Lp : NULL, kin, Lp, q0, nq,
                                               out + r * out_ld + o * L, out_ld, accumulate);
            }
        }
    }
}

/* ---- (c) wide R2: for one (m, j, r1) block, out[o][:R2] (+)= c[o] + sum_k A[o][k] in[k][:]
 * with A[o][k] = A[o a_so + k a_sk] read as scalars; in and out rows ld apart. A tile is OB
 * outputs by NC vectors of columns starting at c0. */
TARGET static inline __attribute__((always_inline)) void
SFX(cols_tile)(const int OB, const int NC, const float *in, const float *A, int64_t a_so,
               int64_t a_sk, const float *bias, int64_t kin, int64_t ld, int64_t c0, int64_t nc,
               float *out, int accumulate)
{
    vf acc[4][4];
    UNROLL for (int i = 0; i < OB; i++) {
        vf b = bias ? V_SET1(bias[i]) : V_ZERO();
        UNROLL for (int v = 0; v < NC; v++)
            acc[i][v] = b;
    }
    for (int64_t k = 0; k < kin; k++) {
        vf x[4];
        UNROLL for (int v = 0; v < NC; v++)
            x[v] = V_LOADN(in + k * ld + c0 + v * VL, MIN_I64(VL, nc - v * VL));
        UNROLL for (int i = 0; i < OB; i++) {
            const vf a = V_SET1(A[i * a_so + k * a_sk]);
            UNROLL for (int v = 0; v < NC; v++)
                acc[i][v] = V_FMA(a, x[v], acc[i][v]);
        }
    }
    UNROLL for (int i = 0; i < OB; i++)
        UNROLL for (int v = 0; v < NC; v++) {
            const int64_t n = MIN_I64(VL, nc - v * VL);
            float *o = out + i * ld + c0 + v * VL;
            vf y = acc[i][v];
            if (accumulate)
                y = V_ADD(V_LOADN(o, n), y);
            V_STOREN(o, y, n);
        }
}

#define COLS_FN(OB, NC)                                                                       \
    TARGET static void SFX(cols_##OB##_##NC)(const float *in, const float *A, int64_t a_so,   \
                                             int64_t a_sk, const float *bias, int64_t kin,    \
                                             int64_t ld, int64_t c0, int64_t nc, float *out,  \
                                             int accumulate)                                  \
    {                                                                                         \
        SFX(cols_tile)(OB, NC, in, A, a_so, a_sk, bias, kin, ld, c0, nc, out, accumulate);    \
    }
COLS_FN(1, COLS_NC) COLS_FN(2, COLS_NC) COLS_FN(3, COLS_NC) COLS_FN(4, COLS_NC)

typedef void (*SFX(cols_fn))(const float *, const float *, int64_t, int64_t, const float *,
                             int64_t, int64_t, int64_t, int64_t, float *, int);
static const SFX(cols_fn) SFX(cols_tab)[4] = {SFX(cols_1_COLS_NC), SFX(cols_2_COLS_NC),
                                              SFX(cols_3_COLS_NC), SFX(cols_4_COLS_NC)};

TARGET static void SFX(cols_run)(const float *in, const float *A, int64_t a_so, int64_t a_sk,
                                 const float *bias, int64_t kin, int64_t kout, int64_t ld,
                                 int64_t ncols, float *out, int accumulate)
{
    for (int64_t c0 = 0; c0 < ncols; c0 += COLS_NC * VL) {
        const int64_t nc = MIN_I64(COLS_NC * VL, ncols - c0);
        for (int64_t o = 0; o < kout; o += 4)
            SFX(cols_tab)[MIN_I64(4, kout - o) - 1](in, A + o * a_so, a_so, a_sk,
                                                    bias ? bias + o : NULL, kin, ld, c0, nc,
                                                    out + o * ld, accumulate);
    }
}

/* ---- weight gradient, L = 1: dW[o][:kin] += sum_r dy[r][o] x[r][:kin] for OB outputs ----
 * x rows x_ld apart, dy rows dy_ld apart; dW rows kin apart. */
TARGET static inline __attribute__((always_inline)) void
SFX(roww_tile)(const int OB, const int NK, const float *dy, int64_t dy_ld, const float *x,
               int64_t x_ld, int64_t kin, int64_t rows, float *dW)
{
    vf acc[8][4];
    UNROLL for (int i = 0; i < OB; i++)
        UNROLL for (int v = 0; v < NK; v++)
            acc[i][v] = V_ZERO();
    for (int64_t r = 0; r < rows; r++) {
        const float *xr = x + r * x_ld, *g = dy + r * dy_ld;
        vf xv[4];
        UNROLL for (int v = 0; v < NK; v++)
            xv[v] = V_LOADN(xr + v * VL, MIN_I64(VL, kin - v * VL));
        UNROLL for (int i = 0; i < OB; i++) {
            const vf gi = V_SET1(g[i]);
            UNROLL for (int v = 0; v < NK; v++)
                acc[i][v] = V_FMA(gi, xv[v], acc[i][v]);
        }
    }
    UNROLL for (int i = 0; i < OB; i++)
        UNROLL for (int v = 0; v < NK; v++) {
            const int64_t n = MIN_I64(VL, kin - v * VL);
            float *w = dW + i * kin + v * VL;
            V_STOREN(w, V_ADD(V_LOADN(w, n), acc[i][v]), n);
        }
}

#define ROWW_FN(OB, NK)                                                                       \
    TARGET static void SFX(roww_##OB##_##NK)(const float *dy, int64_t dy_ld, const float *x,  \
                                             int64_t x_ld, int64_t kin, int64_t rows,         \
                                             float *dW)                                       \
    {                                                                                         \
        SFX(roww_tile)(OB, NK, dy, dy_ld, x, x_ld, kin, rows, dW);                            \
    }
#define ROWW_COL(NK) ROWW_FN(1, NK) ROWW_FN(2, NK) ROWW_FN(3, NK) ROWW_FN(4, NK) \
    ROWW_FN(5, NK) ROWW_FN(6, NK) ROWW_FN(7, NK) ROWW_FN(8, NK)
ROWW_COL(1) ROWW_COL(2) ROWW_COL(3) ROWW_COL(4)
#undef ROWW_COL

typedef void (*SFX(roww_fn))(const float *, int64_t, const float *, int64_t, int64_t, int64_t,
                             float *);
#define ROWW_COL(NK) {SFX(roww_1_##NK), SFX(roww_2_##NK), SFX(roww_3_##NK), SFX(roww_4_##NK), \
                      SFX(roww_5_##NK), SFX(roww_6_##NK), SFX(roww_7_##NK), SFX(roww_8_##NK)}
/* [NK - 1][OB - 1] */
static const SFX(roww_fn) SFX(roww_tab)[4][8] = {ROWW_COL(1), ROWW_COL(2), ROWW_COL(3), ROWW_COL(4)};
#undef ROWW_COL
/* The largest OB whose tile fits the registers, per NK. */
static const int SFX(roww_ob)[5] = {0, ROWW_OB1, ROWW_OB2, ROWW_OB3, ROWW_OB4};

/* ---- weight gradient over lanes: for OB outputs o and KB inputs k of one block j,
 *   S[o][k][q] = sum_r dy[r][o][q] x[r][k][q]   for lanes q in [q0, q0 + nq)
 * (dy rows dy_ld apart, each [kout][L]; x rows x_ld apart, each [kin][L]); the lanes are
 * then added into dW by their group: dW[(q / R2) gstride + o kin + k] += S[o][k][q]. */
TARGET static inline __attribute__((always_inline)) void
SFX(lanew_tile)(const int OB, const int KB, const float *dy, int64_t dy_ld, const float *x,
                int64_t x_ld, int64_t L, int64_t q0, int64_t nq, int64_t rows, int64_t R2,
                int64_t gstride, int64_t kin, float *dW)
{
    vf acc[4][4];
    UNROLL for (int i = 0; i < OB; i++)
        UNROLL for (int j = 0; j < KB; j++)
            acc[i][j] = V_ZERO();
    for (int64_t r = 0; r < rows; r++) {
        vf g[4], xv[4];
        UNROLL for (int i = 0; i < OB; i++)
            g[i] = V_LOADN(dy + r * dy_ld + i * L + q0, nq);
        UNROLL for (int j = 0; j < KB; j++)
            xv[j] = V_LOADN(x + r * x_ld + j * L + q0, nq);
        UNROLL for (int i = 0; i < OB; i++)
            UNROLL for (int j = 0; j < KB; j++)
                acc[i][j] = V_FMA(g[i], xv[j], acc[i][j]);
    }
    float t[VL];
    UNROLL for (int i = 0; i < OB; i++)
        UNROLL for (int j = 0; j < KB; j++) {
            V_STOREN(t, acc[i][j], VL);
            /* lanes of one group are adjacent: sum each run, then one add per group */
            int64_t q = 0;
            while (q < nq) {
                const int64_t grp = (q0 + q) / R2;
                int64_t end = (grp + 1) * R2 - q0;
                end = end < nq ? end : nq;
                float s = 0.0f;
                for (; q < end; q++)
                    s += t[q];
                dW[grp * gstride + i * kin + j] += s;
            }
        }
}

#define LANEW_FN(OB, KB)                                                                      \
    TARGET static void SFX(lanew_##OB##_##KB)(const float *dy, int64_t dy_ld, const float *x, \
                                              int64_t x_ld, int64_t L, int64_t q0,            \
                                              int64_t nq, int64_t rows, int64_t R2,           \
                                              int64_t gstride, int64_t kin, float *dW)        \
    {                                                                                         \
        SFX(lanew_tile)(OB, KB, dy, dy_ld, x, x_ld, L, q0, nq, rows, R2, gstride, kin, dW);   \
    }
#define LANEW_ROW(OB) LANEW_FN(OB, 1) LANEW_FN(OB, 2) LANEW_FN(OB, 3) LANEW_FN(OB, 4)
LANEW_ROW(1) LANEW_ROW(2) LANEW_ROW(3) LANEW_ROW(4)
#undef LANEW_ROW

typedef void (*SFX(lanew_fn))(const float *, int64_t, const float *, int64_t, int64_t, int64_t,
                              int64_t, int64_t, int64_t, int64_t, int64_t, float *);
#define LANEW_ROW(OB) {SFX(lanew_##OB##_1), SFX(lanew_##OB##_2), SFX(lanew_##OB##_3), SFX(lanew_##OB##_4)}
static const SFX(lanew_fn) SFX(lanew_tab)[4][4] = {LANEW_ROW(1), LANEW_ROW(2), LANEW_ROW(3), LANEW_ROW(4)};
#undef LANEW_ROW

/* One task: outputs [o, o + ob), inputs [k, k + kb) (ob <= TILE_OB, kb <= TILE_KB), the lanes
 * in chunks of VL, in order. */
TARGET static void SFX(lanew_run)(int64_t ob, int64_t kb, const float *dy, int64_t dy_ld,
                                  const float *x, int64_t x_ld, int64_t L, int64_t rows,
                                  int64_t R2, int64_t gstride, int64_t kin, float *dW)
{
    for (int64_t q0 = 0; q0 < L; q0 += VL)
        SFX(lanew_tab)[ob - 1][kb - 1](dy, dy_ld, x, x_ld, L, q0, MIN_I64(VL, L - q0), rows, R2,
                                       gstride, kin, dW);
}

/* ---- weight gradient, wide R2 (token mixing): one group's lanes [0, R2) are contiguous, so
 * a tile sums its products over rows and every chunk of the group in vectors and reduces
 * each to one number once:  dW[o][k] += sum_r sum_c dy[r][o][c] x[r][k][c]. */
TARGET static inline __attribute__((always_inline)) void
SFX(groupw_tile)(const int OB, const int KB, const float *dy, int64_t dy_ld, const float *x,
                 int64_t x_ld, int64_t L, int64_t R2, int64_t rows, int64_t kin, float *dW)
{
    vf acc[4][4];
    UNROLL for (int i = 0; i < OB; i++)
        UNROLL for (int j = 0; j < KB; j++)
            acc[i][j] = V_ZERO();
    for (int64_t r = 0; r < rows; r++)
        for (int64_t c0 = 0; c0 < R2; c0 += VL) {
            const int64_t n = MIN_I64(VL, R2 - c0);
            vf g[4], xv[4];
            UNROLL for (int i = 0; i < OB; i++)
                g[i] = V_LOADN(dy + r * dy_ld + i * L + c0, n);
            UNROLL for (int j = 0; j < KB; j++)
                xv[j] = V_LOADN(x + r * x_ld + j * L + c0, n);
            UNROLL for (int i = 0; i < OB; i++)
                UNROLL for (int j = 0; j < KB; j++)
                    acc[i][j] = V_FMA(g[i], xv[j], acc[i][j]);
        }
    float t[VL];
    UNROLL for (int i = 0; i < OB; i++)
        UNROLL for (int j = 0; j < KB; j++) {
            V_STOREN(t, acc[i][j], VL);
            float s = 0.0f;
            for (int q = 0; q < VL; q++)
                s += t[q];
            dW[i * kin + j] += s;
        }
}

#define GROUPW_FN(OB, KB)                                                                     \
    TARGET static void SFX(groupw_##OB##_##KB)(const float *dy, int64_t dy_ld, const float *x, \
                                               int64_t x_ld, int64_t L, int64_t R2,          \
                                               int64_t rows, int64_t kin, float *dW)         \
    {                                                                                         \
        SFX(groupw_tile)(OB, KB, dy, dy_ld, x, x_ld, L, R2, rows, kin, dW);                  \
    }
#define GROUPW_ROW(OB) GROUPW_FN(OB, 1) GROUPW_FN(OB, 2) GROUPW_FN(OB, 3) GROUPW_FN(OB, 4)
GROUPW_ROW(1) GROUPW_ROW(2) GROUPW_ROW(3) GROUPW_ROW(4)
#undef GROUPW_ROW

typedef void (*SFX(groupw_fn))(const float *, int64_t, const float *, int64_t, int64_t, int64_t,
                               int64_t, int64_t, float *);
#define GROUPW_ROW(OB) {SFX(groupw_##OB##_1), SFX(groupw_##OB##_2), SFX(groupw_##OB##_3), SFX(groupw_##OB##_4)}
static const SFX(groupw_fn) SFX(groupw_tab)[4][4] = {GROUPW_ROW(1), GROUPW_ROW(2), GROUPW_ROW(3), GROUPW_ROW(4)};
#undef GROUPW_ROW

/* ================================ the op drivers ================================ */

/* Forward (A = W) or bwd_x (A = W^T) of mix_linear: 1 handled, 0 not this shape, -1 no
 * memory for the panels. */
TARGET static int SFX(apply)(const mix_apply *a)
{
    const int64_t M = a->M, J = a->J, R1 = a->R1, R2 = a->R2, L = R1 * R2;
    const int64_t kin = a->kin, kout = a->kout, work = M * J * kin * kout * L;
    if (R2 >= WIDE_R2) {
#pragma omp parallel for collapse(3) schedule(static) if (DMX_CPU_PARALLEL(work))
        for (int64_t m = 0; m < M; m++)
            for (int64_t j = 0; j < J; j++)
                for (int64_t r1 = 0; r1 < R1; r1++) {
                    const int64_t g = j * R1 + r1;
                    SFX(cols_run)(a->in + ((m * J + j) * kin * R1 + r1) * R2, a->W + g * a->wg,
                                  a->a_so, a->a_sk, a->bias ? a->bias + g * kout : NULL, kin,
                                  kout, L, R2, a->out + ((m * J + j) * kout * R1 + r1) * R2,
                                  a->accumulate);
                }
        return 1;
    }
    const int64_t blocks = (M + ROW_BLOCK - 1) / ROW_BLOCK;
    if (L == 1) {
        const int NV = (int)((kout + VL - 1) / VL);
        if (NV > 4)
            return 0;
        const int64_t width = NV * VL;
        float *P = panel_get(J * kin * width);
        if (!P)
            return -1;
        for (int64_t j = 0; j < J; j++)
            for (int64_t k = 0; k < kin; k++)
                for (int64_t o = 0; o < width; o++)
                    P[(j * kin + k) * width + o] =
                        o < kout ? a->W[j * a->wg + o * a->a_so + k * a->a_sk] : 0.0f;
#pragma omp parallel for collapse(2) schedule(static) if (DMX_CPU_PARALLEL(work))
        for (int64_t b = 0; b < blocks; b++)
            for (int64_t j = 0; j < J; j++) {
                const int64_t m0 = b * ROW_BLOCK, rows = MIN_I64(ROW_BLOCK, M - m0);
                SFX(rows_run)(NV, a->in + (m0 * J + j) * kin, J * kin, P + j * kin * width, kin,
                              kout, a->bias ? a->bias + j * kout : NULL,
                              a->out + (m0 * J + j) * kout, J * kout, a->accumulate, rows);
            }
        return 1;
    }
    const int64_t Lp = (L + VL - 1) / VL * VL, np = J * kout * kin * Lp;
    float *P = panel_get(np + (a->bias ? J * kout * Lp : 0));
    if (!P)
        return -1;
    float *C = a->bias ? P + np : NULL;
    for (int64_t j = 0; j < J; j++)
        for (int64_t o = 0; o < kout; o++) {
            for (int64_t k = 0; k < kin; k++) {
                float *t = P + ((j * kout + o) * kin + k) * Lp;
                for (int64_t q = 0; q < Lp; q++)
                    t[q] = q < L ? a->W[(j * R1 + q / R2) * a->wg + o * a->a_so + k * a->a_sk]
                                 : 0.0f;
            }
            if (C)
                for (int64_t q = 0; q < Lp; q++)
                    C[(j * kout + o) * Lp + q] = q < L ? a->bias[(j * R1 + q / R2) * kout + o] : 0.0f;
        }
#pragma omp parallel for collapse(2) schedule(static) if (DMX_CPU_PARALLEL(work))
    for (int64_t b = 0; b < blocks; b++)
        for (int64_t j = 0; j < J; j++) {
            const int64_t m0 = b * ROW_BLOCK, rows = MIN_I64(ROW_BLOCK, M - m0);
            SFX(lanes_run)(a->in + (m0 * J + j) * kin * L, J * kin * L, L,
                           P + j * kout * kin * Lp, C ? C + j * kout * Lp : NULL, kin, kout, Lp,
                           a->out + (m0 * J + j) * kout * L, J * kout * L, a->accumulate, rows);
        }
    return 1;
}

/* dW (+)= sum over rows of dy x^T per group, dc (+)= sum of dy: 1 handled, 0 not. */
TARGET static int SFX(grad_w)(const mix_grad *a)
{
    const int64_t M = a->M, J = a->J, Din = a->Din, Dout = a->Dout, R1 = a->R1, R2 = a->R2;
    const int64_t L = R1 * R2, work = M * J * Din * Dout * L;
    if (L == 1) {
        const int NK = (int)((Din + VL - 1) / VL);
        if (NK > 4)
            return 0;
        const int64_t ob = SFX(roww_ob)[NK], nt = (Dout + ob - 1) / ob;
#pragma omp parallel for schedule(static) if (DMX_CPU_PARALLEL(work))
        for (int64_t t = 0; t < J * nt; t++) {
            const int64_t j = t / nt, o = t % nt * ob, count = MIN_I64(ob, Dout - o);
            SFX(roww_tab)[NK - 1][count - 1](a->dy + j * Dout + o, J * Dout, a->x + j * Din,
                                             J * Din, Din, M, a->dW + (j * Dout + o) * Din);
        }
    } else if (R2 >= WIDE_R2) {
        const int64_t nto = (Dout + TILE_OB - 1) / TILE_OB, ntk = (Din + TILE_KB - 1) / TILE_KB;
        const int64_t G = J * R1;
#pragma omp parallel for schedule(static) if (DMX_CPU_PARALLEL(work))
        for (int64_t t = 0; t < G * nto * ntk; t++) {
            const int64_t g = t / (nto * ntk), rest = t % (nto * ntk), j = g / R1, r1 = g % R1;
            const int64_t o = rest / ntk * TILE_OB, k = rest % ntk * TILE_KB;
            SFX(groupw_tab)[MIN_I64(TILE_OB, Dout - o) - 1][MIN_I64(TILE_KB, Din - k) - 1](
                a->dy + (j * Dout + o) * L + r1 * R2, J * Dout * L, a->x + (j * Din + k) * L + r1 * R2,
                J * Din * L, L, R2, M, Din, a->dW + (g * Dout + o) * Din + k);
        }
    } else {
        const int64_t nto = (Dout + TILE_OB - 1) / TILE_OB, ntk = (Din + TILE_KB - 1) / TILE_KB;
#pragma omp parallel for schedule(static) if (DMX_CPU_PARALLEL(work))
        for (int64_t t = 0; t < J * nto * ntk; t++) {
            const int64_t j = t / (nto * ntk), rest = t % (nto * ntk);
            const int64_t o = rest / ntk * TILE_OB, k = rest % ntk * TILE_KB;
            SFX(lanew_run)(MIN_I64(TILE_OB, Dout - o), MIN_I64(TILE_KB, Din - k), a->dy + (j * Dout + o) * L, J * Dout * L,
                           a->x + (j * Din + k) * L, J * Din * L, L, M, R2, Dout * Din, Din,
                           a->dW + (j * R1 * Dout + o) * Din + k);
        }
    }
    if (!a->dc)
        return 1;
    if (L == 1) { /* dc[j, o] += sum_m dy[m, j, o]: outputs as lanes, rows in order */
#pragma omp parallel for schedule(static) if (DMX_CPU_PARALLEL(M * J * Dout))
        for (int64_t j = 0; j < J; j++)
            for (int64_t o0 = 0; o0 < Dout; o0 += VL) {
                const int64_t n = MIN_I64(VL, Dout - o0);
                vf s = V_ZERO();
                for (int64_t m = 0; m < M; m++)
                    s = V_ADD(s, V_LOADN(a->dy + (m * J + j) * Dout + o0, n));
                float *c = a->dc + j * Dout + o0;
                V_STOREN(c, V_ADD(V_LOADN(c, n), s), n);
            }
        return 1;
    }
    if (R2 >= WIDE_R2) { /* one group's lanes are contiguous: sum them in vectors, reduce once */
#pragma omp parallel for schedule(static) if (DMX_CPU_PARALLEL(M * J * Dout * L))
        for (int64_t go = 0; go < J * R1 * Dout; go++) {
            const int64_t g = go / Dout, o = go % Dout, j = g / R1, r1 = g % R1;
            vf s = V_ZERO();
            for (int64_t m = 0; m < M; m++) {
                const float *row = a->dy + ((m * J + j) * Dout + o) * L + r1 * R2;
                for (int64_t c0 = 0; c0 < R2; c0 += VL)
                    s = V_ADD(s, V_LOADN(row + c0, MIN_I64(VL, R2 - c0)));
            }
            float t[VL], sum = 0.0f;
            V_STOREN(t, s, VL);
            for (int q = 0; q < VL; q++)
                sum += t[q];
            a->dc[go] += sum;
        }
        return 1;
    }
    /* dc[j, r1, o] += sum over m and r2 of dy[m, j, o, r1, r2]: per (j, o), lanes summed over
     * rows in order, then each group's lanes. */
#pragma omp parallel for schedule(static) if (DMX_CPU_PARALLEL(M * J * Dout * L))
    for (int64_t jo = 0; jo < J * Dout; jo++) {
        const int64_t j = jo / Dout, o = jo % Dout;
        for (int64_t q0 = 0; q0 < L; q0 += VL) {
            const int64_t nq = MIN_I64(VL, L - q0);
            vf s = V_ZERO();
            for (int64_t m = 0; m < M; m++)
                s = V_ADD(s, V_LOADN(a->dy + ((m * J + j) * Dout + o) * L + q0, nq));
            float t[VL];
            V_STOREN(t, s, VL);
            for (int64_t q = 0; q < nq;) {
                const int64_t grp = (q0 + q) / R2, end = MIN_I64((grp + 1) * R2 - q0, nq);
                float sum = 0.0f;
                for (; q < end; q++)
                    sum += t[q];
                a->dc[(j * R1 + grp) * Dout + o] += sum;
            }
        }
    }
    return 1;
}

#undef MIN_I64
#undef UNROLL
