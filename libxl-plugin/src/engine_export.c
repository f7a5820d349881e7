/*
 * engine_export.c - `export`: a checkpoint's manifest, memory image and disks (sparse raw
 * images, or for thin volumes with --since only the blocks changed since an older
 * checkpoint) into a new directory with an index, written under a temporary name,
 * fsync'd and renamed. The import of such a chain is in engine_import.c.
 *
 * A memory image the page store holds alone is exported as the standard xl save image
 * rebuilt from its map (`xl restore` reads it, as it reads memory.xl), and the export's
 * manifest says so: memory.xl with that image's size and digest, no page store (the
 * export needs no part of ours, nor the store, to be read).
 */
#include "engine.h"
#include "export.h"
#include "export_int.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <libgen.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

int xlcp_x_write_all(int fd, const void *buf, size_t len, uint64_t off, const char *what,
                     struct xlcp_err *err)
{
    const char *p = buf;
    while (len) {
        ssize_t w = off == XLCP_X_SEQ ? write(fd, p, len) : pwrite(fd, p, len, (off_t)off);
        if (w < 0 && errno == EINTR)
            continue;
        if (w <= 0)
            return xlcp_err_errno(err, w < 0 ? errno : ENOSPC, "write %s", what);
        p += w;
        len -= (size_t)w;
        if (off != XLCP_X_SEQ)
            off += (uint64_t)w;
    }
    return 0;
}

int xlcp_x_read_full(int fd, void *buf, size_t len, uint64_t off, const char *what,
                     struct xlcp_err *err)
{
    char *p = buf;
    while (len) {
        ssize_t r = pread(fd, p, len, (off_t)off);
        if (r < 0 && errno == EINTR)
            continue;
        if (r < 0)
            return xlcp_err_errno(err, errno, "read %s", what);
        if (r == 0)
            return xlcp_err_set(err, XLCP_ECORRUPT, "%s: ends early (offset %" PRIu64 ")", what,
                                off);
        p += r;
        len -= (size_t)r;
        off += (uint64_t)r;
    }
    return 0;
}

int xlcp_x_all_zero(const char *b, size_t n)
{
    return n == 0 || (b[0] == 0 && memcmp(b, b + 1, n - 1) == 0);
}

/* Copies len bytes of in (from in_off) to out (at out_off); with sparse, blocks of zeros
 * are not written (out must read zeros there). Digests what it copied into d. */
int xlcp_x_copy(int in, uint64_t in_off, int out, uint64_t out_off, uint64_t len, int sparse,
                struct xlcp_digest *d, const char *what, struct xlcp_x_progress *pr,
                uint64_t *data_bytes, struct xlcp_err *err)
{
    char *buf = malloc(XLCP_X_CHUNK), wwhat[4200];
    int rc = 0;

    if (!buf)
        return xlcp_err_set(err, XLCP_EINTERNAL, "out of memory");
    /* a write error is the destination's (its file system full), not the source's */
    snprintf(wwhat, sizeof(wwhat), "of the copy of %s", what);
    while (len && rc == 0) {
        size_t n = len < XLCP_X_CHUNK ? (size_t)len : XLCP_X_CHUNK;
        rc = xlcp_x_read_full(in, buf, n, in_off, what, err);
        if (rc)
            break;
        if (d)
            xlcp_digest_update(d, buf, n);
        for (size_t o = 0; o < n && rc == 0; o += XLCP_X_BLOCK) {
            size_t k = n - o < XLCP_X_BLOCK ? n - o : XLCP_X_BLOCK;
            if (sparse && xlcp_x_all_zero(buf + o, k))
                continue;
            rc = xlcp_x_write_all(out, buf + o, k, out_off + o, wwhat, err);
            if (data_bytes)
                *data_bytes += k;
        }
        in_off += n;
        out_off += n;
        len -= n;
        if (pr && pr->fn) {
            pr->done += n;
            pr->fn(pr->done, pr->total, pr->arg);
        }
    }
    free(buf);
    return rc;
}

/* digest of a whole file, its size: the index entry for `name` under dir */
static int index_file(struct xlcp_export_index *ix, const char *dir, const char *name,
                      struct xlcp_err *err)
{
    char path[XLCP_PATH_MAX + 100];
    struct xlcp_export_file *f = &ix->files[ix->nfiles];

