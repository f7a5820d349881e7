/*
 * engine_import.c - `import`: a full export and a chain of incrementals (oldest first)
 * become a new checkpoint in the catalog: each disk is rebuilt into a new volume tagged
 * as ours (thin in the original's pool if it exists, else thick), the memory image is
 * copied, and a manifest naming them is committed. Every file's digest and the chain
 * (each export's base is the one before) are checked before anything is created.
 */
#include "engine.h"
#include "engine_run.h"
#include "export.h"
#include "export_int.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

struct imp {
    const struct xlcp_ports *p;
    const struct xlcp_export_io *io;
    const char *const *dirs;
    int n;
    struct xlcp_export_index *ix; /* n of them */
    struct xlcp_manifest m;
    char id[XLCP_ID_MAX];
    char tag[XLCP_ID_MAX + 8];
    struct xlcp_snapshot made[XLCP_MAX_DISKS];
    int nmade;
    struct xlcp_x_progress pr;
};

static int check_files(const char *dir, const struct xlcp_export_index *ix, struct xlcp_err *err)
{
    char path[XLCP_PATH_MAX + 100], hex[XLCP_DIGEST_HEX + 1];
    uint64_t bytes;

    for (int i = 0; i < ix->nfiles; i++) {
        const struct xlcp_export_file *f = &ix->files[i];
        snprintf(path, sizeof(path), "%s/%s", dir, f->name);
        int rc = xlcp_digest_file(path, ix->digest_alg, hex, &bytes, err);
        if (rc == XLCP_ENOTFOUND)
            return xlcp_err_set(err, XLCP_ECORRUPT, "%s: missing (listed in the index)", path);
        if (rc)
            return rc;
        if (bytes != f->size || strcmp(hex, f->digest) != 0)
            return xlcp_err_set(err, XLCP_ECORRUPT,
                                "%s: %" PRIu64 " bytes, digest %s; the index says %" PRIu64
                                " bytes, %s",
                                path, bytes, hex, f->size, f->digest);
    }
    return 0;
}

/* Reads and checks every export and the chain they make. */
static int read_chain(struct imp *im, struct xlcp_err *err)
{
    char path[XLCP_PATH_MAX + 100];
    int rc = 0;

    for (int i = 0; i < im->n && rc == 0; i++) {
        snprintf(path, sizeof(path), "%s/%s", im->dirs[i], XLCP_EXPORT_INDEX);
        rc = xlcp_export_index_read(path, &im->ix[i], err);
        if (rc)
            break;
        const struct xlcp_export_index *x = &im->ix[i];
        if (i == 0 && x->base_id[0])
            rc = xlcp_err_set(err, XLCP_EINVAL,
                              "%s: an incremental export (of %s, since %s): the chain must "
                              "start with a full export",
                              im->dirs[i], x->id, x->base_id);
        else if (i > 0 && strcmp(x->base_id, im->ix[i - 1].id) != 0)
            rc = xlcp_err_set(err, XLCP_EINVAL,
                              "%s: broken chain: this export is based on %s, but the export "
                              "before it is of %s",
                              im->dirs[i], x->base_id[0] ? x->base_id : "nothing (full)",
                              im->ix[i - 1].id);
        else if (i > 0 && strcmp(x->dom_uuid, im->ix[0].dom_uuid) != 0)
            rc = xlcp_err_set(err, XLCP_EINVAL, "%s: an export of another domain (%s)", im->dirs[i],
                              x->dom_uuid);
        if (rc == 0)
            rc = check_files(im->dirs[i], x, err);
    }
    if (rc)
        return rc;
    snprintf(path, sizeof(path), "%s/%s", im->dirs[im->n - 1], XLCP_MANIFEST_FILE);
    rc = xlcp_manifest_read(path, &im->m, err);
    if (rc == 0 && strcmp(im->m.id, im->ix[im->n - 1].id) != 0)
        rc = xlcp_err_set(err, XLCP_ECORRUPT, "%s: holds id %s, the index says %s", path, im->m.id,
                          im->ix[im->n - 1].id);
    return rc;
}

