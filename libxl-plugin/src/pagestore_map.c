/*
 * pagestore_map.c - one checkpoint's map in the page store: the stream's non-page units
 * verbatim (xl's header and config, libxl's and libxc's headers, every record that is not
 * PAGE_DATA, in their order) and one entry per pfn: its PAGE_DATA type, the digest of its
 * last copy, and the gap between non-page units where that copy arrived (rebuild puts it
 * back there: a PV stream's pfns are only valid after the X86_PV_P2M_FRAMES record that
 * covers them).
 *
 * maps/<name>.map: "XLCPMAP1", le32 version 1, le32 domain type, le32 unit count, le32 0,
 * le64 skeleton length, le64 entry count, 8 le64 statistics (struct xlcp_ps_stats), le64 0;
 * the skeleton (per unit: le32 length, le32 0, its bytes, zero padding to 8); the entries
 * sorted by (gap, pfn) (le64 pfn | type << 60, le32 gap, le32 flags, 16-byte digest); le64
 * XXH3-64 of everything before it. Written to a .tmp and renamed: a map is whole or absent.
 */
#include "pagestore_int.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <xxhash.h>

#define MAP_MAGIC "XLCPMAP1"
#define MAP_HDR 112u
#define MAP_ENT 32u
#define MAP_NSTATS 8
#define MAP_MAX ((size_t)1 << 34)

void ps_map_free(struct ps_map *m)
{
    free(m->skel.p);
    free(m->ents);
    memset(m, 0, sizeof(*m));
}

int ps_map_unit(struct ps_map *m, const uint8_t *raw, size_t len, struct xlcp_err *err)
{
    static const uint8_t zero[8];
    uint8_t h[8];
    int rc;

    if (len > UINT32_MAX || m->nunits == UINT32_MAX)
        return xlcp_err_set(err, XLCP_EINVAL, "page store map: unit of %zu bytes", len);
    ps_put_le32(h, (uint32_t)len);
    ps_put_le32(h + 4, 0);
    if ((rc = ps_buf_put(&m->skel, h, 8, err)) != 0 ||
        (rc = ps_buf_put(&m->skel, raw, len, err)) != 0 ||
        (rc = ps_buf_put(&m->skel, zero, (8 - len % 8) % 8, err)) != 0)
        return rc;
    m->nunits++;
    return 0;
}

int ps_map_next_unit(const struct ps_map *m, size_t *pos, const uint8_t **raw, size_t *len)
{
    size_t n;

    if (*pos + 8 > m->skel.len)
        return 0;
    n = ps_le32(m->skel.p + *pos); /* bounded when loaded */
    *raw = m->skel.p + *pos + 8;
    *len = n;
    *pos += 8 + n + (8 - n % 8) % 8;
    return 1;
}

static int cmp_ent(const void *a, const void *b)
{
    const struct ps_ment *x = a, *y = b;
    uint64_t px = x->pfnt & PS_PFN_MASK, py = y->pfnt & PS_PFN_MASK;

    if (x->gap != y->gap)
        return x->gap < y->gap ? -1 : 1;
    return px < py ? -1 : px > py;
}

static void stats_put(uint8_t *p, const struct xlcp_ps_stats *s)
{
    const uint64_t v[MAP_NSTATS] = {s->stream_bytes, s->pages_received, s->page_bytes_received,
                                    s->pfns,         s->pfns_data,      s->pages_new,
                                    s->bytes_stored, s->map_bytes};
    for (int i = 0; i < MAP_NSTATS; i++)
        ps_put_le64(p + 8 * i, v[i]);
}

static void stats_get(const uint8_t *p, struct xlcp_ps_stats *s)
{
    uint64_t *v[MAP_NSTATS] = {&s->stream_bytes, &s->pages_received, &s->page_bytes_received,
                               &s->pfns,         &s->pfns_data,      &s->pages_new,
                               &s->bytes_stored, &s->map_bytes};
    for (int i = 0; i < MAP_NSTATS; i++)
        *v[i] = ps_le64(p + 8 * i);
}

int ps_map_write(struct xlcp_pagestore *ps, const char *name, struct ps_map *m, const char *step,
                 struct xlcp_err *err)
{
    size_t len, off;
    char fname[XLCP_PS_NAME_MAX + 8];
    uint8_t *b;
    int rc;

