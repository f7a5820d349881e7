/*
 * pagestore_index.c - the page store's index: digest -> (pack, offset, length, slot).
 *
 * Each sealed pack has an index file <id>.idx beside it, written once and renamed into
 * place: that rename publishes the pack (a pack without one is an unfinished write, which
 * the garbage collector removes). In memory the index is the union of all .idx files in one
 * open-addressing table. A digest may be held by several packs (two ingests that ran at
 * once, or a collection killed after it copied pages): the copy in the newest pack (the
 * largest id) is canonical, so that a collection killed half way is finished by the next.
 *
 * <id>.idx: "XLCPIDX1", le32 version 1, le32 0, le64 pack id, le64 count, le64 pack size,
 * le64 0, count entries (16-byte digest, le64 block offset, le32 block length, le16 slot,
 * le16 0), le64 XXH3-64 of everything before it.
 */
#include "pagestore_int.h"

#include <dirent.h>
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <xxhash.h>

#define IDX_MAGIC "XLCPIDX1"
#define IDX_HDR 48u
#define IDX_ENT 32u
#define IDX_MAX (512u << 20)

void ps_pack_path(const struct xlcp_pagestore *ps, uint64_t id, const char *ext, char *out,
                  size_t len)
{
    snprintf(out, len, "%s/%016" PRIx64 ".%s", ps->packs, id, ext);
}

void ps_index_free(struct ps_index *idx)
{
    free(idx->packs);
    free(idx->ents);
    free(idx->tab);
    memset(idx, 0, sizeof(*idx));
}

static size_t dig_hash(const uint8_t d[PS_DIG])
{
    return (size_t)ps_le64(d); /* digests are uniformly distributed */
}

static int tab_grow(struct ps_index *idx, struct xlcp_err *err)
{
    size_t size = idx->tabsize ? idx->tabsize * 2 : 1024;
    uint32_t *t = calloc(size, sizeof(*t));

    if (!t)
        return xlcp_err_errno(err, ENOMEM, "page store index: a table of %zu slots", size);
    for (size_t i = 0; i < idx->tabsize; i++) {
        uint32_t v = idx->tab[i];
        size_t h;
        if (!v)
            continue;
        h = dig_hash(idx->ents[v - 1].dig) & (size - 1);
        while (t[h])
            h = (h + 1) & (size - 1);
        t[h] = v;
    }
    free(idx->tab);
    idx->tab = t;
    idx->tabsize = size;
    return 0;
}

/* The slot of d's canonical entry, or the empty slot where it would go. */
static size_t tab_slot(const struct ps_index *idx, const uint8_t d[PS_DIG])
{
    size_t mask = idx->tabsize - 1, h = dig_hash(d) & mask;

    while (idx->tab[h] && memcmp(idx->ents[idx->tab[h] - 1].dig, d, PS_DIG) != 0)
        h = (h + 1) & mask;
    return h;
}

const struct ps_loc *ps_index_find(const struct ps_index *idx, const uint8_t dig[PS_DIG])
{
    size_t h;

    if (!idx->tabsize)
        return NULL;
    h = tab_slot(idx, dig);
    return idx->tab[h] ? &idx->ents[idx->tab[h] - 1] : NULL;
}

int ps_index_is_canonical(const struct ps_index *idx, size_t ei)
{
    const struct ps_loc *c = ps_index_find(idx, idx->ents[ei].dig);
    return c == &idx->ents[ei];
}

int ps_index_add_pack(struct ps_index *idx, uint64_t id, size_t *pi, struct xlcp_err *err)
{
    if (idx->npacks == idx->cappacks) {
        size_t cap = idx->cappacks ? idx->cappacks * 2 : 16;
        struct ps_pack *p = realloc(idx->packs, cap * sizeof(*p));
        if (!p)
            return xlcp_err_errno(err, ENOMEM, "page store index");
        idx->packs = p;
        idx->cappacks = cap;
    }
    memset(&idx->packs[idx->npacks], 0, sizeof(idx->packs[0]));
    idx->packs[idx->npacks].id = id;
    idx->packs[idx->npacks].first = idx->nents;
    if (id > idx->max_id)
        idx->max_id = id;
    *pi = idx->npacks++;
    return 0;
}

