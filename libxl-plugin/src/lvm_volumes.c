/*
 * lvm_volumes.c - the LVM adapter's operations on whole volumes: which disks are logical
 * volumes, whether their snapshots fit, removal (only of volumes that carry an "xlcp-"
 * tag), existence, restore clones. The snapshot mechanics are in disk_lvm.c.
 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "lvm.h"

int xlcp_lvm_inspect(void *self, const char *target, struct xlcp_volume *out, struct xlcp_err *err)
{
    struct lvm *l = self;
    struct lvinfo info;
    int rc;

    memset(out, 0, sizeof(*out));
    if (!xlcp_lvm_parse_target(target, out->vg, out->lv))
        return xlcp_err_set(err, XLCP_EUNSUPPORTED, "'%s' is not an LVM logical volume", target);
    rc = xlcp_lvm_lv_info(&l->run, out->vg, out->lv, &info, err);
    if (rc < 0)
        return rc;
    if (rc == 0)
        return xlcp_err_set(err, XLCP_EUNSUPPORTED,
                            "'%s' is not an LVM logical volume (no LV %s/%s)", target, out->vg,
                            out->lv);
    out->vg_free_bytes = info.vg_free;
    snprintf(out->path, sizeof(out->path), "%s", target);
    out->thin = strcmp(info.segtype, "thin") == 0;
    out->size_bytes = info.size;
    if (out->thin)
        snprintf(out->pool, sizeof(out->pool), "%s", info.pool);
    if (info.origin[0] && !out->thin)
        return xlcp_err_set(err, XLCP_EUNSUPPORTED,
                            "'%s' is itself a thick snapshot (of %s); snapshots of snapshots "
                            "are not supported",
                            target, info.origin);
    return 0;
}

/* Thin pools: a snapshot takes no room when made, but every write to its origin after
 * the checkpoint needs new blocks in the pool (up to what the policy would give a thick
 * snapshot), and a full pool fails or queues the guest's writes. */
static int check_pools(struct lvm *l, const struct xlcp_volume *vols, int n, const char *policy,
                       struct xlcp_err *err)
{
    for (int i = 0; i < n; i++) {
        uint64_t need = 0, have;
        struct lvinfo pool;
        int rc, seen = 0;

        if (!vols[i].thin)
            continue;
        for (int j = 0; j < i; j++)
            seen |= vols[j].thin && strcmp(vols[j].vg, vols[i].vg) == 0 &&
                    strcmp(vols[j].pool, vols[i].pool) == 0;
        if (seen)
            continue;
        for (int j = i; j < n; j++) {
            uint64_t b;
            if (!vols[j].thin || strcmp(vols[j].vg, vols[i].vg) != 0 ||
                strcmp(vols[j].pool, vols[i].pool) != 0)
                continue;
            rc = xlcp_lvm_cow_bytes(policy, vols[j].size_bytes, &b, err);
            if (rc)
                return rc;
            need += b;
        }
        rc = xlcp_lvm_lv_info(&l->run, vols[i].vg, vols[i].pool, &pool, err);
        if (rc <= 0)
            return rc < 0 ? rc
                          : xlcp_err_set(err, XLCP_EDISK, "thin pool %s/%s of %s/%s not found",
                                         vols[i].vg, vols[i].pool, vols[i].vg, vols[i].lv);
        if (pool.data_pct < 0 || pool.meta_pct < 0)
            return xlcp_err_set(err, XLCP_EDISK, "thin pool %s/%s reports no usage (inactive?)",
                                vols[i].vg, vols[i].pool);
        if (pool.meta_pct >= LVM_POOL_FULL_PCT)
            return xlcp_err_set(err, XLCP_ENOSPC,
                                "thin pool %s/%s has its metadata %.1f%% full (limit %u%%): "
                                "extend its metadata before a checkpoint",
                                vols[i].vg, vols[i].pool, pool.meta_pct, LVM_POOL_FULL_PCT);
        have = (uint64_t)((double)pool.size * (100.0 - pool.data_pct) / 100.0);
        if (have < need)
            return xlcp_err_set(err, XLCP_ENOSPC,
                                "thin pool %s/%s has %" PRIu64 " MiB free (%.1f%% used), the "
                                "snapshots may need %" PRIu64 " MiB for the writes that follow "
                                "the checkpoint (snapshot size '%s')",
                                vols[i].vg, vols[i].pool, have >> 20, pool.data_pct,
                                (need + (1u << 20) - 1) >> 20, policy && *policy ? policy : "20%");
    }
    return 0;
}

