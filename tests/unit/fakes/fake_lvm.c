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

#define FAKE_MAJOR 4000 /* no real device has it */

static struct flvm *world; /* the dm ops have no context argument */

struct flvm *fake_lvm_new(void)
{
    struct flvm *f = calloc(1, sizeof(*f));

    if (!f)
        abort();
    f->vg_free = 10ull << 30;
    f->next_thin_id = 1;
    pthread_mutex_init(&f->mu, NULL);
    pthread_cond_init(&f->cv, NULL);
    world = f;
    return f;
}

void fake_lvm_free(struct flvm *f)
{
    pthread_cond_destroy(&f->cv);
    pthread_mutex_destroy(&f->mu);
    if (world == f)
        world = NULL;
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

static struct fdm_dev *dm_by_uuid(struct flvm *f, const char *uuid)
{
    for (int i = 0; i < FDM_MAX; i++)
        if (f->dm[i].used && strcmp(f->dm[i].uuid, uuid) == 0)
            return &f->dm[i];
    return NULL;
}

static struct fdm_dev *dm_new(struct flvm *f, const char *name, const char *uuid, const char *table)
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
static void lv_table(struct flvm *f, const struct flvm_lv *v, char *out, size_t len)
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

static int split_vglv(const char *s, char *vg, size_t vl, char *lv, size_t ll)
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
    if (!split_vglv(what, vg, sizeof(vg), lv, sizeof(lv)))
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
        if (!split_vglv(pool, vg, sizeof(vg), lv, sizeof(lv)))
            return fail(r, 3, "bad pool");
    } else if (!split_vglv(target, vg, sizeof(vg), lv, sizeof(lv))) {
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

    if (argc < 4 || !split_vglv(argv[argc - 2], vg, sizeof(vg), on, sizeof(on)) ||
        !split_vglv(argv[argc - 1], vg, sizeof(vg), sn, sizeof(sn)))
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
    real = dm_by_uuid(f, u);
    if (!real) {
        lv_table(f, o, tab, sizeof(tab));
        snprintf(tab2, sizeof(tab2), "%s-%s-real", vg, on);
        real = dm_new(f, tab2, u, tab);
    }
    lvm_uuid(f, v, "cow", u, sizeof(u));
    cow = dm_by_uuid(f, u);
    if (!cow) {
        lv_table(f, v, tab, sizeof(tab));
        snprintf(tab2, sizeof(tab2), "%s-%s-cow", vg, sn);
        cow = dm_new(f, tab2, u, tab);
    }
    snprintf(tab, sizeof(tab), "0 %" PRIu64 " snapshot 4000:%d 4000:%d P 8", o->size / 512,
             FLVM_MAX + (int)(real - f->dm), FLVM_MAX + (int)(cow - f->dm));
    for (int i = 0; i < FDM_MAX; i++)
        if (f->dm[i].used && strcmp(f->dm[i].table, tab) == 0 && !f->dm[i].suspended)
            return fail(r, 5,
                        "device-mapper: resume ioctl failed: Invalid argument "
                        "(snapshot handover source not suspended)");
    snprintf(o->table, sizeof(o->table), "0 %" PRIu64 " snapshot-origin 4000:%d", o->size / 512,
             FLVM_MAX + (int)(real - f->dm));
    o->resumes++; /* LVM's own suspend and resume of the origin */
    lvm_uuid(f, v, NULL, u, sizeof(u));
    snprintf(tab2, sizeof(tab2), "%s-%s", vg, sn);
    dm_new(f, tab2, u, tab);
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
        struct fdm_dev *real = dm_by_uuid(f, u);
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
        struct flvm_lv *v = split_vglv(argv[argc - 1], vg, sizeof(vg), lv, sizeof(lv))
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
        struct flvm_lv *v = split_vglv(argv[argc - 1], vg, sizeof(vg), lv, sizeof(lv))
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

/* ---- device-mapper ------------------------------------------------------------------- */

static struct flvm_lv *by_dev(dev_t dev)
{
    unsigned i = minor(dev);

    if (!world || major(dev) != FAKE_MAJOR || i >= FLVM_MAX || !world->lv[i].used)
        return NULL;
    return &world->lv[i];
}

static int f_devno(const char *path, dev_t *out_dev, struct xlcp_err *err)
{
    char vg[32], lv[64];

    if (strncmp(path, "/fake/", 6) != 0 || !split_vglv(path + 6, vg, sizeof(vg), lv, sizeof(lv)))
        return xlcp_err_set(err, XLCP_ENOTFOUND, "%s: no such device", path);
    struct flvm_lv *v = fake_lvm_find(world, vg, lv);
    if (!v)
        return xlcp_err_set(err, XLCP_ENOTFOUND, "%s: no such device", path);
    *out_dev = makedev(FAKE_MAJOR, (unsigned)(v - world->lv));
    return 0;
}

static struct fdm_dev *by_xdev(dev_t dev)
{
    unsigned i = minor(dev);

    if (!world || major(dev) != FAKE_MAJOR || i < FLVM_MAX || i >= FLVM_MAX + FDM_MAX ||
        !world->dm[i - FLVM_MAX].used)
        return NULL;
    return &world->dm[i - FLVM_MAX];
}

static int dm_failing(const char *op, struct xlcp_err *err)
{
    if (world && !strcmp(world->fail_dm, op))
        return xlcp_err_set(err, XLCP_EDISK, "device-mapper %s failed: injected", op);
    return 0;
}

static int f_suspend(dev_t dev, struct xlcp_err *err)
{
    struct flvm_lv *v = by_dev(dev);
    struct fdm_dev *d = by_xdev(dev);

    if (d) {
        d->suspended = 1;
        return 0;
    }
    if (!v)
        return xlcp_err_set(err, XLCP_EDISK, "no device");
    pthread_mutex_lock(&world->mu);
    while (world->block_suspend)
        pthread_cond_wait(&world->cv, &world->mu);
    v->suspended = 1;
    pthread_mutex_unlock(&world->mu);
    return 0;
}

static int f_resume(dev_t dev, struct xlcp_err *err)
{
    struct flvm_lv *v = by_dev(dev);
    struct fdm_dev *d = by_xdev(dev);

    if (d) {
        if (d->inactive[0]) {
            snprintf(d->table, sizeof(d->table), "%s", d->inactive);
            d->inactive[0] = '\0';
        }
        d->resumes += d->suspended;
        d->suspended = 0;
        return 0;
    }
    if (!v)
        return xlcp_err_set(err, XLCP_EDISK, "no device");
    pthread_mutex_lock(&world->mu);
    if (v->suspended)
        v->resumes++;
    v->suspended = 0;
    if (v->inactive[0]) {
        snprintf(v->table, sizeof(v->table), "%s", v->inactive);
        v->inactive[0] = '\0';
    }
    pthread_mutex_unlock(&world->mu);
    return 0;
}

static int f_is_suspended(dev_t dev, struct xlcp_err *err)
{
    struct flvm_lv *v = by_dev(dev);

    if (by_xdev(dev))
        return by_xdev(dev)->suspended;
    return v ? v->suspended : xlcp_err_set(err, XLCP_EDISK, "no device");
}

static int f_state(dev_t dev, struct xlcp_dm_state *st, struct xlcp_err *err)
{
    struct flvm_lv *v = by_dev(dev);

    if (!v)
        return xlcp_err_set(err, XLCP_EDISK, "no device");
    memset(st, 0, sizeof(*st));
    st->suspended = v->suspended;
    st->event_nr = v->event_nr;
    st->writes = v->writes;
    st->write_sectors = v->writes * 8;
    return 0;
}

static int f_message(dev_t dev, const char *msg, struct xlcp_err *err)
{
    size_t at = strlen(world->msgs);

    if (!by_dev(dev))
        return xlcp_err_set(err, XLCP_EDISK, "no device");
    snprintf(world->msgs + at, sizeof(world->msgs) - at, "%s\n", msg);
    return 0;
}

static int f_thin_info(dev_t dev, dev_t *pool, uint32_t *id, struct xlcp_err *err)
{
    struct flvm_lv *v = by_dev(dev), *p;

    if (!v || strcmp(v->segtype, "thin") != 0 || !(p = fake_lvm_find(world, v->vg, v->pool)))
        return xlcp_err_set(err, XLCP_EUNSUPPORTED, "not a thin volume");
    *pool = makedev(FAKE_MAJOR, (unsigned)(p - world->lv));
    *id = (uint32_t)v->thin_id;
    return 0;
}

static int f_flush(const char *path, struct xlcp_err *err)
{
    dev_t dev;

    return f_devno(path, &dev, err);
}

static int f_table(dev_t dev, int status, char *buf, size_t len, struct xlcp_err *err)
{
    struct flvm_lv *v = by_dev(dev);
    struct fdm_dev *d = by_xdev(dev);

    (void)status;
    if (d)
        snprintf(buf, len, "%s", d->table);
    else if (v)
        lv_table(world, v, buf, len);
    else
        return xlcp_err_set(err, XLCP_EDISK, "no device");
    return 0;
}

static int f_create(const char *name, const char *uuid, const char *table, dev_t *out_dev,
                    struct xlcp_err *err)
{
    int rc = dm_failing("create", err);

    if (rc)
        return rc;
    if (fake_dm_find(world, name) || (uuid && dm_by_uuid(world, uuid)))
        return xlcp_err_set(err, XLCP_EDISK, "device-mapper create of %s failed: exists", name);
    struct fdm_dev *d = dm_new(world, name, uuid, table);
    *out_dev = makedev(FAKE_MAJOR, FLVM_MAX + (unsigned)(d - world->dm));
    return 0;
}

static int f_load(dev_t dev, const char *table, struct xlcp_err *err)
{
    struct flvm_lv *v = by_dev(dev);
    struct fdm_dev *d = by_xdev(dev);
    int rc = dm_failing("load", err);

    if (rc)
        return rc;
    if (d)
        snprintf(d->inactive, sizeof(d->inactive), "%s", table);
    else if (v)
        snprintf(v->inactive, sizeof(v->inactive), "%s", table);
    else
        return xlcp_err_set(err, XLCP_EDISK, "no device");
    return 0;
}

static int f_clear(dev_t dev, struct xlcp_err *err)
{
    struct flvm_lv *v = by_dev(dev);
    struct fdm_dev *d = by_xdev(dev);

    if (d)
        d->inactive[0] = '\0';
    else if (v)
        v->inactive[0] = '\0';
    else
        return xlcp_err_set(err, XLCP_EDISK, "no device");
    return 0;
}

static int f_remove(dev_t dev, struct xlcp_err *err)
{
    struct fdm_dev *d = by_xdev(dev);
    int rc = dm_failing("remove", err);

    if (rc)
        return rc;
    if (!d)
        return xlcp_err_set(err, XLCP_EDISK, "device-mapper remove: no such device");
    d->used = 0;
    return 0;
}

static int f_lookup(const char *id, int by_name, dev_t *out_dev, struct xlcp_err *err)
{
    struct fdm_dev *d = by_name ? fake_dm_find(world, id) : dm_by_uuid(world, id);

    (void)err;
    if (!d)
        return 0;
    *out_dev = makedev(FAKE_MAJOR, FLVM_MAX + (unsigned)(d - world->dm));
    return 1;
}

static int f_zero(dev_t dev, const char *dir, unsigned bytes, struct xlcp_err *err)
{
    struct fdm_dev *d = by_xdev(dev);
    int rc = dm_failing("zero", err);

    (void)dir;
    if (rc)
        return rc;
    if (!d || bytes % 4096)
        return xlcp_err_set(err, XLCP_EDISK, "zero: bad device or size");
    d->zeroed = 1;
    return 0;
}

static const struct xlcp_dm_ops fake_dm = {
    .devno = f_devno,
    .suspend = f_suspend,
    .resume = f_resume,
    .is_suspended = f_is_suspended,
    .state = f_state,
    .message = f_message,
    .thin_info = f_thin_info,
    .flush = f_flush,
    .table = f_table,
    .create = f_create,
    .load = f_load,
    .clear = f_clear,
    .remove = f_remove,
    .lookup = f_lookup,
    .zero = f_zero,
};

int fake_lvm_open(struct flvm *f, struct xlcp_disk *out_disk, struct xlcp_err *err)
{
    setenv("XLCP_LVM_DEVDIR", "/fake", 1);
    return xlcp_disk_lvm_open_fake(out_disk, &fake_dm, fake_run, f, err);
}
