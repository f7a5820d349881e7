/*
 * test_leftovers.c - what interrupted runs leave, and who may touch a domain: intent
 * records and their cleanup (any number of them, a snapshot whose removal failed, recover
 * --dry-run), the per-domain lock shared by every catalog root, a bounded wait for the
 * arming of snapshots inside the pause, and restores of checkpoints with skipped disks.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "engine_fx.h"

static int setup(void **state)
{
    return fx_setup(state, 1);
}

/* A run killed after it made its snapshot: its record and the (tagged) volume. */
static void leave_run_with_volume(struct fx *f, int n)
{
    const struct xlcp_store *st = &f->w->ports.store;
    const struct xlcp_disk *dk = &f->w->ports.disk;
    struct xlcp_intent rec;
    struct xlcp_volume vol;
    struct xlcp_snapshot snap;
    char tag[XLCP_ID_MAX + 8];

    memset(&rec, 0, sizeof(rec));
    snprintf(rec.id, sizeof(rec.id), "20260101T000000.%03dZ-dead%02x", n, n);
    snprintf(rec.dom_uuid, sizeof(rec.dom_uuid), "%s", f->dom->d.uuid);
    rec.domid = f->dom->d.domid;
    rec.pid = 1; /* init: alive, and not us */
    rec.nvols = 1;
    snprintf(rec.vols[0].vg, sizeof(rec.vols[0].vg), "vg0");
    snprintf(rec.vols[0].lv, sizeof(rec.vols[0].lv), "web1-xvda.xlcp.%s", rec.id);
    assert_int_equal(st->ops->intent_write(st->self, &rec, &f->err), 0);
    assert_int_equal(dk->ops->inspect(dk->self, "/dev/vg0/web1-xvda", &vol, &f->err), 0);
    snprintf(tag, sizeof(tag), "xlcp-%s", rec.id);
    assert_int_equal(dk->ops->arm(dk->self, &vol, rec.vols[0].lv, NULL, tag, &snap, &f->err), 0);
    f->dom->suspended = 1; /* that run captured its disk inside the pause */
    assert_int_equal(dk->ops->capture(dk->self, &snap, &f->err), 0);
    f->dom->suspended = 0;
    assert_int_equal(dk->ops->complete(dk->self, &snap, &f->err), 0);
}

/* Any number of leftovers: all of them go at the next run (the old cleanup kept 8). */
static void test_many_leftovers_all_cleaned(void **state)
{
    struct fx *f = *state;

    for (int i = 0; i < 11; i++)
        leave_run_with_volume(f, i);
    assert_int_equal(fake_snapshot_count(f->w), 11);
    assert_int_equal(fake_catalog_entries(f->w), 11);

    assert_int_equal(create(f, "web1"), 0);
    assert_int_equal(fake_snapshot_count(f->w), 1);  /* the new checkpoint's */
    assert_int_equal(fake_catalog_entries(f->w), 1); /* the new checkpoint */
    /* and the guest was not resumed on their behalf (none said it was suspended) */
    assert_int_equal(f->dom->resumes, 1);
}

/* An unwind that cannot remove its snapshot keeps the record (and says so); the next run
 * removes what it names. */
static void test_failed_removal_keeps_record_next_run(void **state)
{
    struct fx *f = *state;

    fake_fail(f->w, "store.commit", XLCP_EIO, 1);
    fake_fail(f->w, "disk.remove", XLCP_EDISK, 1);
    assert_int_equal(create(f, "web1"), XLCP_EIO);
    assert_non_null(strstr(f->err.msg, "left behind"));
    assert_non_null(strstr(f->err.msg, "intent record keeps"));
    assert_int_equal(f->dom->suspended, 0);
    assert_int_equal(fake_snapshot_count(f->w), 1);
    assert_int_equal(fake_catalog_entries(f->w), 1); /* the record */

    assert_int_equal(create(f, "web1"), 0);
    assert_int_equal(fake_snapshot_count(f->w), 1);
    assert_int_equal(fake_catalog_entries(f->w), 1);
}

