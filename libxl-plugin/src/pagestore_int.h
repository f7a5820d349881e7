/*
 * pagestore_int.h - what the page store's files share (see pagestore.h): the store handle
 * and its file helpers (pagestore.c), pack blocks (pagestore_pack.c), the digest index
 * (pagestore_index.c) and checkpoint maps (pagestore_map.c). Private to the page store.
 */
#ifndef XLCP_PAGESTORE_INT_H
#define XLCP_PAGESTORE_INT_H

#include "pagestore.h"

#include <limits.h>

#define PS_PAGE 4096u
#define PS_DIG 16u
#define PS_BLOCK_PAGES 64u
#define PS_BLOCK_HDR 16u
/* The largest block on disk: header, digests, pages stored raw. */
#define PS_BLOCK_MAX (PS_BLOCK_HDR + PS_BLOCK_PAGES * (PS_DIG + PS_PAGE))
#define PS_PACK_HDR 32u
#define PS_PFN_MASK ((uint64_t)0x000fffffffffffffull)

struct xlcp_pagestore {
    char dir[PATH_MAX];   /* <root>/pagestore */
    char packs[PATH_MAX]; /* .../packs */
    char maps[PATH_MAX];  /* .../maps */
    struct xlcp_ps_opts opts;
};

/* ---- pagestore.c: the store's directories, its lock and file helpers ---- */

/* The fault hook (opts.fault) before step: XLCP_EINTERNAL "fault injected at <step>". */
int ps_fault(struct xlcp_pagestore *ps, const char *step, struct xlcp_err *err);
/* flock of the store, on a descriptor of its own in *fd: shared or exclusive; nonblock:
 * XLCP_EBUSY if held. */
int ps_lock(struct xlcp_pagestore *ps, int exclusive, int nonblock, int *fd, struct xlcp_err *err);
void ps_unlock(int fd);
/* dir/name written whole: dir/name.tmp, fsync, rename, fsync dir; a fault step before each
 * of the last two ("<step>-rename", "<step>-dirsync"). */
int ps_write_atomic(struct xlcp_pagestore *ps, const char *dir, const char *name, const void *buf,
                    size_t len, const char *step, struct xlcp_err *err);
/* All of path, if at most max bytes (XLCP_ECORRUPT if larger). */
int ps_read_file(const char *path, size_t max, uint8_t **buf, size_t *len, struct xlcp_err *err);
/* The XXH3-128 digest of a page, canonical (big-endian) bytes. */
void ps_hash_page(const uint8_t *page, uint8_t out[PS_DIG]);
/* "0123...": the first 8 bytes of a digest in hex, for messages. */
const char *ps_dig_hex(const uint8_t d[PS_DIG], char out[17]);
/* A growable byte buffer. */
struct ps_buf {
    uint8_t *p;
    size_t len, cap;
};
int ps_buf_put(struct ps_buf *b, const void *data, size_t n, struct xlcp_err *err);
void ps_put_le32(uint8_t *p, uint32_t v);
void ps_put_le64(uint8_t *p, uint64_t v);
uint32_t ps_le32(const uint8_t *p);
uint64_t ps_le64(const uint8_t *p);

/* ---- pagestore_index.c: digest -> location, from the published .idx files ---- */

struct ps_loc {
    uint8_t dig[PS_DIG];
    uint64_t off;  /* of the block in its pack */
    uint32_t blen; /* the block's length */
    uint16_t slot; /* the page's place in the block */
    uint16_t rsv;
    uint32_t pack; /* index into ps_index.packs */
};

struct ps_pack {
    uint64_t id;
    uint64_t size;   /* sealed length (what the .idx says), or bytes written so far */
    size_t first, n; /* its entries: ents[first .. first+n) */
    int published;   /* has its .idx */
    uint64_t live;   /* gc: canonical entries some map uses */
};

struct ps_index {
    struct ps_pack *packs;
    size_t npacks, cappacks;
    struct ps_loc *ents;
    size_t nents, capents;
    uint32_t *tab; /* open addressing: entry index + 1, 0 empty; the canonical copy */
    size_t tabsize;
    uint64_t max_id; /* the largest pack id seen on disk, published or not */
};

/* Loads every <id>.idx of the packs directory and notes every pack id on disk. */
int ps_index_load(struct xlcp_pagestore *ps, struct ps_index *idx, struct xlcp_err *err);
void ps_index_free(struct ps_index *idx);
/* The canonical entry for a digest, or NULL. */
const struct ps_loc *ps_index_find(const struct ps_index *idx, const uint8_t dig[PS_DIG]);
/* A new pack (not yet on disk as far as the index knows); its index in idx->packs. */
int ps_index_add_pack(struct ps_index *idx, uint64_t id, size_t *pi, struct xlcp_err *err);
/* Appends an entry for pack pi; it becomes canonical unless a newer pack holds the digest.
 * Entries of one pack must be appended contiguously. Returns its index in *ei. */
int ps_index_add(struct ps_index *idx, const struct ps_loc *loc, size_t *ei, struct xlcp_err *err);
/* 1 if ents[ei] is the canonical copy of its digest. */
int ps_index_is_canonical(const struct ps_index *idx, size_t ei);
/* Publishes pack pi: writes <id>.idx of its entries atomically ("<step>-..." faults). */
int ps_index_write(struct xlcp_pagestore *ps, struct ps_index *idx, size_t pi, const char *step,
                   struct xlcp_err *err);
