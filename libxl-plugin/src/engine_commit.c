/*
 * engine_commit.c - the last step of a checkpoint (engine_create.c): the snapshots
 * completed, the memory image's digest, the opt-in page store (the image stored as map
 * <id>, memory.xl dropped when the store holds it whole), the manifest, and the catalog's
 * atomic commit (temporary directory fsync'd and renamed). The intent record goes last.
 */
#include "engine_run.h"

#include <errno.h>
#include <stdio.h>
#include <unistd.h>

/* The opt-in page store (XLCP_PAGESTORE), never a cause of failure: the whole image
 * stored as map <id> and read back; if both went well memory.xl leaves the temporary
 * directory before the commit, and the manifest names map and store instead. A failure
 * from here on releases the map (the unwind); a crash leaves it to `recover` (the intent
 * record names the store). */
static void commit_pagestore(struct run *r)
{
    struct xlcp_err e2;

    if (!r->ps_root[0])
        return;
    if (!xlcp_engine_ps_store(r->m, r->ps_root, r->mem_fd)) {
        r->ps_stored = r->m->pagestore_map[0] != '\0'; /* or kept beside memory.xl */
        return;
    }
    r->ps_stored = 1;
    xlcp_err_clear(&e2);
    if (CALL(&r->p->store, drop_file, r->txn, XLCP_MEMORY_FILE, &e2) == 0)
        r->m->memory_file[0] = '\0'; /* the store holds it alone (else both) */
}

int xlcp_run_commit(struct run *r, struct xlcp_err *err)
{
    struct xlcp_manifest *m = r->m;
    int fd = -1;
    int rc;

    rc = xlcp_run_join_completion(r, err);
    if (rc)
        return rc;
    rc = xlcp_image_sink_finish(r->sink, m->memory_digest, &m->memory_bytes, err);
    r->sink = NULL;
    if (rc)
        return rc;
    snprintf(m->memory_file, sizeof(m->memory_file), "%s", XLCP_MEMORY_FILE);
    commit_pagestore(r);
    for (int i = 0; i < r->dom.ndisks; i++)
        if (r->vol_of_disk[i] >= 0)
            m->disks[i].snap = r->snaps[r->vol_of_disk[i]];
    m->total_ns = now(r) - r->t0;

    rc = CALL(&r->p->store, create_file, r->txn, XLCP_MANIFEST_FILE, &fd, err);
    if (rc)
        return rc;
    rc = xlcp_manifest_write_fd(m, fd, err);
    if (close(fd) != 0 && rc == 0)
        rc = xlcp_err_errno(err, errno, "close %s", XLCP_MANIFEST_FILE);
    if (rc)
        return rc;
    if (close(r->mem_fd) != 0) {
        r->mem_fd = -1;
        return xlcp_err_errno(err, errno, "close %s", XLCP_MEMORY_FILE);
    }
    r->mem_fd = -1;
    rc = CALL(&r->p->store, commit, r->txn, err);
    r->txn = NULL; /* commit frees it either way */
    if (rc)
        return rc;
    /* The volumes belong to the checkpoint now. A record that outlives this (a crash, or
     * a failure here) is dropped by the next cleanup, which sees the checkpoint committed.
     * So does the map: deleting the checkpoint releases it. */
    r->intent = 0;
    r->ps_stored = 0;
    if (CALL(&r->p->store, leftover_remove, r->dom.uuid, m->id, err) != 0)
        xlcp_err_clear(err);
    return 0;
}