static const struct xlcp_export_disk *xdisk(const struct xlcp_export_index *ix, const char *vdev)
{
    for (int i = 0; i < ix->ndisks; i++)
        if (strcmp(ix->disks[i].vdev, vdev) == 0)
            return &ix->disks[i];
    return NULL;
}

/* Writes the content of disk vdev (full image, then each delta after it) to fd. */
static int rebuild(struct imp *im, const char *vdev, int out, int zeroed, uint64_t *size,
                   struct xlcp_err *err)
{
    int first = -1, rc = 0;
    char path[XLCP_PATH_MAX + 100];

    for (int i = im->n - 1; i >= 0 && first < 0; i--) {
        const struct xlcp_export_disk *d = xdisk(&im->ix[i], vdev);
        if (!d)
            return xlcp_err_set(err, XLCP_EINVAL, "%s: disk %s is not in this export", im->dirs[i],
                                vdev);
        if (!d->delta)
            first = i;
        else if (i > 0 && xdisk(&im->ix[i - 1], vdev) &&
                 xdisk(&im->ix[i - 1], vdev)->size != d->size)
            return xlcp_err_set(err, XLCP_EINVAL, "%s: disk %s changed size in the chain",
                                im->dirs[i], vdev);
    }
    if (first < 0)
        return xlcp_err_set(err, XLCP_EINVAL, "disk %s: no full image in the chain", vdev);
    *size = xdisk(&im->ix[first], vdev)->size;
    for (int i = first; i < im->n && rc == 0; i++) {
        const struct xlcp_export_disk *d = xdisk(&im->ix[i], vdev);
        snprintf(path, sizeof(path), "%s/%s", im->dirs[i], d->file);
        int in = open(path, O_RDONLY | O_CLOEXEC);
        if (in < 0)
            return xlcp_err_errno(err, errno, "open %s", path);
        if (!d->delta) {
            rc = xlcp_x_copy(in, 0, out, 0, d->size, zeroed, NULL, path, &im->pr, NULL, err);
        } else {
            uint64_t o = 0;
            for (size_t e = 0; e < d->nextents && rc == 0; e++) {
                rc = xlcp_x_copy(in, o, out, d->extents[e].offset, d->extents[e].length, 0, NULL,
                                 path, &im->pr, NULL, err);
                o += d->extents[e].length;
            }
        }
        close(in);
    }
    if (rc == 0 && fsync(out) != 0)
        rc = xlcp_err_errno(err, errno, "fsync disk %s", vdev);
    return rc;
}

static int make_disks(struct imp *im, struct xlcp_err *err)
{
    for (int i = 0; i < im->m.ndisks; i++) {
        struct xlcp_manifest_disk *md = &im->m.disks[i];
        const struct xlcp_export_disk *d = xdisk(&im->ix[im->n - 1], md->snap.vdev);
        struct xlcp_snapshot s;
        char lv[XLCP_NAME_MAX];
        uint64_t size = 0;
        int zeroed = 0, fd, rc;

        if (md->skipped)
            continue;
        if (!d)
            return xlcp_err_set(err, XLCP_ECORRUPT, "disk %s of the manifest is not exported",
                                md->snap.vdev);
        if (snprintf(lv, sizeof(lv), "%s.xlcp.%s", md->origin.lv, im->id) >= (int)sizeof(lv))
            return xlcp_err_set(err, XLCP_EINVAL, "volume name %s.xlcp.%s too long", md->origin.lv,
                                im->id);
        rc = im->io->ops->create(im->io->self, md->snap.vg, md->origin.pool, lv, d->size, im->tag,
                                 &s, &zeroed, err);
        if (rc)
            return xlcp_err_prefix(err, "disk %s: new volume", md->snap.vdev);
        im->made[im->nmade++] = s;
        fd = open(s.path, O_WRONLY | O_CLOEXEC);
        if (fd < 0)
            return xlcp_err_errno(err, errno, "open %s", s.path);
        rc = rebuild(im, md->snap.vdev, fd, zeroed, &size, err);
        if (close(fd) != 0 && rc == 0)
            rc = xlcp_err_errno(err, errno, "close %s", s.path);
        if (rc == 0)
            rc = im->io->ops->seal(im->io->self, &s, err);
        if (rc)
            return rc;
        snprintf(md->snap.lv, sizeof(md->snap.lv), "%s", s.lv);
        snprintf(md->snap.path, sizeof(md->snap.path), "%s", s.path);
        md->snap.thin = s.thin;
        md->snap.size_bytes = size;
        md->snap.held_ns = 0;
    }
    return 0;
}

