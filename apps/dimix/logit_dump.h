/* Keeping every logit of an evaluation (dmx_eval_options.on_logits) and writing them as
 * safetensors: logits [N, classes] F32 and labels [N] I32. Used by `dimix eval` and
 * `dimix lra eval` (--dump-logits). */
#ifndef DMX_APP_LOGIT_DUMP_H
#define DMX_APP_LOGIT_DUMP_H

#include "dimix/dimix.h"

typedef struct dmx_logit_dump {
    float *logits;
    int32_t *labels;
    int64_t rows, cap, classes; /* set classes before the first batch */
} dmx_logit_dump;

/* An on_logits callback: appends the batch's logits and labels (user = the dump). */
dmx_status dmx_logit_dump_keep(void *user, int64_t index, dmx_tensor *logits,
                               dmx_tensor *labels);

dmx_status dmx_logit_dump_write(const char *path, const dmx_logit_dump *d);

void dmx_logit_dump_free(dmx_logit_dump *d);

#endif
