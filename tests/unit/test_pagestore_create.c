/*
 * test_pagestore_create.c - the opt-in page store in `create` and `delete`
 * (engine_pagestore.c, engine_commit.c, engine_leftovers.c), on the fake world: without
 * XLCP_PAGESTORE nothing changes; with it the image is stored and read back, and then the
 * checkpoint keeps no memory.xl: its manifest (version 2) names the map and the store's
 * absolute root; XLCP_PAGESTORE_KEEP_FILE keeps memory.xl too; a store that fails keeps
 * memory.xl exactly as without it. Delete releases the map from the manifest's store
 * without XLCP_PAGESTORE (a manifest of before version 2, or a broken one, still from
 * XLCP_PAGESTORE); a failed commit releases it; `recover` releases what a run that died
 * stored (its intent record names the store).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "ps_engine_fx.h"

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
    assert_string_equal(f->m.memory_file, XLCP_MEMORY_FILE);
    snprintf(path, sizeof(path), "%s/" XLCP_PS_DIR, f->w->root);
    assert_int_equal(stat(path, &st), -1);
    teardown(state);
}

/* The manifest of id as written (its text). */
static void manifest_text(struct psx *x, const char *id, struct sb *b)
{
    char dir[XLCP_PATH_MAX], path[XLCP_PATH_MAX + 20];

    psx_cpdir(x, id, dir, sizeof(dir));
    snprintf(path, sizeof(path), "%s/" XLCP_MANIFEST_FILE, dir);
    assert_int_equal(sb_load(path, b), 0);
    sb_bytes(b, "", 1);
}

/* Map id rebuilds into the image the fake saved. */
static void holds_image(struct psx *x, const char *id)
{
    struct xlcp_pagestore *ps = psx_store(x);
    struct sb img = {NULL, 0, 0};
    char why[300];

    psx_saved_image(x, &img);
    if (psfx_intact(ps, id, &img, NULL, why, sizeof(why)))
        fail_msg("%s", why);
    sb_free(&img);
    xlcp_ps_close(ps);
}

static void test_store_holds_image(void **state)
{
    struct psx *x = psx_new(1);
    struct fx *f = x->f;
    struct xlcp_manifest m;
    struct sb text = {NULL, 0, 0};
    char first[XLCP_ID_MAX], dir[XLCP_PATH_MAX], packs[600];
    uint64_t stored1;
    (void)state;

    assert_int_equal(create(f, "web1"), 0);
    snprintf(first, sizeof(first), "%s", f->m.id);
    assert_string_equal(f->m.memory_file, "");
    assert_string_equal(f->m.pagestore_map, first);
    assert_string_equal(f->m.pagestore_root, x->real);
    assert_false(psx_has_file(x, first, XLCP_MEMORY_FILE));
    assert_true(psx_has_file(x, first, XLCP_MANIFEST_FILE));
    /* read back: version 2, map and root, no file; the image rebuilds from the map */
    assert_int_equal(xlcp_engine_load(&f->w->ports, first, &m, dir, sizeof(dir), &f->err), 0);
    assert_true(xlcp_manifest_memory_in_store(&m));
    assert_string_equal(m.pagestore_root, x->real);
    assert_int_equal(m.pagestore_received, m.memory_bytes);
    xlcp_manifest_free(&m);
    manifest_text(x, first, &text);
    assert_non_null(strstr((char *)text.p, "version=\"2\""));
    assert_null(strstr((char *)text.p, "<file>"));
    sb_free(&text);
    holds_image(x, first);
    assert_int_equal(xlcp_engine_verify(&f->w->ports, first, 0, &f->err), 0);
    stored1 = f->m.pagestore_stored;
    assert_int_equal(create(f, "web1"), 0); /* the same memory: only a map */
    assert_true(f->m.pagestore_stored < stored1);
    snprintf(packs, sizeof(packs), "%s/" XLCP_PS_DIR "/packs", x->dir);
    assert_int_equal(psfx_count(packs, ".pack"), 1);
    /* delete finds the store through the manifest alone */
    unsetenv("XLCP_PAGESTORE");
    assert_int_equal(xlcp_engine_delete(&f->w->ports, first, &f->err), 0);
    assert_false(psx_has_map(x, first));
    holds_image(x, f->m.id);
    assert_int_equal(xlcp_engine_delete(&f->w->ports, f->m.id, &f->err), 0);
    assert_false(psx_has_map(x, f->m.id));
    assert_int_equal(psfx_count(packs, ".pack"), 0);
    psx_free(x);
}

