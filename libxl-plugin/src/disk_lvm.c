/*
 * disk_lvm.c - the `disk` port on LVM2, and its snapshot mechanics: arm, capture,
 * complete, release (the three phases are told in ports.h). The files of the adapter are
 * listed in lvm.h.
 *
 * Inside the guest's pause only device-mapper ioctls run (disk_dm.c), never LVM's command
 * line. How each kind of snapshot is finished:
 *   thin   arm makes an empty thin volume (`lvcreate -an -V <size> -T <pool>`) with its own
 *          id in the origin's pool, LVM metadata written while the guest runs; complete
 *          tells the pool "delete <id>" and "create_snap <id> <origin id>": the volume LVM
 *          knows is now a snapshot of the held origin (the pool's transaction id, which
 *          LVM checks, is untouched); the origin resumes, and a flush of it commits the
 *          pool's metadata.
 *   thick  complete runs `lvcreate -s` of the held origin: LVM finds it suspended already
 *          and resumes it with its snapshot in place, so no held write reaches the snapshot.
 *          (Thin volumes cannot take that path: LVM's thin snapshot needs to suspend the
 *          origin itself, and fails on a suspended one.)
 * A guardian process (disk_dm.c) resumes held devices and puts back a half re-pointed
 * thin volume if we die between capture and complete.
 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "lvm.h"

static struct pending *pending_of(struct lvm *l, const struct xlcp_snapshot *snap)
{
    for (int i = 0; i < XLCP_MAX_DISKS; i++)
        if (l->pend[i].used && strcmp(l->pend[i].vg, snap->vg) == 0 &&
            strcmp(l->pend[i].lv, snap->lv) == 0)
            return &l->pend[i];
    return NULL;
}

static int lvm_arm(void *self, const struct xlcp_volume *vol, const char *snap_name,
                   const char *policy, const char *tag, struct xlcp_snapshot *out,
                   struct xlcp_err *err)
{
    struct lvm *l = self;
    struct pending *pd = NULL;
    char path[XLCP_PATH_MAX + 2 * XLCP_NAME_MAX];
    struct lvinfo info;
    int rc;

    if (!xlcp_lvm_valid_name(snap_name) || !xlcp_lvm_valid_tag(tag) ||
        !xlcp_lvm_valid_name(vol->vg) || !xlcp_lvm_valid_name(vol->lv))
        return xlcp_err_set(err, XLCP_EINVAL, "bad snapshot name '%s' or tag '%s'", snap_name, tag);
    for (int i = 0; i < XLCP_MAX_DISKS && !pd; i++)
        if (!l->pend[i].used)
            pd = &l->pend[i];
    if (!pd)
        return xlcp_err_set(err, XLCP_EINTERNAL, "too many snapshots under way");
    memset(pd, 0, sizeof(*pd));
    memset(out, 0, sizeof(*out));
    /* named from the start: a failure below may leave the volume, and remove() finds it */
    snprintf(out->vg, sizeof(out->vg), "%s", vol->vg);
    snprintf(out->lv, sizeof(out->lv), "%s", snap_name);
    snprintf(out->origin_lv, sizeof(out->origin_lv), "%s", vol->lv);
    snprintf(pd->vg, sizeof(pd->vg), "%s", vol->vg);
    snprintf(pd->lv, sizeof(pd->lv), "%s", snap_name);
    snprintf(pd->tag, sizeof(pd->tag), "%s", tag);
    pd->thin = vol->thin;
    snprintf(path, sizeof(path), "%s/%s/%s", l->devdir, vol->vg, vol->lv);
    rc = l->dm->devno(path, &pd->origin, err);
    if (rc)
        return xlcp_err_prefix(err, "origin of %s/%s (is it active?)", vol->vg, vol->lv);
    rc = xlcp_dm_guardian_start(&l->guard, err);
    if (rc)
        return rc;

    if (vol->thin) {
        char pool[2 * XLCP_NAME_MAX + 2], size[32];

        rc = l->dm->thin_info(pd->origin, &pd->pool, &pd->origin_id, err);
        if (rc)
            return xlcp_err_prefix(err, "%s/%s", vol->vg, vol->lv);
        if (!vol->pool[0] || !xlcp_lvm_valid_name(vol->pool))
            return xlcp_err_set(err, XLCP_EDISK, "thin volume %s/%s has no pool", vol->vg, vol->lv);
        snprintf(pool, sizeof(pool), "%s/%s", vol->vg, vol->pool);
        snprintf(size, sizeof(size), "%" PRIu64 "b", vol->size_bytes);
        /* an empty thin volume of the origin's size, inactive: only its id is needed;
         * read-only and skipped at activation, as the snapshot it becomes stays (LVM's
         * metadata is not touched by the re-point) */
        char *args[] = {"lvcreate", "-q",        "-y", "-an", "-pr", "-ky",
                        "-V",       size,        "-T", pool,  "-n",  (char *)snap_name,
                        "--addtag", (char *)tag, NULL};
        rc = xlcp_lvm_run_simple(&l->run, vol->vg, args, err);
        if (rc)
            return rc;
        pd->used = 1; /* from here on, remove() cleans up */
        rc = xlcp_lvm_lv_info(&l->run, vol->vg, snap_name, &info, err);
        if (rc <= 0)
            return rc < 0 ? rc
                          : xlcp_err_set(err, XLCP_EDISK, "new volume %s/%s not found", vol->vg,
                                         snap_name);
        if (info.thin_id == 0 || info.thin_id > UINT32_MAX)
            return xlcp_err_set(err, XLCP_EDISK, "new thin volume %s/%s has no device id", vol->vg,
                                snap_name);
        pd->id = (uint32_t)info.thin_id;
        out->size_bytes = vol->size_bytes;
    } else {
        uint64_t b;
        rc = xlcp_lvm_cow_bytes(policy, vol->size_bytes, &b, err);
        if (rc)
            return rc;
        snprintf(pd->cow, sizeof(pd->cow), "%" PRIu64 "b", b);
        out->size_bytes = b;
        rc = l->thick_switch ? xlcp_lvm_thick_arm(l, pd, vol->lv, err) : 0;
        if (rc)
            return rc;
        pd->used = 1;
    }
    snprintf(out->path, sizeof(out->path), "%s/%s/%s", l->devdir, vol->vg, snap_name);
    snprintf(out->vdev, sizeof(out->vdev), "%s", vol->vdev);
    out->thin = vol->thin;
    return 0;
}