int ps_index_add(struct ps_index *idx, const struct ps_loc *loc, size_t *ei, struct xlcp_err *err)
{
    struct ps_pack *p = &idx->packs[loc->pack];
    size_t h;
    int rc;

    if (idx->nents >= UINT32_MAX - 1)
        return xlcp_err_set(err, XLCP_EINVAL, "page store index: too many pages");
    if (p->first + p->n != idx->nents)
        return xlcp_err_set(err, XLCP_EINTERNAL, "page store index: pack entries interleaved");
    if (idx->nents == idx->capents) {
        size_t cap = idx->capents ? idx->capents * 2 : 4096;
        struct ps_loc *e = realloc(idx->ents, cap * sizeof(*e));
        if (!e)
            return xlcp_err_errno(err, ENOMEM, "page store index: %zu entries", cap);
        idx->ents = e;
        idx->capents = cap;
    }
    if ((idx->nents + 1) * 2 > idx->tabsize && (rc = tab_grow(idx, err)) != 0)
        return rc;
    idx->ents[idx->nents] = *loc;
    h = tab_slot(idx, loc->dig);
    if (!idx->tab[h] || idx->packs[idx->ents[idx->tab[h] - 1].pack].id < p->id)
        idx->tab[h] = (uint32_t)(idx->nents + 1);
    *ei = idx->nents++;
    p->n++;
    return 0;
}

/* Parses one .idx file's bytes for pack id. */
static int load_one(struct ps_index *idx, uint64_t id, const char *path, const uint8_t *b,
                    size_t len, struct xlcp_err *err)
{
    uint64_t count, psize;
    size_t pi, ei;
    int rc;

    if (len < IDX_HDR + 8 || memcmp(b, IDX_MAGIC, 8) != 0)
        return xlcp_err_set(err, XLCP_ECORRUPT, "index %s: not an index file", path);
    if (ps_le64(b + len - 8) != XXH3_64bits(b, len - 8))
        return xlcp_err_set(err, XLCP_ECORRUPT, "index %s: checksum mismatch", path);
    count = ps_le64(b + 24);
    psize = ps_le64(b + 32);
    if (ps_le32(b + 8) != 1 || ps_le64(b + 16) != id)
        return xlcp_err_set(err, XLCP_ECORRUPT, "index %s: version %u, pack id %#" PRIx64, path,
                            ps_le32(b + 8), ps_le64(b + 16));
    if (count > (len - IDX_HDR - 8) / IDX_ENT || IDX_HDR + count * IDX_ENT + 8 != len)
        return xlcp_err_set(err, XLCP_ECORRUPT, "index %s: %" PRIu64 " entries in %zu bytes", path,
                            count, len);
    if ((rc = ps_index_add_pack(idx, id, &pi, err)) != 0)
        return rc;
    idx->packs[pi].size = psize;
    idx->packs[pi].published = 1;
    for (uint64_t i = 0; i < count; i++) {
        const uint8_t *e = b + IDX_HDR + i * IDX_ENT;
        struct ps_loc loc;
        memcpy(loc.dig, e, PS_DIG);
        loc.off = ps_le64(e + 16);
        loc.blen = ps_le32(e + 24);
        loc.slot = (uint16_t)(e[28] | (e[29] << 8));
        loc.rsv = 0;
        loc.pack = (uint32_t)pi;
        if (loc.off < PS_PACK_HDR || loc.off % 8 || loc.blen < PS_BLOCK_HDR + PS_DIG ||
            loc.blen > PS_BLOCK_MAX || loc.blen % 8 || loc.off > psize ||
            loc.blen > psize - loc.off || loc.slot >= PS_BLOCK_PAGES || e[30] || e[31])
            return xlcp_err_set(err, XLCP_ECORRUPT,
                                "index %s: entry %" PRIu64 " (offset %" PRIu64 ", length %" PRIu32
                                ", slot %u) out of bounds for a pack of %" PRIu64 " bytes",
                                path, i, loc.off, loc.blen, (unsigned)loc.slot, psize);
        if ((rc = ps_index_add(idx, &loc, &ei, err)) != 0)
            return rc;
    }
    return 0;
}

