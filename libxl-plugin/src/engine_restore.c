/*
 * engine_restore.c - a new domain from a checkpoint: clones of its snapshots, its memory
 * image, and with --replace the original destroyed once its replacement exists.
 *
 * The image is memory.xl, or for a checkpoint whose image the page store holds alone, the
 * standard stream rebuilt from its map, written into a pipe by a thread while the
 * hypervisor port reads the other end (engine_ps_read.c). That domain is made paused and
 * runs only once the whole stream was written: a rebuild that fails (a corrupt page)
 * fails the restore, whatever the port said, and the new domain and the clones go.
 */
#include "engine.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
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

static int restore_locked(const struct xlcp_ports *p, const char *id, const struct xlcp_manifest *m,
                          const char *dir, const xlcp_restore_options *opts, uint32_t *domid_out,
                          struct xlcp_err *err);

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

int xlcp_engine_restore(const struct xlcp_ports *p, const char *id,
                        const xlcp_restore_options *opts, uint32_t *domid_out, struct xlcp_err *err)
{
    struct xlcp_manifest m;
    struct xlcp_store_lock *lock = NULL;
    char dir[XLCP_PATH_MAX];
    int rc;

    xlcp_err_clear(err);
    if (!opts || opts->version < 1 || opts->version > XLCP_RESTORE_OPTIONS_VERSION)
        return xlcp_err_set(err, XLCP_EINVAL, "restore options of unknown version");
    /* a map's pages are checked as the restore rebuilds them, not read twice */
    rc = xlcp_engine_verify(p, id, XLCP_VERIFY_ENGINE_QUICK_MAP, err);
    if (rc)
        return rc;
    rc = xlcp_engine_load(p, id, &m, dir, sizeof(dir), err);
    /* the original domain's lock: a restore may replace it, and makes volumes beside its own */
    if (rc == 0)
        rc = CALL(&p->store, lock, m.dom_uuid, &lock, err);
    if (rc == 0) {
        rc = restore_locked(p, id, &m, dir, opts, domid_out, err);
        p->store.ops->unlock(p->store.self, lock);
    }
    xlcp_manifest_free(&m);
    return rc;
}

static int restore_locked(const struct xlcp_ports *p, const char *id, const struct xlcp_manifest *m,
                          const char *dir, const xlcp_restore_options *opts, uint32_t *domid_out,
                          struct xlcp_err *err)
{
    struct xlcp_restore_disk rdisks[XLCP_MAX_DISKS];
    struct xlcp_snapshot clones[XLCP_MAX_DISKS];
    struct xlcp_domain orig;
    struct image_src src = {-1, NULL};
    char name[XLCP_NAME_MAX], rname[XLCP_NAME_MAX + 16];
    const char *suffix;
    /* the configuration to restore with: the caller's (xl restore's <ConfigFile>) or the
     * one saved in the checkpoint */
    const char *cfg = opts->version >= 3 && opts->config_json ? opts->config_json : m->config_json;
    int nr = 0, nclones = 0, have_orig = 0, restored = 0, orig_gone = 0;
    int rc;

    suffix = strrchr(id, '-');
    suffix = suffix ? suffix + 1 : id;
    if (opts->new_name && *opts->new_name)
        snprintf(name, sizeof(name), "%s", opts->new_name);
    else
        snprintf(name, sizeof(name), "%s-%s", m->dom_name, suffix);

    rc = CALL(HV(p), lookup, m->dom_uuid, &orig, err);
    if (rc == XLCP_ENOTFOUND && opts->replace) {
        /* replaced before (a restored domain has a new uuid): what bears the name now */
        xlcp_err_clear(err);
        rc = CALL(HV(p), lookup, m->dom_name, &orig, err);
    }
    if (rc == 0)
        have_orig = 1;
    else if (rc == XLCP_ENOTFOUND)
        rc = 0, xlcp_err_clear(err);
    if (rc == 0 && opts->replace) {
        if (have_orig && orig.state == XLCP_DOM_RUNNING && !opts->force)
            rc = xlcp_err_set(err, XLCP_ESTATE,
                              "domain '%s' is running; stop it first or use --force to replace it",
                              orig.name);
        if (!opts->new_name || !*opts->new_name)
            snprintf(name, sizeof(name), "%s", m->dom_name);
    } else if (rc == 0 && !opts->replace) {
        struct xlcp_domain clash;
        struct xlcp_err e2;
        xlcp_err_clear(&e2);
        if (CALL(HV(p), lookup, name, &clash, &e2) == 0)
            rc = xlcp_err_set(err, XLCP_EINVAL, "a domain named '%s' already exists", name);
    }

    if (rc == 0)
        rc = skipped_disks(m, opts, rdisks, &nr, err);