/* Inside the pause: one ioctl per disk (lvm_hold.c). */
static int lvm_capture(void *self, struct xlcp_snapshot *snap, struct xlcp_err *err)
{
    struct lvm *l = self;
    struct pending *pd = pending_of(l, snap);

    if (!pd)
        return xlcp_err_set(err, XLCP_EINTERNAL, "snapshot %s/%s was not armed", snap->vg,
                            snap->lv);
    int rc = xlcp_lvm_hold(l, pd, err);
    if (rc == 0 && pd->thick.on)
        rc = xlcp_lvm_thick_switch(l, pd, err); /* the origin runs again */
    return rc;
}

/* "<verb> <id>", or "create_snap <id> <origin id>", to the pool */
static int pool_message(struct lvm *l, struct pending *pd, const char *verb, struct xlcp_err *err)
{
    char msg[64];

    if (strcmp(verb, "create_snap") == 0)
        snprintf(msg, sizeof(msg), "create_snap %" PRIu32 " %" PRIu32, pd->id, pd->origin_id);
    else
        snprintf(msg, sizeof(msg), "%s %" PRIu32, verb, pd->id);
    return l->dm->message(pd->pool, msg, err);
}

/* Thin, origin held: the pool turns the armed volume's id into a snapshot of the origin
 * as it is now (delete + create_snap; LVM's transaction id is untouched), under our VG
 * lock taken exclusive; then the hold is checked, and the snapshot undone (a plain thin
 * volume with that id again, as LVM's metadata describes) if it was lost. */
