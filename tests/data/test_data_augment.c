/* Augmentation: crop and flip on known images, the random draws (determinism, ranges, rates),
 * bilinear resize against hand-computed and PyTorch values, normalisation, and the shuffle. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "data/image_augment.h"
#include "data/image_shuffle.h"
#include "test_util.h"

static void assert_bytes(const char *what, const uint8_t *got, const uint8_t *want, int n)
{
    for (int i = 0; i < n; i++)
        if (got[i] != want[i])
            fail_msg("%s[%d]: got %d, want %d", what, i, got[i], want[i]);
}

static void test_crop_and_flip_on_a_known_image(void **state)
{
    (void)state;
    /* 3 x 4 image 1..12, padding 1. Offsets (dy 0, dx 2) read src(y - 1, x + 1). */
    const uint8_t src[12] = {1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12};
    uint8_t out[12];
    dmx_crop_flip_u8(src, 1, 3, 4, 1, (dmx_augment_draw){0, 2, false}, out);
    const uint8_t shifted[12] = {0, 0, 0, 0, 2, 3, 4, 0, 6, 7, 8, 0};
    assert_bytes("crop", out, shifted, 12);
    /* The flip mirrors the crop: [2 3 4 0] becomes [0 4 3 2]. */
    dmx_crop_flip_u8(src, 1, 3, 4, 1, (dmx_augment_draw){0, 2, true}, out);
    const uint8_t mirrored[12] = {0, 0, 0, 0, 0, 4, 3, 2, 0, 8, 7, 6};
    assert_bytes("crop+flip", out, mirrored, 12);
    /* The centre offset is the identity; a flip alone mirrors each row. */
    dmx_crop_flip_u8(src, 1, 3, 4, 1, (dmx_augment_draw){1, 1, false}, out);
    assert_bytes("centre", out, src, 12);
    dmx_crop_flip_u8(src, 1, 3, 4, 0, (dmx_augment_draw){0, 0, true}, out);
    const uint8_t flipped[12] = {4, 3, 2, 1, 8, 7, 6, 5, 12, 11, 10, 9};
    assert_bytes("flip", out, flipped, 12);
}

/* torchvision's way, spelled out: zero-pad to (H + 2p) x (W + 2p), cut the window at
 * (dy, dx), mirror it. */
static void reference_crop_flip(const uint8_t *src, int C, int H, int W, int p,
                                dmx_augment_draw d, uint8_t *dst)
{
    const int PH = H + 2 * p, PW = W + 2 * p;
    uint8_t *padded = calloc((size_t)C * PH * PW, 1);
    for (int c = 0; c < C; c++)
        for (int y = 0; y < H; y++)
            memcpy(padded + ((size_t)c * PH + y + p) * PW + p, src + ((size_t)c * H + y) * W,
                   (size_t)W);
    for (int c = 0; c < C; c++)
        for (int y = 0; y < H; y++)
            for (int x = 0; x < W; x++) {
                int wx = d.flip ? W - 1 - x : x;
                dst[((size_t)c * H + y) * W + x] = padded[((size_t)c * PH + y + d.dy) * PW + d.dx + wx];
            }
    free(padded);
}

static void test_crop_flip_matches_pad_then_slice_for_every_offset(void **state)
{
    (void)state;
    enum { C = 3, H = 6, W = 7, P = 4, N = C * H * W };
    uint8_t src[N], got[N], want[N];
    for (int i = 0; i < N; i++)
        src[i] = (uint8_t)(1 + i % 250);
    for (int dy = 0; dy <= 2 * P; dy++)
        for (int dx = 0; dx <= 2 * P; dx++)
            for (int flip = 0; flip < 2; flip++) {
                dmx_augment_draw d = {dy, dx, flip == 1};
                dmx_crop_flip_u8(src, C, H, W, P, d, got);
                reference_crop_flip(src, C, H, W, P, d, want);
                for (int i = 0; i < N; i++)
                    if (got[i] != want[i])
                        fail_msg("dy %d dx %d flip %d: [%d] got %d, want %d", dy, dx, flip, i,
                                 got[i], want[i]);
            }
}