/* memory.xl into the new checkpoint, digested; the manifest after it */
static int write_files(struct imp *im, struct xlcp_store_txn *txn, struct xlcp_err *err)
{
    char path[XLCP_PATH_MAX + 100];
    int in, out = -1, rc;
    struct xlcp_digest *d;
    uint64_t size = xlcp_export_index_file(&im->ix[im->n - 1], XLCP_MEMORY_FILE)->size;

    snprintf(path, sizeof(path), "%s/%s", im->dirs[im->n - 1], XLCP_MEMORY_FILE);
    in = open(path, O_RDONLY | O_CLOEXEC);
    if (in < 0)
        return xlcp_err_errno(err, errno, "open %s", path);
    rc = CALL(&im->p->store, create_file, txn, XLCP_MEMORY_FILE, &out, err);
    d = rc == 0 ? xlcp_digest_new(XLCP_DIGEST_DEFAULT, err) : NULL;
    if (rc == 0 && !d)
        rc = err->code;
    if (rc == 0)
        rc = xlcp_x_copy(in, 0, out, 0, size, 0, d, path, &im->pr, NULL, err);
    if (rc == 0) {
        rc = xlcp_digest_final(d, im->m.memory_digest, err);
        d = NULL;
    }
    xlcp_digest_free(d);
    close(in);
    if (out >= 0 && close(out) != 0 && rc == 0)
        rc = xlcp_err_errno(err, errno, "close memory image");
    if (rc)
        return rc;
    snprintf(im->m.memory_file, sizeof(im->m.memory_file), "%s", XLCP_MEMORY_FILE);
    snprintf(im->m.memory_digest_alg, sizeof(im->m.memory_digest_alg), "%s", XLCP_DIGEST_DEFAULT);
    im->m.memory_bytes = size;
    /* the new checkpoint owns no page store map (an exported manifest may still name its
     * origin's, which deleting this one must not release) */
    im->m.pagestore_map[0] = im->m.pagestore_root[0] = im->m.pagestore_note[0] = '\0';
    im->m.pagestore_received = im->m.pagestore_stored = im->m.pagestore_pfns = 0;
    rc = CALL(&im->p->store, create_file, txn, XLCP_MANIFEST_FILE, &out, err);
    if (rc)
        return rc;
    rc = xlcp_manifest_write_fd(&im->m, out, err);
    if (close(out) != 0 && rc == 0)
        rc = xlcp_err_errno(err, errno, "close manifest");
    return rc;
}

int xlcp_engine_import(const struct xlcp_ports *p, const struct xlcp_export_io *io,
                       const char *const *dirs, int ndirs, const char *new_name,
                       xlcp_export_progress_fn progress, void *parg, char id_out[XLCP_ID_MAX],
                       struct xlcp_err *err)
{
    struct imp *im = calloc(1, sizeof(*im));
    struct xlcp_store_lock *lock = NULL;
    struct xlcp_store_txn *txn = NULL;
    struct xlcp_intent rec;
    int rc, intent = 0;