/* "<packs>/<16 hex digits>.<ext>" */
void ps_pack_path(const struct xlcp_pagestore *ps, uint64_t id, const char *ext, char *out,
                  size_t len);

/* ---- pagestore_pack.c: writing and reading pack blocks ---- */

struct ps_packw {
    struct xlcp_pagestore *ps;
    struct ps_index *idx;
    size_t pi;   /* the pack being written, in idx->packs */
    size_t *pis; /* every pack it created (pi last), to publish or discard */
    size_t npis, cappis;
    int fd;
    uint64_t size;
    uint8_t *raw; /* the open block: n pages */
    uint8_t dig[PS_BLOCK_PAGES][PS_DIG];
    size_t ents[PS_BLOCK_PAGES]; /* their index entries, located at the flush */
    unsigned n;
    void *zctx;
    uint8_t *out;   /* the block as written */
    uint64_t bytes; /* appended, headers included */
};

/* A new pack: the next free id, O_EXCL, its header written. */
int ps_pack_create(struct xlcp_pagestore *ps, struct ps_index *idx, struct ps_packw *w,
                   struct xlcp_err *err);
/* Adds a page (its digest not in the index) and its index entry. */
int ps_pack_add(struct ps_packw *w, const uint8_t dig[PS_DIG], const uint8_t *page,
                struct xlcp_err *err);
/* Writes the open block, fsyncs and closes the pack (not yet published). */
int ps_pack_finish(struct ps_packw *w, struct xlcp_err *err);
/* After ps_pack_finish(): publishes each pack written (fault step "<who>-publish-idx"
 * before each, then those of ps_index_write(.., "<who>-idx")), removes one left empty. */
int ps_pack_publish(struct ps_packw *w, const char *who, struct xlcp_err *err);
/* Closes and unlinks an unpublished pack, frees w. */
void ps_pack_discard(struct ps_packw *w);
void ps_packw_free(struct ps_packw *w);

struct ps_packr {
    struct xlcp_pagestore *ps;
    const struct ps_index *idx;
    int fd;
    size_t pi;    /* pack open in fd, or SIZE_MAX */
    uint64_t off; /* block held in raw, or UINT64_MAX */
    unsigned n;
    uint8_t *blk; /* as read */
    uint8_t *raw; /* n pages */
    void *dctx;
};

int ps_packr_init(struct ps_packr *r, struct xlcp_pagestore *ps, const struct ps_index *idx,
                  struct xlcp_err *err);
void ps_packr_free(struct ps_packr *r);
/* The page at loc, re-hashed against loc's digest (XLCP_ECORRUPT naming pack, offset and
 * slot if it differs, or if the block is malformed). */
int ps_packr_page(struct ps_packr *r, const struct ps_loc *loc, uint8_t *page,
                  struct xlcp_err *err);

/* ---- pagestore_map.c: one checkpoint's map ---- */

#define PS_ME_DATA 1u

struct ps_ment {
    uint64_t pfnt;  /* pfn | type << 60, as in PAGE_DATA */
    uint32_t gap;   /* the page goes before non-page unit #gap */
    uint32_t flags; /* PS_ME_DATA: the page has data, dig is its digest */
    uint8_t dig[PS_DIG];
};

struct ps_map {
    uint32_t domain_type;
    uint32_t nunits;
    struct ps_buf skel; /* the non-page units: le32 length, le32 0, bytes, zero padding to 8 */
    struct ps_ment *ents;
    size_t n, cap;
    struct xlcp_ps_stats stats;
};

int ps_map_unit(struct ps_map *m, const uint8_t *raw, size_t len, struct xlcp_err *err);
/* Writes maps/<name>.map atomically, entries sorted by (gap, pfn). */
int ps_map_write(struct xlcp_pagestore *ps, const char *name, struct ps_map *m, const char *step,
                 struct xlcp_err *err);
int ps_map_load(struct xlcp_pagestore *ps, const char *name, struct ps_map *m,
                struct xlcp_err *err);
/* The next unit of the skeleton at *pos (0 first): its bytes and length. 0 at the end. */
int ps_map_next_unit(const struct ps_map *m, size_t *pos, const uint8_t **raw, size_t *len);
void ps_map_free(struct ps_map *m);
/* Calls fn for each pfn with data of every map in the store, with the canonical location
 * of its page in idx; where there is a problem (loc NULL), problem says it: the page is not
 * in the store, or (e NULL too) the map cannot be read. A non-zero return of fn stops and
 * is returned. nmaps and npfns (may be NULL) count the maps and all their entries. */
typedef int (*ps_each_fn)(void *arg, const char *map, const struct ps_ment *e,
                          const struct ps_loc *loc, const char *problem, struct xlcp_err *err);
int ps_map_each(struct xlcp_pagestore *ps, const struct ps_index *idx, ps_each_fn fn, void *arg,
                uint64_t *nmaps, uint64_t *npfns, struct xlcp_err *err);
/* 1 if name is a valid map name. */
int ps_name_ok(const char *name);

#endif