static void test_draws_are_deterministic_in_range_and_fair(void **state)
{
    (void)state;
    const uint64_t seed = 0x1234567890abcdefull;
    int offset_counts[2][9] = {{0}}, flips = 0;
    const int n = 18000;
    int same_across_epochs = 0;
    for (int i = 0; i < n; i++) {
        dmx_augment_draw d = dmx_augment_draw_for(seed, 3, (uint32_t)i, true, 4, true);
        dmx_augment_draw again = dmx_augment_draw_for(seed, 3, (uint32_t)i, true, 4, true);
        assert_true(d.dy == again.dy && d.dx == again.dx && d.flip == again.flip);
        if (d.dy < 0 || d.dy > 8 || d.dx < 0 || d.dx > 8)
            fail_msg("image %d: offsets (%d, %d) outside 0..8", i, d.dy, d.dx);
        offset_counts[0][d.dy]++;
        offset_counts[1][d.dx]++;
        flips += d.flip;
        dmx_augment_draw next = dmx_augment_draw_for(seed, 4, (uint32_t)i, true, 4, true);
        same_across_epochs += d.dy == next.dy && d.dx == next.dx && d.flip == next.flip;
    }
    /* Each offset has probability 1/9: 2000 expected, sd 42; allow 5 sd. */
    for (int axis = 0; axis < 2; axis++)
        for (int v = 0; v < 9; v++)
            if (abs(offset_counts[axis][v] - n / 9) > 210)
                fail_msg("axis %d offset %d drawn %d times of %d", axis, v, offset_counts[axis][v],
                         n);
    /* Flip rate 1/2: sd 0.0037; allow 0.02. */
    double rate = (double)flips / n;
    if (fabs(rate - 0.5) > 0.02)
        fail_msg("flip rate %.4f over %d draws", rate, n);
    /* Another epoch draws anew: a repeat of all three has probability 1/162. */
    if (same_across_epochs > n / 50)
        fail_msg("%d of %d images drew the same augmentation in epochs 3 and 4",
                 same_across_epochs, n);
    /* Another seed too. */
    int same_seed = 0;
    for (int i = 0; i < 1000; i++) {
        dmx_augment_draw a = dmx_augment_draw_for(1, 0, (uint32_t)i, true, 4, true);
        dmx_augment_draw b = dmx_augment_draw_for(2, 0, (uint32_t)i, true, 4, true);
        same_seed += a.dy == b.dy && a.dx == b.dx && a.flip == b.flip;
    }
    assert_true(same_seed < 30);
    /* Disabled parts draw nothing: the centre offset and no flip. */
    dmx_augment_draw none = dmx_augment_draw_for(seed, 0, 5, false, 4, false);
    assert_true(none.dy == 4 && none.dx == 4 && !none.flip);
}

static void test_resize_2x2_to_3x3_by_hand(void **state)
{
    (void)state;
    /* align_corners: the corners stay, midpoints average their neighbours. */
    const float src[4] = {1.0f, 2.0f, 3.0f, 5.0f};
    const float want[9] = {1.0f, 1.5f, 2.0f, 2.0f, 2.75f, 3.5f, 3.0f, 4.0f, 5.0f};
    float got[9];
    dmx_resize_bilinear(src, 1, 2, 2, got, 3, 3);
    DMX_ASSERT_CLOSE("2x2->3x3", got, want, 9, 0.0, 0.0);
    /* One input pixel spreads everywhere; one output pixel takes the top-left corner. */
    float one = 7.0f, spread[6], corner;
    dmx_resize_bilinear(&one, 1, 1, 1, spread, 2, 3);
    for (int i = 0; i < 6; i++)
        assert_true(spread[i] == 7.0f);
    dmx_resize_bilinear(src, 1, 2, 2, &corner, 1, 1);
    assert_true(corner == 1.0f);
    /* Same size: an exact copy; two channels are independent. */
    float two[8] = {1, 2, 3, 4, 10, 20, 30, 40}, copy[8];
    dmx_resize_bilinear(two, 2, 2, 2, copy, 2, 2);
    DMX_ASSERT_CLOSE("identity", copy, two, 8, 0.0, 0.0);
}

