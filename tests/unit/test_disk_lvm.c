/*
 * test_disk_lvm.c - the LVM adapter (disk_lvm.c and the files lvm.h lists) against an
 * in-process LVM and device-mapper (fakes/fake_lvm.c): the hold is checked before each
 * snapshot is finished, a suspend and a hold are bounded in time, snapshots are read-only,
 * verify's check, the thin pool's room, our VG lock, and removal by tag that can only
 * reach a checkpoint's own volumes.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "engine.h"
#include "fakes/fake_lvm.h"
#include "fakes/fakes.h"

#define ID "20261201T212400.123Z-0a1b2c"
#define TAG "xlcp-" ID

struct fx {
    struct flvm *f;
    struct xlcp_disk d;
    struct xlcp_err err;
    struct xlcp_volume vol;
    struct xlcp_snapshot snap;
    char rundir[64];
};

static int setup_env(void **state, const char *suspend_ms, const char *hold_ms)
{
    struct fx *x = calloc(1, sizeof(*x));

    assert_non_null(x);
    snprintf(x->rundir, sizeof(x->rundir), "/tmp/xlcp-test-disk-XXXXXX");
    assert_non_null(mkdtemp(x->rundir));
    setenv("XLCP_RUN_DIR", x->rundir, 1);
    setenv("XLCP_DM_SUSPEND_LIMIT_MS", suspend_ms, 1);
    setenv("XLCP_HOLD_LIMIT_MS", hold_ms, 1);
    setenv("XLCP_LVM_TIMEOUT", "2", 1);
    setenv("XLCP_THICK_SWITCH", "1", 1); /* the switch (test_thick_switch_off: without) */
    x->f = fake_lvm_new();
    struct flvm_lv *pool = fake_lvm_add(x->f, "vg0", "pool", "thin-pool", 1ull << 30);
    pool->data_pct = 10;
    pool->meta_pct = 5;
    fake_lvm_add(x->f, "vg0", "web1-d0", "linear", 1ull << 30);
    struct flvm_lv *t = fake_lvm_add(x->f, "vg0", "web1-d1", "thin", 256ull << 20);
    snprintf(t->pool, sizeof(t->pool), "pool");
    xlcp_err_clear(&x->err);
    assert_int_equal(fake_lvm_open(x->f, &x->d, &x->err), 0);
    *state = x;
    return 0;
}

static int setup(void **state)
{
    return setup_env(state, "5000", "30000");
}

static int setup_short(void **state)
{
    return setup_env(state, "100", "100");
}

static int teardown(void **state)
{
    struct fx *x = *state;
    char path[128];

    xlcp_disk_lvm_close(&x->d);
    fake_lvm_free(x->f);
    snprintf(path, sizeof(path), "%s/vg-vg0.lock", x->rundir);
    unlink(path);
    rmdir(x->rundir);
    free(x);
    return 0;
}

#define OPS(x) ((x)->d.ops)

/* inspect + arm of one of the two volumes (d0 thick, d1 thin) */
static void arm(struct fx *x, const char *lv)
{
    char target[64], name[64];

    snprintf(target, sizeof(target), "/dev/vg0/%s", lv);
    snprintf(name, sizeof(name), "%s.xlcp.%s", lv, "0a1b2c");
    assert_int_equal(OPS(x)->inspect(x->d.self, target, &x->vol, &x->err), 0);
    if (OPS(x)->arm(x->d.self, &x->vol, name, "", TAG, &x->snap, &x->err) != 0)
        fail_msg("arm: %s", x->err.msg);
}

static void msleep(unsigned ms)
{
    struct timespec ts = {ms / 1000, (long)(ms % 1000) * 1000000L};
    nanosleep(&ts, NULL);
}

/* An origin that has LVM snapshots already (its table is a snapshot-origin): its thick
 * snapshots take the older path, `lvcreate -s` of the held origin. */
static void legacy(struct fx *x)
{
    struct flvm_lv *o = fake_lvm_find(x->f, "vg0", "web1-d0");

    snprintf(o->table, sizeof(o->table), "0 %" PRIu64 " snapshot-origin 4000:999", o->size / 512);
}

