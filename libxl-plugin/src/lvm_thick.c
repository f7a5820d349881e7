/*
 * lvm_thick.c - a thick (dm-snapshot) snapshot whose instant costs the origin's writes a
 * device-mapper table switch, not a whole `lvcreate -s` (issue 15 item 4).
 *
 * LVM's own layout of a snapshot S of origin O (names VG-O, VG-O-real, VG-S, VG-S-cow; uuids
 * "LVM-" + VG uuid + LV uuid [+ "-real"/"-cow"], uuids without dashes) is built here, so that
 * LVM afterwards finds it in place:
 *   arm      (guest running) the COW as an LV of ours: `lvcreate -pr` (tagged, so that every
 *            removal finds it), its table read, `lvchange -an`; then VG-O-real (O's table)
 *            and VG-S-cow (the COW LV's table) made by us with LVM's names and uuids, and
 *            the COW's first chunk zeroed (a new exception store);
 *   capture  (inside the guest's stop, O held by lvm_hold.c) O's table becomes
 *            "snapshot-origin VG-O-real", a temporary snapshot device of ours
 *            ("xlcp.<VG-S>", uuid "XLCP-...") is made on VG-S-cow, O resumes: a few ioctls;
 *   complete (guest running, nothing held by us) the temporary snapshot is suspended and
 *            `lvconvert -s -Zn VG/O VG/S` makes the COW LV LVM's snapshot of O: LVM finds
 *            VG-O-real and VG-S-cow as it would have made them, creates VG-S on the same COW
 *            device, and the kernel hands the temporary snapshot's exceptions over to it
 *            when it resumes (dm-snapshot's handover between two snapshots sharing a COW,
 *            which needs the source suspended); the temporary device goes.
 * LVM's own suspend of O inside lvconvert is the only other time O's writes wait
 * (tests/nested/t48-thick-facts.sh measures each step). If anything fails, thick_undo puts
 * O's table back and removes what we made. An origin whose table is not plain linear or
 * striped (one that has LVM snapshots already: a snapshot-origin; a snapshot itself; RAID)
 * takes the older path: `lvcreate -s` of the held origin.
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/sysmacros.h>

#include "lvm.h"

/* LVM's device-mapper name of vg/lv[-layer]: '-' doubled inside names */
static void dm_name(char *out, size_t len, const char *vg, const char *lv, const char *layer)
{
    size_t at = 0;
    const char *parts[3] = {vg, lv, layer};

    for (int i = 0; i < 3 && parts[i] && at + 1 < len; i++) {
        if (i)
            out[at++] = '-';
        for (const char *p = parts[i]; *p && at + 2 < len; p++) {
            out[at++] = *p;
            if (*p == '-')
                out[at++] = '-';
        }
    }
    out[at] = '\0';
}

/* LVM's uuid without its dashes (32 characters), or -1 */
static int undash(char *out, const char *uuid)
{
    size_t n = 0;

    for (const char *p = uuid; *p; p++) {
        if (*p == '-')
            continue;
        if (n >= 32)
            return -1;
        out[n++] = *p;
    }
    out[n] = '\0';
    return n == 32 ? 0 : -1;
}

static void tmp_name(char *out, size_t len, const char *vg, const char *snap)
{
    char n[3 * XLCP_NAME_MAX];

    dm_name(n, sizeof(n), vg, snap, NULL);
    snprintf(out, len, "xlcp.%s", n);
}

/* Total length (sectors) of a table; *plain: 1 if every target is linear or striped
 * (what LVM's own thick LVs are made of), 0 otherwise (e.g. a snapshot-origin: the origin
 * has LVM snapshots already). */
static uint64_t table_sectors(const char *table, int *plain)
{
    uint64_t total = 0;
    const char *p = table;

    *plain = *p != '\0';
    while (*p) {
        unsigned long long start, length;
        char type[32];
        if (sscanf(p, "%llu %llu %31s", &start, &length, type) == 3) {
            total += length;
            if (strcmp(type, "linear") != 0 && strcmp(type, "striped") != 0)
                *plain = 0;
        } else
            *plain = 0;
        p += strcspn(p, "\n");
        if (*p)
            p++;
    }
    return total;
}

