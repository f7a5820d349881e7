/*
 * test_export.c - export and import (engine_export.c, engine_import.c, export_index.c,
 * lvm_delta.c's parser): a full export then an incremental of a thin disk, imported as a
 * chain, rebuilds exactly the newer checkpoint's disks; the index's corruption and the
 * chain's breaks are refused and leave nothing behind; thin_delta's XML (a sample
 * captured from thin_delta 0.9.0) becomes the right byte ranges.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "engine_fx.h"
#include "export.h"
#include "fakes/fake_export_io.h"

#define VOLSZ ((1u << 20) + 4096u) /* not a multiple of the 64 KiB block */

/* ---- fixture: web1 with a thick xvda and a thin xvdb, checkpoints A and B ---- */

struct xf {
    struct fx fx;
    struct fake_xio fio;
    struct xlcp_export_io io;
    char a[XLCP_ID_MAX], b[XLCP_ID_MAX];
    char snap_a[2][XLCP_NAME_MAX], snap_b[2][XLCP_NAME_MAX];
    char out[256];
};

static void fill(struct xf *x, const char *lv, unsigned seed, int zeros_from)
{
    assert_int_equal(fake_xio_fill(&x->fio, lv, VOLSZ, seed, (size_t)zeros_from), 0);
}

static void poke(struct xf *x, const char *lv, off_t at, const char *s)
{
    char p[600];
    fake_xio_path(&x->fio, lv, p, sizeof(p));
    int fd = open(p, O_WRONLY);
    assert_int_equal(pwrite(fd, s, strlen(s), at), (ssize_t)strlen(s));
    close(fd);
}

static void take(struct xf *x, char *id, char names[2][XLCP_NAME_MAX])
{
    assert_int_equal(create(&x->fx, "web1"), 0);
    snprintf(id, XLCP_ID_MAX, "%s", x->fx.m.id);
    assert_int_equal(x->fx.m.ndisks, 2);
    for (int i = 0; i < 2; i++)
        snprintf(names[i], XLCP_NAME_MAX, "%s", x->fx.m.disks[i].snap.lv);
    x->fx.w->now_ns += 2000000000ull;
}

static int setup(void **state)
{
    struct xf *x = calloc(1, sizeof(*x));
    void *st;
    fx_setup(&st, 1);
    x->fx = *(struct fx *)st;
    free(st);
    fake_add_disk(x->fx.w, x->fx.dom, "xvdb", 1, 1);
    char vdir[300];
    snprintf(vdir, sizeof(vdir), "%s/vols", x->fx.w->root);
    assert_int_equal(fake_xio_init(&x->fio, vdir), 0);
    snprintf(x->out, sizeof(x->out), "%s/out", x->fx.w->root);
    assert_int_equal(mkdir(x->out, 0700), 0);
    x->io = x->fio.io;
    take(x, x->a, x->snap_a);
    fill(x, x->snap_a[0], 1, VOLSZ / 2); /* thick: second half zeros */
    fill(x, x->snap_a[1], 2, VOLSZ);
    take(x, x->b, x->snap_b);
    fill(x, x->snap_b[0], 3, VOLSZ);
    fill(x, x->snap_b[1], 2, VOLSZ);
    poke(x, x->snap_b[1], 100, "changed at 100");
    poke(x, x->snap_b[1], 5 * 65536 + 7, "changed in block 5");
    poke(x, x->snap_b[1], VOLSZ - 3, "end"); /* the partial last block */
    *state = x;
    return 0;
}

static int xteardown(void **state)
{
    struct xf *x = *state;
    struct fx *f = malloc(sizeof(*f));
    *f = x->fx;
    free(x);
    return teardown((void **)&f);
}

static int do_export(struct xf *x, const char *id, const char *since, const char *name,
                     struct xlcp_export_stats *st)
{
    char dir[400];
    snprintf(dir, sizeof(dir), "%s/%s", x->out, name);
    xlcp_err_clear(&x->fx.err);
    return xlcp_engine_export(&x->fx.w->ports, &x->io, id, since, dir, NULL, NULL, st, &x->fx.err);
}

