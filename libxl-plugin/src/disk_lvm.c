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
#include <unistd.h>

#include "lvm.h"

struct pending *xlcp_lvm_pending_of(struct lvm *l, const struct xlcp_snapshot *snap)
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
    rc = xlcp_dm_devno(path, &pd->origin, err);
    if (rc)
        return xlcp_err_prefix(err, "origin of %s/%s (is it active?)", vol->vg, vol->lv);
    rc = xlcp_dm_guardian_start(&l->guard, err);
    if (rc)
        return rc;

    if (vol->thin) {
        char pool[2 * XLCP_NAME_MAX + 2], size[32];

        rc = xlcp_dm_thin_info(pd->origin, &pd->pool, &pd->origin_id, err);
        if (rc)
            return xlcp_err_prefix(err, "%s/%s", vol->vg, vol->lv);
        if (!vol->pool[0] || !xlcp_lvm_valid_name(vol->pool))
            return xlcp_err_set(err, XLCP_EDISK, "thin volume %s/%s has no pool", vol->vg, vol->lv);
        snprintf(pool, sizeof(pool), "%s/%s", vol->vg, vol->pool);
        snprintf(size, sizeof(size), "%" PRIu64 "b", vol->size_bytes);
        /* an empty thin volume of the origin's size, inactive: only its id is needed */
        char *args[] = {"lvcreate", "-q",        "-y", "-an", "-V",
                        size,       "-T",        pool, "-n",  (char *)snap_name,
                        "--addtag", (char *)tag, NULL};
        rc = xlcp_lvm_run_simple(&l->run, args, err);
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
        pd->used = 1;
        out->size_bytes = b;
    }
    snprintf(out->path, sizeof(out->path), "%s/%s/%s", l->devdir, vol->vg, snap_name);
    snprintf(out->vdev, sizeof(out->vdev), "%s", vol->vdev);
    out->thin = vol->thin;
    return 0;
}

/* Inside the pause: one ioctl per disk. The origin is suspended (device-mapper lets the
 * requests under way finish and holds new ones), so its content is fixed at this
 * instant; the rest (complete) runs once the guest runs again. */
static int lvm_capture(void *self, struct xlcp_snapshot *snap, struct xlcp_err *err)
{
    struct lvm *l = self;
    struct pending *pd = xlcp_lvm_pending_of(l, snap);
    int rc;

    if (!pd)
        return xlcp_err_set(err, XLCP_EINTERNAL, "snapshot %s/%s was not armed", snap->vg,
                            snap->lv);
    xlcp_dm_guardian_held(&l->guard, pd->origin);
    rc = xlcp_dm_suspend(pd->origin, err);
    if (rc) {
        xlcp_dm_guardian_released(&l->guard, pd->origin);
        return rc;
    }
    pd->held = 1;
    pd->held_at_ns = xlcp_lvm_mono_ns();
    return 0;
}

/* Thin, origin held: the pool turns the armed volume's id into a snapshot of the origin
 * as it is now (delete + create_snap; LVM's transaction id is untouched). */
static int thin_repoint(struct lvm *l, struct pending *pd, struct xlcp_err *err)
{
    char msg[64];
    int rc;

    xlcp_dm_guardian_repoint(&l->guard, pd->pool, pd->id);
    snprintf(msg, sizeof(msg), "delete %" PRIu32, pd->id);
    rc = xlcp_dm_message(pd->pool, msg, err);
    if (rc == 0) {
        snprintf(msg, sizeof(msg), "create_snap %" PRIu32 " %" PRIu32, pd->id, pd->origin_id);
        rc = xlcp_dm_message(pd->pool, msg, err);
        if (rc) {
            /* put back what LVM's metadata describes: a plain thin volume with that id */
            struct xlcp_err e2;
            xlcp_err_clear(&e2);
            snprintf(msg, sizeof(msg), "create_thin %" PRIu32, pd->id);
            if (xlcp_dm_message(pd->pool, msg, &e2) != 0)
                xlcp_err_prefix(err, "thin volume %s/%s lost its device (%s); snapshot", pd->vg,
                                pd->lv, e2.msg);
        }
    }
    xlcp_dm_guardian_repointed(&l->guard, pd->pool, pd->id);
    return rc;
}

