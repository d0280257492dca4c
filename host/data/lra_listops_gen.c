/* The ListOps generator of LRA (lra_benchmarks/data/listops.py), step for step:
 *
 *   gen(depth): r = depth < max_depth ? uniform[0,1) : 1
 *               r > 0.25 -> a value 0..9 (length 1)
 *               else n = randint(2, max_args) arguments gen(depth + 1), drawn before the
 *               operator, which is a uniform choice of MIN, MAX, MED, SM (length 2 + sum)
 *   keep the tree when min_length < length < max_length and its text is new.
 *
 * Our own generator (splitmix64) replaces Python's, so the trees are the same in distribution,
 * not bit for bit. A tree is abandoned as soon as it reaches max_length tokens: it would be
 * rejected anyway, and trees are independent draws, so this changes no accepted tree's odds. */
#include <stdlib.h>
#include <string.h>

#include "core/error.h"
#include "data/lra_fingerprint.h"
#include "data/lra_internal.h"
#include "data/lra_rng.h"

#define VALUE_P 0.25 /* an operator is drawn when r <= VALUE_P */
#define MAX_DEPTH_LIMIT 64
#define MAX_ARGS_LIMIT 64
#define MAX_LENGTH_LIMIT (1 << 24)
/* Trees drawn in a row without a new example before we call the bounds unsatisfiable. With the
 * defaults about one tree in twelve is kept, so this only trips on bounds that admit too few
 * distinct trees. */
#define MAX_FRUITLESS_TREES 10000000

struct dmx_listops_generator {
    dmx_listops_config cfg;
    dmx_lra_rng rng;
    /* The tree being drawn, in preorder: a value or operator token id, and the number of
     * arguments (0 for a value). */
    uint8_t *symbol;
    uint8_t *n_args;
    int n_nodes;
    int length; /* tokens so far: values, operators and "]" */
    char *text;
    size_t text_len, text_cap;
    dmx_fingerprint_set seen;
};

void dmx_listops_config_default(dmx_listops_config *cfg)
{
    *cfg = (dmx_listops_config){
        .max_depth = 10,
        .max_args = 10,
        .min_length = 500,
        .max_length = 2000,
        .num_train = 96000,
        .num_val = 2000,
        .num_test = 2000,
        .seed = 0,
    };
}

/* The longest tree the depth and argument limits allow, saturating at MAX_LENGTH_LIMIT. */
static int64_t longest_tree(const dmx_listops_config *cfg, int depth)
{
    if (depth >= cfg->max_depth)
        return 1;
    int64_t n = 2 + cfg->max_args * longest_tree(cfg, depth + 1);
    return n > MAX_LENGTH_LIMIT ? MAX_LENGTH_LIMIT : n;
}

static dmx_status check_config(const dmx_listops_config *c)
{
    if (c->max_depth < 1 || c->max_depth > MAX_DEPTH_LIMIT)
        return dmx_fail(DMX_ERR_INVALID_ARG, "listops: max_depth %d is outside 1..%d",
                        c->max_depth, MAX_DEPTH_LIMIT);
    if (c->max_args < 2 || c->max_args > MAX_ARGS_LIMIT)
        return dmx_fail(DMX_ERR_INVALID_ARG, "listops: max_args %d is outside 2..%d", c->max_args,
                        MAX_ARGS_LIMIT);
    if (c->min_length < 0 || c->max_length > MAX_LENGTH_LIMIT || c->max_length < c->min_length + 2)
        return dmx_fail(DMX_ERR_INVALID_ARG,
                        "listops: lengths must satisfy 0 <= min_length < length < max_length <= "
                        "%d with room for one length; got min_length %d, max_length %d",
                        MAX_LENGTH_LIMIT, c->min_length, c->max_length);
    if (longest_tree(c, 1) <= c->min_length)
        return dmx_fail(DMX_ERR_INVALID_ARG,
                        "listops: no tree is longer than min_length %d with max_depth %d and "
                        "max_args %d (the longest has %lld tokens)",
                        c->min_length, c->max_depth, c->max_args,
                        (long long)longest_tree(c, 1));
    if (c->num_train < 0 || c->num_val < 0 || c->num_test < 0)
        return dmx_fail(DMX_ERR_INVALID_ARG, "listops: negative split size (%lld, %lld, %lld)",
                        (long long)c->num_train, (long long)c->num_val, (long long)c->num_test);
    return DMX_OK;
}

dmx_status dmx_listops_generator_create(const dmx_listops_config *cfg, dmx_listops_generator **out)
{
    if (!cfg || !out)
        return dmx_fail(DMX_ERR_INVALID_ARG, "dmx_listops_generator_create: NULL argument");
    *out = NULL;
    DMX_TRY(check_config(cfg));
    dmx_listops_generator *g = calloc(1, sizeof *g);
    if (!g)
        return dmx_fail(DMX_ERR_OUT_OF_MEMORY, "listops generator");
    g->cfg = *cfg;
    g->rng = dmx_lra_rng_stream(cfg->seed, 0);
    /* Every node adds at least one token and drawing stops at max_length tokens. */
    size_t nodes = (size_t)cfg->max_length + 1;
    g->symbol = malloc(nodes);
    g->n_args = malloc(nodes);
    /* Text per node: at most 5 bytes as an argument (" ", "( ", " )") plus 10 as an operator
     * ("( ", "[MIN", " ] )"), or 1 as a value. */
    g->text_cap = 16 * nodes + 1;
    g->text = malloc(g->text_cap);
    if (!g->symbol || !g->n_args || !g->text) {
        dmx_listops_generator_destroy(g);
        return dmx_fail(DMX_ERR_OUT_OF_MEMORY, "listops generator: buffers for %d-token trees",
                        cfg->max_length);
    }
    *out = g;
    return DMX_OK;
}

