/* Every SPIR-V module embedded in the library passes spirv-val --target-env vulkan1.1, and
 * every shaders/ *.comp is embedded. The bytes checked are the ones the backend loads. */
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "test_util.h"
#include "vulkan/vk_shaders.h"

static int count_sources(void)
{
    DIR *d = opendir(DIMIX_SOURCE_DIR "/shaders");
    int n = 0;
    for (struct dirent *e; d && (e = readdir(d));) {
        size_t len = strlen(e->d_name);
        n += len > 5 && strcmp(e->d_name + len - 5, ".comp") == 0;
    }
    if (d)
        closedir(d);
    return n;
}

static void test_every_shader_is_embedded(void **state)
{
    (void)state;
    int sources = count_sources();
    printf("%d shaders/*.comp, %zu embedded modules\n", sources, dmx_vk_shader_count);
    assert_true(sources > 0);
    assert_int_equal((size_t)sources, dmx_vk_shader_count);
}

/* spirv-val's verdict on one module; its output goes to stderr on failure. */
static int validate(const dmx_vk_shader *s, const char *dir)
{
    char path[1024], cmd[2300], out[4096];
    snprintf(path, sizeof path, "%s/%s.spv", dir, s->name);
    FILE *f = fopen(path, "wb");
    if (!f || fwrite(s->spv, 1, *s->size, f) != *s->size) {
        fprintf(stderr, "%s: cannot write %s\n", s->name, path);
        if (f)
            fclose(f);
        return 1;
    }
    fclose(f);
    snprintf(cmd, sizeof cmd, "'%s' --target-env vulkan1.1 '%s' 2>&1", DIMIX_SPIRV_VAL, path);
    FILE *p = popen(cmd, "r");
    if (!p)
        return 1;
    size_t got = fread(out, 1, sizeof out - 1, p);
    out[got] = '\0';
    int rc = pclose(p);
    remove(path);
    if (rc != 0)
        fprintf(stderr, "spirv-val rejects %s.spv:\n%s\n", s->name, out);
    return rc != 0;
}

static void test_spirv_val_accepts_every_module(void **state)
{
    (void)state;
    char dir[512];
    snprintf(dir, sizeof dir, "%s/spirv-val-XXXXXX", DIMIX_BINARY_DIR);
    assert_non_null(mkdtemp(dir));
    int bad = 0;
    for (size_t i = 0; i < dmx_vk_shader_count; i++)
        bad += validate(&dmx_vk_shaders[i], dir);
    rmdir(dir);
    printf("spirv-val --target-env vulkan1.1: %zu modules, %d rejected\n", dmx_vk_shader_count,
           bad);
    assert_int_equal(bad, 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_every_shader_is_embedded),
        cmocka_unit_test(test_spirv_val_accepts_every_module),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