/* ---- thick: the device-mapper switch (lvm_thick.c) ------------------------------------- */

/* arm makes the COW LV (read-only, tagged, inactive) and LVM's two layers; capture switches
 * the origin's table and lets it run at once; complete has lvconvert take it over */
static void test_thick_switch_ok(void **state)
{
    struct fx *x = *state;
    struct flvm_lv *o = fake_lvm_find(x->f, "vg0", "web1-d0"), *s;
    struct fdm_dev *real, *cow, *lsnap;

    arm(x, "web1-d0");
    s = fake_lvm_find(x->f, "vg0", x->snap.lv);
    assert_non_null(s);
    assert_int_equal(s->attr[1], 'r');
    assert_int_equal(s->attr[4], '-'); /* inactive: lvconvert wants it so */
    assert_string_equal(s->tags, TAG);
    real = fake_dm_find(x->f, "vg0-web1--d0-real");
    cow = fake_dm_find(x->f, "vg0-web1--d0.xlcp.0a1b2c-cow");
    assert_non_null(real);
    assert_non_null(cow);
    assert_true(cow->zeroed); /* a new exception store */
    assert_string_equal(real->uuid, "LVM-fakeVGaaaabbbbccccddddeeeeffffff"
                                    "fakeLVaaaabbbbccccddddeeee000001-real");
    assert_string_equal(real->table, "0 2097152 linear 4000:900 1002048");
    assert_string_equal(o->table, ""); /* untouched until the instant */

    assert_int_equal(OPS(x)->capture(x->d.self, &x->snap, &x->err), 0);
    assert_false(o->suspended); /* running again: held only for the switch */
    assert_int_equal(o->resumes, 1);
    char want[128];
    snprintf(want, sizeof(want), "0 2097152 snapshot-origin 4000:%d",
             FLVM_MAX + (int)(real - x->f->dm));
    assert_string_equal(o->table, want);
    struct fdm_dev *tmp = fake_dm_find(x->f, "xlcp.vg0-web1--d0.xlcp.0a1b2c");
    assert_non_null(tmp);
    assert_int_equal(strncmp(tmp->uuid, "XLCP-", 5), 0);
    snprintf(want, sizeof(want), "0 2097152 snapshot 4000:%d 4000:%d P 8",
             FLVM_MAX + (int)(real - x->f->dm), FLVM_MAX + (int)(cow - x->f->dm));
    assert_string_equal(tmp->table, want);

    if (OPS(x)->complete(x->d.self, &x->snap, &x->err) != 0)
        fail_msg("complete: %s", x->err.msg);
    assert_non_null(
        strstr(x->f->cmds, "lvconvert -q -y -s -Zn vg0/web1-d0 vg0/web1-d0.xlcp.0a1b2c"));
    assert_null(fake_dm_find(x->f, "xlcp.vg0-web1--d0.xlcp.0a1b2c")); /* handed over, gone */
    lsnap = fake_dm_find(x->f, "vg0-web1-d0.xlcp.0a1b2c");
    assert_non_null(lsnap);
    assert_string_equal(lsnap->table, want); /* LVM's snapshot on our layers */
    assert_string_equal(s->origin, "web1-d0");
    assert_true(x->snap.held_ns > 0);
    assert_null(strstr(x->f->cmds, "lvcreate -q -y -s")); /* no lvcreate -s */
    /* removal: LVM's lvremove puts the origin back; nothing of ours is left */
    assert_int_equal(OPS(x)->remove(x->d.self, &x->snap, &x->err), 0);
    assert_null(fake_lvm_find(x->f, "vg0", x->snap.lv));
    assert_int_equal(fake_dm_count(x->f), 0);
    assert_string_equal(o->table, "");
}

/* lvconvert fails: the origin gets its own table back (a short hold), our devices go,
 * remove takes the COW LV */