void dmx_listops_generator_destroy(dmx_listops_generator *g)
{
    if (!g)
        return;
    free(g->symbol);
    free(g->n_args);
    free(g->text);
    dmx_fingerprint_set_free(&g->seen);
    free(g);
}

/* Draws the subtree at `depth`; returns 0 once the tree has max_length tokens (abandoned). */
static int draw_node(dmx_listops_generator *g, int depth)
{
    double r = depth < g->cfg.max_depth ? dmx_lra_rng_uniform(&g->rng) : 1.0;
    int node = g->n_nodes++;
    if (r > VALUE_P) {
        g->symbol[node] = (uint8_t)(DMX_LISTOPS_DIGIT0 + dmx_lra_rng_int(&g->rng, 0, 9));
        g->n_args[node] = 0;
        g->length += 1;
        return g->length < g->cfg.max_length;
    }
    int n = dmx_lra_rng_int(&g->rng, 2, g->cfg.max_args);
    g->length += 2;
    if (g->length >= g->cfg.max_length)
        return 0;
    for (int k = 0; k < n; k++)
        if (!draw_node(g, depth + 1))
            return 0;
    g->symbol[node] = (uint8_t)(DMX_LISTOPS_MIN + dmx_lra_rng_int(&g->rng, 0,
                                                                  DMX_LISTOPS_NUM_GEN_OPS - 1));
    g->n_args[node] = (uint8_t)n;
    return 1;
}

static void put(dmx_listops_generator *g, const char *s)
{
    size_t n = strlen(s);
    memcpy(g->text + g->text_len, s, n);
    g->text_len += n;
}

static int median_of(int *v, int n)
{
    for (int i = 1; i < n; i++) /* insertion sort: n <= MAX_ARGS_LIMIT */
        for (int j = i; j > 0 && v[j - 1] > v[j]; j--) {
            int t = v[j];
            v[j] = v[j - 1];
            v[j - 1] = t;
        }
    /* int(np.median(v)): the mean of the two middle values, truncated, for an even count. */
    return n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}

static int apply_op(int op, int *v, int n)
{
    int r = v[0], sum = 0;
    switch (op) {
    case DMX_LISTOPS_MIN:
        for (int i = 1; i < n; i++)
            r = v[i] < r ? v[i] : r;
        return r;
    case DMX_LISTOPS_MAX:
        for (int i = 1; i < n; i++)
            r = v[i] > r ? v[i] : r;
        return r;
    case DMX_LISTOPS_MED:
        return median_of(v, n);
    case DMX_LISTOPS_SM:
        for (int i = 0; i < n; i++)
            sum += v[i];
        return sum % 10;
    case DMX_LISTOPS_FIRST:
        return v[0];
    default: /* DMX_LISTOPS_LAST */
        return v[n - 1];
    }
}

/* Writes the subtree at *pos as LRA's to_string prints it and returns its value. Python nests
 * pairs to the left, t0 = (op, c0), ti = (t(i-1), ci), t = (t(n-1), "]"), and prints a pair as
 * "( A B )"; so an operator with n arguments is "( " x (n+1), op, then " ci )" each, " ] )". */
static int emit_node(dmx_listops_generator *g, int *pos)
{
    int node = (*pos)++;
    int n = g->n_args[node];
    if (n == 0) {
        int digit = g->symbol[node] - DMX_LISTOPS_DIGIT0;
        g->text[g->text_len++] = (char)('0' + digit);
        return digit;
    }
    int values[MAX_ARGS_LIMIT];
    for (int k = 0; k <= n; k++)
        put(g, "( ");
    put(g, dmx_listops_token_name(g->symbol[node]));
    for (int k = 0; k < n; k++) {
        put(g, " ");
        values[k] = emit_node(g, pos);
        put(g, " )");
    }
    put(g, " ] )");
    return apply_op(g->symbol[node], values, n);
}

dmx_status dmx_listops_generator_next(dmx_listops_generator *g, dmx_listops_example *ex)
{
    if (!g || !ex)
        return dmx_fail(DMX_ERR_INVALID_ARG, "dmx_listops_generator_next: NULL argument");
    for (long fruitless = 0; fruitless < MAX_FRUITLESS_TREES; fruitless++) {
        g->n_nodes = 0;
        g->length = 0;
        if (!draw_node(g, 1) || g->length <= g->cfg.min_length)
            continue;
        int pos = 0;
        g->text_len = 0;
        int value = emit_node(g, &pos);
        g->text[g->text_len] = '\0';
        int added = 0;
        DMX_TRY(dmx_fingerprint_set_add(&g->seen, dmx_fingerprint_of(g->text, g->text_len),
                                        &added));
        if (!added)
            continue;
        *ex = (dmx_listops_example){g->text, g->text_len, value, g->length};
        return DMX_OK;
    }
    return dmx_fail(DMX_ERR_INVALID_ARG,
                    "listops: %d trees in a row brought no new example after %zu examples; "
                    "min_length %d, max_length %d, max_depth %d and max_args %d admit too few "
                    "distinct trees",
                    MAX_FRUITLESS_TREES, g->seen.count, g->cfg.min_length, g->cfg.max_length,
                    g->cfg.max_depth, g->cfg.max_args);
}
