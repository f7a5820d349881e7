/*
 * pagestore_gc.c - the page store's garbage collector: reclaims the space of pages no map
 * references (deleted checkpoints, pages superseded during a live copy, ingests that never
 * committed), under the store's exclusive lock (no ingest, rebuild or verify runs).
 *
 *  1. remove *.tmp files (atomic writes that never got renamed) and packs without a .idx
 *     (ingests or collections that never published them);
 *  2. mark: every map's pages, in the canonical copy of each digest (the newest pack);
 *  3. packs whose every entry is live stay as they are; the live pages of the others are
 *     copied (re-hashed as they are read) into new packs, which are fsynced and published
 *     by the rename of their .idx, with the directory fsynced;
 *  4. only then the old packs go: first their .idx (unpublished), then the pack files.
 *
 * Killed at any point, nothing live is lost: an old pack loses its .idx only after the
 * copies of its live pages are published. And nothing is leaked that the next collection
 * does not reclaim: a new pack without its .idx is removed in step 1, as is an old pack
 * whose .idx was already removed; an old pack still published holds only pages whose
 * canonical copy is now in a newer pack, so it has no live entry and goes in step 4.
 * A map that cannot be read, or that names a page the store lacks, stops the collection
 * before anything is removed.
 */
#include "pagestore_int.h"

#include <dirent.h>
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "store_fs.h"

struct gc {
    struct xlcp_pagestore *ps;
    struct ps_index idx;
    uint8_t *live; /* per entry loaded from disk */
    size_t nold;   /* entries loaded from disk */
    struct xlcp_ps_gc_stats st;
};

/* Total size of the pack directory's .pack and .idx files, and how many packs. */
static void dir_bytes(const char *dir, uint64_t *bytes, uint64_t *packs)
{
    DIR *d = opendir(dir);
    struct dirent *e;

    *bytes = *packs = 0;
    if (!d)
        return;
    while ((e = readdir(d)) != NULL) {
        char path[PATH_MAX + 300];
        struct stat st;
        size_t len = strlen(e->d_name);
        if (len < 5 || e->d_name[0] == '.')
            continue;
        snprintf(path, sizeof(path), "%s/%s", dir, e->d_name);
        if (stat(path, &st) == 0 && S_ISREG(st.st_mode))
            *bytes += (uint64_t)st.st_size;
        *packs += strcmp(e->d_name + len - 5, ".pack") == 0;
    }
    closedir(d);
}

static int unlink_step(struct gc *g, const char *dir, const char *name, const char *step,
                       struct xlcp_err *err)
{
    char path[PATH_MAX + 300];
    int rc;

    snprintf(path, sizeof(path), "%s/%s", dir, name);
    if ((rc = ps_fault(g->ps, step, err)) != 0)
        return rc;
    if (unlink(path) != 0 && errno != ENOENT)
        return xlcp_err_errno(err, errno, "%s: unlink %s", step, path);
    return 0;
}

/* 1 if name is "<16 hex>.pack" with an id no published pack has. */
static int orphan_pack(const struct ps_index *idx, const char *name)
{
    size_t len = strlen(name);
    char *end;
    uint64_t id;

    if (len != 21 || strcmp(name + 16, ".pack") != 0)
        return 0;
    id = strtoull(name, &end, 16);
    if (end != name + 16)
        return 0;
    for (size_t i = 0; i < idx->npacks; i++)
        if (idx->packs[i].id == id && idx->packs[i].published)
            return 0;
    return 1;
}

/* Step 1, in one directory: stale .tmp files, and (packs) orphan packs. */
static int sweep(struct gc *g, const char *dir, int packs, struct xlcp_err *err)
{
    DIR *d = opendir(dir);
    struct dirent *e;
    int rc = 0, n = 0;

    if (!d)
        return xlcp_err_errno(err, errno, "gc: open %s", dir);
    while (rc == 0 && (e = readdir(d)) != NULL) {
        size_t len = strlen(e->d_name);
        if (len > 4 && strcmp(e->d_name + len - 4, ".tmp") == 0)
            rc = unlink_step(g, dir, e->d_name, "gc-sweep-tmp", err);
        else if (packs && orphan_pack(&g->idx, e->d_name))
            rc = unlink_step(g, dir, e->d_name, "gc-sweep-orphan", err);
        else
            continue;
        n++;
    }
    closedir(d);
    g->st.orphans_removed += (uint64_t)n;
    if (rc == 0 && n)
        rc = xlcp_fs_fsync_dir(dir, err);
    return rc;
}

/* Step 2: each pfn of each map; a map that cannot be read, or a page missing, stops. */
static int mark_one(void *arg, const char *map, const struct ps_ment *e, const struct ps_loc *loc,
                    const char *problem, struct xlcp_err *err)
{
    struct gc *g = arg;
    size_t ei;

    if (!loc) {
        if (!e)
            return xlcp_err_set(err, XLCP_ECORRUPT, "%s", problem);
        return xlcp_err_set(err, XLCP_ECORRUPT, "map %s pfn %#" PRIx64 ": %s", map,
                            e->pfnt & PS_PFN_MASK, problem);
    }
    ei = (size_t)(loc - g->idx.ents);
    if (!g->live[ei]) {
        g->live[ei] = 1;
        g->idx.packs[loc->pack].live++;
        g->st.live_pages++;
    }
    return 0;
}