/* "<16 hex>.<ext>": its id, or -1. */
static int parse_name(const char *name, const char *ext, uint64_t *id)
{
    size_t el = strlen(ext);
    uint64_t v = 0;

    if (strlen(name) != 17 + el || name[16] != '.' || strcmp(name + 17, ext) != 0)
        return -1;
    for (int i = 0; i < 16; i++) {
        char c = name[i];
        int d = c >= '0' && c <= '9' ? c - '0' : c >= 'a' && c <= 'f' ? c - 'a' + 10 : -1;
        if (d < 0)
            return -1;
        v = v << 4 | (uint64_t)d;
    }
    *id = v;
    return 0;
}

int ps_index_load(struct xlcp_pagestore *ps, struct ps_index *idx, struct xlcp_err *err)
{
    DIR *d = opendir(ps->packs);
    struct dirent *e;
    int rc = 0;

    memset(idx, 0, sizeof(*idx));
    if (!d)
        return xlcp_err_errno(err, errno, "page store: open %s", ps->packs);
    while (rc == 0 && (e = readdir(d)) != NULL) {
        char path[PATH_MAX + 300];
        uint8_t *b;
        size_t len;
        uint64_t id;
        if (parse_name(e->d_name, "pack", &id) == 0) {
            if (id > idx->max_id)
                idx->max_id = id;
            continue;
        }
        if (parse_name(e->d_name, "idx", &id) != 0)
            continue;
        snprintf(path, sizeof(path), "%s/%s", ps->packs, e->d_name);
        if ((rc = ps_read_file(path, IDX_MAX, &b, &len, err)) != 0)
            break;
        rc = load_one(idx, id, path, b, len, err);
        free(b);
    }
    closedir(d);
    if (rc)
        ps_index_free(idx);
    return rc;
}

int ps_index_write(struct xlcp_pagestore *ps, struct ps_index *idx, size_t pi, const char *step,
                   struct xlcp_err *err)
{
    const struct ps_pack *p = &idx->packs[pi];
    size_t len = IDX_HDR + p->n * IDX_ENT + 8;
    char name[40];
    uint8_t *b = calloc(1, len);
    int rc;

    if (!b)
        return xlcp_err_errno(err, ENOMEM, "%s: index of %zu bytes", step, len);
    memcpy(b, IDX_MAGIC, 8);
    ps_put_le32(b + 8, 1);
    ps_put_le64(b + 16, p->id);
    ps_put_le64(b + 24, p->n);
    ps_put_le64(b + 32, p->size);
    for (size_t i = 0; i < p->n; i++) {
        const struct ps_loc *l = &idx->ents[p->first + i];
        uint8_t *e = b + IDX_HDR + i * IDX_ENT;
        memcpy(e, l->dig, PS_DIG);
        ps_put_le64(e + 16, l->off);
        ps_put_le32(e + 24, l->blen);
        e[28] = (uint8_t)l->slot;
        e[29] = (uint8_t)(l->slot >> 8);
    }
    ps_put_le64(b + len - 8, XXH3_64bits(b, len - 8));
    snprintf(name, sizeof(name), "%016" PRIx64 ".idx", p->id);
    rc = ps_write_atomic(ps, ps->packs, name, b, len, step, err);
    free(b);
    if (rc == 0)
        idx->packs[pi].published = 1;
    return rc;
}
