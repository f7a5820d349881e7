/*
 * pagestore_pack.c - the page store's pack files: writing pages into blocks appended to a
 * pack, and reading a page back (bounded, decompressed, re-hashed).
 *
 * <id>.pack: "XLCPPAK1", le32 version 1, le32 0, le64 id, le64 0, then blocks, each 8-byte
 * aligned: le32 "PSB1", le16 page count n (1..64), u8 compression (0 raw, 1 zstd), u8 0,
 * le32 stored length, le32 0, n 16-byte digests, the n pages (raw: n * 4096 bytes; zstd:
 * one frame of them), zero padding to 8. A block is written once and never changed; a
 * pack is only appended to by the one writer that created it (O_EXCL), and is published by
 * its .idx (pagestore_index.c) once fsynced. Large packs (opts.pack_max, 1 GiB by default)
 * keep the number of files small; a writer that fills one seals it and starts the next.
 */
#include "pagestore_int.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <zstd.h>

#include "export_int.h"

#define PACK_MAGIC "XLCPPAK1"
#define BLOCK_MAGIC 0x31425350u /* "PSB1" */

static int pack_open_new(struct ps_packw *w, struct xlcp_err *err)
{
    struct ps_index *idx = w->idx;
    uint8_t hdr[PS_PACK_HDR];
    char path[PATH_MAX + 300];
    uint64_t id = idx->max_id + 1;
    size_t pi;
    int fd = -1, rc;

    for (int tries = 0; tries < 1000; tries++, id++) {
        ps_pack_path(w->ps, id, "pack", path, sizeof(path));
        fd = open(path, O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
        if (fd >= 0 || errno != EEXIST)
            break;
    }
    if (fd < 0)
        return xlcp_err_errno(err, errno, "page store: create pack %s", path);
    memset(hdr, 0, sizeof(hdr));
    memcpy(hdr, PACK_MAGIC, 8);
    ps_put_le32(hdr + 8, 1);
    ps_put_le64(hdr + 16, id);
    if ((rc = xlcp_x_write_all(fd, hdr, sizeof(hdr), 0, path, err)) != 0 ||
        (rc = ps_index_add_pack(idx, id, &pi, err)) != 0) {
        close(fd);
        unlink(path);
        return rc;
    }
    if (w->npis == w->cappis) {
        size_t cap = w->cappis ? w->cappis * 2 : 4;
        size_t *v = realloc(w->pis, cap * sizeof(*v));
        if (!v) {
            close(fd);
            unlink(path);
            w->idx->npacks--;
            return xlcp_err_errno(err, ENOMEM, "page store: packs");
        }
        w->pis = v;
        w->cappis = cap;
    }
    w->pis[w->npis++] = pi;
    w->pi = pi;
    w->fd = fd;
    w->size = PS_PACK_HDR;
    idx->packs[pi].size = w->size;
    w->bytes += PS_PACK_HDR;
    return 0;
}

int ps_pack_create(struct xlcp_pagestore *ps, struct ps_index *idx, struct ps_packw *w,
                   struct xlcp_err *err)
{
    memset(w, 0, sizeof(*w));
    w->ps = ps;
    w->idx = idx;
    w->fd = -1;
    w->raw = malloc(PS_BLOCK_PAGES * PS_PAGE);
    w->out = malloc(PS_BLOCK_HDR + PS_BLOCK_PAGES * PS_DIG +
                    ZSTD_compressBound(PS_BLOCK_PAGES * PS_PAGE) + 8);
    if (!w->raw || !w->out) {
        ps_packw_free(w);
        return xlcp_err_errno(err, ENOMEM, "page store: pack buffers");
    }
    if (ps->opts.zstd_level > 0) {
        w->zctx = ZSTD_createCCtx();
        if (!w->zctx) {
            ps_packw_free(w);
            return xlcp_err_set(err, XLCP_EINTERNAL, "page store: zstd context");
        }
    }
    return pack_open_new(w, err);
}

static int seal_current(struct ps_packw *w, struct xlcp_err *err)
{
    char path[PATH_MAX + 300];
    int rc = 0;

    if (w->fd < 0)
        return 0;
    ps_pack_path(w->ps, w->idx->packs[w->pi].id, "pack", path, sizeof(path));
    if (fsync(w->fd) != 0)
        rc = xlcp_err_errno(err, errno, "page store: fsync %s", path);
    if (close(w->fd) != 0 && rc == 0)
        rc = xlcp_err_errno(err, errno, "page store: close %s", path);
    w->fd = -1;
    return rc;
}

static int flush_block(struct ps_packw *w, struct xlcp_err *err)
{
    size_t rawlen = (size_t)w->n * PS_PAGE, stored = rawlen, blen;
    uint8_t *o = w->out, comp = 0;
    char path[PATH_MAX + 300];
    int rc;

    if (w->n == 0)
        return 0;
    memset(o, 0, PS_BLOCK_HDR);
    memcpy(o + PS_BLOCK_HDR, w->dig, (size_t)w->n * PS_DIG);
    if (w->zctx) {
        uint8_t *dst = o + PS_BLOCK_HDR + (size_t)w->n * PS_DIG;
        size_t z = ZSTD_compressCCtx(w->zctx, dst, ZSTD_compressBound(rawlen), w->raw, rawlen,
                                     w->ps->opts.zstd_level);
        if (!ZSTD_isError(z) && z < rawlen) {
            stored = z;
            comp = 1;
        }
    }
    if (!comp)
        memcpy(o + PS_BLOCK_HDR + (size_t)w->n * PS_DIG, w->raw, rawlen);
    ps_put_le32(o, BLOCK_MAGIC);
    o[4] = (uint8_t)w->n;
    o[5] = 0;
    o[6] = comp;
    ps_put_le32(o + 8, (uint32_t)stored);
    blen = PS_BLOCK_HDR + (size_t)w->n * PS_DIG + stored;
    memset(o + blen, 0, (8 - blen % 8) % 8);
    blen += (8 - blen % 8) % 8;
    ps_pack_path(w->ps, w->idx->packs[w->pi].id, "pack", path, sizeof(path));
    if ((rc = xlcp_x_write_all(w->fd, o, blen, w->size, path, err)) != 0)
        return rc;
    for (unsigned i = 0; i < w->n; i++) {
        w->idx->ents[w->ents[i]].off = w->size;
        w->idx->ents[w->ents[i]].blen = (uint32_t)blen;
    }
    w->size += blen;
    w->bytes += blen;
    w->idx->packs[w->pi].size = w->size;
    w->n = 0;
    if (w->size >= w->ps->opts.pack_max) {
        if ((rc = seal_current(w, err)) != 0)
            return rc;
        return pack_open_new(w, err);
    }
    return 0;
}

int ps_pack_add(struct ps_packw *w, const uint8_t dig[PS_DIG], const uint8_t *page,
                struct xlcp_err *err)
{
    struct ps_loc loc;
    size_t ei;
    int rc;

    memset(&loc, 0, sizeof(loc));
    memcpy(loc.dig, dig, PS_DIG);
    loc.slot = (uint16_t)w->n;
    loc.pack = (uint32_t)w->pi;
    if ((rc = ps_index_add(w->idx, &loc, &ei, err)) != 0)
        return rc;
    memcpy(w->raw + (size_t)w->n * PS_PAGE, page, PS_PAGE);
    memcpy(w->dig[w->n], dig, PS_DIG);
    w->ents[w->n++] = ei;
    return w->n == PS_BLOCK_PAGES ? flush_block(w, err) : 0;
}

int ps_pack_finish(struct ps_packw *w, struct xlcp_err *err)
{
    int rc = flush_block(w, err);
    int rc2 = seal_current(w, err);
    return rc ? rc : rc2;
}

int ps_pack_publish(struct ps_packw *w, const char *who, struct xlcp_err *err)
{
    char path[PATH_MAX + 300], step[40];
    int rc;

    for (size_t i = 0; i < w->npis; i++) {
        size_t pi = w->pis[i];
        if (w->idx->packs[pi].n == 0) {
            ps_pack_path(w->ps, w->idx->packs[pi].id, "pack", path, sizeof(path));
            if (unlink(path) != 0)
                return xlcp_err_errno(err, errno, "%s: unlink %s", who, path);
            w->bytes -= PS_PACK_HDR;
            continue;
        }
        snprintf(step, sizeof(step), "%s-publish-idx", who);
        if ((rc = ps_fault(w->ps, step, err)) != 0)
            return rc;
        snprintf(step, sizeof(step), "%s-idx", who);
        if ((rc = ps_index_write(w->ps, w->idx, pi, step, err)) != 0)
            return rc;
    }
    return 0;
}

void ps_packw_free(struct ps_packw *w)
{
    if (w->fd >= 0)
        close(w->fd);
    w->fd = -1;
    free(w->raw);
    free(w->out);
    free(w->pis);
    ZSTD_freeCCtx(w->zctx);
    w->raw = w->out = NULL;
    w->pis = NULL;
    w->zctx = NULL;
}

void ps_pack_discard(struct ps_packw *w)
{
    char path[PATH_MAX + 300];

    if (w->fd >= 0)
        close(w->fd);
    w->fd = -1;
    for (size_t i = 0; w->idx && i < w->npis; i++) {
        const struct ps_pack *p = &w->idx->packs[w->pis[i]];
        if (p->published)
            continue;
        ps_pack_path(w->ps, p->id, "pack", path, sizeof(path));
        unlink(path);
    }
    ps_packw_free(w);
}

/* ---- reading ---- */

int ps_packr_init(struct ps_packr *r, struct xlcp_pagestore *ps, const struct ps_index *idx,
                  struct xlcp_err *err)
{
    memset(r, 0, sizeof(*r));
    r->ps = ps;
    r->idx = idx;
    r->fd = -1;
    r->pi = SIZE_MAX;
    r->off = UINT64_MAX;
    r->blk = malloc(PS_BLOCK_MAX);
    r->raw = malloc(PS_BLOCK_PAGES * PS_PAGE);
    r->dctx = ZSTD_createDCtx();
    if (!r->blk || !r->raw || !r->dctx) {
        ps_packr_free(r);
        return xlcp_err_errno(err, ENOMEM, "page store: read buffers");
    }
    return 0;
}

void ps_packr_free(struct ps_packr *r)
{
    if (r->fd >= 0)
        close(r->fd);
    free(r->blk);
    free(r->raw);
    ZSTD_freeDCtx(r->dctx);
    memset(r, 0, sizeof(*r));
    r->fd = -1;
}

/* Reads and decodes the block at loc into r->raw. */
static int read_block(struct ps_packr *r, const struct ps_loc *loc, const char *path,
                      struct xlcp_err *err)
{
    const uint8_t *b = r->blk;
    uint32_t stored, n;
    uint8_t comp;
    int rc;

    r->off = UINT64_MAX;
    if ((rc = xlcp_x_read_full(r->fd, r->blk, loc->blen, loc->off, path, err)) != 0)
        return rc;
    n = (uint32_t)b[4] | ((uint32_t)b[5] << 8);
    comp = b[6];
    stored = ps_le32(b + 8);
    if (ps_le32(b) != BLOCK_MAGIC || n == 0 || n > PS_BLOCK_PAGES || comp > 1 || b[7] ||
        ps_le32(b + 12))
        return xlcp_err_set(err, XLCP_ECORRUPT, "bad block header");
    if ((uint64_t)PS_BLOCK_HDR + n * PS_DIG + stored > loc->blen ||
        loc->blen - (PS_BLOCK_HDR + n * PS_DIG + stored) >= 8 ||
        (comp == 0 && stored != n * PS_PAGE))
        return xlcp_err_set(err, XLCP_ECORRUPT,
                            "block of %" PRIu32 " pages, %" PRIu32 " bytes stored, in %" PRIu32
                            " bytes",
                            n, stored, loc->blen);
    if (comp == 0) {
        memcpy(r->raw, b + PS_BLOCK_HDR + n * PS_DIG, (size_t)n * PS_PAGE);
    } else {
        size_t z = ZSTD_decompressDCtx(r->dctx, r->raw, PS_BLOCK_PAGES * PS_PAGE,
                                       b + PS_BLOCK_HDR + n * PS_DIG, stored);
        if (ZSTD_isError(z))
            return xlcp_err_set(err, XLCP_ECORRUPT, "zstd: %s", ZSTD_getErrorName(z));
        if (z != (size_t)n * PS_PAGE)
            return xlcp_err_set(err, XLCP_ECORRUPT,
                                "zstd block of %" PRIu32 " pages decompressed to %zu bytes", n, z);
    }
    r->n = n;
    r->off = loc->off;
    return 0;
}

int ps_packr_page(struct ps_packr *r, const struct ps_loc *loc, uint8_t *page, struct xlcp_err *err)
{
    const struct ps_pack *p = &r->idx->packs[loc->pack];
    char path[PATH_MAX + 300], h1[17], h2[17];
    uint8_t dig[PS_DIG];
    int rc;

    ps_pack_path(r->ps, p->id, "pack", path, sizeof(path));
    if (r->pi != loc->pack) {
        if (r->fd >= 0)
            close(r->fd);
        r->pi = SIZE_MAX;
        r->off = UINT64_MAX;
        r->fd = open(path, O_RDONLY | O_CLOEXEC);
        if (r->fd < 0)
            return xlcp_err_errno(err, errno, "page store: open %s", path);
        r->pi = loc->pack;
    }
    if (r->off != loc->off && (rc = read_block(r, loc, path, err)) != 0)
        return xlcp_err_prefix(err, "pack %016" PRIx64 " block at offset %" PRIu64, p->id,
                               loc->off);
    if (loc->slot >= r->n)
        return xlcp_err_set(err, XLCP_ECORRUPT,
                            "pack %016" PRIx64 " block at offset %" PRIu64
                            ": page %u of a block of %u",
                            p->id, loc->off, (unsigned)loc->slot, r->n);
    memcpy(page, r->raw + (size_t)loc->slot * PS_PAGE, PS_PAGE);
    ps_hash_page(page, dig);
    if (memcmp(dig, loc->dig, PS_DIG) != 0 ||
        memcmp(r->blk + PS_BLOCK_HDR + (size_t)loc->slot * PS_DIG, loc->dig, PS_DIG) != 0)
        return xlcp_err_set(err, XLCP_ECORRUPT,
                            "pack %016" PRIx64 " block at offset %" PRIu64
                            " page %u: digest mismatch (indexed %s, read %s)",
                            p->id, loc->off, (unsigned)loc->slot, ps_dig_hex(loc->dig, h1),
                            ps_dig_hex(dig, h2));
    return 0;
}