static int thin_repoint(struct lvm *l, struct pending *pd, const char *origin, uint64_t left_ms,
                        struct xlcp_err *err)
{
    int rc, lock = -1, made = 0;

    rc = xlcp_lvm_vg_lock(&l->run, pd->vg, 1, left_ms, &lock, err);
    if (rc)
        return xlcp_err_prefix(err, "thin snapshot of %s", origin);
    xlcp_dm_guardian_repoint(&l->guard, pd->pool, pd->id);
    rc = pool_message(l, pd, "delete", err);
    if (rc == 0) {
        rc = pool_message(l, pd, "create_snap", err);
        made = rc == 0;
        if (made)
            rc = xlcp_lvm_hold_check(l, pd, origin, err);
        if (rc) {
            struct xlcp_err e2;
            xlcp_err_clear(&e2);
            if ((made && pool_message(l, pd, "delete", &e2) != 0) ||
                pool_message(l, pd, "create_thin", &e2) != 0)
                xlcp_err_prefix(err, "thin volume %s/%s lost its device (%s); snapshot", pd->vg,
                                pd->lv, e2.msg);
        }
    }
    xlcp_dm_guardian_repointed(&l->guard, pd->pool, pd->id);
    xlcp_lvm_vg_unlock(lock);
    return rc;
}

static int lvm_release(void *self, struct xlcp_snapshot *snap, struct xlcp_err *err)
{
    struct lvm *l = self;
    struct pending *pd = pending_of(l, snap);
    int rc;

    if (!pd || !pd->held)
        return 0;
    rc = l->dm->is_suspended(pd->origin, err);
    if (rc == 1)
        rc = l->dm->resume(pd->origin, err);
    if (rc < 0)
        return rc;
    pd->held = 0;
    snap->held_ns = xlcp_lvm_mono_ns() - pd->held_at_ns;
    xlcp_dm_guardian_released(&l->guard, pd->origin);
    return 0;
}

/* Thick, origin held: the hold is checked, then `lvcreate -s` of the origin (LVM takes it
 * as suspended and resumes it with the snapshot in place, so no held write reaches the
 * snapshot), read-only, within what is left of the hold limit. What the check cannot
 * see: a release forced while lvcreate itself runs, before it loads the snapshot. */
static int thick_snapshot(struct lvm *l, struct pending *pd, const char *origin, uint64_t left_ms,
                          struct xlcp_err *err)
{
    char *args[] = {"lvcreate", "-q",   "-y",       "-s",    "-pr",          "-L", pd->cow,
                    "-n",       pd->lv, "--addtag", pd->tag, (char *)origin, NULL};
    struct lvm_result *r;
    int rc = xlcp_lvm_hold_check(l, pd, origin, err);

    if (rc)
        return rc;
    r = malloc(sizeof(*r));
    if (!r)
        return xlcp_err_set(err, XLCP_EINTERNAL, "out of memory");
    rc = xlcp_lvm_run_within(&l->run, pd->vg, args, r, 0, left_ms, err);
    free(r);
    return rc;
}

