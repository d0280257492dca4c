/* ListOps: generated examples against an independent evaluator of the serialised text, the
 * generator's bounds and determinism, TSV round trips, the release format, and every bad input. */
#include <stdbool.h>

#include "lra_test_util.h"

/* ---- an evaluator of LRA's printed trees, written from Python's to_string / to_value ----
 * A tree prints as a digit, or as a pair "( A B )". A pair whose left side is an operator
 * starts a call with one argument; a pair with a call and a value adds an argument; a pair
 * with a call and "]" finishes it. */

enum { ITEM_VALUE, ITEM_OPERATOR, ITEM_END, ITEM_CALL };

typedef struct item {
    int kind;
    int value;     /* ITEM_VALUE */
    char op[16];   /* ITEM_OPERATOR, ITEM_CALL */
    int args[64];  /* ITEM_CALL */
    int n_args;
    int height;    /* levels of the subtree: 1 for a value */
} item;

typedef struct parser {
    const char *text;
    size_t pos;
    int tokens;      /* tokens other than parentheses: LRA's length */
    int max_args;    /* the most arguments seen in one call */
    char error[128];
} parser;

static bool next_word(parser *p, char *word, size_t cap)
{
    if (p->text[p->pos] == '\0')
        return false;
    size_t n = 0;
    while (p->text[p->pos] && p->text[p->pos] != ' ' && n + 1 < cap)
        word[n++] = p->text[p->pos++];
    word[n] = '\0';
    if (p->text[p->pos] == ' ')
        p->pos++; /* exactly one space between words (checked by the caller) */
    return true;
}

static int finish_call(const item *call)
{
    int v[64], n = call->n_args;
    memcpy(v, call->args, sizeof v);
    if (strcmp(call->op, "[MIN") == 0 || strcmp(call->op, "[MAX") == 0) {
        int best = v[0];
        for (int i = 1; i < n; i++)
            best = call->op[2] == 'I' ? (v[i] < best ? v[i] : best) : (v[i] > best ? v[i] : best);
        return best;
    }
    if (strcmp(call->op, "[SM") == 0) {
        int sum = 0;
        for (int i = 0; i < n; i++)
            sum += v[i];
        return sum % 10;
    }
    /* [MED: numpy's median of the sorted values, then int() */
    for (int i = 0; i < n; i++)
        for (int j = i + 1; j < n; j++)
            if (v[j] < v[i]) {
                int t = v[i];
                v[i] = v[j];
                v[j] = t;
            }
    double median = n % 2 ? v[n / 2] : 0.5 * (v[n / 2 - 1] + v[n / 2]);
    return (int)median;
}

static bool parse_item(parser *p, item *out);

static bool combine(parser *p, const item *left, const item *right, item *out)
{
    if (left->kind == ITEM_OPERATOR && right->kind == ITEM_VALUE) {
        *out = *left;
        out->kind = ITEM_CALL;
        out->args[0] = right->value;
        out->n_args = 1;
        out->height = 1 + right->height;
    } else if (left->kind == ITEM_CALL && right->kind == ITEM_VALUE && left->n_args < 64) {
        *out = *left;
        out->args[out->n_args++] = right->value;
        out->height = left->height > 1 + right->height ? left->height : 1 + right->height;
    } else if (left->kind == ITEM_CALL && right->kind == ITEM_END) {
        out->kind = ITEM_VALUE;
        out->value = finish_call(left);
        out->height = left->height;
        p->max_args = left->n_args > p->max_args ? left->n_args : p->max_args;
        if (left->n_args < 2)
            snprintf(p->error, sizeof p->error, "a call with %d argument", left->n_args);
        return left->n_args >= 2;
    } else {
        snprintf(p->error, sizeof p->error, "pair of kinds %d and %d at byte %zu", left->kind,
                 right->kind, p->pos);
        return false;
    }
    return true;
}

