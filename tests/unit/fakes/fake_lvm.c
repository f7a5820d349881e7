/*
 * fake_lvm.c - an in-process LVM and device-mapper for the LVM adapter's unit tests
 * (see fake_lvm.h).
 */
#include "fake_lvm.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/sysmacros.h>

struct flvm *fake_lvm_world; /* the dm ops (fake_dm.c) have no context argument */

struct flvm *fake_lvm_new(void)
{
    struct flvm *f = calloc(1, sizeof(*f));

    if (!f)
        abort();
    f->vg_free = 10ull << 30;
    f->next_thin_id = 1;
    pthread_mutex_init(&f->mu, NULL);
    pthread_cond_init(&f->cv, NULL);
    fake_lvm_world = f;
    return f;
}

void fake_lvm_free(struct flvm *f)
{
    pthread_cond_destroy(&f->cv);
    pthread_mutex_destroy(&f->mu);
    if (fake_lvm_world == f)
        fake_lvm_world = NULL;
    free(f);
}

struct flvm_lv *fake_lvm_find(struct flvm *f, const char *vg, const char *lv)
{
    for (int i = 0; i < FLVM_MAX; i++)
        if (f->lv[i].used && strcmp(f->lv[i].vg, vg) == 0 && strcmp(f->lv[i].lv, lv) == 0)
            return &f->lv[i];
    return NULL;
}

struct flvm_lv *fake_lvm_add(struct flvm *f, const char *vg, const char *lv, const char *segtype,
                             uint64_t size)
{
    for (int i = 0; i < FLVM_MAX; i++) {
        struct flvm_lv *v = &f->lv[i];
        if (v->used)
            continue;
        memset(v, 0, sizeof(*v));
        v->used = 1;
        snprintf(v->vg, sizeof(v->vg), "%s", vg);
        snprintf(v->lv, sizeof(v->lv), "%s", lv);
        snprintf(v->segtype, sizeof(v->segtype), "%s", segtype);
        snprintf(v->attr, sizeof(v->attr), "-wi-a-----");
        v->size = size;
        v->data_pct = v->meta_pct = -1;
        if (strcmp(segtype, "thin") == 0)
            v->thin_id = f->next_thin_id++;
        return v;
    }
    abort();
}

void fake_lvm_unblock(struct flvm *f)
{
    pthread_mutex_lock(&f->mu);
    f->block_suspend = 0;
    pthread_cond_broadcast(&f->cv);
    pthread_mutex_unlock(&f->mu);
}

struct fdm_dev *fake_dm_find(struct flvm *f, const char *name)
{
    for (int i = 0; i < FDM_MAX; i++)
        if (f->dm[i].used && strcmp(f->dm[i].name, name) == 0)
            return &f->dm[i];
    return NULL;
}

int fake_dm_count(struct flvm *f)
{
    int n = 0;

    for (int i = 0; i < FDM_MAX; i++)
        n += f->dm[i].used;
    return n;
}

struct fdm_dev *fake_dm_by_uuid(struct flvm *f, const char *uuid)
{
    for (int i = 0; i < FDM_MAX; i++)
        if (f->dm[i].used && strcmp(f->dm[i].uuid, uuid) == 0)
            return &f->dm[i];
    return NULL;
}

struct fdm_dev *fake_dm_new(struct flvm *f, const char *name, const char *uuid, const char *table)
{
    for (int i = 0; i < FDM_MAX; i++) {
        struct fdm_dev *d = &f->dm[i];
        if (d->used)
            continue;
        memset(d, 0, sizeof(*d));
        d->used = 1;
        snprintf(d->name, sizeof(d->name), "%s", name);
        snprintf(d->uuid, sizeof(d->uuid), "%s", uuid ? uuid : "");
        snprintf(d->table, sizeof(d->table), "%s", table);
        return d;
    }
    abort();
}

/* the dm uuids LVM would give (the fake's uuids without their dashes) */
static void lvm_uuid(struct flvm *f, const struct flvm_lv *v, const char *layer, char *out,
                     size_t len)
{
    snprintf(out, len,
             "LVM-fakeVGaaaabbbbccccddddeeeeffffff"
             "fakeLVaaaabbbbccccddddeeee%06d%s%s",
             (int)(v - f->lv), layer ? "-" : "", layer ? layer : "");
}