int xlcp_lvm_thick_arm(struct lvm *l, struct pending *pd, const char *origin_lv,
                       struct xlcp_err *err)
{
    struct thick *t = &pd->thick;
    char snapdev[XLCP_PATH_MAX + 2 * XLCP_NAME_MAX], name[3 * XLCP_NAME_MAX + 8];
    char uuid[128], vgu[40], ou[40], su[40], cowtable[sizeof(t->otable)];
    struct lvinfo oi, si;
    int rc, plain;
    dev_t snap;

    rc = l->dm->table(pd->origin, 0, t->otable, sizeof(t->otable), err);
    if (rc)
        return xlcp_err_prefix(err, "table of %s/%s", pd->vg, origin_lv);
    t->sectors = table_sectors(t->otable, &plain);
    if (!plain || t->sectors == 0)
        return 0; /* e.g. LVM snapshots already: `lvcreate -s` of the held origin (disk_lvm.c) */
    snprintf(t->origin_lv, sizeof(t->origin_lv), "%s", origin_lv);
    /* the COW, active read-only for its table, then inactive: lvconvert wants it so */
    char *create[] = {"lvcreate", "-q",   "-y",       "-Zn",   "-pr",  "-L", pd->cow,
                      "-n",       pd->lv, "--addtag", pd->tag, pd->vg, NULL};
    rc = xlcp_lvm_run_simple(&l->run, pd->vg, create, err);
    if (rc)
        return rc;
    pd->used = 1; /* from here on, remove() cleans up */
    t->on = 1;
    snprintf(snapdev, sizeof(snapdev), "%s/%s/%s", l->devdir, pd->vg, pd->lv);
    rc = l->dm->devno(snapdev, &snap, err);
    if (rc == 0)
        rc = l->dm->table(snap, 0, cowtable, sizeof(cowtable), err);
    if (rc)
        return xlcp_err_prefix(err, "COW volume %s/%s", pd->vg, pd->lv);
    char lvname[2 * XLCP_NAME_MAX + 2];
    snprintf(lvname, sizeof(lvname), "%s/%s", pd->vg, pd->lv);
    char *deact[] = {"lvchange", "-q", "-an", lvname, NULL};
    rc = xlcp_lvm_run_simple(&l->run, pd->vg, deact, err);
    if (rc)
        return rc;
    rc = xlcp_lvm_lv_info(&l->run, pd->vg, origin_lv, &oi, err);
    if (rc > 0)
        rc = xlcp_lvm_lv_info(&l->run, pd->vg, pd->lv, &si, err);
    if (rc <= 0)
        return rc < 0 ? rc : xlcp_err_set(err, XLCP_EDISK, "%s/%s vanished", pd->vg, origin_lv);
    if (undash(vgu, oi.vg_uuid) || undash(ou, oi.lv_uuid) || undash(su, si.lv_uuid))
        return xlcp_err_set(err, XLCP_EDISK, "unexpected LVM uuids '%s' '%s' '%s'", oi.vg_uuid,
                            oi.lv_uuid, si.lv_uuid);
    /* LVM's layers, as LVM itself would make them for a snapshot of the origin */
    dm_name(name, sizeof(name), pd->vg, origin_lv, "real");
    snprintf(uuid, sizeof(uuid), "LVM-%s%s-real", vgu, ou);
    rc = l->dm->create(name, uuid, t->otable, &t->real, err);
    if (rc)
        return xlcp_err_prefix(err, "origin layer of %s/%s", pd->vg, origin_lv);
    t->made_real = 1;
    dm_name(name, sizeof(name), pd->vg, pd->lv, "cow");
    snprintf(uuid, sizeof(uuid), "LVM-%s%s-cow", vgu, su);
    rc = l->dm->create(name, uuid, cowtable, &t->cow, err);
    if (rc)
        return xlcp_err_prefix(err, "COW layer of %s/%s", pd->vg, pd->lv);
    t->made_cow = 1;
    snprintf(t->snap_uuid, sizeof(t->snap_uuid), "LVM-%s%s", vgu, su);
    snprintf(t->tmp_uuid, sizeof(t->tmp_uuid), "XLCP-%s%s", vgu, su);
    /* a node of our own under the device directory: /run is mounted nodev */
    rc = l->dm->zero(t->cow, l->devdir, 4096, err);
    if (rc)
        return xlcp_err_prefix(err, "new exception store on %s/%s", pd->vg, pd->lv);
    return 0;
}

