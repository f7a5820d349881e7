/*
 * pagestore_rebuild.c - a standard xl save image rebuilt from a checkpoint's map: xl's
 * header and config, the libxl stream and the libxc stream inside it, every non-page unit
 * verbatim and in its order, and at each gap between them where pages had arrived,
 * PAGE_DATA records (at most 1024 pfns each, as libxc sends them) holding each of those
 * pfns once, with its last type and page.
 *
 * What libxc's restore needs is kept: a PV guest's pfns come after the X86_PV_INFO and the
 * X86_PV_P2M_FRAMES record that covers them (a pfn goes where its last copy arrived, after
 * any P2M_FRAMES record that grew the p2m to it) and before the vcpu records; an HVM
 * guest's pages come before HVM_PARAMS and HVM_CONTEXT; after the last PAGE_DATA the
 * stream ends as it did (TSC_INFO, SHARED_INFO or HVM context, vcpus, libxc's END, libxl's
 * emulator records and END). Within a gap pages are written in the order they lie in the
 * packs, so that each block is read and decompressed once. Every page is re-hashed as it is
 * read: a corrupt page fails the rebuild, naming the map, the pfn and the pack. And every
 * byte passes through the stream parser before it is written: a map damaged in a way its
 * checksum and bounds cannot tell still never makes a malformed stream reach libxl.
 *
 * xlcp_ps_verify_map() is the same pass writing nothing: it goes on past a corrupt or
 * missing page (a page of zeros stands in for it in the stream it parses) and reports
 * each one by map, pfn and pack, so that one checkpoint's image is checked whole at the
 * cost of reading it once, whatever the rest of the store holds.
 */
#include "pagestore_int.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "export_int.h"
#include "stream.h"

#define BATCH 1024u

struct rb_page {
    const struct ps_loc *loc; /* NULL: a pfn without data, or (data set) a missing page */
    const struct ps_ment *e;
    int data;
};

struct rb {
    struct xlcp_pagestore *ps;
    const char *name;
    int fd;
    struct ps_index idx;
    struct ps_map m;
    struct ps_packr r;
    struct rb_page *pages;
    uint8_t *rec; /* one PAGE_DATA record */
    uint64_t bytes;
    struct xlcp_stream *check; /* the parser every byte goes through */
    /* verify_map: no output (fd -1); each bad page reported, the first kept */
    int verify;
    xlcp_ps_bad_fn bad;
    void *arg;
    struct xlcp_ps_verify_stats st;
    struct xlcp_err first;
};

static int cmp_page(const void *a, const void *b)
{
    const struct rb_page *x = a, *y = b;

    if (!x->loc || !y->loc)
        return (x->loc != NULL) - (y->loc != NULL);
    if (x->loc->pack != y->loc->pack)
        return x->loc->pack < y->loc->pack ? -1 : 1;
    if (x->loc->off != y->loc->off)
        return x->loc->off < y->loc->off ? -1 : 1;
    return (int)x->loc->slot - (int)y->loc->slot;
}

/* Checks bytes with the stream parser, then writes them: what goes out is a stream our
 * parser accepts, whatever a damaged (or forged) map holds. */
static int out(struct rb *b, const void *p, size_t len, struct xlcp_err *err)
{
    int rc = xlcp_stream_feed(b->check, p, len, err);

    if (rc)
        return xlcp_err_prefix(err, "map %s: the rebuilt stream", b->name);
    rc = b->verify ? 0 : xlcp_x_write_all(b->fd, p, len, XLCP_X_SEQ, "the rebuilt image", err);
    b->bytes += len;
    return rc;
}

/* verify_map: a bad page, reported; the first one's error kept. */
static void bad_page(struct rb *b, uint64_t pfn, uint64_t pack, const char *why)
{
    struct xlcp_ps_bad bad = {b->name, pfn, pack, why};

    if (b->st.bad++ == 0)
        xlcp_err_set(&b->first, XLCP_ECORRUPT, "map %s pfn %#" PRIx64 ": %s", b->name, pfn, why);
    if (b->bad)
        b->bad(b->arg, &bad);
}

/* One PAGE_DATA record of pages[0..n). */
static int batch(struct rb *b, const struct rb_page *pages, size_t n, struct xlcp_err *err)
{
    uint8_t *p = b->rec;
    size_t ndata = 0, len;
    int rc;

    for (size_t i = 0; i < n; i++)
        ndata += pages[i].data;
    len = 8 + 8 * n + PS_PAGE * ndata;
    ps_put_le32(p, XLCP_LIBXC_PAGE_DATA);
    ps_put_le32(p + 4, (uint32_t)len);
    ps_put_le32(p + 8, (uint32_t)n);
    ps_put_le32(p + 12, 0);
    p += 16 + 8 * n;
    for (size_t i = 0; i < n; i++) {
        struct xlcp_err e;
        ps_put_le64(b->rec + 16 + 8 * i, pages[i].e->pfnt);
        if (!pages[i].data)
            continue;
        xlcp_err_clear(&e);
        if (!pages[i].loc) { /* verify_map: missing, reported already */
            memset(p, 0, PS_PAGE);
        } else if ((rc = ps_packr_page(&b->r, pages[i].loc, p, &e)) != 0) {
            uint64_t pfn = pages[i].e->pfnt & PS_PFN_MASK;
            if (!b->verify) {
                *err = e;
                return xlcp_err_prefix(err, "map %s pfn %#" PRIx64, b->name, pfn);
            }
            bad_page(b, pfn, b->idx.packs[pages[i].loc->pack].id, e.msg);
            memset(p, 0, PS_PAGE);
        }
        b->st.pages++;
        p += PS_PAGE;
    }
    return out(b, b->rec, 8 + len, err);
}