static void test_resize_of_wide_rows(void **state)
{
    (void)state;
    /* Rows wider than the resize's tap tile: the identity stays exact, and a ramp
     * x[c] = c stays a ramp, out[k] = k * (in - 1) / (out - 1). */
    enum { IN = 200, OUT = 300 };
    float *ramp = malloc(sizeof(float) * 2 * IN), *same = malloc(sizeof(float) * 2 * IN);
    float *out = malloc(sizeof(float) * 3 * OUT), *want = malloc(sizeof(float) * 3 * OUT);
    for (int i = 0; i < 2 * IN; i++)
        ramp[i] = (float)(i % IN);
    dmx_resize_bilinear(ramp, 1, 2, IN, same, 2, IN);
    DMX_ASSERT_CLOSE("identity", same, ramp, 2 * IN, 0.0, 0.0);
    dmx_resize_bilinear(ramp, 1, 2, IN, out, 3, OUT);
    for (int i = 0; i < 3 * OUT; i++)
        want[i] = (float)((i % OUT) * (double)(IN - 1) / (OUT - 1));
    DMX_ASSERT_CLOSE("ramp", out, want, 3 * OUT, 1e-4, 0.0);
    free(ramp), free(same), free(out), free(want);
}

static void test_resize_matches_pytorch(void **state)
{
    (void)state;
    /* x[r][c] = ((5 r + c) * 7 + 3) % 11 / 3, 4 x 5 -> 7 x 3; want from PyTorch 1.13
     * nn.UpsamplingBilinear2d(size=(7, 3)) on the same float32 input. */
    float src[20], got[21];
    for (int i = 0; i < 20; i++)
        src[i] = (float)((i * 7 + 3) % 11) / 3.0f;
    const float want[21] = {1.0f,        2.0f,        3.0f,        1.33333325f, 2.33333349f,
                            1.5f,        1.66666663f, 2.66666675f, 0.0f,        2.0f,
                            3.0f,        0.333333343f, 2.33333325f, 3.33333325f, 0.666666687f,
                            2.66666651f, 1.83333325f, 1.0f,        3.0f,        0.333333343f,
                            1.33333337f};
    dmx_resize_bilinear(src, 1, 4, 5, got, 7, 3);
    DMX_ASSERT_CLOSE("4x5->7x3", got, want, 21, 0.0, 0.0);

    /* The Patch-Only case, 32 -> 35: x[r][c] = (32 r + c) * 37 % 256 / 255; PyTorch values at
     * a few positions (printed with 9 digits, so exact). One channel, where PyTorch's CPU kernel
     * rounds as ours does; the whole 35 x 35 output matched it bit for bit. */
    float *big = malloc(sizeof(float) * 32 * 32), *out = malloc(sizeof(float) * 35 * 35);
    for (int i = 0; i < 32 * 32; i++)
        big[i] = (float)(i * 37 % 256) / 255.0f;
    dmx_resize_bilinear(big, 1, 32, 32, out, 35, 35);
    const int at[6][2] = {{0, 0}, {1, 1}, {17, 5}, {34, 33}, {20, 34}, {33, 2}};
    const float torch_values[6] = {0.0f, 0.704382956f, 0.569204152f, 0.726527631f, 0.644752085f,
                                   0.230503783f};
    for (int k = 0; k < 6; k++) {
        float v = out[at[k][0] * 35 + at[k][1]];
        if (v != torch_values[k])
            fail_msg("35x35 at (%d, %d): got %.9g, PyTorch %.9g", at[k][0], at[k][1], (double)v,
                     (double)torch_values[k]);
    }
    /* The fp32 scale 31/34 puts the last output just short of the last input, in PyTorch too:
     * 0.8588229 there, against 0.85882354 in the corner of the input. */
    assert_true(out[34 * 35 + 34] == 0.8588229f && big[32 * 32 - 1] == 0.85882354f);
    free(big);
    free(out);
}

