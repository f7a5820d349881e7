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
    snprintf(line, sizeof(line),
             "  %s|%s|%" PRIu64 "|%s|%s|%s|%s|%" PRIu64 "|%" PRIu64 "|%s|%s|%s\n", v->vg, v->lv,
             v->size, v->segtype, v->pool, v->tags, v->origin, v->thin_id, f->vg_free, v->attr, dp,
             mp);
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

static int f_suspend(dev_t dev, struct xlcp_err *err)
{
    struct flvm_lv *v = by_dev(dev);

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

    if (!v)
        return xlcp_err_set(err, XLCP_EDISK, "no device");
    pthread_mutex_lock(&world->mu);
    if (v->suspended)
        v->resumes++;
    v->suspended = 0;
    pthread_mutex_unlock(&world->mu);
    return 0;
}

static int f_is_suspended(dev_t dev, struct xlcp_err *err)
{
    struct flvm_lv *v = by_dev(dev);

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

static const struct xlcp_dm_ops fake_dm = {
    .devno = f_devno,
    .suspend = f_suspend,
    .resume = f_resume,
    .is_suspended = f_is_suspended,
    .state = f_state,
    .message = f_message,
    .thin_info = f_thin_info,
    .flush = f_flush,
};

int fake_lvm_open(struct flvm *f, struct xlcp_disk *out_disk, struct xlcp_err *err)
{
    setenv("XLCP_LVM_DEVDIR", "/fake", 1);
    return xlcp_disk_lvm_open_fake(out_disk, &fake_dm, fake_run, f, err);
}