static void test_thick_switch_lvconvert_fails(void **state)
{
    struct fx *x = *state;
    struct flvm_lv *o = fake_lvm_find(x->f, "vg0", "web1-d0");

    arm(x, "web1-d0");
    assert_int_equal(OPS(x)->capture(x->d.self, &x->snap, &x->err), 0);
    snprintf(x->f->fail_cmd, sizeof(x->f->fail_cmd), "lvconvert");
    assert_int_equal(OPS(x)->complete(x->d.self, &x->snap, &x->err), XLCP_EDISK);
    if (!strstr(x->err.msg, "snapshot of vg0/web1-d0"))
        fail_msg("message: %s", x->err.msg);
    assert_string_equal(o->table, "0 2097152 linear 4000:900 1002048");
    assert_false(o->suspended);
    assert_int_equal(fake_dm_count(x->f), 0);
    x->f->fail_cmd[0] = '\0';
    assert_int_equal(OPS(x)->remove(x->d.self, &x->snap, &x->err), 0);
    assert_null(fake_lvm_find(x->f, "vg0", x->snap.lv));
}

/* the switch fails at the instant (the snapshot device cannot be made): the origin's new
 * table is not loaded by the release's resume, and remove leaves nothing */
static void test_thick_switch_capture_fails(void **state)
{
    struct fx *x = *state;
    struct flvm_lv *o = fake_lvm_find(x->f, "vg0", "web1-d0");

    arm(x, "web1-d0");
    snprintf(x->f->fail_dm, sizeof(x->f->fail_dm), "create");
    assert_int_not_equal(OPS(x)->capture(x->d.self, &x->snap, &x->err), 0);
    assert_true(o->suspended); /* still held: the engine releases */
    assert_int_equal(OPS(x)->release(x->d.self, &x->snap, &x->err), 0);
    assert_false(o->suspended);
    assert_string_equal(o->inactive, "");
    assert_string_equal(o->table, "");
    x->f->fail_dm[0] = '\0';
    assert_int_equal(OPS(x)->remove(x->d.self, &x->snap, &x->err), 0);
    assert_int_equal(fake_dm_count(x->f), 0);
    assert_null(fake_lvm_find(x->f, "vg0", x->snap.lv));
}

/* the new exception store cannot be zeroed at arm: nothing stays */
static void test_thick_switch_arm_fails(void **state)
{
    struct fx *x = *state;
    char name[64];

    assert_int_equal(OPS(x)->inspect(x->d.self, "/dev/vg0/web1-d0", &x->vol, &x->err), 0);
    snprintf(name, sizeof(name), "web1-d0.xlcp.0a1b2c");
    snprintf(x->f->fail_dm, sizeof(x->f->fail_dm), "zero");
    assert_int_equal(OPS(x)->arm(x->d.self, &x->vol, name, "", TAG, &x->snap, &x->err), XLCP_EDISK);
    x->f->fail_dm[0] = '\0';
    assert_int_equal(OPS(x)->remove(x->d.self, &x->snap, &x->err), 0);
    assert_int_equal(fake_dm_count(x->f), 0);
    assert_null(fake_lvm_find(x->f, "vg0", name));
}

/* the handover needs the temporary snapshot suspended: if someone resumed it, lvconvert
 * fails and everything is undone */
static void test_thick_switch_handover_refused(void **state)
{
    struct fx *x = *state;
    struct flvm_lv *o = fake_lvm_find(x->f, "vg0", "web1-d0");

    arm(x, "web1-d0");
    assert_int_equal(OPS(x)->capture(x->d.self, &x->snap, &x->err), 0);
    /* the fake's dm suspend of the temporary device is undone before lvconvert runs */
    struct fdm_dev *tmp = fake_dm_find(x->f, "xlcp.vg0-web1--d0.xlcp.0a1b2c");
    assert_non_null(tmp);
    x->f->resume_tmp_on_lvconvert = 1;
    assert_int_equal(OPS(x)->complete(x->d.self, &x->snap, &x->err), XLCP_EDISK);
    if (!strstr(x->err.msg, "handover"))
        fail_msg("message: %s", x->err.msg);
    assert_string_equal(o->table, "0 2097152 linear 4000:900 1002048");
    assert_int_equal(fake_dm_count(x->f), 0);
    assert_int_equal(OPS(x)->remove(x->d.self, &x->snap, &x->err), 0);
}