/* A relative XLCP_PAGESTORE is recorded absolute (the later command may run elsewhere). */
static void test_relative_root(void **state)
{
    struct psx *x = psx_new(1);
    char cwd[PATH_MAX], *slash = strrchr(x->real, '/');
    (void)state;

    assert_non_null(getcwd(cwd, sizeof(cwd)));
    *slash = '\0';
    assert_int_equal(chdir(x->real), 0);
    *slash = '/';
    assert_int_equal(setenv("XLCP_PAGESTORE", slash + 1, 1), 0);
    assert_int_equal(create(x->f, "web1"), 0);
    assert_int_equal(chdir(cwd), 0);
    assert_string_equal(x->f->m.pagestore_root, x->real);
    assert_int_equal(xlcp_engine_delete(&x->f->w->ports, x->f->m.id, &x->f->err), 0);
    assert_false(psx_has_map(x, x->f->m.id));
    psx_free(x);
}

/* XLCP_PAGESTORE_KEEP_FILE=1: memory.xl stays beside the map; a full verify checks both,
 * a restore reads the file (and does not need the store). */
static void test_keep_file(void **state)
{
    struct psx *x = psx_new(1);
    struct fx *f = x->f;
    xlcp_restore_options ro = XLCP_RESTORE_OPTIONS_INIT;
    uint32_t domid;
    (void)state;

    setenv("XLCP_PAGESTORE_KEEP_FILE", "1", 1);
    assert_int_equal(create(f, "web1"), 0);
    assert_string_equal(f->m.memory_file, XLCP_MEMORY_FILE);
    assert_string_equal(f->m.pagestore_map, f->m.id);
    assert_string_equal(f->m.pagestore_root, x->real);
    assert_true(psx_has_file(x, f->m.id, XLCP_MEMORY_FILE));
    assert_int_equal(xlcp_engine_verify(&f->w->ports, f->m.id, 0, &f->err), 0);
    assert_int_equal(psfx_damage_first_block(x->dir), 0);
    assert_int_equal(xlcp_engine_verify(&f->w->ports, f->m.id, 0, &f->err), XLCP_ECORRUPT);
    assert_non_null(strstr(f->err.msg, "pfn"));
    ro.new_name = "web1-copy";
    assert_int_equal(xlcp_engine_restore(&f->w->ports, f->m.id, &ro, &domid, &f->err), 0);
    assert_non_null(fake_find_domain(f->w, "web1-copy"));
    psx_free(x);
}

/* A store that cannot be written, or refuses the image: memory.xl as without the store,
 * and why in the manifest. */
static void test_store_fails_soft(void **state)
{
    struct fx *f;

    setenv("XLCP_PAGESTORE", "/nonexistent/xlcp-pagestore", 1);
    fx_setup(state, 1);
    f = *state;
    assert_int_equal(create(f, "web1"), 0);
    assert_string_equal(f->m.pagestore_map, "");
    assert_string_equal(f->m.memory_file, XLCP_MEMORY_FILE);
    assert_non_null(strstr(f->m.pagestore_note, "mkdir /nonexistent/xlcp-pagestore"));
    assert_int_equal(xlcp_engine_verify(&f->w->ports, f->m.id, 0, &f->err), 0);
    unsetenv("XLCP_PAGESTORE");
    teardown(state);
}

static void test_store_refuses_image(void **state)
{
    struct psx *x = psx_new(1);
    (void)state;

    x->f->dom->image_fault = 1; /* a PAGE_DATA record of 2000 pfns: the parser refuses it */
    assert_int_equal(create(x->f, "web1"), 0);
    assert_string_equal(x->f->m.memory_file, XLCP_MEMORY_FILE);
    assert_string_equal(x->f->m.pagestore_map, "");
    assert_non_null(strstr(x->f->m.pagestore_note, "2000"));
    assert_true(psx_has_file(x, x->f->m.id, XLCP_MEMORY_FILE));
    assert_false(psx_has_map(x, x->f->m.id));
    psx_free(x);
}

/* Manifests that name no store (before version 2): released from XLCP_PAGESTORE, as then;
 * so is the map of a checkpoint whose manifest is broken. */