/* The snapshot's table, on our layers */
static void snap_table(const struct thick *t, char *out, size_t len)
{
    snprintf(out, len, "0 %" PRIu64 " snapshot %u:%u %u:%u P 8", t->sectors, major(t->real),
             minor(t->real), major(t->cow), minor(t->cow));
}

int xlcp_lvm_thick_switch(struct lvm *l, struct pending *pd, struct xlcp_err *err)
{
    struct thick *t = &pd->thick;
    char table[256], name[3 * XLCP_NAME_MAX + 8], origin[2 * XLCP_NAME_MAX + 2];
    struct xlcp_err e2;
    int rc;

    snprintf(origin, sizeof(origin), "%s/%s", pd->vg, t->origin_lv);
    rc = xlcp_lvm_hold_check(l, pd, origin, err);
    if (rc)
        return rc;
    snprintf(table, sizeof(table), "0 %" PRIu64 " snapshot-origin %u:%u", t->sectors,
             major(t->real), minor(t->real));
    rc = l->dm->load(pd->origin, table, err);
    if (rc == 0) {
        snap_table(t, table, sizeof(table));
        tmp_name(name, sizeof(name), pd->vg, pd->lv);
        rc = l->dm->create(name, t->tmp_uuid, table, &t->tmp, err);
        if (rc == 0)
            t->made_tmp = 1;
    }
    xlcp_err_clear(&e2);
    if (rc) {
        (void)l->dm->clear(pd->origin, &e2); /* the resume in release must not load it */
        return xlcp_err_prefix(err, "snapshot of %s", origin);
    }
    rc = l->dm->resume(pd->origin, err); /* the snapshot-origin table goes live */
    if (rc)
        return xlcp_err_prefix(err, "snapshot of %s", origin);
    t->switched = 1;
    pd->held = 0;
    pd->switch_ns = xlcp_lvm_mono_ns() - pd->held_at_ns;
    xlcp_dm_guardian_released(&l->guard, pd->origin);
    return 0;
}

/* 0 if dev's table is exactly `want` */
static int table_is(struct lvm *l, dev_t dev, const char *want, const char *what,
                    struct xlcp_err *err)
{
    char have[512];
    int rc = l->dm->table(dev, 0, have, sizeof(have), err);

    if (rc)
        return xlcp_err_prefix(err, "%s", what);
    if (strcmp(have, want) != 0)
        return xlcp_err_set(err, XLCP_EDISK, "%s: table '%s', expected '%s'", what, have, want);
    return 0;
}

