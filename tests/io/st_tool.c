/* Helper for the Python interop test (tools/safetensors_ref.py selftest):
 *   st_tool write-sample FILE   writes the sample file both sides know
 *   st_tool dump FILE           prints every metadata entry and tensor as one JSON object a
 *                               line: {"meta": key, "value": v} or {"name": n, "dtype": d,
 *                               "shape": [...], "offsets": [b, e], "hex": "..."} */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dimix/safetensors.h"
#include "io/json.h"

/* Keep in step with SAMPLE in tools/safetensors_ref.py. */
static int write_sample(const char *path)
{
    float weight[6], scalar = 3.5f, one = 1.0f;
    for (int i = 0; i < 6; i++)
        weight[i] = (float)i * 0.25f - 1.0f;
    int32_t labels[4] = {-1, 0, 7, 2147483647};
    int64_t s23[2] = {2, 3}, s4[1] = {4}, s05[2] = {0, 5}, s1[1] = {1};
    dmx_st_writer *w = NULL;
    if (dmx_st_writer_create(&w) != DMX_OK ||
        dmx_st_writer_add(w, "weight", DMX_ST_F32, 2, s23, weight) != DMX_OK ||
        dmx_st_writer_add(w, "labels", DMX_ST_I32, 1, s4, labels) != DMX_OK ||
        dmx_st_writer_add(w, "scalar", DMX_ST_F32, 0, NULL, &scalar) != DMX_OK ||
        dmx_st_writer_add(w, "empty", DMX_ST_F32, 2, s05, NULL) != DMX_OK ||
        dmx_st_writer_add(w, "name \"quoted\" \\ \n\t\x01 \xc3\xa9 \xf0\x9f\x98\x80", DMX_ST_F32,
                          1, s1, &one) != DMX_OK ||
        dmx_st_writer_set_metadata(w, "step", "42") != DMX_OK ||
        dmx_st_writer_set_metadata(w, "config", "{\"model\": \"mixer\"}") != DMX_OK ||
        dmx_st_writer_set_metadata(w, "\xc3\xbcn\xc3\xaf" "code key", "v\xc3\xa4lue\n") != DMX_OK ||
        dmx_st_writer_save(w, path) != DMX_OK) {
        fprintf(stderr, "st_tool write-sample: %s\n", dmx_last_error());
        dmx_st_writer_destroy(w);
        return 1;
    }
    dmx_st_writer_destroy(w);
    return 0;
}

static void print_quoted(const char *s)
{
    size_t n = strlen(s);
    char *q = malloc(dmx_json_quote(s, n, NULL));
    if (!q)
        return;
    fwrite(q, 1, dmx_json_quote(s, n, q), stdout);
    free(q);
}

static int dump_tensor(const dmx_st_file *f, const dmx_st_tensor_info *t)
{
    size_t bytes = (size_t)(t->end - t->begin);
    unsigned char *data = malloc(bytes ? bytes : 1);
    if (!data || dmx_st_read(f, t->name, t->dtype, data, bytes) != DMX_OK) {
        fprintf(stderr, "st_tool dump: %s\n", dmx_last_error());
        free(data);
        return 1;
    }
    printf("{\"name\": ");
    print_quoted(t->name);
    printf(", \"dtype\": \"%s\", \"shape\": [", dmx_st_dtype_name(t->dtype));
    for (int d = 0; d < t->ndim; d++)
        printf("%s%lld", d ? ", " : "", (long long)t->shape[d]);
    printf("], \"offsets\": [%llu, %llu], \"hex\": \"", (unsigned long long)t->begin,
           (unsigned long long)t->end);
    for (size_t i = 0; i < bytes; i++)
        printf("%02x", data[i]);
    printf("\"}\n");
    free(data);
    return 0;
}

static int dump(const char *path)
{
    dmx_st_file *f = NULL;
    if (dmx_st_open(path, &f) != DMX_OK) {
        fprintf(stderr, "st_tool dump: %s\n", dmx_last_error());
        return 1;
    }
    for (int64_t i = 0; i < dmx_st_metadata_count(f); i++) {
        const char *key, *value;
        dmx_st_metadata_at(f, i, &key, &value);
        printf("{\"meta\": ");
        print_quoted(key);
        printf(", \"value\": ");
        print_quoted(value);
        printf("}\n");
    }
    int rc = 0;
    for (int64_t i = 0; i < dmx_st_count(f) && rc == 0; i++)
        rc = dump_tensor(f, dmx_st_info_at(f, i));
    dmx_st_close(f);
    return rc;
}

int main(int argc, char **argv)
{
    if (argc == 3 && strcmp(argv[1], "write-sample") == 0)
        return write_sample(argv[2]);
    if (argc == 3 && strcmp(argv[1], "dump") == 0)
        return dump(argv[2]);
    fprintf(stderr, "usage: st_tool write-sample FILE | dump FILE\n");
    return 2;
}