/* an LV's own (linear) table, as LVM loads it */
void fake_lv_table(struct flvm *f, const struct flvm_lv *v, char *out, size_t len)
{
    if (v->table[0])
        snprintf(out, len, "%s", v->table);
    else
        snprintf(out, len, "0 %" PRIu64 " linear 4000:900 %d", v->size / 512,
                 2048 + (int)(v - f->lv) * 1000000);
}

/* ---- LVM's command line ------------------------------------------------------------- */

static void out(struct lvm_result *r, const char *s)
{
    size_t n = strlen(s);

    if (r->outlen + n < sizeof(r->out)) {
        memcpy(r->out + r->outlen, s, n + 1);
        r->outlen += n;
    }
}

static int fail(struct lvm_result *r, int status, const char *msg)
{
    snprintf(r->errtext, sizeof(r->errtext), "%s\n", msg);
    r->errlen = strlen(r->errtext);
    r->status = status;
    return 0;
}

int fake_split_vglv(const char *s, char *vg, size_t vl, char *lv, size_t ll)
{
    const char *slash = strchr(s, '/');

    if (!slash)
        return 0;
    snprintf(vg, vl, "%.*s", (int)(slash - s), s);
    snprintf(lv, ll, "%s", slash + 1);
    return 1;
}

static int fmt_pct(char *buf, size_t len, double v)
{
    return v < 0 ? snprintf(buf, len, "%s", "") : snprintf(buf, len, "%.2f", v);
}

static int lvs(struct flvm *f, char *const argv[], int argc, struct lvm_result *r)
{
    const char *what = argv[argc - 1];
    char vg[32], lv[64], line[1024], dp[16], mp[16];

    if (what[0] == '@') {
        for (int i = 0; i < FLVM_MAX; i++) {
            char tags[130];
            snprintf(tags, sizeof(tags), ",%s,", f->lv[i].tags);
            char want[160];
            snprintf(want, sizeof(want), ",%s,", what + 1);
            if (f->lv[i].used && strstr(tags, want)) {
                snprintf(line, sizeof(line), "  %s|%s\n", f->lv[i].vg, f->lv[i].lv);
                out(r, line);
            }
        }
        return 0;
    }
    if (!fake_split_vglv(what, vg, sizeof(vg), lv, sizeof(lv)))
        return fail(r, 5, "bad name");
    struct flvm_lv *v = fake_lvm_find(f, vg, lv);
    if (!v)
        return fail(r, 5, "Failed to find logical volume");
    fmt_pct(dp, sizeof(dp), v->data_pct);
    fmt_pct(mp, sizeof(mp), v->meta_pct);
    snprintf(
        line, sizeof(line),
        "  %s|%s|%" PRIu64 "|%s|%s|%s|%s|%" PRIu64 "|%" PRIu64
        "|%s|%s|%s|fakeVG-aaaa-bbbb-cccc-dddd-eeee-ffffff|fakeLV-aaaa-bbbb-cccc-dddd-eeee-%06d\n",
        v->vg, v->lv, v->size, v->segtype, v->pool, v->tags, v->origin, v->thin_id, f->vg_free,
        v->attr, dp, mp, (int)(v - f->lv));
    out(r, line);
    return 0;
}