int xlcp_lvm_thick_finish(struct lvm *l, struct pending *pd, struct xlcp_err *err)
{
    struct thick *t = &pd->thick;
    char vo[2 * XLCP_NAME_MAX + 2], vs[2 * XLCP_NAME_MAX + 2], want[256];
    char *args[] = {"lvconvert", "-q", "-y", "-s", "-Zn", vo, vs, NULL};
    struct lvinfo si;
    dev_t lvm_snap;
    int rc;

    snprintf(vo, sizeof(vo), "%s/%s", pd->vg, t->origin_lv);
    snprintf(vs, sizeof(vs), "%s/%s", pd->vg, pd->lv);
    /* the origin must still be ours since the switch: a table reloaded meanwhile (e.g. an
     * `lvchange --refresh` of it) let writes reach it without their copy-out */
    snprintf(want, sizeof(want), "0 %" PRIu64 " snapshot-origin %u:%u", t->sectors, major(t->real),
             minor(t->real));
    rc = table_is(l, pd->origin, want, vo, err);
    if (rc)
        return xlcp_err_prefix(err, "the switch of %s was undone by someone else", vo);
    /* the handover's source must be suspended when LVM's snapshot resumes */
    rc = xlcp_lvm_suspend_bounded(l, t->tmp, err);
    if (rc)
        return xlcp_err_prefix(err, "snapshot of %s", vo);
    rc = xlcp_lvm_run_simple(&l->run, pd->vg, args, err);
    if (rc)
        return xlcp_err_prefix(err, "snapshot of %s", vo);
    /* what LVM made must be what we made: its snapshot device on our COW layer, the origin
     * on our origin layer, and LVM's metadata says so */
    rc = l->dm->lookup(t->snap_uuid, 0, &lvm_snap, err);
    if (rc == 0)
        rc = xlcp_err_set(err, XLCP_EDISK, "LVM made no snapshot device for %s", vs);
    if (rc < 0)
        return rc;
    snap_table(t, want, sizeof(want));
    rc = table_is(l, lvm_snap, want, vs, err);
    if (rc)
        return rc;
    snprintf(want, sizeof(want), "0 %" PRIu64 " snapshot-origin %u:%u", t->sectors, major(t->real),
             minor(t->real));
    rc = table_is(l, pd->origin, want, vo, err);
    if (rc)
        return rc;
    rc = xlcp_lvm_lv_info(&l->run, pd->vg, pd->lv, &si, err);
    if (rc <= 0)
        return rc < 0 ? rc : xlcp_err_set(err, XLCP_EDISK, "%s vanished", vs);
    if (strcmp(si.origin, t->origin_lv) != 0 || (strlen(si.attr) > 4 && si.attr[4] == 'I'))
        return xlcp_err_set(err, XLCP_EDISK,
                            "%s is not a valid snapshot of %s (origin '%s', "
                            "attributes %s)",
                            vs, vo, si.origin, si.attr);
    /* the kernel handed our snapshot's exceptions over to LVM's: ours is invalid now (it
     * takes no more I/O); anything else means LVM's snapshot did not get them */
    char st[256];
    rc = l->dm->table(t->tmp, 1, st, sizeof(st), err);
    if (rc)
        return xlcp_err_prefix(err, "temporary snapshot of %s", vo);
    if (!strstr(st, " snapshot Invalid"))
        return xlcp_err_set(err, XLCP_EDISK,
                            "snapshot of %s: the kernel did not hand the exceptions over to "
                            "LVM's snapshot (temporary snapshot's status '%s')",
                            vo, st);
    rc = l->dm->remove(t->tmp, err);
    if (rc) { /* a suspended device may refuse: it takes no I/O, resume it and try again */
        struct xlcp_err e2;
        xlcp_err_clear(&e2);
        if (l->dm->resume(t->tmp, &e2) == 0 && l->dm->remove(t->tmp, &e2) == 0)
            rc = 0;
    }
    if (rc)
        return xlcp_err_prefix(err, "temporary snapshot of %s", vo);
    t->made_tmp = 0;
    t->made_real = t->made_cow = 0; /* LVM's now */
    t->on = 0;
    return 0;
}

/* Puts everything back as before arm, as far as it was done; the COW LV itself is left
 * to lvremove (the caller's). Whatever fails, the rest is still tried; the first error
 * is reported. */
int xlcp_lvm_thick_undo(struct lvm *l, struct pending *pd, struct xlcp_err *err)
{
    struct thick *t = &pd->thick;
    struct lvinfo si;
    struct xlcp_err e;
    int rc = 0, r;

#define KEEP(call)                                                                                 \
    do {                                                                                           \
        xlcp_err_clear(&e);                                                                        \
        r = (call);                                                                                \
        if (r && rc == 0) {                                                                        \
            *err = e;                                                                              \
            rc = r;                                                                                \
        }                                                                                          \
    } while (0)

    if (!t->on)
        return 0;
    if (t->made_tmp) { /* suspended or not, it goes: no write needs it any more */
        xlcp_err_clear(&e);
        (void)l->dm->resume(t->tmp, &e);
        KEEP(l->dm->remove(t->tmp, &e));
        if (r == 0)
            t->made_tmp = 0;
    }
    xlcp_err_clear(&e);
    r = xlcp_lvm_lv_info(&l->run, pd->vg, pd->lv, &si, &e);
    if (r > 0 && si.origin[0]) {
        /* LVM took it over after all: lvremove undoes LVM's layout */
        t->made_real = t->made_cow = t->switched = 0;
    }
    if (t->switched) { /* the origin's own table back: a hold of a few ioctls */
        xlcp_dm_guardian_held(&l->guard, pd->origin);
        KEEP(xlcp_lvm_suspend_bounded(l, pd->origin, &e));
        if (r == 0) {
            KEEP(l->dm->load(pd->origin, t->otable, &e));
            KEEP(l->dm->resume(pd->origin, &e));
            if (r == 0) {
                t->switched = 0;
                xlcp_dm_guardian_released(&l->guard, pd->origin);
            }
        }
    }
    if (t->made_cow) {
        KEEP(l->dm->remove(t->cow, &e));
        if (r == 0)
            t->made_cow = 0;
    }
    if (t->made_real && !t->switched) {
        KEEP(l->dm->remove(t->real, &e));
        if (r == 0)
            t->made_real = 0;
    }
#undef KEEP
    if (!t->made_tmp && !t->made_cow && !t->made_real && !t->switched)
        t->on = 0;
    return rc;
}