    if (m->n > (MAP_MAX - MAP_HDR - 8 - m->skel.len) / MAP_ENT)
        return xlcp_err_set(err, XLCP_EINVAL, "%s: map of %zu entries too large", step, m->n);
    if (m->n)
        qsort(m->ents, m->n, sizeof(m->ents[0]), cmp_ent);
    len = MAP_HDR + m->skel.len + m->n * MAP_ENT + 8;
    b = calloc(1, len);
    if (!b)
        return xlcp_err_errno(err, ENOMEM, "%s: map of %zu bytes", step, len);
    m->stats.map_bytes = len;
    memcpy(b, MAP_MAGIC, 8);
    ps_put_le32(b + 8, 1);
    ps_put_le32(b + 12, m->domain_type);
    ps_put_le32(b + 16, m->nunits);
    ps_put_le64(b + 24, m->skel.len);
    ps_put_le64(b + 32, m->n);
    stats_put(b + 40, &m->stats);
    if (m->skel.len)
        memcpy(b + MAP_HDR, m->skel.p, m->skel.len);
    off = MAP_HDR + m->skel.len;
    for (size_t i = 0; i < m->n; i++, off += MAP_ENT) {
        ps_put_le64(b + off, m->ents[i].pfnt);
        ps_put_le32(b + off + 8, m->ents[i].gap);
        ps_put_le32(b + off + 12, m->ents[i].flags);
        memcpy(b + off + 16, m->ents[i].dig, PS_DIG);
    }
    ps_put_le64(b + off, XXH3_64bits(b, off));
    snprintf(fname, sizeof(fname), "%s.map", name);
    rc = ps_write_atomic(ps, ps->maps, fname, b, len, step, err);
    free(b);
    return rc;
}

/* 1 if a PAGE_DATA type carries data, 0 if not, -1 if reserved. */
static int type_data(unsigned t)
{
    if (t <= 4 || (t >= 9 && t <= 0xc))
        return 1;
    return t >= 0xd ? 0 : -1;
}

static int load_skel(struct ps_map *m, const uint8_t *s, uint64_t slen, uint32_t nunits,
                     const char *path, struct xlcp_err *err)
{
    uint64_t pos = 0;
    uint32_t n = 0;

    while (pos < slen) {
        uint64_t len;
        if (slen - pos < 8 || n == nunits)
            return xlcp_err_set(err, XLCP_ECORRUPT,
                                "map %s: skeleton unit %" PRIu32 " at offset %" PRIu64 " overruns",
                                path, n, pos);
        len = ps_le32(s + pos);
        if (ps_le32(s + pos + 4) || len + ((8 - len % 8) % 8) > slen - pos - 8)
            return xlcp_err_set(err, XLCP_ECORRUPT,
                                "map %s: skeleton unit %" PRIu32 " of %" PRIu64
                                " bytes at offset %" PRIu64 " overruns",
                                path, n, len, pos);
        pos += 8 + len + (8 - len % 8) % 8;
        n++;
    }
    if (n != nunits)
        return xlcp_err_set(err, XLCP_ECORRUPT,
                            "map %s: %" PRIu32 " skeleton units, the header says %" PRIu32, path, n,
                            nunits);
    m->nunits = nunits;
    return ps_buf_put(&m->skel, s, (size_t)slen, err);
}

static int load_ents(struct ps_map *m, const uint8_t *e, uint64_t n, const char *path,
                     struct xlcp_err *err)
{
    m->ents = calloc(n ? n : 1, sizeof(*m->ents));
    if (!m->ents)
        return xlcp_err_errno(err, ENOMEM, "map %s: %" PRIu64 " entries", path, n);
    m->cap = n;
    for (uint64_t i = 0; i < n; i++, e += MAP_ENT) {
        struct ps_ment *x = &m->ents[i];
        int d;
        x->pfnt = ps_le64(e);
        x->gap = ps_le32(e + 8);
        x->flags = ps_le32(e + 12);
        memcpy(x->dig, e + 16, PS_DIG);
        d = type_data((unsigned)(x->pfnt >> 60));
        if (((x->pfnt >> 52) & 0xff) || d < 0 || x->flags != (d ? PS_ME_DATA : 0) ||
            x->gap > m->nunits)
            return xlcp_err_set(err, XLCP_ECORRUPT,
                                "map %s: entry %" PRIu64 " (pfn %#" PRIx64 ", gap %" PRIu32
                                ", flags %#" PRIx32 ") is invalid",
                                path, i, x->pfnt & PS_PFN_MASK, x->gap, x->flags);
        if (i && cmp_ent(&m->ents[i - 1], x) >= 0)
            return xlcp_err_set(err, XLCP_ECORRUPT,
                                "map %s: entry %" PRIu64 " (pfn %#" PRIx64 ") out of order", path,
                                i, x->pfnt & PS_PFN_MASK);
        m->n = i + 1;
    }
    return 0;
}