/* Step 3: the live pages of every pack not wholly live, into new packs. */
static int copy_live(struct gc *g, size_t ncopy, struct xlcp_err *err)
{
    struct ps_packw w;
    struct ps_packr r;
    size_t npacks = g->idx.npacks;
    uint8_t *page = malloc(PS_PAGE);
    int rc;

    if (!page)
        return xlcp_err_errno(err, ENOMEM, "gc");
    if (ncopy == 0) {
        free(page);
        return 0;
    }
    if ((rc = ps_fault(g->ps, "gc-copy", err)) != 0 ||
        (rc = ps_packr_init(&r, g->ps, &g->idx, err)) != 0) {
        free(page);
        return rc;
    }
    if ((rc = ps_pack_create(g->ps, &g->idx, &w, err)) != 0) {
        ps_packr_free(&r);
        free(page);
        return rc;
    }
    for (size_t pi = 0; pi < npacks && rc == 0; pi++) {
        const struct ps_pack p = g->idx.packs[pi];
        if (!p.published || p.live == p.n || p.live == 0)
            continue;
        for (size_t ei = p.first; ei < p.first + p.n && rc == 0; ei++) {
            struct ps_loc loc;
            if (!g->live[ei])
                continue;
            loc = g->idx.ents[ei]; /* a copy: adding entries moves them */
            if ((rc = ps_packr_page(&r, &loc, page, err)) == 0)
                rc = ps_pack_add(&w, loc.dig, page, err);
            g->st.pages_copied++;
        }
    }
    ps_packr_free(&r);
    free(page);
    if (rc == 0)
        rc = ps_pack_finish(&w, err);
    if (rc == 0)
        rc = ps_pack_publish(&w, "gc", err);
    if (rc)
        ps_pack_discard(&w); /* what was published stays: its pages are live */
    else
        ps_packw_free(&w);
    return rc;
}

/* Step 4: the packs not wholly live, .idx first. */
static int drop_victims(struct gc *g, size_t npacks, struct xlcp_err *err)
{
    const char *ext[2] = {"idx", "pack"};
    int rc = 0;

    for (int k = 0; k < 2 && rc == 0; k++) {
        for (size_t pi = 0; pi < npacks && rc == 0; pi++) {
            const struct ps_pack *p = &g->idx.packs[pi];
            char name[40];
            if (!p->published || p->live == p->n)
                continue;
            snprintf(name, sizeof(name), "%016" PRIx64 ".%s", p->id, ext[k]);
            rc = unlink_step(g, g->ps->packs, name, k ? "gc-unlink-pack" : "gc-unlink-idx", err);
        }
        if (rc == 0 && (rc = ps_fault(g->ps, "gc-dirsync", err)) == 0)
            rc = xlcp_fs_fsync_dir(g->ps->packs, err);
    }
    return rc;
}

static int collect(struct gc *g, struct xlcp_err *err)
{
    size_t nvictims = 0, ncopy = 0, npacks;
    int rc;

    if ((rc = ps_index_load(g->ps, &g->idx, err)) != 0)
        return rc;
    g->nold = g->idx.nents;
    g->live = calloc(g->nold ? g->nold : 1, 1);
    if (!g->live)
        return xlcp_err_errno(err, ENOMEM, "gc: %zu entries", g->nold);
    if ((rc = ps_map_each(g->ps, &g->idx, mark_one, g, &g->st.maps, NULL, err)) != 0)
        return rc;
    if ((rc = sweep(g, g->ps->maps, 0, err)) != 0 || (rc = sweep(g, g->ps->packs, 1, err)) != 0)
        return rc;
    npacks = g->idx.npacks;
    for (size_t pi = 0; pi < npacks; pi++) {
        const struct ps_pack *p = &g->idx.packs[pi];
        nvictims += p->published && p->live < p->n;
        ncopy += p->published && p->live < p->n && p->live > 0;
    }
    if ((rc = copy_live(g, ncopy, err)) != 0)
        return rc;
    return nvictims ? drop_victims(g, npacks, err) : 0;
}

int xlcp_ps_gc(struct xlcp_pagestore *ps, struct xlcp_ps_gc_stats *st, struct xlcp_err *err)
{
    struct gc g;
    int lockfd = -1, rc;

    memset(&g, 0, sizeof(g));
    g.ps = ps;
    if ((rc = ps_lock(ps, 1, 1, &lockfd, err)) != 0)
        return xlcp_err_prefix(err, "page store: gc");
    dir_bytes(ps->packs, &g.st.bytes_before, &g.st.packs_before);
    rc = collect(&g, err);
    dir_bytes(ps->packs, &g.st.bytes_after, &g.st.packs_after);
    ps_index_free(&g.idx);
    free(g.live);
    ps_unlock(lockfd);
    if (st)
        *st = g.st;
    return rc ? xlcp_err_prefix(err, "page store: gc") : 0;
}