/* the process died after the switch (its pending state is gone): removal by tag, as the
 * leftovers' cleanup does it, puts the origin's table back and leaves no device */
static void test_thick_switch_leftover(void **state)
{
    struct fx *x = *state;
    struct flvm_lv *o = fake_lvm_find(x->f, "vg0", "web1-d0");
    struct lvm *l = x->d.self;

    arm(x, "web1-d0");
    assert_int_equal(OPS(x)->capture(x->d.self, &x->snap, &x->err), 0);
    assert_int_equal(fake_dm_count(x->f), 3);
    memset(l->pend, 0, sizeof(l->pend)); /* "died" */
    if (OPS(x)->remove_tagged(x->d.self, TAG, &x->err) != 0)
        fail_msg("remove_tagged: %s", x->err.msg);
    assert_string_equal(o->table, "0 2097152 linear 4000:900 1002048");
    assert_false(o->suspended);
    assert_int_equal(fake_dm_count(x->f), 0);
    assert_null(fake_lvm_find(x->f, "vg0", x->snap.lv));
    assert_non_null(fake_lvm_find(x->f, "vg0", "web1-d0"));

    /* died after arm, before the instant: the layers go, the origin is untouched */
    arm(x, "web1-d0");
    assert_int_equal(fake_dm_count(x->f), 2);
    memset(l->pend, 0, sizeof(l->pend));
    assert_int_equal(OPS(x)->remove_tagged(x->d.self, TAG, &x->err), 0);
    assert_int_equal(fake_dm_count(x->f), 0);
    assert_int_equal(o->resumes, 2); /* the switch and its undo; nothing since */
}

/* LVM's snapshot did not get the exceptions (no handover): the checkpoint fails, undone */
static void test_thick_switch_no_handover(void **state)
{
    struct fx *x = *state;
    struct flvm_lv *o = fake_lvm_find(x->f, "vg0", "web1-d0");

    arm(x, "web1-d0");
    assert_int_equal(OPS(x)->capture(x->d.self, &x->snap, &x->err), 0);
    x->f->no_handover = 1;
    assert_int_equal(OPS(x)->complete(x->d.self, &x->snap, &x->err), XLCP_EDISK);
    if (!strstr(x->err.msg, "did not hand the exceptions over"))
        fail_msg("message: %s", x->err.msg);
    assert_int_equal(OPS(x)->remove(x->d.self, &x->snap, &x->err), 0);
    assert_int_equal(fake_dm_count(x->f), 0);
    assert_string_equal(o->table, "");
    assert_null(fake_lvm_find(x->f, "vg0", x->snap.lv));
}

/* someone reloads the origin's own table between the switch and complete (its writes
 * went by the snapshot): the checkpoint fails with the cause, nothing stays */
static void test_thick_switch_reloaded(void **state)
{
    struct fx *x = *state;
    struct flvm_lv *o = fake_lvm_find(x->f, "vg0", "web1-d0");

    arm(x, "web1-d0");
    assert_int_equal(OPS(x)->capture(x->d.self, &x->snap, &x->err), 0);
    snprintf(o->table, sizeof(o->table), "0 2097152 linear 4000:900 1002048");
    assert_int_equal(OPS(x)->complete(x->d.self, &x->snap, &x->err), XLCP_EDISK);
    if (!strstr(x->err.msg, "undone by someone else"))
        fail_msg("message: %s", x->err.msg);
    assert_null(strstr(x->f->cmds, "lvconvert"));
    assert_int_equal(OPS(x)->remove(x->d.self, &x->snap, &x->err), 0);
    assert_int_equal(fake_dm_count(x->f), 0);
    assert_null(fake_lvm_find(x->f, "vg0", x->snap.lv));
}

/* without XLCP_THICK_SWITCH=1: the older path even for a plain origin (held until
 * lvcreate -s) */