static int each_of(const struct ps_map *m, const char *name, const struct ps_index *idx,
                   ps_each_fn fn, void *arg, struct xlcp_err *err)
{
    for (size_t j = 0; j < m->n; j++) {
        const struct ps_ment *e = &m->ents[j];
        const struct ps_loc *loc;
        char hex[17], why[80] = "";
        int rc;
        if (!(e->flags & PS_ME_DATA))
            continue;
        loc = ps_index_find(idx, e->dig);
        if (!loc)
            snprintf(why, sizeof(why), "page %s is not in the store", ps_dig_hex(e->dig, hex));
        if ((rc = fn(arg, name, e, loc, loc ? NULL : why, err)) != 0)
            return rc;
    }
    return 0;
}

int ps_map_each(struct xlcp_pagestore *ps, const struct ps_index *idx, ps_each_fn fn, void *arg,
                uint64_t *nmaps, uint64_t *npfns, struct xlcp_err *err)
{
    char **names;
    size_t n;
    int rc = xlcp_ps_list(ps, &names, &n, err);

    if (rc)
        return rc;
    for (size_t i = 0; i < n && rc == 0; i++) {
        struct ps_map m;
        struct xlcp_err e;
        xlcp_err_clear(&e);
        if (nmaps)
            (*nmaps)++;
        if ((rc = ps_map_load(ps, names[i], &m, &e)) != 0) {
            /* one released since the list was read needs nothing */
            rc = rc == XLCP_ENOTFOUND ? 0 : fn(arg, names[i], NULL, NULL, e.msg, err);
            continue;
        }
        if (npfns)
            *npfns += m.n;
        rc = each_of(&m, names[i], idx, fn, arg, err);
        ps_map_free(&m);
    }
    for (size_t i = 0; i < n; i++)
        free(names[i]);
    free(names);
    return rc;
}

int ps_map_load(struct xlcp_pagestore *ps, const char *name, struct ps_map *m, struct xlcp_err *err)
{
    char path[PATH_MAX + 300];
    uint64_t slen, n;
    uint8_t *b;
    size_t len;
    int rc;

    memset(m, 0, sizeof(*m));
    if (!ps_name_ok(name))
        return xlcp_err_set(err, XLCP_EINVAL, "page store: bad map name '%s'", name ? name : "");
    snprintf(path, sizeof(path), "%s/%s.map", ps->maps, name);
    if ((rc = ps_read_file(path, MAP_MAX, &b, &len, err)) != 0)
        return rc;
    rc = XLCP_ECORRUPT;
    if (len < MAP_HDR + 8 || memcmp(b, MAP_MAGIC, 8) != 0)
        xlcp_err_set(err, rc, "map %s: not a page store map", path);
    else if (ps_le64(b + len - 8) != XXH3_64bits(b, len - 8))
        xlcp_err_set(err, rc, "map %s: checksum mismatch", path);
    else if (ps_le32(b + 8) != 1 || ps_le32(b + 20) || ps_le64(b + 104))
        xlcp_err_set(err, rc, "map %s: version %" PRIu32 " or reserved fields", path,
                     ps_le32(b + 8));
    else
        rc = 0;
    if (rc)
        goto out;
    m->domain_type = ps_le32(b + 12);
    slen = ps_le64(b + 24);
    n = ps_le64(b + 32);
    if ((m->domain_type != 1 && m->domain_type != 2) || slen > len - MAP_HDR - 8 ||
        n > (len - MAP_HDR - 8 - slen) / MAP_ENT || MAP_HDR + slen + n * MAP_ENT + 8 != len) {
        rc = xlcp_err_set(err, XLCP_ECORRUPT,
                          "map %s: domain type %" PRIu32 ", %" PRIu64 " skeleton bytes and %" PRIu64
                          " entries in %zu bytes",
                          path, m->domain_type, slen, n, len);
        goto out;
    }
    stats_get(b + 40, &m->stats);
    if ((rc = load_skel(m, b + MAP_HDR, slen, ps_le32(b + 16), path, err)) == 0)
        rc = load_ents(m, b + MAP_HDR + slen, n, path, err);
out:
    free(b);
    if (rc)
        ps_map_free(m);
    return rc;
}