/* After the pause, with the guest running (its writes to the origin held meanwhile). */
static int lvm_complete(void *self, struct xlcp_snapshot *snap, struct xlcp_err *err)
{
    struct lvm *l = self;
    struct pending *pd = pending_of(l, snap);
    char origin[2 * XLCP_NAME_MAX + 2], path[XLCP_PATH_MAX + 2 * XLCP_NAME_MAX];
    struct xlcp_err e2;
    uint64_t left = 0;
    int rc;

    if (!pd)
        return xlcp_err_set(err, XLCP_EINTERNAL, "snapshot %s/%s was not armed", snap->vg,
                            snap->lv);
    snprintf(origin, sizeof(origin), "%s/%s", snap->vg, snap->origin_lv);
    if (pd->thick.on) { /* switched at capture: LVM takes it over, or all is undone */
        if (!pd->thick.switched)
            return xlcp_err_set(err, XLCP_EINTERNAL, "origin %s was not captured", origin);
        rc = xlcp_lvm_thick_finish(l, pd, err);
        if (rc) {
            xlcp_err_clear(&e2);
            if (xlcp_lvm_thick_undo(l, pd, &e2) != 0)
                xlcp_err_prefix(err, "(and undoing it: %s)", e2.msg);
            return rc;
        }
        snap->held_ns = pd->switch_ns;
        pd->used = 0;
        return 0;
    }
    if (!pd->held)
        return xlcp_err_set(err, XLCP_EINTERNAL, "origin %s was not captured", origin);
    if (l->test_hold_delay_ms) { /* tests only: widens the window for a release */
        struct timespec ts = {l->test_hold_delay_ms / 1000,
                              (long)(l->test_hold_delay_ms % 1000) * 1000000L};
        nanosleep(&ts, NULL);
    }
    rc = xlcp_lvm_hold_left(l, pd, &left, err);
    if (rc == 0)
        rc = pd->thin ? thin_repoint(l, pd, origin, left, err)
                      : thick_snapshot(l, pd, origin, left, err);
    /* the held writes flow again, whatever happened */
    xlcp_err_clear(&e2);
    if (lvm_release(l, snap, &e2) != 0 && rc == 0) {
        *err = e2;
        rc = e2.code;
    }
    if (rc == 0 && pd->thin) {
        /* a flush of the origin makes the pool commit its metadata, our new snapshot
         * with it: before, a crash would bring back the empty volume */
        snprintf(path, sizeof(path), "%s/%s/%s", l->devdir, snap->vg, snap->origin_lv);
        rc = l->dm->flush(path, err);
    }
    if (rc == 0)
        pd->used = 0;
    return rc;
}

/* A snapshot under way is released and forgotten first. */
static int lvm_remove(void *self, const struct xlcp_snapshot *snap, struct xlcp_err *err)
{
    struct lvm *l = self;
    struct pending *pd = pending_of(l, snap);
    int rc;

    if (pd && pd->held) {
        rc = lvm_release(l, (struct xlcp_snapshot *)snap, err);
        if (rc)
            return rc;
    }
    if (pd && pd->thick.on) {
        rc = xlcp_lvm_thick_undo(l, pd, err);
        if (rc)
            return rc;
    }
    if (pd)
        pd->used = 0;
    return xlcp_lvm_remove_volume(l, snap, err);
}

static const struct xlcp_disk_ops lvm_ops = {
    .inspect = xlcp_lvm_inspect,
    .check_space = xlcp_lvm_check_space,
    .arm = lvm_arm,
    .capture = lvm_capture,
    .complete = lvm_complete,
    .release = lvm_release,
    .remove = lvm_remove,
    .exists = xlcp_lvm_exists,
    .clone = xlcp_lvm_clone,
    .remove_tagged = xlcp_lvm_remove_tagged,
    .check = xlcp_lvm_check,
};

/* A limit from the environment (ms), or its default. */
static int env_ms(const char *name, unsigned def, unsigned *out, struct xlcp_err *err)
{
    const char *v = getenv(name);
    char *end;
    unsigned long n;

    *out = def;
    if (!v || !*v)
        return 0;
    n = strtoul(v, &end, 10);
    if (*end || n > 86400000ul)
        return xlcp_err_set(err, XLCP_EINVAL, "%s='%s': not a number of milliseconds", name, v);
    *out = (unsigned)n;
    return 0;
}

