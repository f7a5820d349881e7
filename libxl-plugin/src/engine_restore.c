/*
 * engine_restore.c - a new domain from a checkpoint: clones of its snapshots, its memory
 * image, and with --replace the original destroyed once its replacement exists.
 *
 * In steps (engine.h, struct xlcp_restore_run), so that a group's members are all made
 * before any original is touched or any member runs: begin makes the new domain beside
 * the original (paused when asked); replace destroys the original and gives the new
 * domain its name; unpause runs it; undo destroys the new domain again, only while it is
 * the one begin made (its domid, the name it was given and the uuid the restore gave it),
 * and removes the volumes it was given; end releases the original's lock.
 *
 * The image is memory.xl, or for a checkpoint whose image the page store holds alone, the
 * standard stream rebuilt from its map, written into a pipe by a thread while the
 * hypervisor port reads the other end (engine_ps_read.c). That is all inside begin: the
 * domain is made paused, and begin returns only once the feed has ended and been checked
 * (unpaused then unless held or asked paused). A rebuild that fails (a corrupt page) fails
 * begin, whatever the port said: the new domain and the clones go, the original is
 * untouched. replace, unpause and undo never see the store.
 */
#include "engine.h"

#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define HV(p) (&(p)->hv)
#define CALL(port, op, ...) ((port)->ops->op((port)->self, __VA_ARGS__))

/* The disks the checkpoint skipped (not LVM: nothing captured) would keep their
 * configured path, and a restore beside the original would attach the same writable
 * disk twice. Each needs a path named by the user (VDEV=PATH, into rdisks), unless the
 * original is replaced (destroyed before the restored domain runs). */
static int skipped_disks(const struct xlcp_manifest *m, const xlcp_restore_options *opts,
                         struct xlcp_restore_disk *rdisks, int *nr, struct xlcp_err *err)
{
    size_t nmap = opts->version >= 2 ? opts->ndisk_paths : 0;

    for (size_t k = 0; k < nmap; k++) {
        const char *spec = opts->disk_paths[k], *eq = spec ? strchr(spec, '=') : NULL;
        int found = 0;

        if (!eq || eq == spec || !eq[1] || (size_t)(eq - spec) >= XLCP_VDEV_MAX)
            return xlcp_err_set(err, XLCP_EINVAL, "bad disk '%s' (VDEV=PATH)", spec ? spec : "");
        for (int i = 0; i < m->ndisks && !found; i++)
            found = m->disks[i].skipped && strlen(m->disks[i].origin.vdev) == (size_t)(eq - spec) &&
                    strncmp(m->disks[i].origin.vdev, spec, (size_t)(eq - spec)) == 0;
        if (!found)
            return xlcp_err_set(err, XLCP_EINVAL,
                                "disk '%.*s' is not a disk the checkpoint skipped (its LVM disks "
                                "are restored from their snapshots)",
                                (int)(eq - spec), spec);
        snprintf(rdisks[*nr].vdev, sizeof(rdisks[0].vdev), "%.*s", (int)(eq - spec), spec);
        snprintf(rdisks[*nr].path, sizeof(rdisks[0].path), "%s", eq + 1);
        (*nr)++;
    }
    if (opts->replace)
        return 0;
    for (int i = 0; i < m->ndisks; i++) {
        const struct xlcp_volume *o = &m->disks[i].origin;
        int named = 0;
        if (!m->disks[i].skipped || !o->path[0])
            continue;
        for (int k = 0; k < *nr; k++)
            named |= strcmp(rdisks[k].vdev, o->vdev) == 0;
        if (!named)
            return xlcp_err_set(err, XLCP_EINVAL,
                                "disk %s (%s) was skipped by the checkpoint (not LVM): restored "
                                "beside the original it would be the same disk attached twice; "
                                "name a copy with --disk %s=PATH, or use --replace",
                                o->vdev, o->path, o->vdev);
    }
    return 0;
}

/* Where the image is read from: memory.xl, or the pipe a rebuild from the store feeds. */
struct image_src {
    int fd;
    struct xlcp_ps_feed *feed;
};

static int image_open(const struct xlcp_manifest *m, const char *dir, struct image_src *src,
                      struct xlcp_err *err)
{
    char path[XLCP_PATH_MAX + 80];

    src->fd = -1;
    src->feed = NULL;
    if (xlcp_manifest_memory_in_store(m))
        return xlcp_engine_ps_feed_start(m, &src->fd, &src->feed, err);
    snprintf(path, sizeof(path), "%s/%s", dir, m->memory_file);
    src->fd = open(path, O_RDONLY | O_CLOEXEC);
    return src->fd < 0 ? xlcp_err_errno(err, errno, "open %s", path) : 0;
}

