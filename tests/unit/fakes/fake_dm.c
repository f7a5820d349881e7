/*
 * fake_dm.c - the device-mapper half of the LVM adapter's unit-test fake (fake_lvm.h):
 * devices of the fake LVs and devices of no LV (tables, uuids, suspend, create, load,
 * remove), acting on the one world fake_lvm_new made.
 */
#include "fake_lvm.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/sysmacros.h>

/* ---- device-mapper ------------------------------------------------------------------- */

static struct flvm_lv *by_dev(dev_t dev)
{
    unsigned i = minor(dev);

    if (!fake_lvm_world || major(dev) != FAKE_MAJOR || i >= FLVM_MAX || !fake_lvm_world->lv[i].used)
        return NULL;
    return &fake_lvm_world->lv[i];
}

static int f_devno(const char *path, dev_t *out_dev, struct xlcp_err *err)
{
    char vg[32], lv[64];

    if (strncmp(path, "/fake/", 6) != 0 ||
        !fake_split_vglv(path + 6, vg, sizeof(vg), lv, sizeof(lv)))
        return xlcp_err_set(err, XLCP_ENOTFOUND, "%s: no such device", path);
    struct flvm_lv *v = fake_lvm_find(fake_lvm_world, vg, lv);
    if (!v)
        return xlcp_err_set(err, XLCP_ENOTFOUND, "%s: no such device", path);
    *out_dev = makedev(FAKE_MAJOR, (unsigned)(v - fake_lvm_world->lv));
    return 0;
}

static struct fdm_dev *by_xdev(dev_t dev)
{
    unsigned i = minor(dev);

    if (!fake_lvm_world || major(dev) != FAKE_MAJOR || i < FLVM_MAX || i >= FLVM_MAX + FDM_MAX ||
        !fake_lvm_world->dm[i - FLVM_MAX].used)
        return NULL;
    return &fake_lvm_world->dm[i - FLVM_MAX];
}

static int dm_failing(const char *op, struct xlcp_err *err)
{
    if (fake_lvm_world && !strcmp(fake_lvm_world->fail_dm, op))
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
    pthread_mutex_lock(&fake_lvm_world->mu);
    while (fake_lvm_world->block_suspend)
        pthread_cond_wait(&fake_lvm_world->cv, &fake_lvm_world->mu);
    v->suspended = 1;
    pthread_mutex_unlock(&fake_lvm_world->mu);
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
    pthread_mutex_lock(&fake_lvm_world->mu);
    if (v->suspended)
        v->resumes++;
    v->suspended = 0;
    if (v->inactive[0]) {
        snprintf(v->table, sizeof(v->table), "%s", v->inactive);
        v->inactive[0] = '\0';
    }
    pthread_mutex_unlock(&fake_lvm_world->mu);
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
    size_t at = strlen(fake_lvm_world->msgs);

    if (!by_dev(dev))
        return xlcp_err_set(err, XLCP_EDISK, "no device");
    snprintf(fake_lvm_world->msgs + at, sizeof(fake_lvm_world->msgs) - at, "%s\n", msg);
    return 0;
}

static int f_thin_info(dev_t dev, dev_t *pool, uint32_t *id, struct xlcp_err *err)
{
    struct flvm_lv *v = by_dev(dev), *p;

    if (!v || strcmp(v->segtype, "thin") != 0 ||
        !(p = fake_lvm_find(fake_lvm_world, v->vg, v->pool)))
        return xlcp_err_set(err, XLCP_EUNSUPPORTED, "not a thin volume");
    *pool = makedev(FAKE_MAJOR, (unsigned)(p - fake_lvm_world->lv));
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

    if (d && status && strstr(d->table, " snapshot "))
        snprintf(buf, len, "%.*s snapshot %s", (int)(strstr(d->table, " snapshot ") - d->table),
                 d->table, d->invalid ? "Invalid" : "16/262144 16");
    else if (d)
        snprintf(buf, len, "%s", d->table);
    else if (v)
        fake_lv_table(fake_lvm_world, v, buf, len);
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
    if (fake_dm_find(fake_lvm_world, name) || (uuid && fake_dm_by_uuid(fake_lvm_world, uuid)))
        return xlcp_err_set(err, XLCP_EDISK, "device-mapper create of %s failed: exists", name);
    struct fdm_dev *d = fake_dm_new(fake_lvm_world, name, uuid, table);
    *out_dev = makedev(FAKE_MAJOR, FLVM_MAX + (unsigned)(d - fake_lvm_world->dm));
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
    struct fdm_dev *d =
        by_name ? fake_dm_find(fake_lvm_world, id) : fake_dm_by_uuid(fake_lvm_world, id);

    (void)err;
    if (!d)
        return 0;
    *out_dev = makedev(FAKE_MAJOR, FLVM_MAX + (unsigned)(d - fake_lvm_world->dm));
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
    return xlcp_disk_lvm_open_fake(out_disk, &fake_dm, fake_lvm_run, f, err);
}
