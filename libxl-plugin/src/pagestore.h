/*
 * pagestore.h - a content-addressed store of guest memory pages, one per catalog root
 * (<root>/pagestore/): each distinct 4 KiB page is kept once under its XXH3-128 digest, in
 * large append-only pack files (blocks of up to 64 pages, zstd-compressed when that saves
 * space), and each checkpoint keeps a map pfn -> digest plus the stream's non-page records
 * verbatim, from which a standard xl save image is rebuilt.
 *
 *   <root>/pagestore/lock              flock: shared for ingest, rebuild and verify,
 *                                      exclusive for the garbage collector
 *   <root>/pagestore/packs/<id>.pack   pages (pagestore_pack.c)
 *   <root>/pagestore/packs/<id>.idx    digest -> (pack, offset, length) of one sealed pack;
 *                                      its rename publishes the pack (pagestore_index.c)
 *   <root>/pagestore/maps/<name>.map   one checkpoint (pagestore_map.c)
 *
 * Ingest (pagestore_ingest.c) is fed the memory stream as it arrives (through the bounded
 * parser of stream.h); a page sent several times in a live copy is mapped once, the last
 * copy winning, so a map never holds more pfns than the guest has. Rebuild
 * (pagestore_rebuild.c) writes the stream back: its non-page records in their order, and
 * at the place of each run of PAGE_DATA records the pages whose last copy arrived there,
 * re-batched by pfn. Deleting a checkpoint drops its map; the garbage collector
 * (pagestore_gc.c) reclaims what no map references, crash-safely. Verify
 * (pagestore_verify.c) re-hashes every page and names each corrupt one by map, pfn, pack.
 *
 * The files on disk are trusted no more than the stream: every length, count and offset
 * read from them is bounded before use, and every page read back is re-hashed.
 */
#ifndef XLCP_PAGESTORE_H
#define XLCP_PAGESTORE_H

#include <stddef.h>
#include <stdint.h>

#include "err.h"

#define XLCP_PS_DIR "pagestore"
#define XLCP_PS_NAME_MAX 200

struct xlcp_pagestore;
struct xlcp_ps_ingest;

/* A test hook: called before each step that changes the store's files, with the step's
 * name ("gc-publish-idx", ...). A non-zero return fails the operation there (XLCP_EINTERNAL);
 * the unit tests kill a child process in the hook to check what a crash leaves behind. */
typedef int (*xlcp_ps_fault_fn)(void *arg, const char *step);

struct xlcp_ps_opts {
    int zstd_level;    /* 0: no compression; else the zstd level (1..19) */
    uint32_t pack_max; /* bytes after which a pack is sealed and another begun (0: 1 GiB) */
    /* pages resent in a live copy wait for their last version in a buffer of this many
     * pages (0: none, each version is written); default 8192 (32 MiB) */
    uint32_t resend_pages;
    xlcp_ps_fault_fn fault;
    void *fault_arg;
};

/* What storing one stream did. */
struct xlcp_ps_stats {
    uint64_t stream_bytes;   /* the stream as received */
    uint64_t pages_received; /* data pages in its PAGE_DATA records, resends included */
    uint64_t page_bytes_received;
    uint64_t pfns; /* entries of the map (one per pfn), pages with data */
    uint64_t pfns_data;
    uint64_t pages_new;    /* distinct pages the store did not hold */
    uint64_t bytes_stored; /* bytes appended to packs (headers and compression included) */
    uint64_t map_bytes;    /* the map file */
};

struct xlcp_ps_gc_stats {
    uint64_t maps, live_pages;
    uint64_t packs_before, packs_after;
    uint64_t bytes_before, bytes_after; /* pack and index files */
    uint64_t pages_copied, orphans_removed;
};

/* A corrupt or missing page, as verify reports it. map is NULL for a page no map uses. */
struct xlcp_ps_bad {
    const char *map;
    uint64_t pfn;
    uint64_t pack;
    const char *why;
};
typedef void (*xlcp_ps_bad_fn)(void *arg, const struct xlcp_ps_bad *bad);