static int lvcreate(struct flvm *f, char *const argv[], int argc, struct lvm_result *r)
{
    const char *name = NULL, *tag = "", *pool = NULL, *target = argv[argc - 1];
    int snap = 0, ro = 0, inactive = 0, skip = 0;
    uint64_t size = 0;
    char vg[32], lv[64];
    struct flvm_lv *v, *o = NULL;

    for (int i = 2; i < argc - 1; i++) {
        if (!strcmp(argv[i], "-n"))
            name = argv[++i];
        else if (!strcmp(argv[i], "--addtag"))
            tag = argv[++i];
        else if (!strcmp(argv[i], "-T"))
            pool = argv[++i];
        else if (!strcmp(argv[i], "-V") || !strcmp(argv[i], "-L"))
            size = strtoull(argv[++i], NULL, 10);
        else if (!strcmp(argv[i], "-s"))
            snap = 1;
        else if (!strcmp(argv[i], "-pr"))
            ro = 1;
        else if (!strcmp(argv[i], "-ky"))
            skip = 1;
        else if (!strcmp(argv[i], "-an"))
            inactive = 1;
        else if (!strcmp(argv[i], "-p") || !strcmp(argv[i], "-W") || !strcmp(argv[i], "-Z"))
            i++;
    }
    if (!name)
        return fail(r, 3, "no name");
    if (pool) {
        if (!fake_split_vglv(pool, vg, sizeof(vg), lv, sizeof(lv)))
            return fail(r, 3, "bad pool");
    } else if (!fake_split_vglv(target, vg, sizeof(vg), lv, sizeof(lv))) {
        snprintf(vg, sizeof(vg), "%s", target);
        lv[0] = '\0';
    }
    if (fake_lvm_find(f, vg, name))
        return fail(r, 5, "already exists");
    if (snap) {
        o = fake_lvm_find(f, vg, lv);
        if (!o)
            return fail(r, 5, "Failed to find origin");
        if (!strcmp(o->segtype, "thin")) {
            v = fake_lvm_add(f, vg, name, "thin", o->size);
            snprintf(v->pool, sizeof(v->pool), "%s", o->pool);
        } else {
            if (o->suspended)
                o->suspended = 0, o->resumes++; /* LVM resumes the held origin */
            v = fake_lvm_add(f, vg, name, "linear", size);
            v->data_pct = 0;
        }
        snprintf(v->origin, sizeof(v->origin), "%s", lv);
    } else {
        v = fake_lvm_add(f, vg, name, pool ? "thin" : "linear", size);
        if (pool)
            snprintf(v->pool, sizeof(v->pool), "%s", lv);
    }
    snprintf(v->tags, sizeof(v->tags), "%s", tag);
    v->attr[1] = ro ? 'r' : 'w';
    v->attr[4] = inactive ? '-' : 'a';
    if (skip)
        v->attr[9] = 'k';
    return 0;
}

/* lvconvert -s -Zn VG/O VG/S, as LVM does it: S (inactive) becomes a snapshot of O; the
 * -real and -cow layers are used if they exist (by uuid), made otherwise; LVM's snapshot
 * device is made on them, taking over the exceptions of another snapshot on the same COW
 * (the kernel's handover), which must be suspended. */
static int lvconvert(struct flvm *f, char *const argv[], int argc, struct lvm_result *r)
{
    char vg[32], on[64], sn[64], u[160], tab[256], tab2[256];
    struct flvm_lv *o, *v;
    struct fdm_dev *real, *cow;

    if (argc < 4 || !fake_split_vglv(argv[argc - 2], vg, sizeof(vg), on, sizeof(on)) ||
        !fake_split_vglv(argv[argc - 1], vg, sizeof(vg), sn, sizeof(sn)))
        return fail(r, 3, "bad arguments");
    o = fake_lvm_find(f, vg, on);
    v = fake_lvm_find(f, vg, sn);
    if (!o || !v)
        return fail(r, 5, "Failed to find logical volume");
    if (v->origin[0])
        return fail(r, 5, "already a snapshot");
    v->attr[4] = '-'; /* deactivated first */
    if (f->resume_tmp_on_lvconvert)
        for (int i = 0; i < FDM_MAX; i++)
            if (f->dm[i].used && strncmp(f->dm[i].uuid, "LVM-", 4) != 0)
                f->dm[i].suspended = 0;
    lvm_uuid(f, o, "real", u, sizeof(u));
    real = fake_dm_by_uuid(f, u);
    if (!real) {
        fake_lv_table(f, o, tab, sizeof(tab));
        snprintf(tab2, sizeof(tab2), "%s-%s-real", vg, on);
        real = fake_dm_new(f, tab2, u, tab);
    }
    lvm_uuid(f, v, "cow", u, sizeof(u));
    cow = fake_dm_by_uuid(f, u);
    if (!cow) {
        fake_lv_table(f, v, tab, sizeof(tab));
        snprintf(tab2, sizeof(tab2), "%s-%s-cow", vg, sn);
        cow = fake_dm_new(f, tab2, u, tab);
    }
    snprintf(tab, sizeof(tab), "0 %" PRIu64 " snapshot 4000:%d 4000:%d P 8", o->size / 512,
             FLVM_MAX + (int)(real - f->dm), FLVM_MAX + (int)(cow - f->dm));
    for (int i = 0; i < FDM_MAX; i++)
        if (f->dm[i].used && strcmp(f->dm[i].table, tab) == 0 && !f->dm[i].suspended)
            return fail(r, 5,
                        "device-mapper: resume ioctl failed: Invalid argument "
                        "(snapshot handover source not suspended)");
    for (int i = 0; i < FDM_MAX; i++) /* the handover: the source is invalid */
        if (f->dm[i].used && strcmp(f->dm[i].table, tab) == 0 && !f->no_handover)
            f->dm[i].invalid = 1;
    snprintf(o->table, sizeof(o->table), "0 %" PRIu64 " snapshot-origin 4000:%d", o->size / 512,
             FLVM_MAX + (int)(real - f->dm));
    o->resumes++; /* LVM's own suspend and resume of the origin */
    lvm_uuid(f, v, NULL, u, sizeof(u));
    snprintf(tab2, sizeof(tab2), "%s-%s", vg, sn);
    fake_dm_new(f, tab2, u, tab);
    snprintf(v->origin, sizeof(v->origin), "%s", on);
    v->attr[0] = 's';
    v->attr[4] = 'a';
    v->data_pct = 0;
    return 0;
}