static int do_import(struct xf *x, const char *const *names, int n, char *id)
{
    char dirs[4][400];
    const char *d[4];
    for (int i = 0; i < n; i++) {
        snprintf(dirs[i], sizeof(dirs[i]), "%s/%s", x->out, names[i]);
        d[i] = dirs[i];
    }
    xlcp_err_clear(&x->fx.err);
    return xlcp_engine_import(&x->fx.w->ports, &x->io, d, n, "web1-back", NULL, NULL, id,
                              &x->fx.err);
}

static void assert_same_vol(struct xf *x, const char *lv1, const char *lv2)
{
    size_t l1, l2;
    char *a = fake_xio_read(&x->fio, lv1, &l1), *b = fake_xio_read(&x->fio, lv2, &l2);
    assert_non_null(a);
    assert_non_null(b);
    assert_int_equal(l1, l2);
    assert_memory_equal(a, b, l1);
    free(a);
    free(b);
}

static void test_full_then_incremental_import(void **state)
{
    struct xf *x = *state;
    struct xlcp_export_stats sa, sb;
    struct xlcp_export_index ix;
    char path[500], id[XLCP_ID_MAX];
    struct stat st;

    assert_int_equal(do_export(x, x->a, NULL, "A", &sa), 0);
    assert_int_equal(do_export(x, x->b, x->a, "B", &sb), 0);
    /* A: full images, the zeros of the thick one not written */
    snprintf(path, sizeof(path), "%s/A/export.xml", x->out);
    assert_int_equal(xlcp_export_index_read(path, &ix, &x->fx.err), 0);
    assert_string_equal(ix.base_id, "");
    assert_int_equal(ix.ndisks, 2);
    assert_false(ix.disks[0].delta);
    assert_int_equal(ix.disks[0].size, VOLSZ);
    xlcp_export_index_free(&ix);
    assert_true(sa.data_bytes < 2ull * VOLSZ);
    snprintf(path, sizeof(path), "%s/A/disks/xvda.img", x->out);
    assert_int_equal(stat(path, &st), 0);
    assert_int_equal(st.st_size, VOLSZ);
    /* B: the thin disk as three changed blocks (the last one cut at the volume's end) */
    snprintf(path, sizeof(path), "%s/B/export.xml", x->out);
    assert_int_equal(xlcp_export_index_read(path, &ix, &x->fx.err), 0);
    assert_string_equal(ix.base_id, x->a);
    assert_false(ix.disks[0].delta);
    assert_true(ix.disks[1].delta);
    assert_int_equal(ix.disks[1].nextents, 3);
    assert_int_equal(ix.disks[1].extents[1].offset, 5 * 65536);
    assert_int_equal(ix.disks[1].extents[2].length, 4096);
    assert_int_equal(xlcp_export_index_file(&ix, "disks/xvdb.delta")->size, 2 * 65536 + 4096);
    xlcp_export_index_free(&ix);
    /* no temporary directory left beside them */
    DIR *d = opendir(x->out);
    struct dirent *e;
    int n = 0;
    while ((e = readdir(d)))
        n += e->d_name[0] != '.';
    closedir(d);
    assert_int_equal(n, 2);

    const char *chain[] = {"A", "B"};
    assert_int_equal(do_import(x, chain, 2, id), 0);
    assert_int_equal(x->fio.created, 2);
    struct xlcp_manifest m;
    char dir[XLCP_PATH_MAX];
    assert_int_equal(xlcp_engine_load(&x->fx.w->ports, id, &m, dir, sizeof(dir), &x->fx.err), 0);
    assert_string_equal(m.dom_name, "web1-back");
    assert_string_equal(m.group_id, "");
    /* rebuilt disks equal B's, although the new volumes started as garbage */
    assert_same_vol(x, m.disks[0].snap.lv, x->snap_b[0]);
    assert_same_vol(x, m.disks[1].snap.lv, x->snap_b[1]);
    assert_non_null(strstr(m.disks[1].snap.lv, id));
    xlcp_manifest_free(&m);
    assert_int_equal(xlcp_engine_verify(&x->fx.w->ports, id, XLCP_VERIFY_NO_DISKS, &x->fx.err), 0);
}

/* a chain of three: A full, B since A, C since B (one more block of the thin disk
 * changed, the thick disk exported in full again); A + C without B is refused */