int xlcp_lvm_check_space(void *self, const struct xlcp_volume *vols, int n, const char *policy,
                         struct xlcp_err *err)
{
    for (int i = 0; i < n; i++) {
        uint64_t need = 0, have = 0;
        int rc, seen = 0;

        for (int j = 0; j < i; j++)
            seen |= strcmp(vols[j].vg, vols[i].vg) == 0;
        if (seen)
            continue;
        for (int j = i; j < n; j++) {
            uint64_t b;
            if (strcmp(vols[j].vg, vols[i].vg) != 0 || vols[j].thin)
                continue;
            rc = xlcp_lvm_cow_bytes(policy, vols[j].size_bytes, &b, err);
            if (rc)
                return rc;
            need += b;
        }
        if (need == 0)
            continue;                 /* thin snapshots take no room up front */
        have = vols[i].vg_free_bytes; /* as inspect() saw it, a moment ago */
        if (have < need)
            return xlcp_err_set(err, XLCP_ENOSPC,
                                "volume group %s has %" PRIu64 " MiB free, the snapshots need "
                                "%" PRIu64 " MiB",
                                vols[i].vg, have >> 20, (need + (1u << 20) - 1) >> 20);
    }
    return check_pools(self, vols, n, policy, err);
}
/* lvremove of a volume of ours (info), after what a thick snapshot's switch that died
 * half-way left of it is undone (lvm_thick.c) */
static int lv_remove(struct lvm *l, const struct lvinfo *info, struct xlcp_err *err)
{
    char name[2 * XLCP_NAME_MAX + 2];
    char *args[] = {"lvremove", "-q", "-f", "-y", name, NULL};
    int rc = xlcp_lvm_thick_leftover(l, info, err);

    if (rc)
        return rc;
    snprintf(name, sizeof(name), "%s/%s", info->vg, info->lv);
    return xlcp_lvm_run_simple(&l->run, info->vg, args, err);
}

int xlcp_lvm_remove_volume(struct lvm *l, const struct xlcp_snapshot *snap, struct xlcp_err *err)
{
    struct lvinfo info;
    int rc;

    if (!xlcp_lvm_valid_name(snap->vg) || !xlcp_lvm_valid_name(snap->lv))
        return xlcp_err_set(err, XLCP_EINVAL, "bad volume name %s/%s", snap->vg, snap->lv);
    rc = xlcp_lvm_lv_info(&l->run, snap->vg, snap->lv, &info, err);
    if (rc <= 0)
        return rc; /* absent: nothing to do */
    if (!xlcp_lvm_has_our_tag(info.tags, 1))
        return xlcp_err_set(err, XLCP_EINVAL,
                            "refusing to remove %s/%s: not created by xl-checkpoint (tags '%s')",
                            snap->vg, snap->lv, info.tags);
    return lv_remove(l, &info, err);
}

int xlcp_lvm_exists(void *self, const struct xlcp_snapshot *snap, struct xlcp_err *err)
{
    struct lvm *l = self;
    struct lvinfo info;

    if (!xlcp_lvm_valid_name(snap->vg) || !xlcp_lvm_valid_name(snap->lv))
        return xlcp_err_set(err, XLCP_EINVAL, "bad volume name %s/%s", snap->vg, snap->lv);
    return xlcp_lvm_lv_info(&l->run, snap->vg, snap->lv, &info, err);
}

static int copy_volume(const char *from, const char *to, struct xlcp_err *err)
{
    int in = open(from, O_RDONLY | O_CLOEXEC);
    int out = in >= 0 ? open(to, O_WRONLY | O_CLOEXEC) : -1;
    size_t bufsz = 1u << 20;
    char *buf = malloc(bufsz);
    int rc = 0;

    if (in < 0 || out < 0 || !buf) {
        rc = xlcp_err_errno(err, buf ? errno : ENOMEM, "open %s", in < 0 ? from : to);
        goto done;
    }
    for (;;) {
        ssize_t n = read(in, buf, bufsz);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0) {
            rc = xlcp_err_errno(err, errno, "read %s", from);
            break;
        }
        if (n == 0)
            break;
        for (ssize_t done = 0; done < n;) {
            ssize_t w = write(out, buf + done, (size_t)(n - done));
            if (w < 0 && errno == EINTR)
                continue;
            if (w <= 0) {
                rc = xlcp_err_errno(err, w < 0 ? errno : ENOSPC, "write %s", to);
                goto done;
            }
            done += w;
        }
    }
    if (rc == 0 && fsync(out) != 0)
        rc = xlcp_err_errno(err, errno, "fsync %s", to);
