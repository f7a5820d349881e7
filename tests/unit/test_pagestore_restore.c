/*
 * test_pagestore_restore.c - checkpoints whose memory image the page store holds alone,
 * read back (engine_ps_read.c, engine_restore.c, engine_export.c, engine_catalog.c), on
 * the fake world: restore feeds the fake hypervisor the rebuilt stream through a pipe
 * (paused, --replace); a corrupt page in the store fails the restore cleanly, naming
 * checkpoint, map and pfn (no new domain, no clones, the original untouched), also when the
 * hypervisor took the stream before the rebuild failed; a store that is gone fails it
 * before anything is made; verify finds a corrupt page (map, pfn, pack); export writes the
 * rebuilt image (it parses, and is what the store rebuilds) with a manifest that names it,
 * and its import owns no map.
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

#include "export.h"
#include "ps_engine_fx.h"
#include "stream.h"
#include "fakes/fake_export_io.h"

static int volumes(const struct fake_world *w)
{
    int n = 0;

    for (int i = 0; i < FAKE_MAX_VOLS; i++)
        n += w->vols[i].used;
    return n;
}

static int domains(const struct fake_world *w)
{
    int n = 0;

    for (int i = 0; i < FAKE_MAX_DOMS; i++)
        n += w->doms[i].used;
    return n;
}

/* A checkpoint of web1 held by the store alone; its id in x->f->m.id. */
static struct psx *stored(int ndisks)
{
    struct psx *x = psx_new(ndisks);

    assert_int_equal(create(x->f, "web1"), 0);
    assert_true(xlcp_manifest_memory_in_store(&x->f->m));
    unsetenv("XLCP_PAGESTORE"); /* nothing after create may need it */
    return x;
}

static int restore(struct psx *x, const xlcp_restore_options *ro, uint32_t *domid)
{
    xlcp_err_clear(&x->f->err);
    return xlcp_engine_restore(&x->f->w->ports, x->f->m.id, ro, domid, &x->f->err);
}

static void test_restore_from_store(void **state)
{
    struct psx *x = stored(1);
    struct fake_world *w = x->f->w;
    xlcp_restore_options ro = XLCP_RESTORE_OPTIONS_INIT;
    struct fake_dom *r;
    uint32_t domid = 0;
    (void)state;

    ro.new_name = "web1-back";
    assert_int_equal(restore(x, &ro, &domid), 0);
    r = fake_find_domain(w, "web1-back");
    assert_non_null(r);
    assert_int_equal(r->d.domid, domid);
    assert_int_equal(r->d.state, XLCP_DOM_RUNNING); /* made paused, run once fed whole */
    assert_non_null(strstr(w->log, "hv.restore web1-back\n"));
    ro.new_name = "web1-paused";
    ro.paused = 1;
    assert_int_equal(restore(x, &ro, &domid), 0);
    assert_int_equal(fake_find_domain(w, "web1-paused")->d.state, XLCP_DOM_PAUSED);
    /* --replace: the original goes once its replacement exists */
    xlcp_restore_options rep = XLCP_RESTORE_OPTIONS_INIT;
    rep.replace = 1;
    rep.force = 1;
    assert_int_equal(restore(x, &rep, &domid), 0);
    r = fake_find_domain(w, "web1");
    assert_non_null(r);
    assert_int_equal(r->d.domid, domid);
    assert_int_equal(r->d.state, XLCP_DOM_RUNNING);
    psx_free(x);
}

/* What a failed restore must leave: the domains and volumes there were, the original
 * running. */
static void left_as_was(struct psx *x, int doms, int vols, uint32_t orig)
{
    struct fake_dom *o = fake_find_domain(x->f->w, "web1");

    assert_int_equal(domains(x->f->w), doms);
    assert_int_equal(volumes(x->f->w), vols);
    assert_non_null(o);
    assert_int_equal(o->d.domid, orig);
    assert_int_equal(o->d.state, XLCP_DOM_RUNNING);
}

static void test_restore_corrupt_page(void **state)
{
    struct psx *x = stored(1);
    struct fake_world *w = x->f->w;
    xlcp_restore_options ro = XLCP_RESTORE_OPTIONS_INIT;
    xlcp_restore_options rep = XLCP_RESTORE_OPTIONS_INIT;
    const char *says[] = {"restore of checkpoint", x->f->m.id, "map", "pfn ", NULL};
    int doms = domains(w), vols = volumes(w), rc;
    uint32_t orig = x->f->dom->d.domid, domid = 0;
    (void)state;

    assert_int_equal(psfx_damage_first_block(x->dir), 0);
    /* the quick check of a restore does not read pages: the rebuild finds it */
    psx_expect(x, restore(x, &ro, &domid), XLCP_ECORRUPT, says);
    left_as_was(x, doms, vols, orig);
    assert_non_null(strstr(w->log, "hv.restore web1-"));
    assert_non_null(strstr(w->log, " failed\n")); /* the fake toolstack saw the stream cut */
    rep.replace = 1;
    rep.force = 1;
    psx_expect(x, restore(x, &rep, &domid), XLCP_ECORRUPT, says);
    left_as_was(x, doms, vols, orig);
    assert_null(strstr(w->log, "hv.destroy web1\n"));
    /* a toolstack that stopped reading and said yes: the domain is destroyed all the same
     * (the rebuild failed on the corrupt page, or before it for want of a reader) */
    w->restore_reads_header_only = 1;
    ro.new_name = "web1-early";
    rc = restore(x, &ro, &domid);
    if (rc != XLCP_ECORRUPT && !(rc == XLCP_EIO && strstr(x->f->err.msg, "Broken pipe")))
        fail_msg("rc %d: %s", rc, x->f->err.msg);
    assert_non_null(strstr(x->f->err.msg, "restore of checkpoint"));
    left_as_was(x, doms, vols, orig);
    assert_non_null(strstr(w->log, "hv.destroy web1-early\n"));
    assert_null(fake_find_domain(w, "web1-early"));
    psx_free(x);
}