static void test_chain_of_three(void **state)
{
    struct xf *x = *state;
    char c[XLCP_ID_MAX], snap_c[2][XLCP_NAME_MAX], id[XLCP_ID_MAX];
    const char *abc[] = {"A", "B", "C"}, *ac[] = {"A", "C"};

    take(x, c, snap_c);
    fill(x, snap_c[0], 3, VOLSZ);
    fill(x, snap_c[1], 2, VOLSZ);
    poke(x, snap_c[1], 100, "changed at 100");
    poke(x, snap_c[1], 5 * 65536 + 7, "changed in block 5");
    poke(x, snap_c[1], VOLSZ - 3, "end");
    poke(x, snap_c[1], 9 * 65536, "and block 9 in C");
    assert_int_equal(do_export(x, x->a, NULL, "A", NULL), 0);
    assert_int_equal(do_export(x, x->b, x->a, "B", NULL), 0);
    assert_int_equal(do_export(x, c, x->b, "C", NULL), 0);
    assert_int_equal(do_import(x, ac, 2, id), XLCP_EINVAL);
    assert_non_null(strstr(x->fx.err.msg, "broken chain"));
    assert_int_equal(do_import(x, abc, 3, id), 0);
    struct xlcp_manifest m;
    char dir[XLCP_PATH_MAX];
    assert_int_equal(xlcp_engine_load(&x->fx.w->ports, id, &m, dir, sizeof(dir), &x->fx.err), 0);
    assert_same_vol(x, m.disks[1].snap.lv, snap_c[1]);
    assert_same_vol(x, m.disks[0].snap.lv, snap_c[0]);
    xlcp_manifest_free(&m);
}

static void test_chain_refusals(void **state)
{
    struct xf *x = *state;
    char id[XLCP_ID_MAX], path[500];
    const char *only_b[] = {"B"}, *twice_a[] = {"A", "A"}, *chain[] = {"A", "B"};

    assert_int_equal(do_export(x, x->a, NULL, "A", NULL), 0);
    assert_int_equal(do_export(x, x->b, x->a, "B", NULL), 0);
    assert_int_equal(do_import(x, only_b, 1, id), XLCP_EINVAL);
    assert_non_null(strstr(x->fx.err.msg, "must start with a full export"));
    assert_int_equal(do_import(x, twice_a, 2, id), XLCP_EINVAL);
    assert_non_null(strstr(x->fx.err.msg, "broken chain"));
    /* one flipped byte in the delta */
    snprintf(path, sizeof(path), "%s/B/disks/xvdb.delta", x->out);
    int fd = open(path, O_WRONLY);
    assert_int_equal(pwrite(fd, "X", 1, 10), 1);
    close(fd);
    assert_int_equal(do_import(x, chain, 2, id), XLCP_ECORRUPT);
    assert_non_null(strstr(x->fx.err.msg, "xvdb.delta"));
    /* nothing was made: refused before any volume */
    assert_int_equal(x->fio.created, 0);
    char **ids;
    size_t n;
    assert_int_equal(x->fx.w->ports.store.ops->list(x->fx.w->ports.store.self, x->fx.dom->d.uuid,
                                                    &ids, &n, &x->fx.err),
                     0);
    assert_int_equal(n, 2);
    for (size_t i = 0; i < n; i++)
        free(ids[i]);
    free(ids);
}

static void test_export_refusals(void **state)
{
    struct xf *x = *state;

    assert_int_equal(do_export(x, x->a, NULL, "A", NULL), 0);
    assert_int_equal(do_export(x, x->a, NULL, "A", NULL), XLCP_EINVAL); /* exists */
    assert_int_equal(do_export(x, x->a, x->b, "C", NULL), XLCP_EINVAL); /* since newer */
    assert_non_null(strstr(x->fx.err.msg, "not older"));
    assert_int_equal(do_export(x, "20990101T000000.000Z-abcdef", NULL, "D", NULL), XLCP_ENOTFOUND);
    x->fio.fail_changed = 1;
    assert_int_equal(do_export(x, x->b, x->a, "E", NULL), XLCP_EDISK);
    assert_non_null(strstr(x->fx.err.msg, "xvdb"));
    /* a failed export leaves neither its directory nor a temporary one */
    DIR *d = opendir(x->out);
    struct dirent *e;
    int n = 0;
    while ((e = readdir(d)))
        n += e->d_name[0] != '.';
    closedir(d);
    assert_int_equal(n, 1);
}