    for (int i = 0; rc == 0 && i < m->ndisks; i++) {
        char lv[XLCP_NAME_MAX];
        if (m->disks[i].skipped)
            continue;
        /* <lv>.restored.<id suffix>[.N]: a checkpoint can be restored many times. */
        for (int n = 1;; n++) {
            struct xlcp_snapshot probe = m->disks[i].snap;
            int e;
            if (n > 99) {
                rc = xlcp_err_set(err, XLCP_EINVAL, "too many restored volumes of %s/%s",
                                  m->disks[i].origin.vg, m->disks[i].origin.lv);
                break;
            }
            if ((n == 1 ? snprintf(lv, sizeof(lv), "%s.restored.%s", m->disks[i].origin.lv, suffix)
                        : snprintf(lv, sizeof(lv), "%s.restored.%s.%d", m->disks[i].origin.lv,
                                   suffix, n)) >= (int)sizeof(lv)) {
                rc = xlcp_err_set(err, XLCP_EINVAL, "volume name for %s too long",
                                  m->disks[i].origin.lv);
                break;
            }
            snprintf(probe.lv, sizeof(probe.lv), "%s", lv);
            e = CALL(&p->disk, exists, &probe, err);
            if (e < 0)
                rc = e;
            if (e <= 0)
                break;
        }
        if (rc)
            break;
        snprintf(rdisks[nr].vdev, sizeof(rdisks[nr].vdev), "%s", m->disks[i].snap.vdev);
        rc = CALL(&p->disk, clone, &m->disks[i].snap, lv, rdisks[nr].path, sizeof(rdisks[nr].path),
                  err);
        if (rc) {
            xlcp_err_prefix(err, "disk %s", m->disks[i].snap.vdev);
            break;
        }
        clones[nclones] = m->disks[i].snap;
        snprintf(clones[nclones].lv, sizeof(clones[0].lv), "%s", lv);
        snprintf(clones[nclones].path, sizeof(clones[0].path), "%s", rdisks[nr].path);
        nclones++;
        nr++;
    }
    if (rc == 0)
        rc = image_open(m, dir, &src, err);
    /* With --replace the original is destroyed only once its replacement exists: the
     * checkpoint is restored paused under a temporary name (keeping the MAC addresses),
     * then the original goes, the new domain takes its name and runs. */
    if (rc == 0 && opts->replace && have_orig) {
        snprintf(rname, sizeof(rname), "%s--restoring", name);
        rc = CALL(HV(p), restore, cfg, rname, rdisks, nr, src.fd, 1, 1, domid_out, err);
        restored = rc == 0;
        rc = image_close(&src, rc, err);
        if (rc == 0) {
            rc = CALL(HV(p), destroy, &orig, err);
            if (rc)
                xlcp_err_prefix(err, "the original domain '%s' is still there", orig.name);
        }
        if (rc == 0) {
            orig_gone = 1;
            rc = CALL(HV(p), rename, *domid_out, name, err);
        }
        if (rc == 0 && !opts->paused)
            rc = CALL(HV(p), unpause, *domid_out, err);
    } else if (rc == 0) {
        /* from the store: paused until the whole stream was written */
        int paused = opts->paused || src.feed != NULL;
        snprintf(rname, sizeof(rname), "%s", name);
        rc = CALL(HV(p), restore, cfg, name, rdisks, nr, src.fd, paused, opts->replace, domid_out,
                  err);
        restored = rc == 0;
        rc = image_close(&src, rc, err);
        if (rc == 0 && paused && !opts->paused)
            rc = CALL(HV(p), unpause, *domid_out, err);
    }
    rc = image_close(&src, rc, err);
    if (rc && orig_gone) {
        /* the restored domain is all there is now: keep it and its volumes */
        xlcp_err_prefix(err,
                        "restore of checkpoint %s: the original was replaced, but the "
                        "new domain %u could not be finished (left as it is)",
                        id, *domid_out);
    } else if (rc) {
        if (restored) {
            struct xlcp_domain nd;
            struct xlcp_err e2;
            memset(&nd, 0, sizeof(nd));
            nd.domid = *domid_out;
            snprintf(nd.name, sizeof(nd.name), "%s", rname);
            xlcp_err_clear(&e2);
            CALL(HV(p), destroy, &nd, &e2);
        }
        /* The new volumes hold nothing the user had before: remove them. */
        for (int i = nclones - 1; i >= 0; i--) {
            struct xlcp_err e2;
            xlcp_err_clear(&e2);
            if (CALL(&p->disk, remove, &clones[i], &e2) != 0)
                xlcp_err_prefix(err, "volume %s/%s left behind (%s); first error", clones[i].vg,
                                clones[i].lv, e2.msg);
        }
        xlcp_err_prefix(err, "restore of checkpoint %s", id);
    }
    return rc;
}
