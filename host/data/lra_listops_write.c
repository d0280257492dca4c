/* Writes the three ListOps splits as LRA did: csv.writer(delimiter='\t'), so "\r\n" line ends,
 * a "Source\tTarget" header, and the examples in generation order (train, then val, then test). */
#include <stdio.h>

#include "core/error.h"
#include "data/lra_internal.h"
#include "io/make_dirs.h"

#define PROGRESS_EVERY 1000

static dmx_status write_split(dmx_listops_generator *gen, const char *dir, const char *name,
                              int64_t count, dmx_lra_progress *progress)
{
    dmx_staged_file sf;
    DMX_TRY(dmx_staged_open(&sf, dir, name));
    static const char header[] = "Source\tTarget\r\n";
    dmx_status s = dmx_staged_write(&sf, header, sizeof header - 1);
    for (int64_t i = 0; i < count && s == DMX_OK; i++) {
        dmx_listops_example ex;
        s = dmx_listops_generator_next(gen, &ex);
        if (s != DMX_OK)
            break;
        char tail[8];
        int n = snprintf(tail, sizeof tail, "\t%d\r\n", ex.target);
        s = dmx_staged_write(&sf, ex.source, ex.source_len);
        if (s == DMX_OK)
            s = dmx_staged_write(&sf, tail, (size_t)n);
        if (s == DMX_OK && ++progress->done % PROGRESS_EVERY == 0)
            s = dmx_lra_report_progress(progress);
    }
    if (s != DMX_OK) {
        dmx_staged_abort(&sf);
        return s;
    }
    return dmx_staged_commit(&sf);
}

dmx_status dmx_listops_write_splits(const dmx_listops_config *cfg, const char *dir,
                                    dmx_lra_progress_fn progress, void *user)
{
    if (!cfg || !dir)
        return dmx_fail(DMX_ERR_INVALID_ARG, "dmx_listops_write_splits: NULL argument");
    dmx_listops_generator *gen = NULL;
    DMX_TRY(dmx_listops_generator_create(cfg, &gen));
    dmx_status s = dmx_make_dirs(dir);
    const struct {
        const char *name;
        int64_t count;
    } splits[] = {
        {"basic_train.tsv", cfg->num_train},
        {"basic_val.tsv", cfg->num_val},
        {"basic_test.tsv", cfg->num_test},
    };
    dmx_lra_progress p = {progress, user, 0, cfg->num_train + cfg->num_val + cfg->num_test,
                          "listops", "examples"};
    for (int i = 0; i < 3 && s == DMX_OK; i++)
        s = write_split(gen, dir, splits[i].name, splits[i].count, &p);
    if (s == DMX_OK)
        s = dmx_lra_report_progress(&p);
    dmx_listops_generator_destroy(gen);
    return s;
}