static void test_thick_switch_off(void **state)
{
    struct fx *x = *state;

    ((struct lvm *)x->d.self)->thick_switch = 0;
    arm(x, "web1-d0");
    assert_int_equal(fake_dm_count(x->f), 0);
    assert_int_equal(OPS(x)->capture(x->d.self, &x->snap, &x->err), 0);
    assert_true(fake_lvm_find(x->f, "vg0", "web1-d0")->suspended);
    assert_int_equal(OPS(x)->complete(x->d.self, &x->snap, &x->err), 0);
    assert_non_null(strstr(x->f->cmds, "lvcreate -q -y -s"));
    assert_null(strstr(x->f->cmds, "lvconvert"));
    assert_false(fake_lvm_find(x->f, "vg0", "web1-d0")->suspended);
}

/* ---- thick, older path; item 1: the hold is checked ------------------------------------- */

static void test_thick_ok_read_only(void **state)
{
    struct fx *x = *state;

    legacy(x);
    arm(x, "web1-d0");
    assert_int_equal(OPS(x)->capture(x->d.self, &x->snap, &x->err), 0);
    assert_true(fake_lvm_find(x->f, "vg0", "web1-d0")->suspended);
    if (OPS(x)->complete(x->d.self, &x->snap, &x->err) != 0)
        fail_msg("complete: %s", x->err.msg);
    struct flvm_lv *s = fake_lvm_find(x->f, "vg0", x->snap.lv);
    assert_non_null(s);
    assert_int_equal(s->attr[1], 'r'); /* read-only */
    assert_false(fake_lvm_find(x->f, "vg0", "web1-d0")->suspended);
}

static void test_thick_hold_lost(void **state)
{
    struct fx *x = *state;
    struct flvm_lv *o;

    legacy(x);
    arm(x, "web1-d0");
    assert_int_equal(OPS(x)->capture(x->d.self, &x->snap, &x->err), 0);
    /* someone resumes the origin (dmsetup resume): a held write goes through */
    o = fake_lvm_find(x->f, "vg0", "web1-d0");
    o->suspended = 0;
    o->writes += 3;
    assert_int_equal(OPS(x)->complete(x->d.self, &x->snap, &x->err), XLCP_EDISK);
    if (!strstr(x->err.msg, "hold on vg0/web1-d0 was released by someone else"))
        fail_msg("message: %s", x->err.msg);
    assert_null(strstr(x->f->cmds, "lvcreate -q -y -s")); /* no snapshot of a later instant */
    assert_null(fake_lvm_find(x->f, "vg0", x->snap.lv));
    assert_int_equal(OPS(x)->remove(x->d.self, &x->snap, &x->err), 0);
}

static void test_thick_resuspended(void **state)
{
    struct fx *x = *state;
    struct flvm_lv *o;

    legacy(x);
    arm(x, "web1-d0");
    assert_int_equal(OPS(x)->capture(x->d.self, &x->snap, &x->err), 0);
    o = fake_lvm_find(x->f, "vg0", "web1-d0");
    o->writes += 1; /* resumed, a write completed, suspended again */
    assert_int_equal(OPS(x)->complete(x->d.self, &x->snap, &x->err), XLCP_EDISK);
    if (!strstr(x->err.msg, "1 writes"))
        fail_msg("message: %s", x->err.msg);
    assert_false(o->suspended); /* released after the failure */
}

static void test_thin_ok_and_hold_lost(void **state)
{
    struct fx *x = *state;
    struct flvm_lv *o, *s;

    arm(x, "web1-d1");
    s = fake_lvm_find(x->f, "vg0", x->snap.lv);
    assert_non_null(s);
    assert_int_equal(s->attr[1], 'r');
    assert_int_equal(s->attr[9], 'k');
    assert_int_equal(OPS(x)->capture(x->d.self, &x->snap, &x->err), 0);
    o = fake_lvm_find(x->f, "vg0", "web1-d1");
    o->suspended = 0;
    o->writes++;
    x->f->msgs[0] = '\0';
    assert_int_equal(OPS(x)->complete(x->d.self, &x->snap, &x->err), XLCP_EDISK);
    if (!strstr(x->err.msg, "released by someone else"))
        fail_msg("message: %s", x->err.msg);
    /* the re-point was undone: a plain thin volume with its id again */
    char want[128];
    snprintf(want, sizeof(want),
             "delete %" PRIu64 "\ncreate_snap %" PRIu64 " %" PRIu64 "\ndelete %" PRIu64
             "\ncreate_thin %" PRIu64 "\n",
             s->thin_id, s->thin_id, o->thin_id, s->thin_id, s->thin_id);
    assert_string_equal(x->f->msgs, want);
    assert_int_equal(OPS(x)->remove(x->d.self, &x->snap, &x->err), 0);
    assert_null(fake_lvm_find(x->f, "vg0", x->snap.lv));
}

