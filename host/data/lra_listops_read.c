/* Reads LRA ListOps TSV files, as released (listops-1000/basic_*.tsv) and as written here. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/error.h"
#include "data/lra_internal.h"

#define MAX_SEQ_LEN (1 << 20)

static const char header[] = "Source\tTarget";

/* Drops the "\n" or "\r\n" that ends the line. */
static size_t strip_line_end(char *line, size_t n)
{
    if (n > 0 && line[n - 1] == '\n')
        n--;
    if (n > 0 && line[n - 1] == '\r')
        n--;
    line[n] = '\0';
    return n;
}

/* Parses "source\tdigit" into example `set->count`. */
static dmx_status parse_example(dmx_lra_tokens *set, const char *line, size_t n)
{
    if (n == 0)
        return dmx_fail(DMX_ERR_FORMAT, "empty line; a line is Source<TAB>Target");
    const char *tab = memchr(line, '\t', n);
    if (!tab)
        return dmx_fail(DMX_ERR_FORMAT, "no tab; a line is Source<TAB>Target");
    size_t source_len = (size_t)(tab - line);
    const char *target = tab + 1;
    size_t target_len = n - source_len - 1;
    if (memchr(target, '\t', target_len))
        return dmx_fail(DMX_ERR_FORMAT, "more than one tab; a line is Source<TAB>Target");
    if (target_len != 1 || target[0] < '0' || target[0] > '9')
        return dmx_fail(DMX_ERR_FORMAT, "Target '%.*s' is not a digit 0..9",
                        (int)(target_len > 20 ? 20 : target_len), target);
    int64_t i = set->count;
    int n_tokens = 0;
    DMX_TRY(dmx_listops_tokenize(line, source_len, set->seq_len,
                                 set->symbols + i * set->seq_len, &n_tokens));
    set->lengths[i] = n_tokens;
    set->labels[i] = (uint8_t)(target[0] - '0');
    set->count++;
    return DMX_OK;
}

static dmx_status read_lines(FILE *f, const char *path, dmx_lra_tokens *set)
{
    char *line = NULL;
    size_t cap = 0;
    long long line_no = 0;
    int64_t reserved = 0;
    dmx_status s = DMX_OK;
    ssize_t got;
    while (s == DMX_OK && (got = getline(&line, &cap, f)) >= 0) {
        line_no++;
        size_t n = strip_line_end(line, (size_t)got);
        if (memchr(line, '\0', n)) {
            s = dmx_fail(DMX_ERR_FORMAT, "a NUL byte in the line");
        } else if (line_no == 1) {
            if (strcmp(line, header) != 0)
                s = dmx_fail(DMX_ERR_FORMAT, "expected the header \"Source\\tTarget\", found \"%.40s\"",
                             line);
        } else {
            if (set->count == reserved) {
                reserved = reserved ? 2 * reserved : 1024;
                s = dmx_lra_tokens_reserve(set, reserved);
            }
            if (s == DMX_OK)
                s = parse_example(set, line, n);
        }
        if (s != DMX_OK)
            s = dmx_fail_context(s, "%s:%lld: ", path, line_no);
    }
    if (s == DMX_OK && ferror(f))
        s = dmx_fail(DMX_ERR_IO, "%s: read failed after line %lld: %s", path, line_no,
                     strerror(errno));
    if (s == DMX_OK && line_no == 0)
        s = dmx_fail(DMX_ERR_FORMAT, "%s: empty file; expected the header \"Source\\tTarget\"",
                     path);
    free(line);
    return s;
}

dmx_status dmx_listops_load(const char *path, int seq_len, dmx_lra_tokens *out)
{
    if (!path || !out)
        return dmx_fail(DMX_ERR_INVALID_ARG, "dmx_listops_load: NULL argument");
    memset(out, 0, sizeof *out);
    if (seq_len <= 0 || seq_len > MAX_SEQ_LEN)
        return dmx_fail(DMX_ERR_INVALID_ARG, "%s: model length %d is outside 1..%d", path, seq_len,
                        MAX_SEQ_LEN);
    FILE *f = fopen(path, "rb");
    if (!f)
        return dmx_fail(errno == ENOENT ? DMX_ERR_NOT_FOUND : DMX_ERR_IO, "%s: cannot open: %s",
                        path, strerror(errno));
    *out = (dmx_lra_tokens){.seq_len = seq_len,
                            .vocab_size = DMX_LISTOPS_VOCAB,
                            .num_classes = DMX_LISTOPS_CLASSES,
                            .id_offset = 0};
    dmx_status s = read_lines(f, path, out);
    fclose(f);
    if (s == DMX_OK) /* give back what the doubling reserved beyond the last example */
        s = dmx_lra_tokens_reserve(out, out->count);
    if (s != DMX_OK)
        dmx_lra_tokens_free(out);
    return s;
}