int xlcp_disk_lvm_open(struct xlcp_disk *out, struct xlcp_err *err)
{
    struct lvm *l = calloc(1, sizeof(*l));
    const char *bin = getenv("XLCP_LVM");
    const char *dev = getenv("XLCP_LVM_DEVDIR");
    const char *t = getenv("XLCP_LVM_TIMEOUT");
    const char *rundir = getenv("XLCP_RUN_DIR");
    int rc;

    out->ops = NULL;
    out->self = NULL;
    if (!l)
        return xlcp_err_set(err, XLCP_EINTERNAL, "out of memory");
    l->guard.fd = -1;
    l->dm = &xlcp_dm_real;
    rc = env_ms("XLCP_DM_SUSPEND_LIMIT_MS", LVM_SUSPEND_LIMIT_MS, &l->suspend_limit_ms, err);
    if (rc == 0)
        rc = env_ms("XLCP_HOLD_LIMIT_MS", LVM_HOLD_LIMIT_MS, &l->hold_limit_ms, err);
    if (rc == 0) /* tests only: a pause before each completion (tests/nested/t41) */
        rc = env_ms("XLCP_TEST_HOLD_DELAY_MS", 0, &l->test_hold_delay_ms, err);
    if (rc) {
        free(l);
        return rc;
    }
    /* opt-in until tests/nested/t49-thick-stall.sh has passed on nested Xen */
    const char *sw = getenv("XLCP_THICK_SWITCH");
    l->thick_switch = sw && strcmp(sw, "1") == 0;
    snprintf(l->run.rundir, sizeof(l->run.rundir), "%s",
             rundir && *rundir ? rundir : "/run/xl-checkpoint");
    snprintf(l->run.bin, sizeof(l->run.bin), "%s", bin && *bin ? bin : "lvm");
    snprintf(l->devdir, sizeof(l->devdir), "%s", dev && *dev ? dev : "/dev");
    l->run.timeout_s = 120;
    if (t && *t) {
        char *end;
        unsigned long v = strtoul(t, &end, 10);
        if (*end || v == 0 || v > 86400) {
            free(l);
            return xlcp_err_set(err, XLCP_EINVAL, "XLCP_LVM_TIMEOUT='%s': not a number of seconds",
                                t);
        }
        l->run.timeout_s = (unsigned)v;
    }
    out->ops = &lvm_ops;
    out->self = l;
    return 0;
}

int xlcp_disk_lvm_open_fake(struct xlcp_disk *out, const struct xlcp_dm_ops *dm,
                            int (*fake)(void *arg, char *const argv[], struct lvm_result *r),
                            void *arg, struct xlcp_err *err)
{
    int rc = xlcp_disk_lvm_open(out, err);
    struct lvm *l = out->self;

    if (rc)
        return rc;
    l->dm = dm;
    l->run.fake = fake;
    l->run.fake_arg = arg;
    return 0;
}

void xlcp_disk_lvm_close(struct xlcp_disk *disk)
{
    struct lvm *l = disk->self;

    if (l) {
        /* nothing may stay held when we go */
        for (int i = 0; i < XLCP_MAX_DISKS; i++) {
            if (l->pend[i].used && l->pend[i].held) {
                struct xlcp_err e;
                xlcp_err_clear(&e);
                if (l->dm->resume(l->pend[i].origin, &e) == 0)
                    xlcp_dm_guardian_released(&l->guard, l->pend[i].origin);
            }
            if (l->pend[i].used && l->pend[i].thick.on) {
                struct xlcp_err e;
                xlcp_err_clear(&e);
                if (xlcp_lvm_thick_undo(l, &l->pend[i], &e) != 0)
                    fprintf(stderr, "xl-checkpoint: thick snapshot %s/%s not undone: %s\n",
                            l->pend[i].vg, l->pend[i].lv, e.msg);
            }
        }
        /* a suspend past its limit that has not completed yet stays with the guardian:
         * it resumes the device once we are gone (its thread does if we are not) */
        if (xlcp_lvm_late_suspends() == 0)
            xlcp_dm_guardian_stop(&l->guard);
    }
    free(disk->self);
    disk->ops = NULL;
    disk->self = NULL;
}