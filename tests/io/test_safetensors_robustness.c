/* safetensors reader robustness: every truncation of a valid file, byte flips all over its
 * header, and seeded random header mutations must give a clean DMX_ERR_FORMAT or a file whose
 * every tensor is readable and inside the file; nothing may crash or read out of bounds (run
 * under valgrind or -fsanitize=address to see the latter). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "st_test_files.h"
#include "test_util.h"

static int remove_scratch(void **state)
{
    (void)state;
    st_scratch_cleanup();
    return 0;
}

/* A valid file with metadata, several dtypes and ranks, a zero-size tensor and escaped
 * names; returns its bytes (malloc'd). */
static unsigned char *make_valid_file(size_t *n, size_t *header_end)
{
    static float f[12];
    static int32_t i[6];
    static uint8_t u[5];
    for (int k = 0; k < 12; k++)
        f[k] = (float)k * 0.5f - 2.0f;
    for (int k = 0; k < 6; k++)
        i[k] = k * 1000 - 2500;
    memcpy(u, "\x01\x02\x03\x04\x05", 5);
    int64_t s34[2] = {3, 4}, s6[1] = {6}, s5[1] = {5}, s20[2] = {2, 0};
    dmx_st_writer *w = NULL;
    DMX_ASSERT_OK(dmx_st_writer_create(&w));
    DMX_ASSERT_OK(dmx_st_writer_add(w, "blocks.0.fc1.weight", DMX_ST_F32, 2, s34, f));
    DMX_ASSERT_OK(dmx_st_writer_add(w, "labels", DMX_ST_I32, 1, s6, i));
    DMX_ASSERT_OK(dmx_st_writer_add(w, "scalar", DMX_ST_F32, 0, NULL, f + 3));
    DMX_ASSERT_OK(dmx_st_writer_add(w, "empty", DMX_ST_F32, 2, s20, NULL));
    DMX_ASSERT_OK(dmx_st_writer_add(w, "q\"\\\n\xce\xb1", DMX_ST_U8, 1, s5, u));
    DMX_ASSERT_OK(dmx_st_writer_set_metadata(w, "step", "17"));
    DMX_ASSERT_OK(dmx_st_writer_set_metadata(w, "config", "{\"d\": 64}"));
    const char *path = st_path("valid.safetensors");
    DMX_ASSERT_OK(dmx_st_writer_save(w, path));
    dmx_st_writer_destroy(w);
    unsigned char *bytes = st_read_bytes(path, n);
    uint64_t hlen = 0;
    for (int k = 7; k >= 0; k--)
        hlen = hlen << 8 | bytes[k];
    *header_end = (size_t)(8 + hlen);
    return bytes;
}

typedef struct trial_counts {
    int accepted, rejected;
} trial_counts;

/* Everything an accepted file promises: its data tiled by the tensors' ranges exactly, every
 * tensor readable and findable by name, every metadata entry present. */
static void check_accepted(dmx_st_file *f, const unsigned char *bytes, size_t file_size,
                           const char *what)
{
    uint64_t header_len = 0;
    for (int k = 7; k >= 0; k--)
        header_len = header_len << 8 | bytes[k];
    uint64_t data_len = file_size - 8 - header_len;
    uint64_t covered = 0;
    for (int64_t k = 0; k < dmx_st_count(f); k++) {
        const dmx_st_tensor_info *t = dmx_st_info_at(f, k);
        if (t->begin != covered || t->end < t->begin || t->end > data_len)
            fail_msg("%s: accepted tensor %lld with range [%llu, %llu)", what, (long long)k,
                     (unsigned long long)t->begin, (unsigned long long)t->end);
        covered = t->end;
        size_t stored = (size_t)(t->end - t->begin);
        void *buf = malloc(stored ? stored : 1);
        DMX_ASSERT_OK(dmx_st_read(f, t->name, t->dtype, buf, stored));
        free(buf);
        if (dmx_st_find(f, t->name) == NULL)
            fail_msg("%s: accepted tensor '%s' cannot be found by name", what, t->name);
    }
    if (covered != data_len)
        fail_msg("%s: accepted with %llu data bytes but tensors cover %llu", what,
                 (unsigned long long)data_len, (unsigned long long)covered);
    for (int64_t k = 0; k < dmx_st_metadata_count(f); k++) {
        const char *key, *value;
        DMX_ASSERT_OK(dmx_st_metadata_at(f, k, &key, &value));
        assert_non_null(value);
    }
}

