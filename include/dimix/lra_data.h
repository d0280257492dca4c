/* Long Range Arena data: ListOps and Pathfinder.
 *
 * No LRA data can be downloaded on the machines dimix is built for, so both tasks are generated
 * here with the published procedures (ListOps: lra_benchmarks/data/listops.py; Pathfinder:
 * drewlinsley/pathfinder snakes2.py with LRA's parameters). The readers take the files these
 * generators write and the files of the LRA release. docs/lra-data.md documents the formats, the
 * token ids and every choice made where the published code could not be followed exactly.
 *
 * Everything is deterministic for a seed. Generators report progress through a callback that may
 * also stop them (DMX_ERR_INTERRUPTED). */
#ifndef DIMIX_LRA_DATA_H
#define DIMIX_LRA_DATA_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "dimix/status.h"

#ifdef __cplusplus
extern "C" {
#endif

/* Called now and then by long operations with the work done so far out of `total`. Return
 * nonzero to stop: the operation then fails with DMX_ERR_INTERRUPTED. */
typedef int (*dmx_lra_progress_fn)(void *user, int64_t done, int64_t total);

/* ---- tokenised examples (both tasks) ---- */

/* A tokenised split, stored compactly: example i has lengths[i] real tokens whose ids are
 * symbols[i * seq_len + k] + id_offset (k < lengths[i]); the remaining positions up to seq_len
 * are padding (id 0). ListOps stores token ids (id_offset 0); Pathfinder stores pixels and uses
 * id = pixel + 1 (id_offset 1), so Pathfinder images are `symbols` as they are. */
typedef struct dmx_lra_tokens {
    int64_t count;     /* examples */
    int seq_len;       /* model length: tokens per example, padding included */
    int vocab_size;    /* ids are 0 .. vocab_size-1; 0 is padding */
    int num_classes;   /* labels are 0 .. num_classes-1 */
    int id_offset;     /* token id = stored symbol + id_offset */
    uint8_t *symbols;  /* [count, seq_len] */
    int32_t *lengths;  /* [count] real tokens per example */
    uint8_t *labels;   /* [count] */
} dmx_lra_tokens;

/* Frees the arrays and zeroes the struct (NULL is fine). */
DMX_API void dmx_lra_tokens_free(dmx_lra_tokens *set);

/* Gathers examples indices[0..n) into model inputs: ids [n, seq_len] (padding 0), mask
 * [n, seq_len] (1 = real token, 0 = padding; may be NULL) and labels [n] (may be NULL). */
DMX_API dmx_status dmx_lra_tokens_batch(const dmx_lra_tokens *set, const int64_t *indices, int n,
                                        int32_t *ids, float *mask, int32_t *labels);

/* ---- ListOps ---- */

/* Token ids. 0 pads; FIRST and LAST exist in LRA's vocabulary though the generator never draws
 * them; X stands for "]"; digits d have id DMX_LISTOPS_DIGIT0 + d. */
enum {
    DMX_LISTOPS_PAD = 0,
    DMX_LISTOPS_MIN = 1,   /* "[MIN" */
    DMX_LISTOPS_MAX = 2,   /* "[MAX" */
    DMX_LISTOPS_MED = 3,   /* "[MED" */
    DMX_LISTOPS_SM = 4,    /* "[SM" (sum mod 10) */
    DMX_LISTOPS_FIRST = 5, /* "[FIRST" */
    DMX_LISTOPS_LAST = 6,  /* "[LAST" */
    DMX_LISTOPS_END = 7,   /* "X", written "]" in the source text */
    DMX_LISTOPS_DIGIT0 = 8,
    DMX_LISTOPS_VOCAB = 18, /* ids 0 .. 17 */
    DMX_LISTOPS_CLASSES = 10,
};

/* The spelling of a token id in tokenised text ("[MIN", "X", "7"); NULL for ids out of range
 * and for padding. */
DMX_API const char *dmx_listops_token_name(int id);

/* The id of one whitespace-free token ("]" and "X" both give DMX_LISTOPS_END); -1 if unknown. */
DMX_API int dmx_listops_token_id(const char *token, size_t len);

typedef struct dmx_listops_config {
    int max_depth;      /* 10; the root is depth 1, nodes at max_depth are values */
    int max_args;       /* 10; an operator has 2..max_args arguments */
    int min_length;     /* 500; a tree is kept when min_length < length < max_length */
    int max_length;     /* 2000; length counts operators, values and "]", not parentheses */
    int64_t num_train;  /* 96000 */
    int64_t num_val;    /* 2000 */
    int64_t num_test;   /* 2000 */
    uint64_t seed;      /* 0 */
} dmx_listops_config;

/* The published defaults (above). */
DMX_API void dmx_listops_config_default(dmx_listops_config *cfg);

/* One generated example. `source` is the text exactly as LRA's to_string prints it, e.g.
 * "( ( ( [MAX 2 ) 9 ) ] )"; it stays valid until the next call on the generator. */
typedef struct dmx_listops_example {
    const char *source;
    size_t source_len;
    int target;  /* the value of the expression, 0..9 */
    int length;  /* tokens after LRA's tokenisation (parentheses dropped) */
} dmx_listops_example;

typedef struct dmx_listops_generator dmx_listops_generator;

DMX_API dmx_status dmx_listops_generator_create(const dmx_listops_config *cfg,
                                                dmx_listops_generator **out);
/* The next distinct accepted tree, in generation order. */
DMX_API dmx_status dmx_listops_generator_next(dmx_listops_generator *gen, dmx_listops_example *ex);
DMX_API void dmx_listops_generator_destroy(dmx_listops_generator *gen);

/* Generates num_train + num_val + num_test distinct examples and writes them, in generation
 * order, to dir/basic_train.tsv, basic_val.tsv and basic_test.tsv (the release's names), creating
 * dir if needed. Files are written under a ".part" name and renamed when complete. */
DMX_API dmx_status dmx_listops_write_splits(const dmx_listops_config *cfg, const char *dir,
                                            dmx_lra_progress_fn progress, void *user);

/* Tokenises one Source text as LRA does ("]" -> X, parentheses dropped, split on whitespace)
 * into ids [seq_len] padded with 0, and mask [seq_len] (1 = real token; may be NULL). Fails on
 * an unknown token, an empty text, or more than seq_len tokens. */
DMX_API dmx_status dmx_listops_encode(const char *source, size_t len, int seq_len, int32_t *ids,
                                      float *mask, int *n_tokens);

/* Reads an LRA ListOps TSV (header "Source\tTarget", then one "source\tdigit" per line, "\n" or
 * "\r\n" line ends) and tokenises every example to seq_len. Errors name the file and line. */
DMX_API dmx_status dmx_listops_load(const char *path, int seq_len, dmx_lra_tokens *out);

/* ---- Pathfinder ---- */

#define DMX_PATHFINDER_MAX_MARGINS 4

/* The generator's parameters, named after snakes2.py. dmx_pathfinder_config_default fills the
 * values LRA used for each resolution. */
typedef struct dmx_pathfinder_config {
    int resolution;          /* image side: 32, 64, 128 (any 16..512 works if the snakes fit) */
    int contour_length;      /* paddles per target snake: 14 (LRA's hard split), 9, 6 */
    int distractor_length;   /* paddles per distractor snake: contour_length / 3 */
    int num_distractors;     /* distractor snakes: 20, 22, 35 (by resolution) / distractor_length */
    int paddle_length;       /* 2 */
    float paddle_thickness;  /* 0.5, 1, 1.5 */
    int margins[DMX_PATHFINDER_MAX_MARGINS]; /* paddle_margin_list: [1], [1], [2, 3] */
    int num_margins;
    int padding;             /* a border kept free: 1 */
    int seed_distance;       /* distance between the two target snakes' first tails: 7, 12, 20 */
    float marker_radius;     /* 1.5, 2.5, 3 */
    float continuity;        /* curvature penalty: 1.0, 1.8, 1.8 */
    float contrast;          /* stroke intensity factor (clipped at 1): 2 (thin lines), 0.8, 0.9 */
    int antialias_scale;     /* 2: draw at this scale, then downsample */
    int max_target_retrials;     /* 4 */
    int max_distractor_retrials; /* 4 */
    int max_paddle_retrials;     /* 2 */
    float stop_availability;     /* stop adding distractors below this free fraction: 0.01 */
    bool single_paddles;     /* add loose paddles (snakes2's use_single_paddles; off as in LRA) */
    float paddle_contrast;   /* their intensity: 0.75 */
    uint64_t seed;
} dmx_pathfinder_config;

/* LRA's parameters for `resolution` (32, 64 or 128) and `contour_length` (6, 9 or 14). */
DMX_API dmx_status dmx_pathfinder_config_default(dmx_pathfinder_config *cfg, int resolution,
                                                 int contour_length);

/* What was drawn, for inspection and tests. Coordinates are in pixels, (0, 0) being the top-left
 * corner of the image, so pixel (x, y) spans [x, x+1) x [y, y+1). */
typedef struct dmx_pathfinder_info {
    int label;               /* 1: both markers are on one snake */
    float markers[2][2];     /* (x, y) of the two marker centres */
    int marker_snake[2];     /* the target snake (0 or 1) under each marker */
    float tips[2][2][2];     /* [snake][0 origin, 1 terminal] (x, y) */
    int distractor_snakes;   /* distractor snakes placed (some may be shorter than asked) */
    int distractor_paddles;
    int single_paddles;
    int target_attempts;     /* attempts to lay both target snakes */
} dmx_pathfinder_info;

/* Draws example `index` of the stream keyed by cfg->seed into image [resolution^2] (row-major,
 * top row first, 0 black .. 255 white). The same (config, index) always gives the same image.
 * Labels are balanced in pairs: examples 2p and 2p+1 have different labels. info may be NULL. */
DMX_API dmx_status dmx_pathfinder_render(const dmx_pathfinder_config *cfg, int64_t index,
                                         uint8_t *image, dmx_pathfinder_info *info);

/* The file name of a split: "pathfinder32_cl14_train.pfb" (split is "train", "val" or "test"). */
DMX_API dmx_status dmx_pathfinder_split_name(const dmx_pathfinder_config *cfg, const char *split,
                                             char *buf, size_t cap);

/* Renders num_train + num_val + num_test examples (each split its own stream, derived from
 * cfg->seed) into dir/<dmx_pathfinder_split_name>, creating dir if needed. */
DMX_API dmx_status dmx_pathfinder_write_splits(const dmx_pathfinder_config *cfg, const char *dir,
                                               int64_t num_train, int64_t num_val,
                                               int64_t num_test, dmx_lra_progress_fn progress,
                                               void *user);

/* Writes images [count, resolution^2] with labels [count] as one .pfb file (docs/lra-data.md). */
DMX_API dmx_status dmx_pathfinder_write(const char *path, int resolution, int64_t count,
                                        const uint8_t *labels, const uint8_t *images);

/* Reads a .pfb file into tokens (seq_len = resolution^2, vocab 257, id = pixel + 1, 2 classes). */
DMX_API dmx_status dmx_pathfinder_load(const char *path, dmx_lra_tokens *out);

typedef struct dmx_pathfinder_release_options {
    int64_t max_images;   /* stop after this many rows (0: all) */
    bool skip_empty;      /* skip zero-byte PNG files (the release has one) and count them */
} dmx_pathfinder_release_options;

/* Reads one split directory of the LRA release (e.g. .../pathfinder32/curv_contour_length_14):
 * every metadata/<batch>.npy (text rows: subdir, file, index, label, ...) in batch order, and
 * each image imgs/<batch>/sample_<i>.png (8-bit grayscale, non-interlaced). options may be NULL;
 * `skipped` (may be NULL) receives the number of empty files skipped. */
DMX_API dmx_status dmx_pathfinder_load_release(const char *dir,
                                               const dmx_pathfinder_release_options *options,
                                               dmx_lra_tokens *out, int64_t *skipped);

#ifdef __cplusplus
}
#endif
#endif