static void test_restore_store_gone(void **state)
{
    struct psx *x = stored(1);
    xlcp_restore_options ro = XLCP_RESTORE_OPTIONS_INIT;
    const char *says[] = {x->f->m.id, "missing", NULL};
    char moved[PATH_MAX + 8];
    int doms = domains(x->f->w), vols = volumes(x->f->w);
    uint32_t domid;
    (void)state;

    snprintf(moved, sizeof(moved), "%s.moved", x->dir);
    assert_int_equal(rename(x->dir, moved), 0);
    psx_expect(x, restore(x, &ro, &domid), XLCP_ECORRUPT, says);
    assert_null(strstr(x->f->w->log, "hv.restore"));
    assert_int_equal(domains(x->f->w), doms);
    assert_int_equal(volumes(x->f->w), vols);
    assert_int_equal(rename(moved, x->dir), 0);
    psx_free(x);
}

static void test_verify_finds_corrupt_page(void **state)
{
    struct psx *x = stored(1);
    const char *says[] = {"checkpoint", x->f->m.id, "map", "pfn ", "pack 0000", NULL};
    (void)state;

    assert_int_equal(xlcp_engine_verify(&x->f->w->ports, x->f->m.id, 0, &x->f->err), 0);
    assert_int_equal(psfx_damage_first_block(x->dir), 0);
    psx_expect(x, xlcp_engine_verify(&x->f->w->ports, x->f->m.id, 0, &x->f->err), XLCP_ECORRUPT,
               says);
    psx_free(x);
}

static void test_export_rebuilt_image(void **state)
{
    struct psx *x = stored(0);
    struct fx *f = x->f;
    struct fake_xio fio;
    struct xlcp_export_index ix;
    struct xlcp_manifest em;
    struct xlcp_pagestore *ps;
    struct sb img = {NULL, 0, 0}, want = {NULL, 0, 0};
    char vdir[400], out[400], path[500], id[XLCP_ID_MAX];
    (void)state;

    snprintf(vdir, sizeof(vdir), "%s/vols", f->w->root);
    assert_int_equal(fake_xio_init(&fio, vdir), 0);
    snprintf(out, sizeof(out), "%s/export", f->w->root);
    assert_int_equal(
        xlcp_engine_export(&f->w->ports, &fio.io, f->m.id, NULL, out, NULL, NULL, NULL, &f->err),
        0);
    /* memory.xl: a standard image our parser reads, what the store rebuilds */
    snprintf(path, sizeof(path), "%s/" XLCP_MEMORY_FILE, out);
    assert_int_equal(xlcp_stream_check_file(path, &f->err), 0);
    assert_int_equal(sb_load(path, &img), 0);
    ps = psx_store(x);
    assert_int_equal(psfx_rebuild(ps, f->m.id, &want, &f->err), 0);
    xlcp_ps_close(ps);
    assert_int_equal(img.len, want.len);
    assert_memory_equal(img.p, want.p, img.len);
    /* its manifest names that file (version 1: no store), the index agrees */
    snprintf(path, sizeof(path), "%s/" XLCP_MANIFEST_FILE, out);
    assert_int_equal(xlcp_manifest_read(path, &em, &f->err), 0);
    assert_string_equal(em.memory_file, XLCP_MEMORY_FILE);
    assert_int_equal(em.memory_bytes, img.len);
    assert_string_equal(em.pagestore_map, "");
    xlcp_manifest_free(&em);
    snprintf(path, sizeof(path), "%s/" XLCP_EXPORT_INDEX, out);
    assert_int_equal(xlcp_export_index_read(path, &ix, &f->err), 0);
    assert_int_equal(xlcp_export_index_file(&ix, XLCP_MEMORY_FILE)->size, img.len);
    xlcp_export_index_free(&ix);
    /* imported, it is a checkpoint of memory.xl that owns no map */
    {
        const char *dirs[] = {out};
        assert_int_equal(xlcp_engine_import(&f->w->ports, &fio.io, dirs, 1, "web1-back", NULL, NULL,
                                            id, &f->err),
                         0);
    }
    assert_true(psx_has_file(x, id, XLCP_MEMORY_FILE));
    assert_int_equal(xlcp_engine_verify(&f->w->ports, id, 0, &f->err), 0);
    assert_int_equal(xlcp_engine_delete(&f->w->ports, id, &f->err), 0);
    assert_true(psx_has_map(x, f->m.id));
    /* a corrupt store: no export, nothing left of it */
    assert_int_equal(psfx_damage_first_block(x->dir), 0);
    snprintf(out, sizeof(out), "%s/export2", f->w->root);
    assert_int_equal(
        xlcp_engine_export(&f->w->ports, &fio.io, f->m.id, NULL, out, NULL, NULL, NULL, &f->err),
        XLCP_ECORRUPT);
    assert_non_null(strstr(f->err.msg, "pfn "));
    assert_int_equal(access(out, F_OK), -1);
    sb_free(&img);
    sb_free(&want);
    psx_free(x);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_restore_from_store),
        cmocka_unit_test(test_restore_corrupt_page),
        cmocka_unit_test(test_restore_store_gone),
        cmocka_unit_test(test_verify_finds_corrupt_page),
        cmocka_unit_test(test_export_rebuilt_image),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