/* The reader is done (rc: how hv.restore went). A rebuild that failed fails the restore
 * even if hv.restore took what it got, and its error (a corrupt page: map, pfn, pack) is
 * the cause unless hv.restore failed first and the rebuild failed only for want of a
 * reader (a broken pipe). */
static int image_close(struct image_src *src, int rc, struct xlcp_err *err)
{
    struct xlcp_err fe;
    int frc;

    if (!src->feed) {
        if (src->fd >= 0)
            close(src->fd);
        src->fd = -1;
        return rc;
    }
    xlcp_err_clear(&fe);
    frc = xlcp_engine_ps_feed_end(src->feed, src->fd, &fe);
    src->feed = NULL;
    src->fd = -1;
    if (frc == 0 || (rc != 0 && frc != XLCP_ECORRUPT))
        return rc;
    *err = fe;
    return frc;
}

/* What an undo left behind, said before the error that caused it (if any). */
static void left_behind(struct xlcp_err *err, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
static void left_behind(struct xlcp_err *err, const char *fmt, ...)
{
    char what[XLCP_ERR_MSG_MAX];
    va_list ap;

    va_start(ap, fmt);
    vsnprintf(what, sizeof(what), fmt, ap);
    va_end(ap);
    if (err->msg[0])
        xlcp_err_prefix(err, "%s; first error", what);
    else
        xlcp_err_set(err, XLCP_EHV, "%s", what);
}

/* The new volumes hold nothing the user had before: removed, newest first. */
static void remove_clones(struct xlcp_restore_run *r, struct xlcp_err *err)
{
    for (int i = r->nclones - 1; i >= 0; i--) {
        struct xlcp_err e2;
        xlcp_err_clear(&e2);
        if (CALL(&r->p->disk, remove, &r->clones[i], &e2) != 0)
            left_behind(err, "volume %s/%s left behind (%s)", r->clones[i].vg, r->clones[i].lv,
                        e2.msg);
    }
    r->nclones = 0;
}

/* <lv>.restored.<id suffix>[.N]: a checkpoint can be restored many times. */
static int clone_name(const struct xlcp_ports *p, const struct xlcp_manifest_disk *d,
                      const char *suffix, char *lv, size_t len, struct xlcp_err *err)
{
    for (int n = 1; n <= 99; n++) {
        struct xlcp_snapshot probe = d->snap;
        int e;
        if ((n == 1 ? snprintf(lv, len, "%s.restored.%s", d->origin.lv, suffix)
                    : snprintf(lv, len, "%s.restored.%s.%d", d->origin.lv, suffix, n)) >= (int)len)
            return xlcp_err_set(err, XLCP_EINVAL, "volume name for %s too long", d->origin.lv);
        snprintf(probe.lv, sizeof(probe.lv), "%s", lv);
        e = CALL(&p->disk, exists, &probe, err);
        if (e <= 0)
            return e;
    }
    return xlcp_err_set(err, XLCP_EINVAL, "too many restored volumes of %s/%s", d->origin.vg,
                        d->origin.lv);
}

/* The original (by uuid; with --replace, else what bears its name: a domain restored
 * with --replace before has a new uuid), and the name the new domain ends with. */
static int find_original(struct xlcp_restore_run *r, const struct xlcp_manifest *m,
                         const char *suffix, struct xlcp_err *err)
{
    const struct xlcp_ports *p = r->p;
    int rc = CALL(HV(p), lookup, m->dom_uuid, &r->orig, err);

    if (r->opts.new_name && *r->opts.new_name)
        snprintf(r->name, sizeof(r->name), "%s", r->opts.new_name);
    else
        snprintf(r->name, sizeof(r->name), "%s-%s", m->dom_name, suffix);
    if (rc == XLCP_ENOTFOUND && r->opts.replace) {
        xlcp_err_clear(err);
        rc = CALL(HV(p), lookup, m->dom_name, &r->orig, err);
    }
    if (rc == 0)
        r->have_orig = 1;
    else if (rc == XLCP_ENOTFOUND)
        rc = 0, xlcp_err_clear(err);
    if (rc == 0 && r->opts.replace) {
        if (r->have_orig && r->orig.state == XLCP_DOM_RUNNING && !r->opts.force)
            return xlcp_err_set(
                err, XLCP_ESTATE,
                "domain '%s' is running; stop it first or use --force to replace it", r->orig.name);
        if (!r->opts.new_name || !*r->opts.new_name)
            snprintf(r->name, sizeof(r->name), "%s", m->dom_name);
    } else if (rc == 0) {
        struct xlcp_domain clash;
        struct xlcp_err e2;
        xlcp_err_clear(&e2);
        if (CALL(HV(p), lookup, r->name, &clash, &e2) == 0)
            return xlcp_err_set(err, XLCP_EINVAL, "a domain named '%s' already exists", r->name);
    }
    return rc;
}

/* The new domain: clones of the snapshots, the memory image. With --replace (and an
 * original there) it is made paused under a temporary name, keeping the MAC addresses. */
static int make_domain(struct xlcp_restore_run *r, const struct xlcp_manifest *m, const char *dir,
                       const char *suffix, int paused, struct xlcp_err *err)
{
    const struct xlcp_ports *p = r->p;
    struct xlcp_restore_disk rdisks[XLCP_MAX_DISKS];
    struct image_src src;
    const char *cfg;
    int nr = 0, made_paused, rc = skipped_disks(m, &r->opts, rdisks, &nr, err);

    for (int i = 0; rc == 0 && i < m->ndisks; i++) {
        char lv[XLCP_NAME_MAX];
        if (m->disks[i].skipped)
            continue;
        rc = clone_name(p, &m->disks[i], suffix, lv, sizeof(lv), err);
        if (rc)
            break;
        snprintf(rdisks[nr].vdev, sizeof(rdisks[nr].vdev), "%s", m->disks[i].snap.vdev);
        rc = CALL(&p->disk, clone, &m->disks[i].snap, lv, rdisks[nr].path, sizeof(rdisks[nr].path),
                  err);
        if (rc) {
            xlcp_err_prefix(err, "disk %s", m->disks[i].snap.vdev);
            break;
        }
        r->clones[r->nclones] = m->disks[i].snap;
        snprintf(r->clones[r->nclones].lv, sizeof(r->clones[0].lv), "%s", lv);
        snprintf(r->clones[r->nclones].path, sizeof(r->clones[0].path), "%s", rdisks[nr].path);
        r->nclones++;
        nr++;
    }
    if (rc)
        return rc;
    rc = image_open(m, dir, &src, err);
    if (rc)
        return rc;
    if (r->opts.replace && r->have_orig) {
        snprintf(r->made.name, sizeof(r->made.name), "%s--restoring", r->name);
        paused = 1;
    } else {
        snprintf(r->made.name, sizeof(r->made.name), "%s", r->name);
    }
    /* the configuration to restore with: the caller's (xl restore's <ConfigFile>) or the
     * one saved in the checkpoint */
    cfg = r->opts.version >= 3 && r->opts.config_json ? r->opts.config_json : m->config_json;
    /* from the store: paused until the whole stream was written and checked */
    made_paused = paused || src.feed != NULL;
    rc = CALL(HV(p), restore, cfg, r->made.name, rdisks, nr, src.fd, made_paused, r->opts.replace,
              &r->made.domid, err);
    if (rc == 0) {
        r->exists = 1;
        r->paused = made_paused;
    }
    rc = image_close(&src, rc, err); /* the feed ended: its outcome counts */
    if (rc)
        return rc;
    /* our tag on it: the uuid the restore gave it (with its domid and name) */
    {
        struct xlcp_domain now;
        char spec[16];
        snprintf(spec, sizeof(spec), "%u", r->made.domid);
        rc = CALL(HV(p), lookup, spec, &now, err);
        if (rc == 0 && strcmp(now.name, r->made.name) != 0)
            rc = xlcp_err_set(err, XLCP_EHV, "the new domain %u is named '%s', not '%s'",
                              r->made.domid, now.name, r->made.name);
        if (rc == 0)
            snprintf(r->made.uuid, sizeof(r->made.uuid), "%s", now.uuid);
    }
    /* made paused only for the feed: it runs now, its whole image in */
    if (rc == 0 && !paused)
        rc = xlcp_engine_restore_unpause(r, err);
    return rc;
}

int xlcp_engine_restore_begin(const struct xlcp_ports *p, const char *id,
                              const xlcp_restore_options *opts, int hold,
                              struct xlcp_restore_run *r, struct xlcp_err *err)
{
    struct xlcp_manifest m;
    char dir[XLCP_PATH_MAX];
    const char *suffix;
    int rc;

    memset(r, 0, sizeof(*r));
    r->p = p;
    xlcp_err_clear(err);
    if (!opts || opts->version < 1 || opts->version > XLCP_RESTORE_OPTIONS_VERSION)
        return xlcp_err_set(err, XLCP_EINVAL, "restore options of unknown version");
    r->opts = *opts;
    snprintf(r->id, sizeof(r->id), "%s", id);
    /* a map's pages are checked as the restore rebuilds them, not read twice */
    rc = xlcp_engine_verify(p, id, XLCP_VERIFY_ENGINE_QUICK_MAP, err);
    if (rc)
        return rc;
    rc = xlcp_engine_load(p, id, &m, dir, sizeof(dir), err);
    /* the original domain's lock: a restore may replace it, and makes volumes beside its own */
    if (rc == 0)
        rc = CALL(&p->store, lock, m.dom_uuid, &r->lock, err);
    if (rc == 0) {
        suffix = strrchr(id, '-');
        suffix = suffix ? suffix + 1 : id;
        rc = find_original(r, &m, suffix, err);
        if (rc == 0)
            rc = make_domain(r, &m, dir, suffix, hold || opts->paused, err);
        if (rc) {
            xlcp_engine_restore_undo(r, err);
            xlcp_err_prefix(err, "restore of checkpoint %s", id);
            xlcp_engine_restore_end(r);
        }
    }
    xlcp_manifest_free(&m);
    return rc;
}

int xlcp_engine_restore_replace(struct xlcp_restore_run *r, struct xlcp_err *err)
{
    const struct xlcp_ports *p = r->p;
    int rc;

    if (!r->opts.replace || !r->have_orig || r->replaced)
        return 0;
    rc = CALL(HV(p), destroy, &r->orig, err);
    if (rc)
        return xlcp_err_prefix(err, "the original domain '%s' is still there", r->orig.name);
    r->replaced = 1; /* the new domain is all there is now: never undone */
    rc = CALL(HV(p), rename, r->made.domid, r->name, err);
    if (rc == 0)
        snprintf(r->made.name, sizeof(r->made.name), "%s", r->name);
    return rc;
}

int xlcp_engine_restore_unpause(struct xlcp_restore_run *r, struct xlcp_err *err)
{
    int rc;

    if (!r->exists || !r->paused)
        return 0;
    rc = CALL(HV(r->p), unpause, r->made.domid, err);
    if (rc == 0)
        r->paused = 0;
    return rc;
}

void xlcp_engine_restore_undo(struct xlcp_restore_run *r, struct xlcp_err *err)
{
    const struct xlcp_ports *p = r->p;
    struct xlcp_domain now;
    struct xlcp_err e2;
    char spec[16];
    int rc;

    if (r->replaced)
        return; /* kept: its original is gone */
    if (r->exists) {
        xlcp_err_clear(&e2);
        snprintf(spec, sizeof(spec), "%u", r->made.domid);
        rc = CALL(HV(p), lookup, spec, &now, &e2);
        if (rc == XLCP_ENOTFOUND)
            r->exists = 0; /* gone already */
        else if (rc == 0 && (strcmp(now.name, r->made.name) != 0 ||
                             (r->made.uuid[0] && strcmp(now.uuid, r->made.uuid) != 0)))
            /* not ours any more (renamed, or another domain with its id): its volumes stay */
            left_behind(err,
                        "domain %u is no longer the one restored (now '%s' %s, made as '%s' %s): "
                        "left alone",
                        r->made.domid, now.name, now.uuid, r->made.name, r->made.uuid);
        else if (rc != 0 || CALL(HV(p), destroy, &now, &e2) != 0)
            left_behind(err, "restored domain '%s' (domid %u) left behind (%s)", r->made.name,
                        r->made.domid, e2.msg);
        else
            r->exists = 0;
    }
    if (!r->exists)
        remove_clones(r, err);
}

void xlcp_engine_restore_end(struct xlcp_restore_run *r)
{
    if (r->lock)
        r->p->store.ops->unlock(r->p->store.self, r->lock);
    r->lock = NULL;
}

int xlcp_engine_restore(const struct xlcp_ports *p, const char *id,
                        const xlcp_restore_options *opts, uint32_t *domid_out, struct xlcp_err *err)
{
    struct xlcp_restore_run *r = calloc(1, sizeof(*r));
    int rc;

    if (!r)
        return xlcp_err_set(err, XLCP_EINTERNAL, "out of memory");
    rc = xlcp_engine_restore_begin(p, id, opts, 0, r, err);
    if (rc) {
        free(r);
        return rc;
    }
    rc = xlcp_engine_restore_replace(r, err);
    if (rc == 0 && !opts->paused)
        rc = xlcp_engine_restore_unpause(r, err);
    if (rc == 0)
        *domid_out = r->made.domid;
    else if (r->replaced)
        /* the restored domain is all there is now: keep it and its volumes */
        xlcp_err_prefix(err,
                        "restore of checkpoint %s: the original was replaced, but the "
                        "new domain %u could not be finished (left as it is)",
                        id, r->made.domid);
    else {
        xlcp_engine_restore_undo(r, err);
        xlcp_err_prefix(err, "restore of checkpoint %s", id);
    }
    xlcp_engine_restore_end(r);
    free(r);
    return rc;
}