done:
    free(buf);
    if (in >= 0)
        close(in);
    if (out >= 0 && close(out) != 0 && rc == 0)
        rc = xlcp_err_errno(err, errno, "close %s", to);
    return rc;
}

int xlcp_lvm_clone(void *self, const struct xlcp_snapshot *snap, const char *new_lv, char *path_out,
                   size_t path_len, struct xlcp_err *err)
{
    struct lvm *l = self;
    struct lvinfo info;
    char src[2 * XLCP_NAME_MAX + 2];
    char size[32];
    struct lvm_result *r;
    int rc;

    if (!xlcp_lvm_valid_name(snap->vg) || !xlcp_lvm_valid_name(snap->lv) ||
        !xlcp_lvm_valid_name(new_lv))
        return xlcp_err_set(err, XLCP_EINVAL, "bad volume name %s/%s or %s", snap->vg, snap->lv,
                            new_lv);
    rc = xlcp_lvm_lv_info(&l->run, snap->vg, snap->lv, &info, err);
    if (rc < 0)
        return rc;
    if (rc == 0)
        return xlcp_err_set(err, XLCP_ENOTFOUND, "snapshot volume %s/%s is missing", snap->vg,
                            snap->lv);
    snprintf(src, sizeof(src), "%s/%s", snap->vg, snap->lv);
    r = malloc(sizeof(*r));
    if (!r)
        return xlcp_err_set(err, XLCP_EINTERNAL, "out of memory");
    if (strcmp(info.segtype, "thin") == 0) {
        /* a thin snapshot of the snapshot: instant, and the snapshot stays as it was;
         * writable and activated although the snapshot is neither */
        char *args[] = {"lvcreate", "-q",           "-y",       "-s",          "-kn", "-p", "rw",
                        "-n",       (char *)new_lv, "--addtag", LVM_CLONE_TAG, src,   NULL};
        rc = xlcp_lvm_run(&l->run, snap->vg, args, r, 0, err);
        free(r);
        if (rc)
            return rc;
    } else {
        /* a thick snapshot reads as its origin did: copy it into a new volume of the
         * origin's size (lvs gives a thick snapshot's own COW size as its lv_size) */
        char from[XLCP_PATH_MAX + 2 * XLCP_NAME_MAX], to[XLCP_PATH_MAX + 2 * XLCP_NAME_MAX];
        struct lvinfo origin;
        if (info.origin[0]) {
            rc = xlcp_lvm_lv_info(&l->run, snap->vg, info.origin, &origin, err);
            if (rc <= 0) {
                free(r);
                return rc < 0 ? rc
                              : xlcp_err_set(err, XLCP_ENOTFOUND, "origin %s/%s of %s is missing",
                                             snap->vg, info.origin, snap->lv);
            }
            info.size = origin.size;
        }
        snprintf(size, sizeof(size), "%" PRIu64 "b", info.size);
        char *args[] = {
            "lvcreate", "-q", "-y", "-W",           "n",        "-Z",          "n",
            "-L",       size, "-n", (char *)new_lv, "--addtag", LVM_CLONE_TAG, (char *)snap->vg,
            NULL};
        rc = xlcp_lvm_run(&l->run, snap->vg, args, r, 0, err);
        free(r);
        if (rc)
            return rc;
        snprintf(from, sizeof(from), "%s/%s/%s", l->devdir, snap->vg, snap->lv);
        snprintf(to, sizeof(to), "%s/%s/%s", l->devdir, snap->vg, new_lv);
        rc = copy_volume(from, to, err);
        if (rc) {
            struct xlcp_err e2;
            xlcp_err_clear(&e2);
            struct lvinfo ni;
            memset(&ni, 0, sizeof(ni));
            snprintf(ni.vg, sizeof(ni.vg), "%s", snap->vg);
            snprintf(ni.lv, sizeof(ni.lv), "%s", new_lv);
            snprintf(ni.segtype, sizeof(ni.segtype), "clone"); /* no switch to look for */
            if (lv_remove(l, &ni, &e2) != 0)
                xlcp_err_prefix(err, "new volume %s/%s left behind (%s); copy", snap->vg, new_lv,
                                e2.msg);
            return rc;
        }
    }
    snprintf(path_out, path_len, "%s/%s/%s", l->devdir, snap->vg, new_lv);
    return 0;
}