struct xlcp_ps_verify_stats {
    uint64_t packs, pages, maps, pfns, bad;
};

void xlcp_ps_opts_default(struct xlcp_ps_opts *o);
/* Opens <root>/pagestore, creating it (and root, but not root's parent) if missing. opts
 * NULL: the defaults. */
int xlcp_ps_open(const char *root, const struct xlcp_ps_opts *opts, struct xlcp_pagestore **out,
                 struct xlcp_err *err);
void xlcp_ps_close(struct xlcp_pagestore *ps);

/* Storing a stream as map `name` (a single path component, not yet in the store). */
int xlcp_ps_ingest_begin(struct xlcp_pagestore *ps, const char *name, struct xlcp_ps_ingest **out,
                         struct xlcp_err *err);
int xlcp_ps_ingest_feed(struct xlcp_ps_ingest *in, const void *buf, size_t len,
                        struct xlcp_err *err);
/* The stream ended: checks it is whole, seals and publishes the pack and the map, frees in.
 * st may be NULL. */
int xlcp_ps_ingest_commit(struct xlcp_ps_ingest *in, struct xlcp_ps_stats *st,
                          struct xlcp_err *err);
/* Drops what was stored so far (nothing was published) and frees in. */
void xlcp_ps_ingest_abort(struct xlcp_ps_ingest *in);
/* All of fd (to EOF) as map `name`. */
int xlcp_ps_store_fd(struct xlcp_pagestore *ps, const char *name, int fd, struct xlcp_ps_stats *st,
                     struct xlcp_err *err);

/* Writes map `name` as a standard xl save image to fd (a file or a pipe). bytes may be NULL. */
int xlcp_ps_rebuild(struct xlcp_pagestore *ps, const char *name, int fd, uint64_t *bytes,
                    struct xlcp_err *err);

/* Checks map `name` alone as a rebuild reads it, writing nothing: every page of it
 * re-hashed, the stream it makes parsed. Goes on past a corrupt or missing page, calling
 * bad() (may be NULL) for each, by map, pfn and pack. XLCP_ECORRUPT if any (err names the
 * first, and how many), or the error that stopped it (a map or stream that cannot be read).
 * st may be NULL (maps 1, pfns: the map's, pages: data pages read, bad). */
int xlcp_ps_verify_map(struct xlcp_pagestore *ps, const char *name, xlcp_ps_bad_fn bad, void *arg,
                       struct xlcp_ps_verify_stats *st, struct xlcp_err *err);

/* 1 if map `name` exists, 0 if not. */
int xlcp_ps_has(struct xlcp_pagestore *ps, const char *name);
/* The names of all maps, sorted; free each and the array. */
int xlcp_ps_list(struct xlcp_pagestore *ps, char ***names, size_t *n, struct xlcp_err *err);
/* Deletes map `name`: its pages are reclaimed by the next xlcp_ps_gc(). Needs no lock: a
 * collection that listed the map and then finds it gone treats it as released. */
int xlcp_ps_release(struct xlcp_pagestore *ps, const char *name, struct xlcp_err *err);
/* Reclaims every page no map references. XLCP_EBUSY while an ingest, a rebuild or a verify
 * holds the store. st may be NULL. */
int xlcp_ps_gc(struct xlcp_pagestore *ps, struct xlcp_ps_gc_stats *st, struct xlcp_err *err);
/* Re-hashes every page of every pack and checks every map against the index; calls bad()
 * for each corrupt or missing page (bad may be NULL). XLCP_ECORRUPT if any, err naming the
 * first. st may be NULL. */
int xlcp_ps_verify(struct xlcp_pagestore *ps, xlcp_ps_bad_fn bad, void *arg,
                   struct xlcp_ps_verify_stats *st, struct xlcp_err *err);

#endif
