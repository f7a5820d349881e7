/*
 * engine_catalog.c - the catalog operations on committed checkpoints: new ids, load,
 * verify (digest, image structure, the page store's map, snapshots), delete (the map
 * released from the store the manifest names).
 */
#include "engine.h"
#include "stream.h"

#include <inttypes.h>
#include <stdio.h>
#include <string.h>
#include <sys/random.h>
#include <time.h>

#define CALL(port, op, ...) ((port)->ops->op((port)->self, __VA_ARGS__))

void xlcp_engine_new_id(const struct xlcp_clock *clock, char id_out[XLCP_ID_MAX])
{
    int64_t wall = clock->ops->wall_ns(clock->self);
    time_t secs = (time_t)(wall / 1000000000);
    unsigned ms = (unsigned)((wall / 1000000) % 1000);
    struct tm tm;
    unsigned char rnd[3] = {0, 0, 0};

    gmtime_r(&secs, &tm);
    if (getrandom(rnd, sizeof(rnd), 0) != (ssize_t)sizeof(rnd)) {
        /* Uniqueness also comes from the per-domain lock and O_EXCL; fall back. */
        uint64_t t = clock->ops->now_ns(clock->self);
        rnd[0] = (unsigned char)t;
        rnd[1] = (unsigned char)(t >> 8);
        rnd[2] = (unsigned char)(t >> 16);
    }
    snprintf(id_out, XLCP_ID_MAX, "%04d%02d%02dT%02d%02d%02d.%03uZ-%02x%02x%02x", tm.tm_year + 1900,
             tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec, ms, rnd[0], rnd[1],
             rnd[2]);
}