/* lvremove of a snapshot: LVM's layout of it goes, the origin gets its own table back */
static void drop_snapshot_layout(struct flvm *f, struct flvm_lv *v)
{
    struct flvm_lv *o = fake_lvm_find(f, v->vg, v->origin);
    char u[160];

    lvm_uuid(f, v, NULL, u, sizeof(u));
    for (int i = 0; i < FDM_MAX; i++)
        if (f->dm[i].used && strncmp(f->dm[i].uuid, u, strlen(u)) == 0)
            f->dm[i].used = 0;
    if (o) {
        o->table[0] = '\0';
        lvm_uuid(f, o, "real", u, sizeof(u));
        struct fdm_dev *real = fake_dm_by_uuid(f, u);
        if (real)
            real->used = 0;
    }
}

static int fake_run(void *arg, char *const argv[], struct lvm_result *r)
{
    struct flvm *f = arg;
    int argc = 0;
    size_t at = strlen(f->cmds);

    while (argv[argc])
        argc++;
    for (int i = 1; i < argc && at < sizeof(f->cmds) - 2; i++)
        at +=
            (size_t)snprintf(f->cmds + at, sizeof(f->cmds) - at, "%s%s", i > 1 ? " " : "", argv[i]);
    if (at < sizeof(f->cmds) - 2)
        f->cmds[at++] = '\n', f->cmds[at] = '\0';
    r->status = 0;
    if (f->fail_cmd[0] && !strcmp(argv[1], f->fail_cmd))
        return fail(r, 5, "injected failure");
    if (!strcmp(argv[1], "lvconvert"))
        return lvconvert(f, argv, argc, r);
    if (!strcmp(argv[1], "lvchange")) {
        char vg[32], lv[64];
        struct flvm_lv *v = fake_split_vglv(argv[argc - 1], vg, sizeof(vg), lv, sizeof(lv))
                                ? fake_lvm_find(f, vg, lv)
                                : NULL;
        if (!v)
            return fail(r, 5, "Failed to find logical volume");
        for (int i = 2; i < argc - 1; i++)
            if (!strcmp(argv[i], "-an"))
                v->attr[4] = '-';
        return 0;
    }
    if (!strcmp(argv[1], "lvs"))
        return lvs(f, argv, argc, r);
    if (!strcmp(argv[1], "lvcreate"))
        return lvcreate(f, argv, argc, r);
    if (!strcmp(argv[1], "lvremove")) {
        char vg[32], lv[64];
        struct flvm_lv *v = fake_split_vglv(argv[argc - 1], vg, sizeof(vg), lv, sizeof(lv))
                                ? fake_lvm_find(f, vg, lv)
                                : NULL;
        if (!v)
            return fail(r, 5, "Failed to find logical volume");
        if (v->origin[0] && strcmp(v->segtype, "thin") != 0)
            drop_snapshot_layout(f, v);
        v->used = 0;
        return 0;
    }
    return fail(r, 3, "fake lvm: command not understood");
}

int fake_lvm_run(void *arg, char *const argv[], struct lvm_result *r)
{
    return fake_run(arg, argv, r);
}