/* Writes the candidate bytes and opens them. */
static void trial(const unsigned char *bytes, size_t n, const char *what, trial_counts *counts)
{
    const char *path = st_path("trial.safetensors");
    st_write_bytes(path, bytes, n);
    dmx_st_file *f = NULL;
    dmx_status s = dmx_st_open(path, &f);
    if (s == DMX_OK) {
        check_accepted(f, bytes, n, what);
        dmx_st_close(f);
        counts->accepted++;
        return;
    }
    if (s != DMX_ERR_FORMAT)
        fail_msg("%s: got %s (%s), expected DMX_ERR_FORMAT", what, dmx_status_name(s),
                 dmx_last_error());
    if (!strstr(dmx_last_error(), path))
        fail_msg("%s: message \"%s\" does not name the file", what, dmx_last_error());
    assert_null(f);
    counts->rejected++;
}

static void test_every_truncation_is_rejected(void **state)
{
    (void)state;
    size_t n, header_end;
    unsigned char *bytes = make_valid_file(&n, &header_end);
    trial_counts counts = {0, 0};
    char what[64];
    for (size_t len = 0; len < n; len++) {
        snprintf(what, sizeof what, "truncated to %zu of %zu bytes", len, n);
        trial(bytes, len, what, &counts);
    }
    /* The format fixes the file size exactly, so no proper prefix is a valid file. */
    assert_int_equal(counts.accepted, 0);
    assert_int_equal(counts.rejected, (int)n);
    trial(bytes, n, "the whole file", &counts);
    assert_int_equal(counts.accepted, 1);
    free(bytes);
}

static void test_header_byte_flips(void **state)
{
    (void)state;
    size_t n, header_end;
    unsigned char *bytes = make_valid_file(&n, &header_end);
    unsigned char *mutated = malloc(n);
    static const unsigned char xors[] = {0x01, 0x02, 0x08, 0x20, 0x40, 0x80, 0xff};
    static const unsigned char sets[] = {'"', '\\', '{', '}', '[', ']', ',', ':', '0', '9', ' ', 0};
    trial_counts counts = {0, 0};
    char what[96];
    for (size_t pos = 0; pos < header_end; pos++) {
        for (size_t k = 0; k < sizeof xors + sizeof sets; k++) {
            memcpy(mutated, bytes, n);
            mutated[pos] = k < sizeof xors ? bytes[pos] ^ xors[k] : sets[k - sizeof xors];
            if (mutated[pos] == bytes[pos])
                continue;
            snprintf(what, sizeof what, "byte %zu: 0x%02x -> 0x%02x", pos, bytes[pos],
                     mutated[pos]);
            trial(mutated, n, what, &counts);
        }
    }
    print_message("byte flips: %d rejected, %d accepted (e.g. changes inside names)\n",
                  counts.rejected, counts.accepted);
    assert_true(counts.rejected > counts.accepted);
    free(mutated);
    free(bytes);
}

static void test_random_header_mutations(void **state)
{
    (void)state;
    size_t n, header_end;
    unsigned char *bytes = make_valid_file(&n, &header_end);
    unsigned char *mutated = malloc(n);
    dmx_test_rng rng = {2024};
    trial_counts counts = {0, 0};
    char what[64];
    for (int round = 0; round < 3000; round++) {
        memcpy(mutated, bytes, n);
        int changes = 1 + (int)(dmx_test_next(&rng) % 4);
        for (int c = 0; c < changes; c++)
            mutated[dmx_test_next(&rng) % header_end] = (unsigned char)dmx_test_next(&rng);
        /* Also cut or keep the tail, so sizes disagree with the header in both directions. */
        size_t len = dmx_test_next(&rng) % 4 == 0 ? n - 1 - dmx_test_next(&rng) % 8 : n;
        snprintf(what, sizeof what, "random mutation round %d", round);
        trial(mutated, len, what, &counts);
    }
    print_message("random mutations: %d rejected, %d accepted\n", counts.rejected,
                  counts.accepted);
    assert_int_equal(counts.accepted + counts.rejected, 3000);
    free(mutated);
    free(bytes);
}

int main(void)
{
#define SCRATCH_TEST(f) cmocka_unit_test_teardown(f, remove_scratch)
    const struct CMUnitTest tests[] = {
        SCRATCH_TEST(test_every_truncation_is_rejected),
        SCRATCH_TEST(test_header_byte_flips),
        SCRATCH_TEST(test_random_header_mutations),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