/* ---- our VG lock ------------------------------------------------------------------------ */

static void test_repoint_waits_for_vg_lock(void **state)
{
    struct fx *x = *state; /* hold limit 100 ms */
    struct lvm_runner run = {.timeout_s = 1};
    int fd = -1;

    arm(x, "web1-d1");
    assert_int_equal(OPS(x)->capture(x->d.self, &x->snap, &x->err), 0);
    /* another checkpoint's LVM command runs in vg0 */
    snprintf(run.rundir, sizeof(run.rundir), "%s", getenv("XLCP_RUN_DIR"));
    assert_int_equal(xlcp_lvm_vg_lock(&run, "vg0", 0, 100, &fd, &x->err), 0);
    x->f->msgs[0] = '\0';
    assert_int_equal(OPS(x)->complete(x->d.self, &x->snap, &x->err), XLCP_ETIMEDOUT);
    if (!strstr(x->err.msg, "lock of volume group vg0"))
        fail_msg("message: %s", x->err.msg);
    assert_string_equal(x->f->msgs, ""); /* the pool was not touched */
    assert_false(fake_lvm_find(x->f, "vg0", "web1-d1")->suspended);
    xlcp_lvm_vg_unlock(fd);
    assert_int_equal(OPS(x)->remove(x->d.self, &x->snap, &x->err), 0);
}

/* ---- item 5: time limits ------------------------------------------------------------------ */

static void test_suspend_bounded(void **state)
{
    struct fx *x = *state; /* suspend limit 100 ms */
    struct flvm_lv *o;

    legacy(x);
    arm(x, "web1-d0");
    x->f->block_suspend = 1; /* a thin pool out of space: the suspend waits */
    assert_int_equal(OPS(x)->capture(x->d.self, &x->snap, &x->err), XLCP_ETIMEDOUT);
    if (!strstr(x->err.msg, "within 100 ms"))
        fail_msg("message: %s", x->err.msg);
    o = fake_lvm_find(x->f, "vg0", "web1-d0");
    assert_false(o->suspended);
    assert_int_equal(xlcp_lvm_late_suspends(), 1);
    fake_lvm_unblock(x->f); /* the suspend completes late: it is undone at once */
    for (int i = 0; i < 200 && xlcp_lvm_late_suspends() > 0; i++)
        msleep(10);
    assert_int_equal(xlcp_lvm_late_suspends(), 0);
    assert_false(o->suspended);
    assert_int_equal(o->resumes, 1);
    assert_int_equal(OPS(x)->release(x->d.self, &x->snap, &x->err), 0);
    assert_int_equal(OPS(x)->remove(x->d.self, &x->snap, &x->err), 0);
}

static void test_hold_bounded(void **state)
{
    struct fx *x = *state; /* hold limit 100 ms */

    legacy(x);
    arm(x, "web1-d0");
    assert_int_equal(OPS(x)->capture(x->d.self, &x->snap, &x->err), 0);
    msleep(150); /* e.g. the other disks' snapshots took that long */
    assert_int_equal(OPS(x)->complete(x->d.self, &x->snap, &x->err), XLCP_ETIMEDOUT);
    if (!strstr(x->err.msg, "over the limit of 100 ms"))
        fail_msg("message: %s", x->err.msg);
    assert_null(strstr(x->f->cmds, "lvcreate -q -y -s"));
    assert_false(fake_lvm_find(x->f, "vg0", "web1-d0")->suspended);
}

/* ---- item 6: verify's check, the pool's room ----------------------------------------------- */

