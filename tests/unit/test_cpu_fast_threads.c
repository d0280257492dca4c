/* The fast CPU kernels at every SIMD level this processor has (AVX-512, AVX2,
 * none) agree with the reference within the parity tolerances, and give bitwise
 * the same results at 1 and at 2 OpenMP threads: every parity case of the ops
 * they replace (mix_linear, mix_mlp with its transposed and thread-per-slice
 * stages, GELU, ELU, LayerNorm) runs at both counts and the whole argument
 * buffers must match. The larger cases are big enough to open parallel regions
 * (DMX_CPU_PARALLEL) and to cut mix_mlp into several slices. Dense mix_linear
 * and mix_mlp (J = R1 = 1) are left out: their GEMMs go to BLAS, which the CPU
 * GEMM splits into one block per thread, and OpenBLAS's kernels round a block's
 * edge differently from its interior, so those results depend on the thread
 * count. */
#include <omp.h>
#include <stdlib.h>
#include <string.h>

#include "cpu/fast_kernels.h"
#include "cpu/fast_simd.h"
#include "parity/parity.h"
#include "test_util.h"

static bool fast_case(const dmx_parity_case *c)
{
    switch (c->op) {
    case DMX_OP_GELU:
    case DMX_OP_GELU_BWD:
    case DMX_OP_ELU:
    case DMX_OP_ELU_BWD:
    case DMX_OP_LAYERNORM:
    case DMX_OP_LAYERNORM_BWD:
        return true;
    case DMX_OP_MIX_LINEAR:
    case DMX_OP_MIX_LINEAR_BWD_X:
    case DMX_OP_MIX_LINEAR_BWD_W: {
        const dmx_p_mix_linear *p = &c->params.mix_linear;
        return !(p->J == 1 && p->R1 == 1);
    }
    case DMX_OP_MIX_MLP:
    case DMX_OP_MIX_MLP_BWD: {
        const dmx_p_mix_mlp *p = &c->params.mix_mlp;
        return !(p->J == 1 && p->R1 == 1);
    }
    default:
        return false;
    }
}

static void test_one_and_two_threads_agree_bitwise(void **state)
{
    (void)state;
    dmx_device *dev = NULL;
    DMX_ASSERT_OK(dmx_device_open("cpu", &dev));
    dmx_parity_cases cases;
    DMX_ASSERT_OK(dmx_parity_build_cases(&cases));
    int compared = 0, large = 0, differ = 0;
    for (int i = 0; i < cases.count; i++) {
        const dmx_parity_case *c = &cases.items[i];
        if (!fast_case(c))
            continue;
        uint32_t *img[2];
        size_t words[2];
        for (int t = 0; t < 2; t++) {
            omp_set_num_threads(t + 1);
            DMX_ASSERT_OK(dmx_parity_run_case(dev, c, 0x7FC00000u, &img[t], &words[t]));
        }
        assert_int_equal(words[0], words[1]);
        if (memcmp(img[0], img[1], words[0] * 4) != 0 && differ++ < 5)
            fprintf(stderr, "  %s / %s differs between 1 and 2 threads\n", dmx_op_name(c->op),
                    c->name);
        free(img[0]);
        free(img[1]);
        compared++;
        large += c->large;
    }
    dmx_parity_free_cases(&cases);
    dmx_device_close(dev);
    assert_true(compared > 0 && large > 0);
    assert_int_equal(differ, 0);
}

/* Each SIMD level against cpu-ref on every case of the fast ops (the parity
 * suite itself checks only the level the machine picks). */
static void test_every_simd_level_matches_the_reference(void **state)
{
    (void)state;
    dmx_device *fast = NULL, *ref = NULL;
    DMX_ASSERT_OK(dmx_device_open("cpu", &fast));
    DMX_ASSERT_OK(dmx_device_open(DMX_PARITY_REFERENCE, &ref));
    dmx_parity_cases cases;
    DMX_ASSERT_OK(dmx_parity_build_cases(&cases));
    const dmx_simd_level best = dmx_fast_simd_best();
    int problems = 0;
    for (int level = DMX_SIMD_NONE; level <= (int)best; level++) {
        assert_int_equal(dmx_fast_simd_force((dmx_simd_level)level), level);
        int checked = 0;
        for (int i = 0; i < cases.count; i++) {
            const dmx_parity_case *c = &cases.items[i];
            if (!fast_case(c))
                continue;
            uint32_t *want, *got;
            size_t nw, ng;
            DMX_ASSERT_OK(dmx_parity_run_case(ref, c, 0x7FC00000u, &want, &nw));
            DMX_ASSERT_OK(dmx_parity_run_case(fast, c, 0x7FC00000u, &got, &ng));
            assert_int_equal(nw, ng);
            problems += dmx_parity_check(c, want, got, stderr, "cpu", NULL);
            free(want);
            free(got);
            checked++;
        }
        printf("simd %s: %d cases checked against %s\n", dmx_fast_simd_name(level), checked,
               DMX_PARITY_REFERENCE);
        assert_true(checked > 100);
    }
    if (best == DMX_SIMD_NONE)
        printf("this processor has neither AVX2 nor AVX-512: only the portable path checked\n");
    dmx_fast_simd_force(best);
    dmx_parity_free_cases(&cases);
    dmx_device_close(fast);
    dmx_device_close(ref);
    assert_int_equal(problems, 0);
}

/* The transposes of the transposed butterfly stages move every element once, at every SIMD
 * level: full 16 x 16 tiles, ragged edges, one row or column, and the accumulating form. */
static void test_transpose_moves_every_element(void **state)
{
    (void)state;
    static const int64_t shapes[][2] = {{1, 1}, {16, 16}, {1, 37}, {37, 1}, {33, 50}, {448, 64}, {64, 448}};
    const dmx_simd_level best = dmx_fast_simd_best();
    for (int level = DMX_SIMD_NONE; level <= (int)best; level++) {
        dmx_fast_simd_force((dmx_simd_level)level);
        for (size_t s = 0; s < sizeof shapes / sizeof shapes[0]; s++) {
            const int64_t rows = shapes[s][0], cols = shapes[s][1], n = rows * cols;
            float *src = malloc((size_t)n * sizeof *src), *dst = malloc((size_t)n * sizeof *dst);
            assert_non_null(src);
            assert_non_null(dst);
            for (int64_t i = 0; i < n; i++)
                src[i] = (float)i + 0.25f;
            for (int acc = 0; acc < 2; acc++) {
                for (int64_t i = 0; i < n; i++)
                    dst[i] = acc ? (float)(-3 * i) : -1.0f;
                dmx_fast_transpose(src, rows, cols, dst, acc);
                int64_t wrong = 0;
                for (int64_t r = 0; r < rows; r++)
                    for (int64_t c = 0; c < cols; c++) {
                        const int64_t at = c * rows + r;
                        const float want = acc ? (float)(-3 * at) + src[r * cols + c]
                                               : src[r * cols + c];
                        wrong += dst[at] != want;
                    }
                if (wrong)
                    fprintf(stderr, "  simd %s: %lld x %lld acc=%d: %lld wrong\n",
                            dmx_fast_simd_name(level), (long long)rows, (long long)cols, acc,
                            (long long)wrong);
                assert_int_equal(wrong, 0);
            }
            free(src);
            free(dst);
        }
    }
    dmx_fast_simd_force(best);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_transpose_moves_every_element),
        cmocka_unit_test(test_every_simd_level_matches_the_reference),
        cmocka_unit_test(test_one_and_two_threads_agree_bitwise),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
