/* Keeping and writing an evaluation's logits (logit_dump.h). */
#include "logit_dump.h"

#include <stdlib.h>
#include <string.h>

#include "core/error.h"

dmx_status dmx_logit_dump_keep(void *user, int64_t index, dmx_tensor *logits,
                               dmx_tensor *labels)
{
    (void)index;
    dmx_logit_dump *d = user;
    int64_t B = logits->shape[0];
    if (d->rows + B > d->cap) {
        int64_t cap = (d->rows + B) * 2;
        float *l = realloc(d->logits, (size_t)(cap * d->classes) * sizeof *l);
        int32_t *y = l ? realloc(d->labels, (size_t)cap * sizeof *y) : NULL;
        if (l)
            d->logits = l;
        if (!l || !y)
            return dmx_fail(DMX_ERR_OUT_OF_MEMORY, "eval: out of memory keeping logits");
        d->labels = y;
        d->cap = cap;
    }
    DMX_TRY(dmx_tensor_to_host(logits, d->logits + d->rows * d->classes,
                               (size_t)(B * d->classes) * sizeof(float)));
    DMX_TRY(dmx_tensor_to_host(labels, d->labels + d->rows, (size_t)B * sizeof(int32_t)));
    d->rows += B;
    return DMX_OK;
}

dmx_status dmx_logit_dump_write(const char *path, const dmx_logit_dump *d)
{
    dmx_st_writer *w = NULL;
    DMX_TRY(dmx_st_writer_create(&w));
    const int64_t lshape[2] = {d->rows, d->classes}, yshape[1] = {d->rows};
    dmx_status s = dmx_st_writer_add(w, "logits", DMX_ST_F32, 2, lshape, d->logits);
    if (s == DMX_OK)
        s = dmx_st_writer_add(w, "labels", DMX_ST_I32, 1, yshape, d->labels);
    if (s == DMX_OK)
        s = dmx_st_writer_save(w, path);
    dmx_st_writer_destroy(w);
    return s;
}

void dmx_logit_dump_free(dmx_logit_dump *d)
{
    free(d->logits);
    free(d->labels);
    memset(d, 0, sizeof *d);
}