    if (!im)
        return xlcp_err_set(err, XLCP_EINTERNAL, "out of memory");
    xlcp_manifest_init(&im->m);
    im->p = p;
    im->io = io;
    im->dirs = dirs;
    im->n = ndirs;
    im->pr.fn = progress;
    im->pr.arg = parg;
    im->ix = ndirs > 0 ? calloc((size_t)ndirs, sizeof(*im->ix)) : NULL;
    if (ndirs <= 0 || (new_name && strlen(new_name) >= XLCP_NAME_MAX)) {
        rc = xlcp_err_set(err, XLCP_EINVAL, "import: no export directory, or name too long");
        goto done;
    }
    if (!im->ix) {
        rc = xlcp_err_set(err, XLCP_EINTERNAL, "out of memory");
        goto done;
    }
    rc = read_chain(im, err);
    if (rc)
        goto done;
    for (int i = 0; i < im->ix[ndirs - 1].nfiles; i++)
        im->pr.total += im->ix[ndirs - 1].files[i].size;
    xlcp_engine_new_id(&p->clock, im->id);
    snprintf(im->tag, sizeof(im->tag), "xlcp-%s", im->id);
    rc = CALL(&p->store, lock, im->m.dom_uuid, &lock, err);
    if (rc)
        goto done;
    /* the intent record names every volume this run makes: an interrupted import is
     * cleaned up like an interrupted create (recover) */
    memset(&rec, 0, sizeof(rec));
    snprintf(rec.id, sizeof(rec.id), "%s", im->id);
    snprintf(rec.dom_uuid, sizeof(rec.dom_uuid), "%s", im->m.dom_uuid);
    rec.pid = (long)getpid();
    for (int i = 0; i < im->m.ndisks; i++) {
        if (im->m.disks[i].skipped)
            continue;
        snprintf(rec.vols[rec.nvols].vg, XLCP_NAME_MAX, "%s", im->m.disks[i].snap.vg);
        snprintf(rec.vols[rec.nvols].lv, XLCP_NAME_MAX, "%s.xlcp.%s", im->m.disks[i].origin.lv,
                 im->id);
        rec.nvols++;
    }
    rc = CALL(&p->store, intent_write, &rec, err);
    if (rc)
        goto done;
    intent = 1;
    rc = CALL(&p->store, begin, im->m.dom_uuid, im->id, &txn, err);
    if (rc == 0)
        rc = make_disks(im, err);
    snprintf(im->m.id, sizeof(im->m.id), "%s", im->id);
    im->m.group_id[0] = '\0'; /* not a member of the original's group */
    if (new_name && *new_name)
        snprintf(im->m.dom_name, sizeof(im->m.dom_name), "%s", new_name);
    if (rc == 0)
        rc = write_files(im, txn, err);
    if (rc == 0) {
        rc = CALL(&p->store, commit, txn, err);
        txn = NULL;
    }
    if (rc == 0) {
        struct xlcp_err e2;
        xlcp_err_clear(&e2);
        if (CALL(&p->store, leftover_remove, im->m.dom_uuid, im->id, &e2) != 0)
            fprintf(stderr, "xl-checkpoint: warning: intent record of %s kept: %s\n", im->id,
                    e2.msg);
        snprintf(id_out, XLCP_ID_MAX, "%s", im->id);
    }
done:
    if (rc) {
        struct xlcp_err e2;
        int left = 0;
        if (txn)
            p->store.ops->abort(p->store.self, txn, 0);
        for (int i = 0; i < im->nmade; i++) {
            xlcp_err_clear(&e2);
            if (io->ops->remove(io->self, &im->made[i], &e2) != 0) {
                left = 1;
                xlcp_err_prefix(err, "volume %s/%s left behind (%s; `recover` removes it)",
                                im->made[i].vg, im->made[i].lv, e2.msg);
            }
        }
        if (intent && !left) {
            xlcp_err_clear(&e2);
            if (CALL(&p->store, leftover_remove, im->m.dom_uuid, im->id, &e2) != 0)
                fprintf(stderr, "xl-checkpoint: warning: %s\n", e2.msg);
        }
    }
    if (lock)
        p->store.ops->unlock(p->store.self, lock);
    if (im->ix)
        for (int i = 0; i < ndirs; i++)
            xlcp_export_index_free(&im->ix[i]);
    free(im->ix);
    xlcp_manifest_free(&im->m);
    free(im);
    return rc;
}