/* The pages of entries ents[0..n) (one gap), in pack order. */
static int gap_pages(struct rb *b, const struct ps_ment *ents, size_t n, struct xlcp_err *err)
{
    char hex[17];
    int rc;

    for (size_t i = 0; i < n; i++) {
        char why[80];
        b->pages[i].e = &ents[i];
        b->pages[i].loc = NULL;
        b->pages[i].data = (ents[i].flags & PS_ME_DATA) != 0;
        if (!b->pages[i].data)
            continue;
        b->pages[i].loc = ps_index_find(&b->idx, ents[i].dig);
        if (b->pages[i].loc)
            continue;
        snprintf(why, sizeof(why), "page %s is not in the store", ps_dig_hex(ents[i].dig, hex));
        if (!b->verify)
            return xlcp_err_set(err, XLCP_ECORRUPT, "map %s pfn %#" PRIx64 ": %s", b->name,
                                ents[i].pfnt & PS_PFN_MASK, why);
        bad_page(b, ents[i].pfnt & PS_PFN_MASK, 0, why);
    }
    qsort(b->pages, n, sizeof(b->pages[0]), cmp_page);
    for (size_t i = 0; i < n; i += BATCH)
        if ((rc = batch(b, b->pages + i, n - i < BATCH ? n - i : BATCH, err)) != 0)
            return rc;
    return 0;
}

static int rebuild(struct rb *b, struct xlcp_err *err)
{
    size_t pos = 0, e = 0, len;
    const uint8_t *raw;
    int rc;

    b->pages = calloc(b->m.n ? b->m.n : 1, sizeof(*b->pages));
    b->rec = malloc(16 + BATCH * (8 + PS_PAGE));
    if (!b->pages || !b->rec)
        return xlcp_err_errno(err, ENOMEM, "rebuild %s", b->name);
    for (uint32_t gap = 0; gap <= b->m.nunits; gap++) {
        size_t first = e;
        while (e < b->m.n && b->m.ents[e].gap == gap)
            e++;
        if (e > first && (rc = gap_pages(b, b->m.ents + first, e - first, err)) != 0)
            return rc;
        if (gap < b->m.nunits) {
            if (!ps_map_next_unit(&b->m, &pos, &raw, &len))
                return xlcp_err_set(err, XLCP_EINTERNAL, "map %s: unit %" PRIu32 " missing",
                                    b->name, gap);
            if ((rc = out(b, raw, len, err)) != 0)
                return rc;
        }
    }
    rc = xlcp_stream_finish(b->check, err);
    return rc ? xlcp_err_prefix(err, "map %s: the rebuilt stream", b->name) : 0;
}

/* The pass over map name: writes to fd, or with verify set only checks. */
static int run(struct rb *b, struct xlcp_err *err)
{
    int lockfd = -1, rc;

    if ((rc = ps_lock(b->ps, 0, 0, &lockfd, err)) != 0)
        return rc;
    rc = ps_map_load(b->ps, b->name, &b->m, err);
    if (rc == 0)
        rc = xlcp_stream_new(NULL, NULL, &b->check, err);
    if (rc == 0 && (rc = ps_index_load(b->ps, &b->idx, err)) == 0) {
        if ((rc = ps_packr_init(&b->r, b->ps, &b->idx, err)) == 0) {
            rc = rebuild(b, err);
            ps_packr_free(&b->r);
        }
        ps_index_free(&b->idx);
    }
    b->st.maps = 1;
    b->st.pfns = b->m.n;
    ps_map_free(&b->m);
    xlcp_stream_free(b->check);
    free(b->pages);
    free(b->rec);
    ps_unlock(lockfd);
    return rc;
}

int xlcp_ps_rebuild(struct xlcp_pagestore *ps, const char *name, int fd, uint64_t *bytes,
                    struct xlcp_err *err)
{
    struct rb b;
    int rc;

    memset(&b, 0, sizeof(b));
    b.ps = ps;
    b.name = name;
    b.fd = fd;
    rc = run(&b, err);
    if (bytes)
        *bytes = b.bytes;
    return rc ? xlcp_err_prefix(err, "page store: rebuild %s", name) : 0;
}

int xlcp_ps_verify_map(struct xlcp_pagestore *ps, const char *name, xlcp_ps_bad_fn bad, void *arg,
                       struct xlcp_ps_verify_stats *st, struct xlcp_err *err)
{
    struct rb b;
    int rc;

    memset(&b, 0, sizeof(b));
    b.ps = ps;
    b.name = name;
    b.fd = -1;
    b.verify = 1;
    b.bad = bad;
    b.arg = arg;
    xlcp_err_clear(&b.first);
    rc = run(&b, err);
    if (st)
        *st = b.st;
    if (rc == 0 && b.st.bad) {
        *err = b.first;
        if (b.st.bad > 1)
            xlcp_err_prefix(err, "%" PRIu64 " bad pages, the first", b.st.bad);
        rc = XLCP_ECORRUPT;
    }
    return rc ? xlcp_err_prefix(err, "page store: verify %s", name) : 0;
}