int xlcp_engine_id_ok(const char *id)
{
    /* 20261124T191342.123Z-1a2b3c */
    static const char shape[] = "DDDDDDDDTDDDDDD.DDDZ-XXXXXX";

    if (!id || strlen(id) != sizeof(shape) - 1)
        return 0;
    for (size_t i = 0; shape[i]; i++) {
        char c = id[i];
        if (shape[i] == 'D'   ? !(c >= '0' && c <= '9')
            : shape[i] == 'X' ? !((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'))
                              : c != shape[i])
            return 0;
    }
    return 1;
}

int xlcp_engine_load(const struct xlcp_ports *p, const char *id, struct xlcp_manifest *m,
                     char *dir_out, size_t dir_len, struct xlcp_err *err)
{
    char path[XLCP_PATH_MAX + 32];
    int rc;

    xlcp_manifest_init(m);
    rc = CALL(&p->store, locate, id, dir_out, dir_len, err);
    if (rc)
        return rc;
    snprintf(path, sizeof(path), "%s/%s", dir_out, XLCP_MANIFEST_FILE);
    rc = xlcp_manifest_read(path, m, err);
    if (rc)
        return rc;
    if (strcmp(m->id, id) != 0) {
        return xlcp_err_set(err, XLCP_ECORRUPT, "%s: holds id '%s', expected '%s'", path, m->id,
                            id);
    }
    return 0;
}

/* memory.xl against the manifest: size, digest, the image's structure. */
static int verify_file(const struct xlcp_manifest *m, const char *dir, struct xlcp_err *err)
{
    char path[XLCP_PATH_MAX + 80];
    char hex[XLCP_DIGEST_HEX + 1];
    uint64_t bytes = 0;
    int rc;

    snprintf(path, sizeof(path), "%s/%s", dir, m->memory_file);
    rc = xlcp_digest_file(path, m->memory_digest_alg, hex, &bytes, err);
    if (rc == XLCP_ENOTFOUND)
        rc = xlcp_err_set(err, XLCP_ECORRUPT, "%s: memory image missing", path);
    if (rc == 0 && bytes != m->memory_bytes)
        rc = xlcp_err_set(err, XLCP_ECORRUPT,
                          "%s: %" PRIu64 " bytes, manifest says %" PRIu64 " (truncated?)", path,
                          bytes, m->memory_bytes);
    if (rc == 0 && strcmp(hex, m->memory_digest) != 0)
        rc = xlcp_err_set(err, XLCP_ECORRUPT, "%s: %s digest %s does not match the manifest (%s)",
                          path, m->memory_digest_alg, hex, m->memory_digest);
    /* Beyond the digest: the image's structure (an image written wrong has a good digest). */
    if (rc == 0)
        rc = xlcp_stream_check_file(path, err);
    return rc;
}

int xlcp_engine_verify(const struct xlcp_ports *p, const char *id, unsigned int flags,
                       struct xlcp_err *err)
{
    struct xlcp_manifest m;
    char dir[XLCP_PATH_MAX];
    char why[400];
    int rc;

    xlcp_err_clear(err);
    rc = xlcp_engine_load(p, id, &m, dir, sizeof(dir), err);
    if (rc) {
        xlcp_manifest_free(&m);
        return rc;
    }
    if (m.memory_file[0])
        rc = verify_file(&m, dir, err);
    /* The page store's map: the image (held there alone), or a copy kept beside memory.xl
     * (checked by a full verify only: a restore reads the file). A manifest of before
     * version 2 names no store: its map is not checked, as then. */
    if (rc == 0 && m.pagestore_map[0] && m.pagestore_root[0] &&
        (xlcp_manifest_memory_in_store(&m) || !(flags & XLCP_VERIFY_ENGINE_QUICK_MAP)))
        rc = xlcp_engine_ps_verify(&m, !(flags & XLCP_VERIFY_ENGINE_QUICK_MAP), err);
    for (int i = 0; rc == 0 && !(flags & XLCP_VERIFY_NO_DISKS) && i < m.ndisks; i++) {
        int e;
        if (m.disks[i].skipped)
            continue;
        e = CALL(&p->disk, exists, &m.disks[i].snap, err);
        if (e < 0)
            rc = e;
        else if (e == 0)
            rc = xlcp_err_set(err, XLCP_ECORRUPT, "snapshot volume %s/%s of disk %s is missing",
                              m.disks[i].snap.vg, m.disks[i].snap.lv, m.disks[i].snap.vdev);
        else if ((e = CALL(&p->disk, check, &m.disks[i].snap, why, sizeof(why), err)) < 0)
            rc = e;
        else if (e == 0)
            rc = xlcp_err_set(err, XLCP_ECORRUPT, "disk %s: %s", m.disks[i].snap.vdev, why);
    }
    if (rc)
        xlcp_err_prefix(err, "checkpoint %s", id);
    xlcp_manifest_free(&m);
    return rc;
}

/* The uuid of the domain whose catalog directory holds checkpoint id. */
static int uuid_of(const struct xlcp_ports *p, const char *id, char *uuid, size_t len,
                   struct xlcp_err *err)
{
    char dir[XLCP_PATH_MAX];
    char *slash;
    const char *base;
    int rc = CALL(&p->store, locate, id, dir, sizeof(dir), err);

    if (rc)
        return rc;
    slash = strrchr(dir, '/');
    if (!slash)
        return xlcp_err_set(err, XLCP_EINTERNAL, "checkpoint %s: odd directory %s", id, dir);
    *slash = '\0';
    base = strrchr(dir, '/');
    snprintf(uuid, len, "%s", base ? base + 1 : dir);
    return 0;
}

int xlcp_engine_delete_locked(const struct xlcp_ports *p, const char *id, struct xlcp_err *err)
{
    struct xlcp_manifest m;
    char dir[XLCP_PATH_MAX];
    int rc;

    rc = xlcp_engine_load(p, id, &m, dir, sizeof(dir), err);
    if (rc)
        xlcp_manifest_free(&m);
    if (rc == XLCP_ECORRUPT) {
        /* A broken manifest must not make a checkpoint undeletable: its snapshots carry
         * the checkpoint's tag. */
        char tag[XLCP_ID_MAX + 8];
        snprintf(tag, sizeof(tag), "xlcp-%s", id);
        xlcp_err_clear(err);
        rc = xlcp_engine_id_ok(id) ? CALL(&p->disk, remove_tagged, tag, err) : 0;
        /* its map, if any, is named by the id; the store only $XLCP_PAGESTORE can name */
        if (rc == 0 && (rc = xlcp_engine_ps_release(NULL, id, err)) > 0)
            rc = 0;
        if (rc == 0)
            rc = CALL(&p->store, remove, id, err);
        return rc ? xlcp_err_prefix(err, "checkpoint %s", id) : 0;
    }
    if (rc)
        return rc;
    for (int i = 0; i < m.ndisks && rc == 0; i++) {
        int e;
        if (m.disks[i].skipped)
            continue;
        e = CALL(&p->disk, exists, &m.disks[i].snap, err);
        if (e < 0)
            rc = e;
        else if (e == 1)
            rc = CALL(&p->disk, remove, &m.disks[i].snap, err);
    }
    /* The map before the directory: a release that fails leaves the checkpoint to delete
     * again, not a map nothing names. From the store the manifest names (before version 2:
     * the one $XLCP_PAGESTORE names, as then). */
    if (rc == 0 && m.pagestore_map[0] &&
        (rc = xlcp_engine_ps_release(m.pagestore_root, m.pagestore_map, err)) > 0)
        rc = 0;
    if (rc == 0)
        rc = CALL(&p->store, remove, id, err);
    if (rc)
        xlcp_err_prefix(err, "checkpoint %s", id);
    xlcp_manifest_free(&m);
    return rc;
}

int xlcp_engine_delete(const struct xlcp_ports *p, const char *id, struct xlcp_err *err)
{
    struct xlcp_store_lock *lock = NULL;
    char uuid[XLCP_PATH_MAX];
    int rc;

    xlcp_err_clear(err);
    rc = uuid_of(p, id, uuid, sizeof(uuid), err);
    if (rc == 0)
        rc = CALL(&p->store, lock, uuid, &lock, err);
    if (rc)
        return rc;
    rc = xlcp_engine_delete_locked(p, id, err);
    p->store.ops->unlock(p->store.self, lock);
    return rc;
}