static void test_check(void **state)
{
    struct fx *x = *state;
    char why[256];
    struct flvm_lv *s, *pool = fake_lvm_find(x->f, "vg0", "pool");

    arm(x, "web1-d0");
    assert_int_equal(OPS(x)->capture(x->d.self, &x->snap, &x->err), 0);
    assert_int_equal(OPS(x)->complete(x->d.self, &x->snap, &x->err), 0);
    assert_int_equal(OPS(x)->check(x->d.self, &x->snap, why, sizeof(why), &x->err), 1);
    s = fake_lvm_find(x->f, "vg0", x->snap.lv);
    s->attr[4] = 'I'; /* overflowed */
    assert_int_equal(OPS(x)->check(x->d.self, &x->snap, why, sizeof(why), &x->err), 0);
    if (!strstr(why, "invalidated"))
        fail_msg("why: %s", why);

    arm(x, "web1-d1");
    assert_int_equal(OPS(x)->capture(x->d.self, &x->snap, &x->err), 0);
    assert_int_equal(OPS(x)->complete(x->d.self, &x->snap, &x->err), 0);
    assert_int_equal(OPS(x)->check(x->d.self, &x->snap, why, sizeof(why), &x->err), 1);
    pool->meta_pct = 97;
    assert_int_equal(OPS(x)->check(x->d.self, &x->snap, why, sizeof(why), &x->err), 0);
    if (!strstr(why, "thin pool vg0/pool") || !strstr(why, "metadata 97.0%"))
        fail_msg("why: %s", why);
}

static void test_check_space_thin_pool(void **state)
{
    struct fx *x = *state;
    struct xlcp_volume v;
    struct flvm_lv *pool = fake_lvm_find(x->f, "vg0", "pool");

    assert_int_equal(OPS(x)->inspect(x->d.self, "/dev/vg0/web1-d1", &v, &x->err), 0);
    assert_int_equal(OPS(x)->check_space(x->d.self, &v, 1, "20%", &x->err), 0);
    pool->data_pct = 99.9; /* 1 MiB free, the snapshot may need 51 MiB */
    assert_int_equal(OPS(x)->check_space(x->d.self, &v, 1, "20%", &x->err), XLCP_ENOSPC);
    if (!strstr(x->err.msg, "thin pool vg0/pool has 1 MiB free"))
        fail_msg("message: %s", x->err.msg);
    pool->data_pct = 10;
    pool->meta_pct = 96;
    assert_int_equal(OPS(x)->check_space(x->d.self, &v, 1, "20%", &x->err), XLCP_ENOSPC);
    if (!strstr(x->err.msg, "metadata 96.0% full"))
        fail_msg("message: %s", x->err.msg);
}

/* ---- item 7: tags --------------------------------------------------------------------------- */

static void test_remove_tagged_only_checkpoint_ids(void **state)
{
    struct fx *x = *state;
    char path[128];

    arm(x, "web1-d1");
    assert_int_equal(OPS(x)->capture(x->d.self, &x->snap, &x->err), 0);
    assert_int_equal(OPS(x)->complete(x->d.self, &x->snap, &x->err), 0);
    /* a restored domain's disk */
    assert_int_equal(OPS(x)->clone(x->d.self, &x->snap, "web1-r-d1", path, sizeof(path), &x->err),
                     0);
    struct flvm_lv *c = fake_lvm_find(x->f, "vg0", "web1-r-d1");
    assert_non_null(c);
    assert_int_equal(c->attr[1], 'w');
    assert_int_not_equal(strncmp(c->tags, "xlcp-", 5), 0);
    /* a checkpoint named "restored", a ".tmp-restored" directory, id-shaped words */
    const char *bad[] = {"xlcp-restored", "xlcp-.tmp-restored", "xlcp-" ID "x",
                         "xlcp-20261201T212400.123Z-0A1B2C", "xlcp-2026120xT212400.123Z-0a1b2c"};
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        x->f->cmds[0] = '\0';
        assert_int_equal(OPS(x)->remove_tagged(x->d.self, bad[i], &x->err), XLCP_EINVAL);
        assert_string_equal(x->f->cmds, ""); /* LVM was not even asked */
    }
    assert_non_null(fake_lvm_find(x->f, "vg0", "web1-r-d1"));
    /* the checkpoint's own tag removes its snapshot, and only that */
    assert_int_equal(OPS(x)->remove_tagged(x->d.self, TAG, &x->err), 0);
    assert_null(fake_lvm_find(x->f, "vg0", x->snap.lv));
    assert_non_null(fake_lvm_find(x->f, "vg0", "web1-r-d1"));
    assert_non_null(fake_lvm_find(x->f, "vg0", "web1-d1"));
}