/* ... or `recover` does: --dry-run shows it and changes nothing, then it goes. */
static void test_failed_removal_recover(void **state)
{
    struct fx *f = *state;
    char *report = NULL;
    unsigned int count = 0;

    fake_fail(f->w, "store.commit", XLCP_EIO, 1);
    fake_fail(f->w, "disk.remove", XLCP_EDISK, 1);
    assert_int_equal(create(f, "web1"), XLCP_EIO);
    assert_int_equal(fake_snapshot_count(f->w), 1);

    assert_int_equal(xlcp_engine_recover(&f->w->ports, "web1", 1, &report, &count, &f->err), 0);
    assert_int_equal(count, 1);
    assert_non_null(strstr(report, "would remove"));
    assert_non_null(strstr(report, ".xlcp."));
    free(report);
    assert_int_equal(fake_snapshot_count(f->w), 1);
    assert_int_equal(fake_catalog_entries(f->w), 1);

    /* a removal that fails again keeps the record, and says so */
    fake_fail(f->w, "disk.remove", XLCP_EDISK, 1);
    assert_int_equal(xlcp_engine_recover(&f->w->ports, NULL, 0, &report, &count, &f->err),
                     XLCP_EDISK);
    assert_int_equal(fake_catalog_entries(f->w), 1);
    assert_int_equal(fake_snapshot_count(f->w), 1);

    assert_int_equal(xlcp_engine_recover(&f->w->ports, NULL, 0, &report, &count, &f->err), 0);
    assert_non_null(strstr(report, "removed"));
    free(report);
    assert_int_equal(fake_snapshot_count(f->w), 0);
    assert_int_equal(fake_catalog_entries(f->w), 0);

    assert_int_equal(xlcp_engine_recover(&f->w->ports, NULL, 0, &report, &count, &f->err), 0);
    assert_int_equal(count, 0);
    assert_non_null(strstr(report, "nothing left"));
    free(report);
}

/* Two catalogs (different roots) share the per-domain lock. */
static void test_lock_shared_across_roots(void **state)
{
    struct fx *f = *state;
    struct fake_world *other = fake_world_new(); /* another root, the same run directory */
    struct fake_dom *d2 = fake_add_domain(other, "web1", 1);
    const struct xlcp_store *st = &f->w->ports.store;
    struct xlcp_store_lock *lock = NULL;
    struct xlcp_manifest m2;
    struct xlcp_err e2;

    assert_string_equal(d2->d.uuid, f->dom->d.uuid);
    assert_string_not_equal(other->root, f->w->root);
    assert_int_equal(st->ops->lock(st->self, f->dom->d.uuid, &lock, &f->err), 0);
    xlcp_err_clear(&e2);
    assert_int_equal(xlcp_engine_create(&other->ports, "web1", &f->opts, &m2, &e2), XLCP_EBUSY);
    assert_non_null(strstr(e2.msg, "lock"));
    assert_int_equal(d2->resumes, 0);
    st->ops->unlock(st->self, lock);
    xlcp_err_clear(&e2);
    assert_int_equal(xlcp_engine_create(&other->ports, "web1", &f->opts, &m2, &e2), 0);
    xlcp_manifest_free(&m2);
    fake_world_free(other);
}

/* delete and restore take the lock too. */
static void test_delete_restore_busy(void **state)
{
    struct fx *f = *state;
    const struct xlcp_store *st = &f->w->ports.store;
    struct xlcp_store_lock *lock = NULL;
    xlcp_restore_options ro = XLCP_RESTORE_OPTIONS_INIT;
    uint32_t domid = 0;

    assert_int_equal(create(f, "web1"), 0);
    assert_int_equal(st->ops->lock(st->self, f->dom->d.uuid, &lock, &f->err), 0);
    assert_int_equal(xlcp_engine_delete(&f->w->ports, f->m.id, &f->err), XLCP_EBUSY);
    assert_int_equal(xlcp_engine_restore(&f->w->ports, f->m.id, &ro, &domid, &f->err), XLCP_EBUSY);
    assert_int_equal(fake_snapshot_count(f->w), 1);
    st->ops->unlock(st->self, lock);
    assert_int_equal(xlcp_engine_delete(&f->w->ports, f->m.id, &f->err), 0);
    assert_int_equal(fake_snapshot_count(f->w), 0);
}

/* Arming that is not finished when the guest stops: the pause is not stretched to wait
 * for it; the checkpoint fails cleanly (guest resumed, nothing left). */