static void test_normalization_is_totensor_then_normalize(void **state)
{
    (void)state;
    const uint8_t px[6] = {0, 51, 255, 128, 3, 200};
    float unit[6], got[6], want[6];
    const float mean[2] = {0.4914f, 0.2f}, std[2] = {0.2023f, 0.5f};
    dmx_pixels_to_unit(px, 6, unit);
    dmx_normalize_planes(unit, 2, 3, mean, std, got);
    for (int i = 0; i < 6; i++) {
        float x = (float)px[i] / 255.0f;
        want[i] = (x - mean[i / 3]) / std[i / 3];
    }
    DMX_ASSERT_CLOSE("normalised", got, want, 6, 0.0, 0.0);
    assert_true(unit[1] == 0.2f && unit[2] == 1.0f);
    assert_float_equal(got[2], (1.0 - 0.4914) / 0.2023, 1e-6);
}

static void assert_permutation(const uint32_t *perm, uint32_t n)
{
    uint8_t *seen = calloc(n, 1);
    for (uint32_t i = 0; i < n; i++) {
        if (perm[i] >= n || seen[perm[i]])
            fail_msg("position %u holds %u: not a permutation of 0..%u", i, perm[i], n - 1);
        seen[perm[i]] = 1;
    }
    free(seen);
}

static void test_shuffle_is_a_seeded_permutation_per_epoch(void **state)
{
    (void)state;
    enum { N = 1000 };
    uint32_t a[N], b[N], c[N], d[N];
    dmx_shuffle_permutation(42, 0, N, a);
    dmx_shuffle_permutation(42, 0, N, b);
    dmx_shuffle_permutation(42, 1, N, c);
    dmx_shuffle_permutation(43, 0, N, d);
    assert_permutation(a, N);
    assert_permutation(c, N);
    assert_memory_equal(a, b, sizeof a);
    int same_epoch = 0, same_seed = 0, fixed = 0;
    for (int i = 0; i < N; i++) {
        same_epoch += a[i] == c[i];
        same_seed += a[i] == d[i];
        fixed += a[i] == (uint32_t)i;
    }
    /* About one coincidence is expected from two independent permutations. */
    if (same_epoch > 10 || same_seed > 10 || fixed > 10)
        fail_msg("too similar: %d equal across epochs, %d across seeds, %d fixed points",
                 same_epoch, same_seed, fixed);
    uint32_t one;
    dmx_shuffle_permutation(42, 0, 1, &one);
    assert_int_equal(one, 0);

    /* Uniform: the 6 orders of 3 items over 6000 epochs, 1000 each expected (sd 29). */
    int counts[6] = {0};
    for (uint32_t e = 0; e < 6000; e++) {
        uint32_t p[3];
        dmx_shuffle_permutation(7, e, 3, p);
        assert_permutation(p, 3);
        counts[p[0] * 2 + (p[1] > p[2])]++;
    }
    for (int k = 0; k < 6; k++)
        if (abs(counts[k] - 1000) > 150)
            fail_msg("order %d of 3 items came %d times in 6000 epochs", k, counts[k]);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_crop_and_flip_on_a_known_image),
        cmocka_unit_test(test_crop_flip_matches_pad_then_slice_for_every_offset),
        cmocka_unit_test(test_draws_are_deterministic_in_range_and_fair),
        cmocka_unit_test(test_resize_2x2_to_3x3_by_hand),
        cmocka_unit_test(test_resize_of_wide_rows),
        cmocka_unit_test(test_resize_matches_pytorch),
        cmocka_unit_test(test_normalization_is_totensor_then_normalize),
        cmocka_unit_test(test_shuffle_is_a_seeded_permutation_per_epoch),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