int xlcp_lvm_release(void *self, struct xlcp_snapshot *snap, struct xlcp_err *err)
{
    struct lvm *l = self;
    struct pending *pd = xlcp_lvm_pending_of(l, snap);
    int rc;

    if (!pd || !pd->held)
        return 0;
    rc = xlcp_dm_is_suspended(pd->origin, err);
    if (rc == 1)
        rc = xlcp_dm_resume(pd->origin, err);
    if (rc < 0)
        return rc;
    pd->held = 0;
    snap->held_ns = xlcp_lvm_mono_ns() - pd->held_at_ns;
    xlcp_dm_guardian_released(&l->guard, pd->origin);
    return 0;
}

/* Thick, origin held: `lvcreate -s` of it (LVM takes it as suspended and resumes it with
 * the snapshot in place, so no held write reaches the snapshot). */
static int thick_snapshot(struct lvm *l, struct pending *pd, const char *origin,
                          struct xlcp_err *err)
{
    char *args[] = {"lvcreate", "-q",   "-y",       "-s",    "-L",           pd->cow,
                    "-n",       pd->lv, "--addtag", pd->tag, (char *)origin, NULL};

    return xlcp_lvm_run_simple(&l->run, args, err);
}

/* After the pause, with the guest running (its writes to the origin held meanwhile). */
static int lvm_complete(void *self, struct xlcp_snapshot *snap, struct xlcp_err *err)
{
    struct lvm *l = self;
    struct pending *pd = xlcp_lvm_pending_of(l, snap);
    char origin[2 * XLCP_NAME_MAX + 2], path[XLCP_PATH_MAX + 2 * XLCP_NAME_MAX];
    struct xlcp_err e2;
    int rc, fd;

    if (!pd)
        return xlcp_err_set(err, XLCP_EINTERNAL, "snapshot %s/%s was not armed", snap->vg,
                            snap->lv);
    snprintf(origin, sizeof(origin), "%s/%s", snap->vg, snap->origin_lv);
    if (!pd->held)
        return xlcp_err_set(err, XLCP_EINTERNAL, "origin %s was not captured", origin);
    rc = pd->thin ? thin_repoint(l, pd, err) : thick_snapshot(l, pd, origin, err);
    /* the held writes flow again, whatever happened */
    xlcp_err_clear(&e2);
    if (xlcp_lvm_release(l, snap, &e2) != 0 && rc == 0) {
        *err = e2;
        rc = e2.code;
    }
    if (rc == 0 && pd->thin) {
        /* a flush of the origin makes the pool commit its metadata, our new snapshot
         * with it: before, a crash would bring back the empty volume */
        snprintf(path, sizeof(path), "%s/%s/%s", l->devdir, snap->vg, snap->origin_lv);
        fd = open(path, O_RDONLY | O_CLOEXEC);
        if (fd < 0)
            return xlcp_err_errno(err, errno, "open %s", path);
        rc = fsync(fd) == 0 ? 0 : xlcp_err_errno(err, errno, "flush of %s", path);
        close(fd);
    }
    if (rc == 0)
        pd->used = 0;
    return rc;
}
static const struct xlcp_disk_ops lvm_ops = {
    .inspect = xlcp_lvm_inspect,
    .check_space = xlcp_lvm_check_space,
    .arm = lvm_arm,
    .capture = lvm_capture,
    .complete = lvm_complete,
    .release = xlcp_lvm_release,
    .remove = xlcp_lvm_remove,
    .exists = xlcp_lvm_exists,
    .clone = xlcp_lvm_clone,
    .remove_tagged = xlcp_lvm_remove_tagged,
};

int xlcp_disk_lvm_open(struct xlcp_disk *out, struct xlcp_err *err)
{
    struct lvm *l = calloc(1, sizeof(*l));
    const char *bin = getenv("XLCP_LVM");
    const char *dev = getenv("XLCP_LVM_DEVDIR");
    const char *t = getenv("XLCP_LVM_TIMEOUT");

    out->ops = NULL;
    out->self = NULL;
    if (!l)
        return xlcp_err_set(err, XLCP_EINTERNAL, "out of memory");
    l->guard.fd = -1;
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

void xlcp_disk_lvm_close(struct xlcp_disk *disk)
{
    struct lvm *l = disk->self;

    if (l) {
        /* nothing may stay held when we go */
        for (int i = 0; i < XLCP_MAX_DISKS; i++) {
            if (l->pend[i].used && l->pend[i].held) {
                struct xlcp_err e;
                xlcp_err_clear(&e);
                if (xlcp_dm_resume(l->pend[i].origin, &e) == 0)
                    xlcp_dm_guardian_released(&l->guard, l->pend[i].origin);
            }
        }
        xlcp_dm_guardian_stop(&l->guard);
    }
    free(disk->self);
    disk->ops = NULL;
    disk->self = NULL;
}