static void test_import_failure_removes_volumes(void **state)
{
    struct xf *x = *state;
    char id[XLCP_ID_MAX];
    const char *chain[] = {"A"};

    assert_int_equal(do_export(x, x->a, NULL, "A", NULL), 0);
    fake_fail(x->fx.w, "store.commit", XLCP_EIO, 1);
    assert_int_equal(do_import(x, chain, 1, id), XLCP_EIO);
    assert_int_equal(x->fio.created, 2);
    assert_int_equal(x->fio.removed, 2);
}

/* ---- the index ---- */

static void write_text(const char *path, const char *s)
{
    FILE *f = fopen(path, "w");
    assert_non_null(f);
    fputs(s, f);
    fclose(f);
}

static void test_index_corruption(void **state)
{
    struct xf *x = *state;
    struct xlcp_export_index ix;
    char path[500];
    static const char *bad[] = {
        "<xlcp-export format='1' id='a' domain='d' uuid='u' digest-alg='xxh3-128'>",
        "<xlcp-export format='2' id='a' domain='d' uuid='u' digest-alg='xxh3-128'/>",
        "<xlcp-export format='1' id='a' domain='d' uuid='u' digest-alg='md5'/>",
        /* no memory image listed */
        "<xlcp-export format='1' id='a' domain='d' uuid='u' digest-alg='xxh3-128'>"
        "<file name='manifest.xml' size='1' digest='ab'/></xlcp-export>",
        /* a file name that climbs out */
        "<xlcp-export format='1' id='a' domain='d' uuid='u' digest-alg='xxh3-128'>"
        "<file name='../etc/passwd' size='1' digest='ab'/></xlcp-export>",
        /* extents out of order */
        "<xlcp-export format='1' id='a' base='z' domain='d' uuid='u' digest-alg='xxh3-128'>"
        "<file name='manifest.xml' size='1' digest='ab'/><file name='memory.xl' size='1' "
        "digest='ab'/><file name='disks/x.delta' size='2' digest='ab'/>"
        "<disk vdev='x' kind='delta' size='100' file='disks/x.delta'><extent offset='50' "
        "length='1'/><extent offset='10' length='1'/></disk></xlcp-export>",
        /* an extent past the volume */
        "<xlcp-export format='1' id='a' base='z' domain='d' uuid='u' digest-alg='xxh3-128'>"
        "<file name='manifest.xml' size='1' digest='ab'/><file name='memory.xl' size='1' "
        "digest='ab'/><file name='disks/x.delta' size='2' digest='ab'/>"
        "<disk vdev='x' kind='delta' size='100' file='disks/x.delta'><extent offset='99' "
        "length='2'/></disk></xlcp-export>",
        /* block map and file size disagree */
        "<xlcp-export format='1' id='a' base='z' domain='d' uuid='u' digest-alg='xxh3-128'>"
        "<file name='manifest.xml' size='1' digest='ab'/><file name='memory.xl' size='1' "
        "digest='ab'/><file name='disks/x.delta' size='3' digest='ab'/>"
        "<disk vdev='x' kind='delta' size='100' file='disks/x.delta'><extent offset='9' "
        "length='2'/></disk></xlcp-export>",
        /* a delta without a base */
        "<xlcp-export format='1' id='a' domain='d' uuid='u' digest-alg='xxh3-128'>"
        "<file name='manifest.xml' size='1' digest='ab'/><file name='memory.xl' size='1' "
        "digest='ab'/><file name='disks/x.delta' size='2' digest='ab'/>"
        "<disk vdev='x' kind='delta' size='100' file='disks/x.delta'><extent offset='9' "
        "length='2'/></disk></xlcp-export>",
    };
    snprintf(path, sizeof(path), "%s/ix.xml", x->out);
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        write_text(path, bad[i]);
        assert_int_equal(xlcp_export_index_read(path, &ix, &x->fx.err), XLCP_ECORRUPT);
    }
    /* the last one with its base is fine: the check above is not one that always fails */
    write_text(path, "<xlcp-export format='1' id='a' base='z' domain='d' uuid='u' "
                     "digest-alg='xxh3-128'><file name='manifest.xml' size='1' digest='ab'/><file "
                     "name='memory.xl' size='1' digest='ab'/><file name='disks/x.delta' size='2' "
                     "digest='ab'/><disk vdev='x' kind='delta' size='100' file='disks/x.delta'>"
                     "<extent offset='9' length='2'/></disk></xlcp-export>");
    assert_int_equal(xlcp_export_index_read(path, &ix, &x->fx.err), 0);
    assert_int_equal(ix.disks[0].nextents, 1);
    xlcp_export_index_free(&ix);
    snprintf(path, sizeof(path), "%s/none.xml", x->out);
    assert_int_equal(xlcp_export_index_read(path, &ix, &x->fx.err), XLCP_ENOTFOUND);
}