int xlcp_lvm_remove_tagged(void *self, const char *tag, struct xlcp_err *err)
{
    struct lvm *l = self;
    char sel[160];
    char *args[] = {"lvs", "--noheadings", "--separator", "|", "-o", "vg_name,lv_name", sel, NULL};
    struct lvm_result *r;
    char *line, *save = NULL;
    int rc;

    /* only a checkpoint's own tag: never the clones', never a word that looks like one */
    if (!xlcp_lvm_is_checkpoint_tag(tag))
        return xlcp_err_set(err, XLCP_EINVAL, "bad tag '%s' (not xlcp-<checkpoint id>)", tag);
    snprintf(sel, sizeof(sel), "@%s", tag);
    r = malloc(sizeof(*r));
    if (!r)
        return xlcp_err_set(err, XLCP_EINTERNAL, "out of memory");
    rc = xlcp_lvm_run(&l->run, NULL, args, r, 0, err);
    for (line = strtok_r(r->out, "\n", &save); rc == 0 && line;
         line = strtok_r(NULL, "\n", &save)) {
        char *f[3];
        xlcp_lvm_trim(line);
        if (!*line)
            continue;
        if (xlcp_lvm_split_fields(line, f, 2) != 2 || !xlcp_lvm_valid_name(f[0]) ||
            !xlcp_lvm_valid_name(f[1])) {
            rc = xlcp_err_set(err, XLCP_EDISK, "lvm lvs @%s: unexpected output '%.80s'", tag, line);
            break;
        }
        struct lvinfo info;
        rc = xlcp_lvm_lv_info(&l->run, f[0], f[1], &info, err);
        if (rc > 0 && !xlcp_lvm_has_our_tag(info.tags, 0))
            rc = xlcp_err_set(err, XLCP_EINVAL, "refusing to remove %s/%s: tags '%s'", f[0], f[1],
                              info.tags);
        if (rc > 0)
            rc = lv_remove(l, &info, err);
    }
    free(r);
    return rc;
}

/* verify: is the snapshot still what it was made to be? A thick snapshot whose COW area
 * overflowed is invalidated by device-mapper (lv_attr 'I'): its content is lost. A thin
 * snapshot lives as long as its pool can take writes: a pool over its data or metadata
 * limit is reported (writes to the pool's volumes fail or queue, the snapshot with them). */
int xlcp_lvm_check(void *self, const struct xlcp_snapshot *snap, char *why, size_t len,
                   struct xlcp_err *err)
{
    struct lvm *l = self;
    struct lvinfo info, pool;
    int rc;

    why[0] = '\0';
    if (!xlcp_lvm_valid_name(snap->vg) || !xlcp_lvm_valid_name(snap->lv))
        return xlcp_err_set(err, XLCP_EINVAL, "bad volume name %s/%s", snap->vg, snap->lv);
    rc = xlcp_lvm_lv_info(&l->run, snap->vg, snap->lv, &info, err);
    if (rc <= 0) {
        if (rc == 0)
            snprintf(why, len, "snapshot volume %s/%s is missing", snap->vg, snap->lv);
        return rc;
    }
    if (strcmp(info.segtype, "thin") != 0) {
        if ((strlen(info.attr) > 4 && info.attr[4] == 'I') || info.data_pct >= 100.0) {
            snprintf(why, len,
                     "thick snapshot %s/%s is invalidated: its COW area (%" PRIu64
                     " MiB) overflowed with writes to %s after the checkpoint",
                     snap->vg, snap->lv, info.size >> 20, info.origin[0] ? info.origin : "?");
            return 0;
        }
        return 1;
    }
    if (!info.pool[0])
        return 1;
    rc = xlcp_lvm_lv_info(&l->run, snap->vg, info.pool, &pool, err);
    if (rc <= 0)
        return rc < 0 ? rc
                      : xlcp_err_set(err, XLCP_EDISK, "thin pool %s/%s of %s is missing", snap->vg,
                                     info.pool, snap->lv);
    if (pool.data_pct >= LVM_POOL_FULL_PCT || pool.meta_pct >= LVM_POOL_FULL_PCT) {
        snprintf(why, len,
                 "thin pool %s/%s of snapshot %s is over its limit of %u%% (data %.1f%%, "
                 "metadata %.1f%%)",
                 snap->vg, info.pool, snap->lv, LVM_POOL_FULL_PCT, pool.data_pct, pool.meta_pct);
        return 0;
    }
    return 1;
}