/*
 * Before lvremove of a volume of ours (si, tagged) that LVM does not hold as a snapshot:
 * what a process that died between arm and complete left of a switch. Our temporary
 * snapshot ("xlcp.<VG-S>") goes; the COW layer LVM would only make for a snapshot goes; the
 * origin (named by the engine's "<origin>.xlcp.<suffix>" naming) gets its own table back
 * from our VG-O-real, which goes, unless LVM knows the origin as one (it has snapshots of
 * LVM's: then that layer is LVM's).
 */
int xlcp_lvm_thick_leftover(struct lvm *l, const struct lvinfo *si, struct xlcp_err *err)
{
    char name[3 * XLCP_NAME_MAX + 8], uuid[128], vgu[40], su[40], ou[40];
    char origin[XLCP_NAME_MAX], path[XLCP_PATH_MAX + 2 * XLCP_NAME_MAX], table[1024], rt[1024];
    struct lvinfo oi;
    dev_t dev, real, odev;
    int rc, plain;

    if (si->segtype[0] && strcmp(si->segtype, "linear") != 0 && strcmp(si->segtype, "striped"))
        return 0;
    tmp_name(name, sizeof(name), si->vg, si->lv);
    rc = l->dm->lookup(name, 1, &dev, err);
    if (rc < 0)
        return rc;
    if (rc == 1) {
        struct xlcp_err e2;
        xlcp_err_clear(&e2);
        (void)l->dm->resume(dev, &e2);
        rc = l->dm->remove(dev, err);
        if (rc)
            return xlcp_err_prefix(err, "leftover snapshot device %s", name);
    }
    if (si->origin[0] || undash(vgu, si->vg_uuid) || undash(su, si->lv_uuid))
        return 0; /* LVM's snapshot: lvremove undoes it */
    snprintf(uuid, sizeof(uuid), "LVM-%s%s-cow", vgu, su);
    rc = l->dm->lookup(uuid, 0, &dev, err);
    if (rc == 1)
        rc = l->dm->remove(dev, err);
    if (rc < 0)
        return xlcp_err_prefix(err, "leftover COW layer of %s/%s", si->vg, si->lv);
    const char *cut = strstr(si->lv, ".xlcp.");
    if (!cut || cut == si->lv || (size_t)(cut - si->lv) >= sizeof(origin))
        return 0;
    snprintf(origin, sizeof(origin), "%.*s", (int)(cut - si->lv), si->lv);
    rc = xlcp_lvm_lv_info(&l->run, si->vg, origin, &oi, err);
    if (rc <= 0 || (strlen(oi.attr) > 0 && (oi.attr[0] == 'o' || oi.attr[0] == 'O')) ||
        undash(ou, oi.lv_uuid))
        return rc < 0 ? rc : 0;
    snprintf(uuid, sizeof(uuid), "LVM-%s%s-real", vgu, ou);
    rc = l->dm->lookup(uuid, 0, &real, err);
    if (rc <= 0)
        return rc;
    snprintf(path, sizeof(path), "%s/%s/%s", l->devdir, si->vg, origin);
    rc = l->dm->devno(path, &odev, err);
    if (rc == 0)
        rc = l->dm->table(odev, 0, table, sizeof(table), err);
    if (rc == 0)
        rc = l->dm->table(real, 0, rt, sizeof(rt), err);
    if (rc)
        return xlcp_err_prefix(err, "leftover switch of %s/%s", si->vg, origin);
    (void)table_sectors(table, &plain);
    snprintf(name, sizeof(name), " snapshot-origin %u:%u", major(real), minor(real));
    if (!plain && strstr(table, name)) { /* switched: its own table back */
        rc = xlcp_lvm_suspend_bounded(l, odev, err);
        if (rc == 0) {
            rc = l->dm->load(odev, rt, err);
            struct xlcp_err e2;
            xlcp_err_clear(&e2);
            if (l->dm->resume(odev, &e2) != 0 && rc == 0) {
                *err = e2;
                rc = e2.code;
            }
        }
        if (rc)
            return xlcp_err_prefix(err, "leftover switch of %s/%s", si->vg, origin);
    }
    rc = l->dm->remove(real, err);
    return rc ? xlcp_err_prefix(err, "leftover origin layer of %s/%s", si->vg, origin) : 0;
}