static void test_tag_grammar(void **state)
{
    (void)state;
    assert_true(xlcp_lvm_is_checkpoint_tag(TAG));
    assert_false(xlcp_lvm_is_checkpoint_tag("xlcp-restored"));
    assert_false(xlcp_lvm_is_checkpoint_tag(ID));
    assert_false(xlcp_lvm_is_checkpoint_tag("xlcp-20261201T212400.123Z-0a1b2"));
    assert_false(xlcp_lvm_has_our_tag("xl-checkpoint-restored", 0));
    assert_true(xlcp_lvm_has_our_tag("xl-checkpoint-restored", 1));
    assert_true(xlcp_lvm_has_our_tag("other," TAG, 0));
}

/* the engine's verify asks the port: an invalidated snapshot fails it (exit 8, corrupt) */
static void test_engine_verify_uses_check(void **state)
{
    struct fake_world *w = fake_world_new();
    xlcp_create_options o = XLCP_CREATE_OPTIONS_INIT;
    struct xlcp_manifest m;
    struct xlcp_err e;

    (void)state;
    memset(&m, 0, sizeof(m));
    xlcp_err_clear(&e);
    fake_add_domain(w, "web1", 1);
    assert_int_equal(xlcp_engine_create(&w->ports, "web1", &o, &m, &e), 0);
    assert_int_equal(xlcp_engine_verify(&w->ports, m.id, 0, &e), 0);
    for (int i = 0; i < FAKE_MAX_VOLS; i++)
        if (w->vols[i].used && w->vols[i].is_snapshot)
            w->vols[i].invalid = 1;
    assert_int_equal(xlcp_engine_verify(&w->ports, m.id, 0, &e), XLCP_ECORRUPT);
    if (!strstr(e.msg, "invalidated"))
        fail_msg("message: %s", e.msg);
    xlcp_manifest_free(&m);
    fake_world_free(w);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_thick_switch_ok, setup, teardown),
        cmocka_unit_test_setup_teardown(test_thick_switch_lvconvert_fails, setup, teardown),
        cmocka_unit_test_setup_teardown(test_thick_switch_capture_fails, setup, teardown),
        cmocka_unit_test_setup_teardown(test_thick_switch_arm_fails, setup, teardown),
        cmocka_unit_test_setup_teardown(test_thick_switch_handover_refused, setup, teardown),
        cmocka_unit_test_setup_teardown(test_thick_switch_leftover, setup, teardown),
        cmocka_unit_test_setup_teardown(test_thick_switch_off, setup, teardown),
        cmocka_unit_test_setup_teardown(test_thick_switch_no_handover, setup, teardown),
        cmocka_unit_test_setup_teardown(test_thick_switch_reloaded, setup, teardown),
        cmocka_unit_test_setup_teardown(test_thick_ok_read_only, setup, teardown),
        cmocka_unit_test_setup_teardown(test_thick_hold_lost, setup, teardown),
        cmocka_unit_test_setup_teardown(test_thick_resuspended, setup, teardown),
        cmocka_unit_test_setup_teardown(test_thin_ok_and_hold_lost, setup, teardown),
        cmocka_unit_test_setup_teardown(test_repoint_waits_for_vg_lock, setup_short, teardown),
        cmocka_unit_test_setup_teardown(test_suspend_bounded, setup_short, teardown),
        cmocka_unit_test_setup_teardown(test_hold_bounded, setup_short, teardown),
        cmocka_unit_test_setup_teardown(test_check, setup, teardown),
        cmocka_unit_test_setup_teardown(test_check_space_thin_pool, setup, teardown),
        cmocka_unit_test_setup_teardown(test_remove_tagged_only_checkpoint_ids, setup, teardown),
        cmocka_unit_test(test_tag_grammar),
        cmocka_unit_test(test_engine_verify_uses_check),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
