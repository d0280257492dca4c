/* Helpers shared by the LRA generators and readers (host/data/lra_*.c). */
#ifndef DMX_DATA_LRA_INTERNAL_H
#define DMX_DATA_LRA_INTERNAL_H

#include <stdio.h>

#include "dimix/lra_data.h"

/* MIN, MAX, MED, SM: the operators the published generator draws from. */
#define DMX_LISTOPS_NUM_GEN_OPS 4

/* Tokenises a ListOps Source into symbols [seq_len] (zero-padded). The message of a failure
 * says what was wrong; the caller adds the file and line. */
dmx_status dmx_listops_tokenize(const char *source, size_t len, int seq_len, uint8_t *symbols,
                                int *n_tokens);

/* Makes room for `count` examples of set->seq_len symbols (the other fields stay). */
dmx_status dmx_lra_tokens_reserve(dmx_lra_tokens *set, int64_t count);

/* Work done so far for a progress callback; `what` ("listops", "pathfinder") and `unit`
 * ("examples", "images") word the message when the callback asks to stop. */
typedef struct dmx_lra_progress {
    dmx_lra_progress_fn fn;
    void *user;
    int64_t done, total;
    const char *what, *unit;
} dmx_lra_progress;

/* Tells the callback; DMX_ERR_INTERRUPTED if it asks to stop. */
dmx_status dmx_lra_report_progress(const dmx_lra_progress *p);

/* A file written under "<path>.part" and renamed to <path> only once complete, so an
 * interrupted run never leaves a file that looks finished. */
typedef struct dmx_staged_file {
    FILE *f;
    char path[4096];
    char part[4104];
} dmx_staged_file;

dmx_status dmx_staged_open(dmx_staged_file *sf, const char *dir, const char *name);
dmx_status dmx_staged_write(dmx_staged_file *sf, const void *bytes, size_t n);
dmx_status dmx_staged_commit(dmx_staged_file *sf);
/* Closes and removes the partial file (after a failure). */
void dmx_staged_abort(dmx_staged_file *sf);

#endif