static bool parse_item(parser *p, item *out)
{
    char word[16];
    if (!next_word(p, word, sizeof word)) {
        snprintf(p->error, sizeof p->error, "text ends early");
        return false;
    }
    memset(out, 0, sizeof *out);
    if (strcmp(word, "(") == 0) {
        item *left = malloc(sizeof *left), *right = malloc(sizeof *right);
        char close[16];
        bool ok = parse_item(p, left) && parse_item(p, right) && combine(p, left, right, out) &&
                  next_word(p, close, sizeof close) && strcmp(close, ")") == 0;
        if (!ok && !p->error[0])
            snprintf(p->error, sizeof p->error, "missing ')' at byte %zu", p->pos);
        free(left);
        free(right);
        return ok;
    }
    p->tokens++;
    if (strcmp(word, "]") == 0) {
        out->kind = ITEM_END;
    } else if (word[0] >= '0' && word[0] <= '9' && word[1] == '\0') {
        out->kind = ITEM_VALUE;
        out->value = word[0] - '0';
        out->height = 1;
    } else if (!strcmp(word, "[MIN") || !strcmp(word, "[MAX") || !strcmp(word, "[MED") ||
               !strcmp(word, "[SM")) {
        out->kind = ITEM_OPERATOR;
        snprintf(out->op, sizeof out->op, "%s", word);
    } else {
        snprintf(p->error, sizeof p->error, "unexpected word '%s'", word);
        return false;
    }
    return true;
}

typedef struct evaluation {
    int value, tokens, height, max_args;
} evaluation;

/* Evaluates a whole Source; fails the test with the reason if it is not a well-printed tree. */
static evaluation evaluate(const char *text, const char *where)
{
    if (text[0] == ' ' || strstr(text, "  ") || text[strlen(text) - 1] == ' ')
        fail_msg("%s: spacing differs from Python's printing: \"%.80s\"", where, text);
    parser p = {.text = text};
    item top;
    if (!parse_item(&p, &top) || top.kind != ITEM_VALUE || p.text[p.pos] != '\0')
        fail_msg("%s: not a printed ListOps tree (%s): \"%.80s\"", where,
                 p.error[0] ? p.error : "trailing text", text);
    return (evaluation){top.value, p.tokens, top.height, p.max_args};
}

/* ---- generated examples ---- */

static dmx_listops_config small_config(uint64_t seed)
{
    dmx_listops_config cfg;
    dmx_listops_config_default(&cfg);
    cfg.min_length = 20;
    cfg.max_length = 300;
    cfg.num_train = 400;
    cfg.num_val = 50;
    cfg.num_test = 50;
    cfg.seed = seed;
    return cfg;
}