    snprintf(path, sizeof(path), "%s/%s", dir, name);
    int rc = xlcp_digest_file(path, ix->digest_alg, f->digest, &f->size, err);
    if (rc)
        return rc;
    snprintf(f->name, sizeof(f->name), "%s", name);
    ix->nfiles++;
    return 0;
}

static int fsync_path(const char *path, int dir, struct xlcp_err *err)
{
    int fd = open(path, (dir ? O_DIRECTORY : 0) | O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return xlcp_err_errno(err, errno, "open %s", path);
    if (fsync(fd) != 0) {
        int e = errno;
        close(fd);
        return xlcp_err_errno(err, e, "fsync %s", path);
    }
    close(fd);
    return 0;
}

void xlcp_x_rmtree(const char *dir)
{
    char sub[XLCP_PATH_MAX + 300];
    DIR *d = opendir(dir);
    struct dirent *e;
    if (d) {
        while ((e = readdir(d))) {
            if (!strcmp(e->d_name, ".") || !strcmp(e->d_name, ".."))
                continue;
            snprintf(sub, sizeof(sub), "%s/%s", dir, e->d_name);
            if (unlink(sub) != 0)
                xlcp_x_rmtree(sub);
        }
        closedir(d);
    }
    rmdir(dir);
}

/* copy a catalog file into the export (digest checked when the manifest gives one) */
static int copy_file(const char *from, const char *to, const char *want_alg, const char *want,
                     uint64_t want_bytes, struct xlcp_x_progress *pr, struct xlcp_err *err)
{
    int in = open(from, O_RDONLY | O_CLOEXEC), out = -1, rc = 0;
    struct stat st;
    struct xlcp_digest *d = NULL;
    char hex[XLCP_DIGEST_HEX + 1];

    if (in < 0)
        return xlcp_err_errno(err, errno, "open %s", from);
    if (fstat(in, &st) != 0) {
        rc = xlcp_err_errno(err, errno, "stat %s", from);
        goto out;
    }
    out = open(to, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
    if (out < 0) {
        rc = xlcp_err_errno(err, errno, "create %s", to);
        goto out;
    }
    if (want && *want && !(d = xlcp_digest_new(want_alg, err))) {
        rc = err->code;
        goto out;
    }
    rc = xlcp_x_copy(in, 0, out, 0, (uint64_t)st.st_size, 0, d, from, pr, NULL, err);
    if (rc == 0 && d) {
        rc = xlcp_digest_final(d, hex, err);
        d = NULL;
        if (rc == 0 && (strcmp(hex, want) != 0 || (uint64_t)st.st_size != want_bytes))
            rc = xlcp_err_set(err, XLCP_ECORRUPT,
                              "%s: digest or size differs from the manifest's: the checkpoint "
                              "is damaged (run verify)",
                              from);
    }
out:
    xlcp_digest_free(d);
    close(in);
    if (out >= 0 && close(out) != 0 && rc == 0)
        rc = xlcp_err_errno(err, errno, "close %s", to);
    return rc;
}

/* memory.xl rebuilt from the page store, and a manifest that names it (see above). */
static int memory_from_store(const struct xlcp_manifest *m, const char *tmp,
                             struct xlcp_export_index *ix, struct xlcp_err *err)
{
    struct xlcp_manifest em = *m; /* shares config_json: not freed */
    struct xlcp_export_file *f;
    char path[XLCP_PATH_MAX + 100];
    int fd, rc;

    snprintf(path, sizeof(path), "%s/%s", tmp, XLCP_MEMORY_FILE);
    fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
    if (fd < 0)
        return xlcp_err_errno(err, errno, "create %s", path);
    rc = xlcp_engine_ps_rebuild(m, fd, NULL, err);
    if (close(fd) != 0 && rc == 0)
        rc = xlcp_err_errno(err, errno, "close %s", path);
    if (rc == 0)
        rc = xlcp_digest_file(path, ix->digest_alg, em.memory_digest, &em.memory_bytes, err);
    if (rc)
        return rc;
    snprintf(em.memory_file, sizeof(em.memory_file), "%s", XLCP_MEMORY_FILE);
    snprintf(em.memory_digest_alg, sizeof(em.memory_digest_alg), "%s", ix->digest_alg);
    em.pagestore_map[0] = em.pagestore_root[0] = em.pagestore_note[0] = '\0';
    em.pagestore_received = em.pagestore_stored = em.pagestore_pfns = 0;
    snprintf(path, sizeof(path), "%s/%s", tmp, XLCP_MANIFEST_FILE);
    fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
    if (fd < 0)
        return xlcp_err_errno(err, errno, "create %s", path);
    rc = xlcp_manifest_write_fd(&em, fd, err);
    if (close(fd) != 0 && rc == 0)
        rc = xlcp_err_errno(err, errno, "close %s", path);
    if (rc == 0)
        rc = index_file(ix, tmp, XLCP_MANIFEST_FILE, err);
    if (rc)
        return rc;
    f = &ix->files[ix->nfiles++]; /* its digest is em's */
    snprintf(f->name, sizeof(f->name), "%s", XLCP_MEMORY_FILE);
    snprintf(f->digest, sizeof(f->digest), "%s", em.memory_digest);
    f->size = em.memory_bytes;
    return 0;
}

static const struct xlcp_manifest_disk *find_disk(const struct xlcp_manifest *m, const char *vdev)
{
    for (int i = 0; i < m->ndisks; i++)
        if (!m->disks[i].skipped && strcmp(m->disks[i].snap.vdev, vdev) == 0)
            return &m->disks[i];
    return NULL;
}

static int export_disk(const struct xlcp_export_io *io, const struct xlcp_manifest_disk *md,
                       const struct xlcp_manifest_disk *base, const char *tmp,
                       struct xlcp_export_disk *xd, struct xlcp_x_progress *pr,
                       struct xlcp_export_stats *st, struct xlcp_err *err)
{
    char path[XLCP_PATH_MAX + 100];
    int in = -1, out = -1, rc;
    off_t size;

    snprintf(xd->vdev, sizeof(xd->vdev), "%s", md->snap.vdev);
    xd->delta = base != NULL;
    snprintf(xd->file, sizeof(xd->file), "disks/%s.%s", md->snap.vdev, base ? "delta" : "img");
    if (base) {
        rc = io->ops->changed(io->self, &base->snap, &md->snap, &xd->extents, &xd->nextents, err);
        if (rc)
            return xlcp_err_prefix(err, "disk %s: changed blocks", md->snap.vdev);
    }
    rc = io->ops->open_snap(io->self, &md->snap, &in, err);
    if (rc)
        return xlcp_err_prefix(err, "disk %s", md->snap.vdev);
    size = lseek(in, 0, SEEK_END);
    if (size < 0) {
        rc = xlcp_err_errno(err, errno, "size of %s", md->snap.path);
        goto out;
    }
    xd->size = (uint64_t)size;
    snprintf(path, sizeof(path), "%s/%s", tmp, xd->file);
    out = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
    if (out < 0) {
        rc = xlcp_err_errno(err, errno, "create %s", path);
        goto out;
    }
    if (!base) {
        rc = xlcp_x_copy(in, 0, out, 0, xd->size, 1, NULL, md->snap.path, pr, &st->data_bytes, err);
        if (rc == 0 && ftruncate(out, size) != 0)
            rc = xlcp_err_errno(err, errno, "truncate %s", path);
    } else {
        uint64_t o = 0;
        size_t keep = 0;
        for (size_t i = 0; i < xd->nextents && rc == 0; i++) {
            struct xlcp_extent e = xd->extents[i];
            if (e.offset >= xd->size)
                break;
            if (e.offset + e.length > xd->size) /* the pool's last block past the volume */
                e.length = xd->size - e.offset;
            xd->extents[keep++] = e;
            rc = xlcp_x_copy(in, e.offset, out, o, e.length, 0, NULL, md->snap.path, pr,
                             &st->data_bytes, err);
            o += e.length;
        }
        xd->nextents = keep;
    }
    if (rc == 0 && fsync(out) != 0)
        rc = xlcp_err_errno(err, errno, "fsync %s", path);
out:
    if (out >= 0 && close(out) != 0 && rc == 0)
        rc = xlcp_err_errno(err, errno, "close %s", path);
    io->ops->close_snap(io->self, &md->snap, in);
    return rc;
}

/* The base's disk a delta of md is taken against, or NULL for a full image (a thick
 * volume); refuses a thin disk whose base is not of the same origin in the same pool. */
static int pick_base(const struct xlcp_manifest *base, const struct xlcp_manifest_disk *md,
                     const struct xlcp_manifest_disk **out, struct xlcp_err *err)
{
    const struct xlcp_manifest_disk *b;

    *out = NULL;
    if (!base || !md->snap.thin)
        return 0;
    b = find_disk(base, md->snap.vdev);
    if (!b || !b->snap.thin || strcmp(b->snap.vg, md->snap.vg) != 0 ||
        strcmp(b->origin.pool, md->origin.pool) != 0 || strcmp(b->origin.lv, md->origin.lv) != 0 ||
        strcmp(b->snap.origin_lv, md->snap.origin_lv))
        return xlcp_err_set(err, XLCP_EINVAL,
                            "disk %s: checkpoint %s has no thin snapshot of the same origin "
                            "(%s/%s) in the same pool (%s): an incremental export needs one",
                            md->snap.vdev, base->id, md->snap.vg, md->origin.lv, md->origin.pool);
    *out = b;
    return 0;
}

int xlcp_engine_export(const struct xlcp_ports *p, const struct xlcp_export_io *io, const char *id,
                       const char *since, const char *dir, xlcp_export_progress_fn progress,
                       void *parg, struct xlcp_export_stats *stats, struct xlcp_err *err)
{
    struct xlcp_manifest m, bm;
    struct xlcp_export_index *ix = calloc(1, sizeof(*ix));
    char cdir[XLCP_PATH_MAX], bdir[XLCP_PATH_MAX], tmp[XLCP_PATH_MAX + 32];
    char from[XLCP_PATH_MAX + 100], to[XLCP_PATH_MAX + 200];
    struct xlcp_x_progress pr = {progress, parg, 0, 0};
    struct xlcp_export_stats st = {0, 0, 0};
    struct stat sst;
    int rc, made_tmp = 0;

    xlcp_manifest_init(&m);
    xlcp_manifest_init(&bm);
    if (!ix)
        return xlcp_err_set(err, XLCP_EINTERNAL, "out of memory");
    if (!dir || !*dir || strlen(dir) >= XLCP_PATH_MAX) {
        rc = xlcp_err_set(err, XLCP_EINVAL, "export: no or too long target directory");
        goto done;
    }
    if (stat(dir, &sst) == 0 || errno != ENOENT) {
        rc = xlcp_err_set(err, XLCP_EINVAL, "export: %s already exists (the export makes it)", dir);
        goto done;
    }
    rc = xlcp_engine_load(p, id, &m, cdir, sizeof(cdir), err);
    if (rc == 0 && since) {
        rc = xlcp_engine_load(p, since, &bm, bdir, sizeof(bdir), err);
        if (rc == 0 && strcmp(bm.dom_uuid, m.dom_uuid) != 0)
            rc = xlcp_err_set(err, XLCP_EINVAL,
                              "--since %s: a checkpoint of another domain (%s, not %s)", since,
                              bm.dom_name, m.dom_name);
        if (rc == 0 && strcmp(since, id) >= 0)
            rc = xlcp_err_set(err, XLCP_EINVAL, "--since %s: not older than %s", since, id);
    }
    if (rc)
        goto done;
    snprintf(ix->id, sizeof(ix->id), "%s", m.id);
    snprintf(ix->base_id, sizeof(ix->base_id), "%s", since ? since : "");
    snprintf(ix->dom_name, sizeof(ix->dom_name), "%s", m.dom_name);
    snprintf(ix->dom_uuid, sizeof(ix->dom_uuid), "%s", m.dom_uuid);
    snprintf(ix->digest_alg, sizeof(ix->digest_alg), "%s", XLCP_DIGEST_DEFAULT);
    const struct xlcp_manifest_disk *bases[XLCP_MAX_DISKS] = {0};
    for (int i = 0; i < m.ndisks && rc == 0; i++)
        if (!m.disks[i].skipped)
            rc = pick_base(since ? &bm : NULL, &m.disks[i], &bases[i], err);
    if (rc)
        goto done;

    snprintf(tmp, sizeof(tmp), "%s.tmp-%ld", dir, (long)getpid());
    if (mkdir(tmp, 0700) != 0) {
        rc = xlcp_err_errno(err, errno, "mkdir %s", tmp);
        goto done;
    }
    made_tmp = 1;
    snprintf(to, sizeof(to), "%s/disks", tmp);
    if (mkdir(to, 0700) != 0) {
        rc = xlcp_err_errno(err, errno, "mkdir %s", to);
        goto done;
    }
    /* total for the progress: the memory image and each volume's size */
    snprintf(from, sizeof(from), "%s/%s", cdir, m.memory_file);
    pr.total = m.memory_bytes;
    for (int i = 0; i < m.ndisks; i++)
        if (!m.disks[i].skipped && !bases[i])
            pr.total += m.disks[i].origin.size_bytes;

    if (xlcp_manifest_memory_in_store(&m)) {
        rc = memory_from_store(&m, tmp, ix, err);
        if (rc == 0 && pr.fn) { /* one step: the rebuild reports no progress of its own */
            pr.done += m.memory_bytes;
            pr.fn(pr.done, pr.total, pr.arg);
        }
    } else {
        snprintf(from, sizeof(from), "%s/%s", cdir, XLCP_MANIFEST_FILE);
        snprintf(to, sizeof(to), "%s/%s", tmp, XLCP_MANIFEST_FILE);
        rc = copy_file(from, to, NULL, NULL, 0, NULL, err);
        if (rc == 0)
            rc = index_file(ix, tmp, XLCP_MANIFEST_FILE, err);
        snprintf(from, sizeof(from), "%s/%s", cdir, m.memory_file);
        snprintf(to, sizeof(to), "%s/%s", tmp, XLCP_MEMORY_FILE);
        if (rc == 0)
            rc =
                copy_file(from, to, m.memory_digest_alg, m.memory_digest, m.memory_bytes, &pr, err);
        if (rc == 0)
            rc = index_file(ix, tmp, XLCP_MEMORY_FILE, err);
    }
    for (int i = 0; i < m.ndisks && rc == 0; i++) {
        if (m.disks[i].skipped)
            continue;
        struct xlcp_export_disk *xd = &ix->disks[ix->ndisks++];
        rc = export_disk(io, &m.disks[i], bases[i], tmp, xd, &pr, &st, err);
        if (rc == 0)
            rc = index_file(ix, tmp, xd->file, err);
        if (rc == 0)
            st.disk_bytes += ix->files[ix->nfiles - 1].size;
    }
    snprintf(to, sizeof(to), "%s/%s", tmp, XLCP_EXPORT_INDEX);
    if (rc == 0)
        rc = xlcp_export_index_write(ix, to, err);
    for (int i = 0; i < ix->nfiles && rc == 0; i++) {
        snprintf(to, sizeof(to), "%s/%s", tmp, ix->files[i].name);
        rc = fsync_path(to, 0, err);
        st.bytes += ix->files[i].size;
    }
    snprintf(to, sizeof(to), "%s/%s", tmp, XLCP_EXPORT_INDEX);
    if (rc == 0)
        rc = fsync_path(to, 0, err);
    snprintf(to, sizeof(to), "%s/disks", tmp);
    if (rc == 0)
        rc = fsync_path(to, 1, err);
    if (rc == 0)
        rc = fsync_path(tmp, 1, err);
    if (rc == 0 && rename(tmp, dir) != 0)
        rc = xlcp_err_errno(err, errno, "rename %s to %s", tmp, dir);
    if (rc == 0) {
        made_tmp = 0;
        char *dcopy = strdup(dir);
        if (!dcopy)
            rc = xlcp_err_set(err, XLCP_EINTERNAL, "out of memory");
        else
            rc = fsync_path(dirname(dcopy), 1, err);
        free(dcopy);
    }
done:
    if (made_tmp)
        xlcp_x_rmtree(tmp);
    if (stats)
        *stats = st;
    xlcp_manifest_free(&m);
    xlcp_manifest_free(&bm);
    xlcp_export_index_free(ix);
    free(ix);
    return rc;
}
