/*
 * test_pagestore_create.c - the opt-in page store in `create` (engine_pagestore.c), on the
 * fake world: without XLCP_PAGESTORE nothing changes (no page store, nothing in the
 * manifest); with it, each checkpoint's image is also stored, rebuilds into what memory.xl
 * says, and the manifest records the map and the bytes received and stored (a second
 * checkpoint of the same memory stores only its map); deleting the checkpoint releases its
 * pages (also when its manifest is broken); a page store that cannot be written does not
 * fail the checkpoint, it is noted.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "engine_fx.h"
#include "pagestore.h"
#include "fakes/ps_fx.h"

static void test_default_off(void **state)
{
    struct fx *f;
    char path[600];
    struct stat st;

    unsetenv("XLCP_PAGESTORE");
    fx_setup(state, 1);
    f = *state;
    assert_int_equal(create(f, "web1"), 0);
    assert_string_equal(f->m.pagestore_map, "");
    assert_string_equal(f->m.pagestore_note, "");
    snprintf(path, sizeof(path), "%s/" XLCP_PS_DIR, f->w->root);
    assert_int_equal(stat(path, &st), -1);
    teardown(state);
}

/* The image of checkpoint id rebuilds from the store into what its memory.xl says. */
static void intact(struct fx *f, struct xlcp_pagestore *ps, const char *id)
{
    struct xlcp_manifest m;
    struct sb img = {NULL, 0, 0};
    char dir[XLCP_PATH_MAX], path[XLCP_PATH_MAX + 20], why[300];

    assert_int_equal(xlcp_engine_load(&f->w->ports, id, &m, dir, sizeof(dir), &f->err), 0);
    assert_string_equal(m.pagestore_map, id); /* read back from the manifest */
    snprintf(path, sizeof(path), "%s/" XLCP_MEMORY_FILE, dir);
    assert_int_equal(sb_load(path, &img), 0);
    assert_int_equal(m.pagestore_received, img.len);
    if (psfx_intact(ps, id, &img, NULL, why, sizeof(why)))
        fail_msg("%s", why);
    xlcp_manifest_free(&m);
    sb_free(&img);
}

static void test_opt_in(void **state)
{
    char *dir = psfx_tmpdir(), first[XLCP_ID_MAX], packs[600];
    struct xlcp_pagestore *ps;
    struct xlcp_err err;
    struct fx *f;
    uint64_t stored1;

    setenv("XLCP_PAGESTORE", dir, 1);
    fx_setup(state, 1);
    f = *state;
    assert_int_equal(create(f, "web1"), 0);
    assert_string_equal(f->m.pagestore_map, f->m.id);
    assert_int_equal(f->m.pagestore_received, f->m.memory_bytes);
    assert_true(f->m.pagestore_pfns > 10);
    stored1 = f->m.pagestore_stored;
    snprintf(first, sizeof(first), "%s", f->m.id);
    assert_int_equal(xlcp_ps_open(dir, NULL, &ps, &err), 0);
    intact(f, ps, first);
    assert_int_equal(create(f, "web1"), 0); /* the same memory: only a map */
    assert_true(f->m.pagestore_stored < stored1);
    snprintf(packs, sizeof(packs), "%s/" XLCP_PS_DIR "/packs", dir);
    assert_int_equal(psfx_count(packs, ".pack"), 1); /* no page was new */
    intact(f, ps, f->m.id);
    assert_int_equal(xlcp_engine_delete(&f->w->ports, first, &f->err), 0);
    assert_false(xlcp_ps_has(ps, first));
    intact(f, ps, f->m.id);
    assert_int_equal(xlcp_engine_delete(&f->w->ports, f->m.id, &f->err), 0);
    assert_int_equal(psfx_count(packs, ".pack"), 0);
    /* a checkpoint whose manifest is broken is deleted all the same, its map too */
    assert_int_equal(create(f, "web1"), 0);
    assert_true(xlcp_ps_has(ps, f->m.id));
    {
        char cdir[XLCP_PATH_MAX], mpath[XLCP_PATH_MAX + 20];
        struct xlcp_manifest m;
        FILE *fp;
        assert_int_equal(xlcp_engine_load(&f->w->ports, f->m.id, &m, cdir, sizeof(cdir), &f->err),
                         0);
        xlcp_manifest_free(&m);
        snprintf(mpath, sizeof(mpath), "%s/manifest.xml", cdir);
        fp = fopen(mpath, "w");
        assert_non_null(fp);
        fputs("<not-a-manifest/>", fp);
        fclose(fp);
    }
    assert_int_equal(xlcp_engine_delete(&f->w->ports, f->m.id, &f->err), 0);
    assert_false(xlcp_ps_has(ps, f->m.id));
    assert_int_equal(psfx_count(packs, ".pack"), 0);
    xlcp_ps_close(ps);
    unsetenv("XLCP_PAGESTORE");
    psfx_rmdir(dir);
    teardown(state);
}

static void test_opt_in_fails_soft(void **state)
{
    struct fx *f;

    setenv("XLCP_PAGESTORE", "/nonexistent/xlcp-pagestore", 1);
    fx_setup(state, 1);
    f = *state;
    assert_int_equal(create(f, "web1"), 0);
    assert_string_equal(f->m.pagestore_map, "");
    assert_non_null(strstr(f->m.pagestore_note, "mkdir /nonexistent/xlcp-pagestore"));
    assert_int_equal(xlcp_engine_verify(&f->w->ports, f->m.id, 0, &f->err), 0);
    unsetenv("XLCP_PAGESTORE");
    teardown(state);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_default_off),
        cmocka_unit_test(test_opt_in),
        cmocka_unit_test(test_opt_in_fails_soft),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