/* ---- thin_delta ---- */

/* `thin_delta --snap1 1 --snap2 2` (thin-provisioning-tools 0.9.0, Debian 12) on pool
 * metadata where device 2 is a snapshot of 1 that then wrote block 2 and blocks 5-6, and
 * device 1 mapped block 10 that device 2 no longer has */
static const char sample[] =
    "<superblock uuid=\"\" time=\"1\" transaction=\"2\" data_block_size=\"128\" "
    "nr_data_blocks=\"1000\">\n"
    "  <diff left=\"1\" right=\"2\">\n"
    "    <same begin=\"0\" length=\"2\"/>\n"
    "    <different begin=\"2\" length=\"1\"/>\n"
    "    <right_only begin=\"5\" length=\"2\"/>\n"
    "    <left_only begin=\"10\" length=\"1\"/>\n"
    "  </diff>\n"
    "</superblock>\n";

static void test_thin_delta_parse(void **state)
{
    struct xlcp_extent *e;
    size_t n;
    struct xlcp_err err;
    (void)state;

    assert_int_equal(xlcp_thin_delta_parse(sample, sizeof(sample) - 1, &e, &n, &err), 0);
    assert_int_equal(n, 3);
    assert_int_equal(e[0].offset, 2 * 65536);
    assert_int_equal(e[0].length, 65536);
    assert_int_equal(e[1].offset, 5 * 65536);
    assert_int_equal(e[1].length, 2 * 65536);
    assert_int_equal(e[2].offset, 10 * 65536); /* left_only: reads zeros now, sent as such */
    free(e);
    /* adjacent ranges merge */
    static const char adj[] = "<superblock data_block_size='8'><diff left='1' right='2'>"
                              "<different begin='4' length='1'/><right_only begin='5' "
                              "length='2'/></diff></superblock>";
    assert_int_equal(xlcp_thin_delta_parse(adj, sizeof(adj) - 1, &e, &n, &err), 0);
    assert_int_equal(n, 1);
    assert_int_equal(e[0].offset, 4 * 4096);
    assert_int_equal(e[0].length, 3 * 4096);
    free(e);
    static const char none[] = "<superblock data_block_size='128'><diff left='1' right='2'>"
                               "<same begin='0' length='9'/></diff></superblock>";
    assert_int_equal(xlcp_thin_delta_parse(none, sizeof(none) - 1, &e, &n, &err), 0);
    assert_int_equal(n, 0);
    free(e);
    static const char *bad[] = {
        "",
        "garbage",
        "<superblock><diff/></superblock>",
        "<superblock data_block_size='128'></superblock>",
        "<superblock data_block_size='128'><diff><different begin='x' length='1'/></diff>"
        "</superblock>",
        "<superblock data_block_size='128'><diff><moved begin='1' length='1'/></diff>"
        "</superblock>",
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
        assert_int_equal(xlcp_thin_delta_parse(bad[i], strlen(bad[i]), &e, &n, &err), XLCP_EDISK);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_full_then_incremental_import, setup, xteardown),
        cmocka_unit_test_setup_teardown(test_chain_of_three, setup, xteardown),
        cmocka_unit_test_setup_teardown(test_chain_refusals, setup, xteardown),
        cmocka_unit_test_setup_teardown(test_export_refusals, setup, xteardown),
        cmocka_unit_test_setup_teardown(test_import_failure_removes_volumes, setup, xteardown),
        cmocka_unit_test_setup_teardown(test_index_corruption, setup, xteardown),
        cmocka_unit_test(test_thin_delta_parse),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