static int compare_strings(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

static void test_generated_examples_are_right_and_distinct(void **state)
{
    (void)state;
    dmx_listops_config cfg = small_config(11);
    dmx_listops_generator *gen = NULL;
    DMX_ASSERT_OK(dmx_listops_generator_create(&cfg, &gen));
    enum { N = 500 };
    char *texts[N];
    int targets[10] = {0}, height_max = 0, args_max = 0;
    for (int i = 0; i < N; i++) {
        dmx_listops_example ex;
        DMX_ASSERT_OK(dmx_listops_generator_next(gen, &ex));
        char where[32];
        snprintf(where, sizeof where, "example %d", i);
        evaluation e = evaluate(ex.source, where);
        if (e.value != ex.target || e.tokens != ex.length)
            fail_msg("example %d: target %d, evaluates to %d; length %d, counted %d: %.80s", i,
                     ex.target, e.value, ex.length, e.tokens, ex.source);
        if (!(ex.length > cfg.min_length && ex.length < cfg.max_length))
            fail_msg("example %d: length %d outside (%d, %d)", i, ex.length, cfg.min_length,
                     cfg.max_length);
        assert_int_equal(strlen(ex.source), ex.source_len);
        targets[ex.target]++;
        height_max = e.height > height_max ? e.height : height_max;
        args_max = e.max_args > args_max ? e.max_args : args_max;
        texts[i] = strdup(ex.source);
    }
    dmx_listops_generator_destroy(gen);
    /* Depth and argument limits hold and are reached (500 trees make both near certain). */
    assert_int_equal(height_max, cfg.max_depth);
    assert_int_equal(args_max, cfg.max_args);
    for (int d = 0; d < 10; d++)
        if (targets[d] == 0)
            fail_msg("no example has target %d in %d", d, N);
    qsort(texts, N, sizeof texts[0], compare_strings);
    for (int i = 1; i < N; i++)
        if (strcmp(texts[i - 1], texts[i]) == 0)
            fail_msg("duplicate example: %.80s", texts[i]);
    for (int i = 0; i < N; i++)
        free(texts[i]);
}

static void first_texts(uint64_t seed, int n, char **out)
{
    dmx_listops_config cfg = small_config(seed);
    dmx_listops_generator *gen = NULL;
    DMX_ASSERT_OK(dmx_listops_generator_create(&cfg, &gen));
    for (int i = 0; i < n; i++) {
        dmx_listops_example ex;
        DMX_ASSERT_OK(dmx_listops_generator_next(gen, &ex));
        out[i] = strdup(ex.source);
    }
    dmx_listops_generator_destroy(gen);
}

static void test_generator_is_deterministic_for_a_seed(void **state)
{
    (void)state;
    char *a[50], *b[50], *c[50];
    first_texts(5, 50, a);
    first_texts(5, 50, b);
    first_texts(6, 50, c);
    int same_as_other_seed = 0;
    for (int i = 0; i < 50; i++) {
        if (strcmp(a[i], b[i]) != 0)
            fail_msg("seed 5, example %d differs between runs", i);
        same_as_other_seed += strcmp(a[i], c[i]) == 0;
        free(a[i]), free(b[i]), free(c[i]);
    }
    assert_int_equal(same_as_other_seed, 0);
}

/* The published defaults: a handful of full-size trees still meet every rule. */
static void test_default_lengths(void **state)
{
    (void)state;
    dmx_listops_config cfg;
    dmx_listops_config_default(&cfg);
    assert_int_equal(cfg.min_length, 500);
    assert_int_equal(cfg.max_length, 2000);
    assert_int_equal(cfg.num_train + cfg.num_val + cfg.num_test, 100000);
    dmx_listops_generator *gen = NULL;
    DMX_ASSERT_OK(dmx_listops_generator_create(&cfg, &gen));
    for (int i = 0; i < 20; i++) {
        dmx_listops_example ex;
        DMX_ASSERT_OK(dmx_listops_generator_next(gen, &ex));
        evaluation e = evaluate(ex.source, "default example");
        assert_int_equal(e.value, ex.target);
        assert_true(e.tokens > 500 && e.tokens < 2000 && e.tokens == ex.length);
    }
    dmx_listops_generator_destroy(gen);
}

/* ---- files ---- */

static void test_splits_round_trip(void **state)
{
    (void)state;
    char dir[512], path[600];
    lra_make_temp_dir(dir, sizeof dir, "listops");
    dmx_listops_config cfg = small_config(21);
    cfg.num_train = 60, cfg.num_val = 7, cfg.num_test = 9;
    DMX_ASSERT_OK(dmx_listops_write_splits(&cfg, dir, NULL, NULL));

    dmx_listops_generator *gen = NULL;
    DMX_ASSERT_OK(dmx_listops_generator_create(&cfg, &gen));
    const char *names[3] = {"basic_train.tsv", "basic_val.tsv", "basic_test.tsv"};
    int64_t counts[3] = {60, 7, 9};
    const int seq_len = cfg.max_length;
    int32_t *ids = malloc(sizeof(int32_t) * seq_len), *want = malloc(sizeof(int32_t) * seq_len);
    float *mask = malloc(sizeof(float) * seq_len);
    for (int s = 0; s < 3; s++) {
        snprintf(path, sizeof path, "%s/%s", dir, names[s]);
        char *text = lra_read_file(path, NULL);
        assert_memory_equal(text, "Source\tTarget\r\n", 15);
        free(text);
        dmx_lra_tokens set;
        DMX_ASSERT_OK(dmx_listops_load(path, seq_len, &set));
        assert_int_equal(set.count, counts[s]);
        assert_int_equal(set.vocab_size, 18);
        assert_int_equal(set.num_classes, 10);
        for (int64_t i = 0; i < set.count; i++) {
            dmx_listops_example ex;
            DMX_ASSERT_OK(dmx_listops_generator_next(gen, &ex));
            int n = 0;
            DMX_ASSERT_OK(dmx_listops_encode(ex.source, ex.source_len, seq_len, want, NULL, &n));
            int32_t label = -1;
            DMX_ASSERT_OK(dmx_lra_tokens_batch(&set, &i, 1, ids, mask, &label));
            if (label != ex.target || n != set.lengths[i] || n != ex.length)
                fail_msg("%s row %lld: target %d read %d; length %d read %d", names[s],
                         (long long)i, ex.target, label, n, set.lengths[i]);
            for (int k = 0; k < seq_len; k++)
                if (ids[k] != want[k] || mask[k] != (k < n ? 1.0f : 0.0f))
                    fail_msg("%s row %lld token %d: id %d want %d, mask %g", names[s],
                             (long long)i, k, ids[k], want[k], mask[k]);
        }
        dmx_lra_tokens_free(&set);
        snprintf(path, sizeof path, "%s/%s.part", dir, names[s]);
        assert_int_equal(access(path, F_OK), -1); /* no partial file left */
    }
    dmx_listops_generator_destroy(gen);
    free(ids), free(want), free(mask);
    lra_remove_tree(dir);
}

/* The LRA release's format, written by hand: CRLF line ends, MED of an even count, nesting. */
static void test_handwritten_release_sample(void **state)
{
    (void)state;
    const char *path = DIMIX_SOURCE_DIR "/tests/data/lra/listops_sample.tsv";
    dmx_lra_tokens set;
    DMX_ASSERT_OK(dmx_listops_load(path, 24, &set));
    assert_int_equal(set.count, 7);
    const int targets[7] = {9, 1, 2, 7, 5, 3, 7};
    for (int i = 0; i < 7; i++)
        assert_int_equal(set.labels[i], targets[i]);
    /* "( ( ( [MAX 2 ) 9 ) ] )" is [MAX 2 9 X: ids 2, 10, 17, 7, then padding. */
    int32_t ids[24];
    float mask[24];
    int64_t first = 0;
    DMX_ASSERT_OK(dmx_lra_tokens_batch(&set, &first, 1, ids, mask, NULL));
    const int32_t want[5] = {DMX_LISTOPS_MAX, DMX_LISTOPS_DIGIT0 + 2, DMX_LISTOPS_DIGIT0 + 9,
                             DMX_LISTOPS_END, DMX_LISTOPS_PAD};
    for (int k = 0; k < 24; k++) {
        assert_int_equal(ids[k], want[k < 4 ? k : 4]);
        assert_true(mask[k] == (k < 4 ? 1.0f : 0.0f));
    }
    assert_int_equal(set.lengths[4], 8); /* [MIN [MAX 4 6 X 5 7 X */
    dmx_lra_tokens_free(&set);
    /* The test's evaluator agrees with the hand-computed targets. */
    size_t size = 0;
    char *text = lra_read_file(path, &size);
    char *save = NULL;
    int row = 0;
    for (char *line = strtok_r(text, "\r\n", &save); line; line = strtok_r(NULL, "\r\n", &save)) {
        char *tab = strchr(line, '\t');
        if (row++ == 0 || !tab)
            continue;
        *tab = '\0';
        assert_int_equal(evaluate(line, "sample").value, atoi(tab + 1));
    }
    free(text);
}

/* Written by a Python transcription of LRA's generator (tests/data/lra/make_fixtures.py). */
static void test_python_reference_file(void **state)
{
    (void)state;
    const char *path = DIMIX_SOURCE_DIR "/tests/data/lra/listops_reference.tsv";
    size_t size = 0;
    char *text = lra_read_file(path, &size);
    char *save = NULL;
    int rows = 0;
    for (char *line = strtok_r(text, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
        size_t n = strlen(line);
        assert_true(n > 0 && line[n - 1] == '\r'); /* csv.writer ends lines with CRLF */
        line[n - 1] = '\0';
        char *tab = strchr(line, '\t');
        assert_non_null(tab);
        if (rows++ == 0)
            continue;
        *tab = '\0';
        evaluation e = evaluate(line, "python reference");
        if (e.value != atoi(tab + 1))
            fail_msg("python reference row %d: Target %s, evaluates to %d", rows, tab + 1,
                     e.value);
    }
    free(text);
    dmx_lra_tokens set;
    DMX_ASSERT_OK(dmx_listops_load(path, 80, &set));
    assert_int_equal(set.count, rows - 1);
    assert_int_equal(set.count, 40);
    dmx_lra_tokens_free(&set);
}

/* ---- errors name the file and line ---- */

static void expect_load_error(const char *dir, const char *name, const char *content,
                              int seq_len, const char *where, const char *what)
{
    char path[600], needle[700];
    snprintf(path, sizeof path, "%s/%s", dir, name);
    lra_write_text(path, content);
    dmx_lra_tokens set = {0};
    snprintf(needle, sizeof needle, "%s:%s", path, where);
    dmx_status s = dmx_listops_load(path, seq_len, &set);
    if (s == DMX_OK)
        fail_msg("%s loaded; expected an error about %s", name, what);
    const char *msg = dmx_last_error();
    if (!strstr(msg, needle) || !strstr(msg, what))
        fail_msg("%s: message \"%s\" lacks \"%s\" or \"%s\"", name, msg, needle, what);
    assert_null(set.symbols);
}

static void test_bad_inputs_name_file_and_line(void **state)
{
    (void)state;
    char dir[512];
    lra_make_temp_dir(dir, sizeof dir, "listops-bad");
    const char *ok = "( ( ( [MAX 2 ) 9 ) ] )\t9\n";
    char text[512];
    expect_load_error(dir, "header.tsv", "Source Target\n( ( ( [MAX 2 ) 9 ) ] )\t9\n", 16, "1:",
                      "expected the header");
    snprintf(text, sizeof text, "Source\tTarget\n%s( ( ( [MAX 2 ) 9 ) ] ) 9\n", ok);
    expect_load_error(dir, "tab.tsv", text, 16, "3:", "no tab");
    snprintf(text, sizeof text, "Source\tTarget\n%s%s( ( ( [MAX 2 ) [FOO ) ] )\t9\n", ok, ok);
    expect_load_error(dir, "token.tsv", text, 16, "4:", "unknown token '[FOO'");
    snprintf(text, sizeof text, "Source\tTarget\n%s( ( ( [MAX 2 ) 9 ) ] )\t12\n", ok);
    expect_load_error(dir, "target.tsv", text, 16, "3:", "Target '12' is not a digit 0..9");
    snprintf(text, sizeof text, "Source\tTarget\r\n( ( ( [MAX 2 ) 9 ) ] )\tx\r\n");
    expect_load_error(dir, "target2.tsv", text, 16, "2:", "Target 'x'");
    snprintf(text, sizeof text, "Source\tTarget\n%s%s%s", ok, ok, ok);
    expect_load_error(dir, "long.tsv", text, 3, "2:", "more than 3 tokens");
    snprintf(text, sizeof text, "Source\tTarget\n%s\t5\n", ok);
    expect_load_error(dir, "empty_source.tsv", text, 16, "3:", "no tokens");
    snprintf(text, sizeof text, "Source\tTarget\n%s\n%s", ok, ok);
    expect_load_error(dir, "blank.tsv", text, 16, "3:", "empty line");
    snprintf(text, sizeof text, "Source\tTarget\n%s( ( ( [MAX 2 ) 9 ) ] )\t9\t1\n", ok);
    expect_load_error(dir, "tabs.tsv", text, 16, "3:", "more than one tab");

    char path[600];
    snprintf(path, sizeof path, "%s/empty.tsv", dir);
    lra_write_text(path, "");
    dmx_lra_tokens set;
    DMX_ASSERT_FAILS(dmx_listops_load(path, 16, &set), DMX_ERR_FORMAT, "empty file");
    snprintf(path, sizeof path, "%s/missing.tsv", dir);
    DMX_ASSERT_FAILS(dmx_listops_load(path, 16, &set), DMX_ERR_NOT_FOUND, "missing.tsv");
    lra_remove_tree(dir);
}

static void test_encode_and_batch_errors(void **state)
{
    (void)state;
    int32_t ids[8];
    float mask[8];
    int n = 0;
    /* LRA deletes parentheses anywhere and reads "]" as X. */
    DMX_ASSERT_OK(dmx_listops_encode("([SM 1) 2) ])", 13, 8, ids, mask, &n));
    assert_int_equal(n, 4);
    assert_int_equal(ids[0], DMX_LISTOPS_SM);
    assert_int_equal(ids[3], DMX_LISTOPS_END);
    assert_int_equal(ids[4], 0);
    /* FIRST and LAST are in the vocabulary though never generated. */
    DMX_ASSERT_OK(dmx_listops_encode("[FIRST 1 X", 10, 8, ids, NULL, &n));
    assert_int_equal(ids[0], DMX_LISTOPS_FIRST);
    assert_string_equal(dmx_listops_token_name(DMX_LISTOPS_LAST), "[LAST");
    assert_int_equal(dmx_listops_token_id("X", 1), DMX_LISTOPS_END);
    DMX_ASSERT_FAILS(dmx_listops_encode("[MAX 1 Y", 8, 8, ids, NULL, &n), DMX_ERR_FORMAT,
                     "unknown token 'Y' (token 3");
    DMX_ASSERT_FAILS(dmx_listops_encode(" ( ) ", 5, 8, ids, NULL, &n), DMX_ERR_FORMAT, "no tokens");

    dmx_lra_tokens set = {.count = 2, .seq_len = 2, .vocab_size = 18, .id_offset = 0};
    uint8_t symbols[4] = {8, 0, 9, 10}, labels[2] = {0, 1};
    int32_t lengths[2] = {1, 2};
    set.symbols = symbols, set.labels = labels, set.lengths = lengths;
    int64_t rows[2] = {1, 0};
    int32_t got_labels[2];
    DMX_ASSERT_OK(dmx_lra_tokens_batch(&set, rows, 2, ids, mask, got_labels));
    assert_int_equal(ids[0], 9), assert_int_equal(ids[1], 10), assert_int_equal(ids[2], 8);
    assert_int_equal(ids[3], 0), assert_true(mask[3] == 0.0f && mask[2] == 1.0f);
    assert_int_equal(got_labels[0], 1);
    rows[1] = 2;
    DMX_ASSERT_FAILS(dmx_lra_tokens_batch(&set, rows, 2, ids, mask, NULL), DMX_ERR_INVALID_ARG,
                     "index 2 (batch row 1) outside the 2 examples");
}

static void test_config_errors(void **state)
{
    (void)state;
    dmx_listops_generator *gen = NULL;
    dmx_listops_config cfg = small_config(1);
    cfg.max_length = cfg.min_length + 1;
    DMX_ASSERT_FAILS(dmx_listops_generator_create(&cfg, &gen), DMX_ERR_INVALID_ARG,
                     "min_length 20, max_length 21");
    cfg = small_config(1);
    cfg.max_depth = 2;
    DMX_ASSERT_FAILS(dmx_listops_generator_create(&cfg, &gen), DMX_ERR_INVALID_ARG,
                     "no tree is longer than min_length 20");
    cfg = small_config(1);
    cfg.max_args = 1;
    DMX_ASSERT_FAILS(dmx_listops_generator_create(&cfg, &gen), DMX_ERR_INVALID_ARG, "max_args 1");
    /* Length 4 holds only "[OP a b X": 4 x 100 trees. Asking for more must end in an error. */
    cfg = small_config(1);
    cfg.min_length = 3;
    cfg.max_length = 5;
    DMX_ASSERT_OK(dmx_listops_generator_create(&cfg, &gen));
    dmx_listops_example ex;
    dmx_status s = DMX_OK;
    int made = 0;
    while (s == DMX_OK && made <= 400)
        if ((s = dmx_listops_generator_next(gen, &ex)) == DMX_OK)
            made++;
    assert_int_equal(made, 400);
    DMX_ASSERT_FAILS(s, DMX_ERR_INVALID_ARG, "admit too few distinct trees");
    dmx_listops_generator_destroy(gen);
    char dir[512];
    lra_make_temp_dir(dir, sizeof dir, "listops-cfg");
    char file[600];
    snprintf(file, sizeof file, "%s/file", dir);
    lra_write_text(file, "x");
    cfg = small_config(1);
    DMX_ASSERT_FAILS(dmx_listops_write_splits(&cfg, file, NULL, NULL), DMX_ERR_IO,
                     "exists and is not a directory");
    lra_remove_tree(dir);
}

static int stop_at_200(void *user, int64_t done, int64_t total)
{
    (void)total;
    *(int64_t *)user = done;
    return done >= 200;
}

static void test_progress_and_interruption(void **state)
{
    (void)state;
    char dir[512], path[600];
    lra_make_temp_dir(dir, sizeof dir, "listops-stop");
    dmx_listops_config cfg = small_config(2);
    cfg.num_train = 5000;
    int64_t seen = 0;
    /* Progress is reported every 1000 examples; stopping there fails cleanly. */
    DMX_ASSERT_FAILS(dmx_listops_write_splits(&cfg, dir, stop_at_200, &seen),
                     DMX_ERR_INTERRUPTED, "stopped after 1000 of 5100");
    assert_int_equal(seen, 1000);
    snprintf(path, sizeof path, "%s/basic_train.tsv", dir);
    assert_int_equal(access(path, F_OK), -1);
    snprintf(path, sizeof path, "%s/basic_train.tsv.part", dir);
    assert_int_equal(access(path, F_OK), -1);
    lra_remove_tree(dir);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_generated_examples_are_right_and_distinct),
        cmocka_unit_test(test_generator_is_deterministic_for_a_seed),
        cmocka_unit_test(test_default_lengths),
        cmocka_unit_test(test_splits_round_trip),
        cmocka_unit_test(test_handwritten_release_sample),
        cmocka_unit_test(test_python_reference_file),
        cmocka_unit_test(test_bad_inputs_name_file_and_line),
        cmocka_unit_test(test_encode_and_batch_errors),
        cmocka_unit_test(test_config_errors),
        cmocka_unit_test(test_progress_and_interruption),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