static void test_slow_arming_bounded(void **state)
{
    struct fx *f = *state;
    unsigned int saved = xlcp_engine_arm_wait_ms;

    xlcp_engine_arm_wait_ms = 100;
    f->w->arm_delay_ms = 1500;
    int rc = create(f, "web1");
    xlcp_engine_arm_wait_ms = saved;
    assert_int_equal(rc, XLCP_ETIMEDOUT);
    assert_int_equal(f->err.step, XLCP_STEP_DISK_SNAPSHOT);
    assert_non_null(strstr(f->err.msg, "not finished 100 ms after the guest stopped"));
    assert_int_equal(f->dom->suspended, 0);
    assert_int_equal(fake_snapshot_count(f->w), 0);
    assert_int_equal(fake_held_count(f->w), 0);
    assert_int_equal(fake_catalog_entries(f->w), 0);
    /* the guest was resumed before the slow arm finished: resume is logged before the
     * removal of the volume that arm made */
    const char *res = strstr(f->w->log, "hv.resume");
    const char *rem = strstr(f->w->log, "disk.remove");
    assert_non_null(res);
    assert_non_null(rem);
    assert_true(res < rem);
}

/* A skipped (non-LVM) disk keeps its original path on restore: beside the running
 * original that is its writable disk twice. Refused unless a path is named for it or the
 * original is replaced. */
static void test_restore_skipped_disk(void **state)
{
    struct fx *f = *state;
    xlcp_restore_options ro = XLCP_RESTORE_OPTIONS_INIT;
    const char *map[] = {"xvdb=/var/lib/images/copy.img"};
    const char *bad[] = {"xvda=/var/lib/images/copy.img"};
    struct fake_dom *nd;
    uint32_t domid = 0;

    fake_add_disk(f->w, f->dom, "xvdb", 0, 0);
    f->opts.skip_non_lvm = 1;
    assert_int_equal(create(f, "web1"), 0);

    assert_int_equal(xlcp_engine_restore(&f->w->ports, f->m.id, &ro, &domid, &f->err), XLCP_EINVAL);
    assert_non_null(strstr(f->err.msg, "--disk xvdb=PATH"));
    assert_null(strstr(f->w->log, "hv.restore"));
    assert_int_equal(fake_snapshot_count(f->w), 1); /* no clone left */

    ro.disk_paths = bad; /* an LVM disk is restored from its snapshot, not from a path */
    ro.ndisk_paths = 1;
    assert_int_equal(xlcp_engine_restore(&f->w->ports, f->m.id, &ro, &domid, &f->err), XLCP_EINVAL);

    ro.disk_paths = map;
    assert_int_equal(xlcp_engine_restore(&f->w->ports, f->m.id, &ro, &domid, &f->err), 0);
    nd = NULL;
    for (int i = 0; i < FAKE_MAX_DOMS; i++)
        if (f->w->doms[i].used && f->w->doms[i].d.domid == domid)
            nd = &f->w->doms[i];
    assert_non_null(nd);
    int seen = 0;
    for (int i = 0; i < nd->d.ndisks; i++)
        if (strcmp(nd->d.disks[i].vdev, "xvdb") == 0) {
            assert_string_equal(nd->d.disks[i].target, "/var/lib/images/copy.img");
            seen = 1;
        }
    assert_true(seen);
}

static void test_restore_skipped_disk_replace(void **state)
{
    struct fx *f = *state;
    xlcp_restore_options ro = XLCP_RESTORE_OPTIONS_INIT;
    uint32_t domid = 0;

    fake_add_disk(f->w, f->dom, "xvdb", 0, 0);
    f->opts.skip_non_lvm = 1;
    assert_int_equal(create(f, "web1"), 0);
    ro.replace = 1;
    ro.force = 1;
    assert_int_equal(xlcp_engine_restore(&f->w->ports, f->m.id, &ro, &domid, &f->err), 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_many_leftovers_all_cleaned, setup, teardown),
        cmocka_unit_test_setup_teardown(test_failed_removal_keeps_record_next_run, setup, teardown),
        cmocka_unit_test_setup_teardown(test_failed_removal_recover, setup, teardown),
        cmocka_unit_test_setup_teardown(test_lock_shared_across_roots, setup, teardown),
        cmocka_unit_test_setup_teardown(test_delete_restore_busy, setup, teardown),
        cmocka_unit_test_setup_teardown(test_slow_arming_bounded, setup, teardown),
        cmocka_unit_test_setup_teardown(test_restore_skipped_disk, setup, teardown),
        cmocka_unit_test_setup_teardown(test_restore_skipped_disk_replace, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