static void test_old_and_broken_manifests(void **state)
{
    struct psx *x = psx_new(1);
    struct fx *f = x->f;
    struct xlcp_manifest m;
    char dir[XLCP_PATH_MAX], path[XLCP_PATH_MAX + 20];
    int fd;
    (void)state;

    setenv("XLCP_PAGESTORE_KEEP_FILE", "1", 1);
    assert_int_equal(create(f, "web1"), 0);
    assert_int_equal(xlcp_engine_load(&f->w->ports, f->m.id, &m, dir, sizeof(dir), &f->err), 0);
    m.pagestore_root[0] = '\0'; /* as 0.x wrote it: version 1, a map, no root */
    snprintf(path, sizeof(path), "%s/" XLCP_MANIFEST_FILE, dir);
    fd = open(path, O_WRONLY | O_TRUNC);
    assert_true(fd >= 0);
    assert_int_equal(xlcp_manifest_write_fd(&m, fd, &f->err), 0);
    close(fd);
    xlcp_manifest_free(&m);
    assert_int_equal(xlcp_engine_verify(&f->w->ports, f->m.id, 0, &f->err), 0);
    assert_int_equal(xlcp_engine_delete(&f->w->ports, f->m.id, &f->err), 0);
    assert_false(psx_has_map(x, f->m.id));

    assert_int_equal(create(f, "web1"), 0);
    psx_cpdir(x, f->m.id, dir, sizeof(dir));
    snprintf(path, sizeof(path), "%s/" XLCP_MANIFEST_FILE, dir);
    fd = open(path, O_WRONLY | O_TRUNC);
    assert_true(fd >= 0);
    assert_int_equal(write(fd, "<not-a-manifest/>", 17), 17);
    close(fd);
    assert_int_equal(xlcp_engine_delete(&f->w->ports, f->m.id, &f->err), 0);
    assert_false(psx_has_map(x, f->m.id));
    psx_free(x);
}

/* A commit that fails after the image was stored releases the map. */
static void test_failed_commit_releases_map(void **state)
{
    struct psx *x = psx_new(1);
    char **names;
    size_t n;
    struct xlcp_pagestore *ps;
    (void)state;

    fake_fail(x->f->w, "store.commit", XLCP_EIO, 1);
    assert_int_equal(create(x->f, "web1"), XLCP_EIO);
    ps = psx_store(x);
    assert_int_equal(xlcp_ps_list(ps, &names, &n, &x->f->err), 0);
    assert_int_equal(n, 0);
    free(names);
    xlcp_ps_close(ps);
    assert_int_equal(fake_catalog_entries(x->f->w), 0);
    psx_free(x);
}

/* A run that died after storing its image: its intent record names the store, and
 * `recover` (or the domain's next checkpoint) releases the map. */
static void test_recover_releases_map(void **state)
{
    static const char id[] = "20261124T191342.123Z-abcdef";
    struct psx *x = psx_new(0);
    struct fx *f = x->f;
    struct xlcp_pagestore *ps = psx_store(x);
    struct xlcp_intent rec;
    struct sb img = {NULL, 0, 0};
    char *report = NULL;
    unsigned int count = 0;
    (void)state;

    psx_saved_image(x, &img);
    assert_int_equal(psfx_store(ps, id, img.p, img.len, 0, NULL, &f->err), 0);
    xlcp_ps_close(ps);
    sb_free(&img);
    memset(&rec, 0, sizeof(rec));
    snprintf(rec.id, sizeof(rec.id), "%s", id);
    snprintf(rec.dom_uuid, sizeof(rec.dom_uuid), "%s", f->dom->d.uuid);
    rec.domid = f->dom->d.domid;
    rec.pid = 999999999;
    snprintf(rec.pagestore_root, sizeof(rec.pagestore_root), "%s", x->real);
    assert_int_equal(f->w->ports.store.ops->intent_write(f->w->ports.store.self, &rec, &f->err), 0);
    unsetenv("XLCP_PAGESTORE");
    assert_int_equal(
        xlcp_engine_recover(&f->w->ports, NULL, XLCP_RECOVER_DRY_RUN, &report, &count, &f->err), 0);
    assert_non_null(strstr(report, "would release"));
    free(report);
    assert_true(psx_has_map(x, id));
    assert_int_equal(xlcp_engine_recover(&f->w->ports, NULL, 0, &report, &count, &f->err), 0);
    assert_non_null(strstr(report, "released"));
    free(report);
    assert_false(psx_has_map(x, id));
    assert_int_equal(fake_catalog_entries(f->w), 0);
    psx_free(x);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_default_off),
        cmocka_unit_test(test_store_holds_image),
        cmocka_unit_test(test_relative_root),
        cmocka_unit_test(test_keep_file),
        cmocka_unit_test(test_store_fails_soft),
        cmocka_unit_test(test_store_refuses_image),
        cmocka_unit_test(test_old_and_broken_manifests),
        cmocka_unit_test(test_failed_commit_releases_map),
        cmocka_unit_test(test_recover_releases_map),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
