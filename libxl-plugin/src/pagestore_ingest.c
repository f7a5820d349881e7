/*
 * pagestore_ingest.c - storing a memory stream in the page store as it arrives: the
 * bounded parser of stream.h checks it and hands over each unit and each page; every
 * non-page unit is kept verbatim in the map's skeleton, every page is hashed, written to
 * this ingest's pack only if the store does not hold its digest yet, and mapped by pfn.
 * A pfn sent again (a later round of a live copy) replaces its entry: the last copy wins,
 * and the map holds one entry per pfn the guest has, however often pages were resent.
 * A page resent with contents the store lacks waits in a bounded buffer with one slot per
 * pfn (opts.resend_pages) and is written only when the buffer fills or the stream ends:
 * a hot page resent in every round is written once. (The first copy of a page, from the
 * first round, is written as it comes: nothing says yet that it will be resent.)
 *
 * Commit publishes the pack(s) (fsync, then the .idx by rename) and then the map (rename):
 * killed before the map's rename, the pages stored are unreferenced and the next garbage
 * collection removes them; a pack that never got its .idx is removed the same way.
 */
#include "pagestore_int.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "stream.h"

#define PS_MAX_PFNS (1u << 28)          /* 1 TiB of guest memory */
#define PS_MAX_SKEL ((size_t)256 << 20) /* non-page records of one stream */

struct xlcp_ps_ingest {
    struct xlcp_pagestore *ps;
    char name[XLCP_PS_NAME_MAX + 1];
    int lockfd;
    struct ps_index idx;
    struct ps_packw w;
    int have_w;
    struct xlcp_stream *s;
    struct ps_map m;
    uint32_t *ptab; /* pfn -> entry index + 1 */
    size_t ptabsize;
    uint64_t pages_new;
    /* Pages resent with new contents wait here, one slot per pfn, until the buffer is full
     * or the stream ends: a pfn resent again overwrites its slot, so a page the guest keeps
     * dirtying through the rounds of a live copy is written once, in its last version. */
    uint8_t *rpages;   /* rcap pages */
    uint32_t *rent;    /* per slot: its map entry */
    uint32_t *rslot;   /* per map entry: its slot + 1, or 0 (sized like m.ents) */
    uint32_t rn, rcap; /* slots used, slots */
};

static size_t pfn_hash(uint64_t pfn)
{
    return (size_t)((pfn * 0x9e3779b97f4a7c15ull) >> 17);
}

static int ptab_grow(struct xlcp_ps_ingest *in, struct xlcp_err *err)
{
    size_t size = in->ptabsize ? in->ptabsize * 2 : 4096;
    uint32_t *t = calloc(size, sizeof(*t));

    if (!t)
        return xlcp_err_errno(err, ENOMEM, "page store: a pfn table of %zu slots", size);
    for (size_t i = 0; i < in->m.n; i++) {
        size_t h = pfn_hash(in->m.ents[i].pfnt & PS_PFN_MASK) & (size - 1);
        while (t[h])
            h = (h + 1) & (size - 1);
        t[h] = (uint32_t)(i + 1);
    }
    free(in->ptab);
    in->ptab = t;
    in->ptabsize = size;
    return 0;
}

/* The map entry of pfn, a new one if it has none. */
static int pfn_entry(struct xlcp_ps_ingest *in, uint64_t pfn, size_t *out, int *fresh,
                     struct xlcp_err *err)
{
    size_t h;
    int rc;

    if ((in->m.n + 1) * 2 > in->ptabsize && (rc = ptab_grow(in, err)) != 0)
        return rc;
    h = pfn_hash(pfn) & (in->ptabsize - 1);
    while (in->ptab[h]) {
        struct ps_ment *e = &in->m.ents[in->ptab[h] - 1];
        if ((e->pfnt & PS_PFN_MASK) == pfn) {
            *out = in->ptab[h] - 1;
            *fresh = 0;
            return 0;
        }
        h = (h + 1) & (in->ptabsize - 1);
    }
    if (in->m.n >= PS_MAX_PFNS)
        return xlcp_err_set(err, XLCP_ECORRUPT, "page store: more than %u pfns in one stream",
                            PS_MAX_PFNS);
    if (in->m.n == in->m.cap) {
        size_t cap = in->m.cap ? in->m.cap * 2 : 4096;
        struct ps_ment *v = realloc(in->m.ents, cap * sizeof(*v));
        uint32_t *s;
        if (!v)
            return xlcp_err_errno(err, ENOMEM, "page store: a map of %zu pfns", cap);
        in->m.ents = v;
        s = realloc(in->rslot, cap * sizeof(*s));
        if (!s)
            return xlcp_err_errno(err, ENOMEM, "page store: a map of %zu pfns", cap);
        in->rslot = s;
        in->m.cap = cap;
    }
    in->ptab[h] = (uint32_t)(in->m.n + 1);
    memset(&in->m.ents[in->m.n], 0, sizeof(in->m.ents[0]));
    in->rslot[in->m.n] = 0;
    *out = in->m.n++;
    *fresh = 1;
    return 0;
}

static int on_unit(void *arg, const struct xlcp_stream_unit *u, struct xlcp_err *err)
{
    struct xlcp_ps_ingest *in = arg;

    if (u->kind == XLCP_SU_LIBXC_RECORD && u->type == XLCP_LIBXC_PAGE_DATA)
        return 0; /* its pages come one by one through on_page() */
    if (u->kind == XLCP_SU_LIBXC_RECORD && u->type == XLCP_LIBXC_CHECKPOINT)
        return xlcp_err_set(err, XLCP_EUNSUPPORTED,
                            "page store: a checkpointed (Remus/COLO) stream at offset %" PRIu64,
                            u->offset);
    if (in->m.skel.len + u->raw_len > PS_MAX_SKEL)
        return xlcp_err_set(err, XLCP_ECORRUPT,
                            "page store: more than %zu bytes of non-page records (offset %" PRIu64
                            ")",
                            PS_MAX_SKEL, u->offset);
    return ps_map_unit(&in->m, u->raw, u->raw_len, err);
}

/* A page the store lacks, into the pack (created at the first). */
static int add_page(struct xlcp_ps_ingest *in, const uint8_t dig[PS_DIG], const uint8_t *page,
                    struct xlcp_err *err)
{
    int rc;

    if (ps_index_find(&in->idx, dig))
        return 0; /* two pfns with the same new page */
    if (!in->have_w) {
        if ((rc = ps_pack_create(in->ps, &in->idx, &in->w, err)) != 0)
            return rc;
        in->have_w = 1;
    }
    in->pages_new++;
    return ps_pack_add(&in->w, dig, page, err);
}

/* Writes the pages waiting in the resend buffer (their last versions) and empties it. */
static int flush_resent(struct xlcp_ps_ingest *in, struct xlcp_err *err)
{
    int rc = 0;

    for (uint32_t i = 0; i < in->rn && rc == 0; i++) {
        uint32_t ei = in->rent[i];
        if (ei == UINT32_MAX)
            continue; /* its pfn was sent again with a page the store holds */
        in->rslot[ei] = 0;
        rc = add_page(in, in->m.ents[ei].dig, in->rpages + (size_t)i * PS_PAGE, err);
    }
    in->rn = 0;
    return rc;
}

/* A pfn sent again with a page the store lacks: into its slot of the resend buffer. */
static int resent(struct xlcp_ps_ingest *in, size_t ei, const uint8_t *page, struct xlcp_err *err)
{
    uint32_t slot = in->rslot[ei];
    int rc;

    if (!slot) {
        if (in->rn == in->rcap && (rc = flush_resent(in, err)) != 0)
            return rc;
        slot = ++in->rn;
        in->rent[slot - 1] = (uint32_t)ei;
        in->rslot[ei] = slot;
    }
    memcpy(in->rpages + (size_t)(slot - 1) * PS_PAGE, page, PS_PAGE);
    return 0;
}

static int on_page(void *arg, uint64_t pfn, unsigned int type, const uint8_t *data,
                   struct xlcp_err *err)
{
    struct xlcp_ps_ingest *in = arg;
    struct ps_ment *e;
    size_t ei = 0;
    int fresh = 0, rc;

    if ((rc = pfn_entry(in, pfn, &ei, &fresh, err)) != 0)
        return rc;
    e = &in->m.ents[ei];
    e->pfnt = pfn | ((uint64_t)type << 60);
    e->gap = in->m.nunits;
    e->flags = data ? PS_ME_DATA : 0;
    memset(e->dig, 0, PS_DIG);
    if (data) {
        in->m.stats.pages_received++;
        in->m.stats.page_bytes_received += PS_PAGE;
        ps_hash_page(data, e->dig);
    }
    if (data && !ps_index_find(&in->idx, e->dig)) {
        if (!fresh && in->rcap)
            return resent(in, ei, data, err);
        rc = add_page(in, e->dig, data, err);
        if (rc)
            return rc;
    }
    if (in->rslot[ei]) { /* its waiting page is superseded */
        in->rent[in->rslot[ei] - 1] = UINT32_MAX;
        in->rslot[ei] = 0;
    }
    return 0;
}

static void ingest_free(struct xlcp_ps_ingest *in, int discard)
{
    if (in->have_w) {
        if (discard)
            ps_pack_discard(&in->w);
        else
            ps_packw_free(&in->w);
    }
    xlcp_stream_free(in->s);
    ps_index_free(&in->idx);
    ps_map_free(&in->m);
    free(in->ptab);
    free(in->rpages);
    free(in->rent);
    free(in->rslot);
    ps_unlock(in->lockfd);
    free(in);
}

int xlcp_ps_ingest_begin(struct xlcp_pagestore *ps, const char *name, struct xlcp_ps_ingest **out,
                         struct xlcp_err *err)
{
    struct xlcp_stream_cbs cbs = {NULL, on_unit, on_page};
    struct xlcp_ps_ingest *in;
    int rc;

    *out = NULL;
    if (!ps_name_ok(name))
        return xlcp_err_set(err, XLCP_EINVAL, "page store: bad map name '%s'", name ? name : "");
    in = calloc(1, sizeof(*in));
    if (!in)
        return xlcp_err_errno(err, ENOMEM, "page store: ingest");
    in->ps = ps;
    in->lockfd = -1;
    snprintf(in->name, sizeof(in->name), "%s", name);
    cbs.arg = in;
    if ((rc = ps_lock(ps, 0, 0, &in->lockfd, err)) != 0) {
        free(in);
        return xlcp_err_prefix(err, "page store: store %s", name);
    }
    if (xlcp_ps_has(ps, name))
        rc = xlcp_err_set(err, XLCP_EINVAL, "page store: map %s exists", name);
    in->rcap = ps->opts.resend_pages;
    if (rc == 0 && in->rcap) {
        in->rpages = malloc((size_t)in->rcap * PS_PAGE);
        in->rent = malloc((size_t)in->rcap * sizeof(*in->rent));
        if (!in->rpages || !in->rent)
            rc = xlcp_err_errno(err, ENOMEM, "page store: a resend buffer of %u pages", in->rcap);
    }
    if (rc == 0)
        rc = ps_index_load(ps, &in->idx, err);
    if (rc == 0)
        rc = xlcp_stream_new(NULL, &cbs, &in->s, err);
    if (rc) {
        ingest_free(in, 1);
        return rc;
    }
    *out = in;
    return 0;
}

int xlcp_ps_ingest_feed(struct xlcp_ps_ingest *in, const void *buf, size_t len,
                        struct xlcp_err *err)
{
    return xlcp_stream_feed(in->s, buf, len, err);
}

/* Seals and publishes this ingest's packs. */
static int publish_packs(struct xlcp_ps_ingest *in, struct xlcp_err *err)
{
    int rc;

    if ((rc = flush_resent(in, err)) != 0)
        return rc;
    if (!in->have_w)
        return 0;
    if ((rc = ps_pack_finish(&in->w, err)) != 0)
        return rc;
    return ps_pack_publish(&in->w, "ingest", err);
}

int xlcp_ps_ingest_commit(struct xlcp_ps_ingest *in, struct xlcp_ps_stats *st, struct xlcp_err *err)
{
    const struct xlcp_stream_info *info = xlcp_stream_get_info(in->s);
    struct xlcp_ps_stats *s = &in->m.stats;
    int rc = xlcp_stream_finish(in->s, err);

    if (rc == 0)
        rc = publish_packs(in, err);
    if (rc) {
        xlcp_err_prefix(err, "page store: store %s", in->name);
        ingest_free(in, 1);
        return rc;
    }
    in->m.domain_type = info->domain_type;
    s->stream_bytes = info->bytes;
    s->pfns = in->m.n;
    s->pfns_data = 0;
    for (size_t i = 0; i < in->m.n; i++)
        s->pfns_data += (in->m.ents[i].flags & PS_ME_DATA) != 0;
    s->pages_new = in->pages_new;
    s->bytes_stored = in->have_w ? in->w.bytes : 0;
    if ((rc = ps_fault(in->ps, "ingest-map", err)) == 0)
        rc = ps_map_write(in->ps, in->name, &in->m, "ingest-map", err);
    if (rc == 0 && st)
        *st = *s;
    if (rc)
        xlcp_err_prefix(err, "page store: store %s", in->name);
    /* published packs stay (the next collection reclaims them if the map is missing) */
    ingest_free(in, 0);
    return rc;
}

void xlcp_ps_ingest_abort(struct xlcp_ps_ingest *in)
{
    if (in)
        ingest_free(in, 1);
}

int xlcp_ps_store_fd(struct xlcp_pagestore *ps, const char *name, int fd, struct xlcp_ps_stats *st,
                     struct xlcp_err *err)
{
    enum { CHUNK = 1 << 20 };
    struct xlcp_ps_ingest *in;
    uint8_t *buf = malloc(CHUNK);
    int rc;

    if (!buf)
        return xlcp_err_errno(err, ENOMEM, "page store: read buffer");
    if ((rc = xlcp_ps_ingest_begin(ps, name, &in, err)) != 0) {
        free(buf);
        return rc;
    }
    for (;;) {
        ssize_t n = read(fd, buf, CHUNK);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0) {
            rc = xlcp_err_errno(err, errno, "page store: store %s: read", name);
            break;
        }
        if (n == 0)
            break;
        if ((rc = xlcp_ps_ingest_feed(in, buf, (size_t)n, err)) != 0) {
            xlcp_err_prefix(err, "page store: store %s", name);
            break;
        }
    }
    free(buf);
    if (rc) {
        xlcp_ps_ingest_abort(in);
        return rc;
    }
    return xlcp_ps_ingest_commit(in, st, err);
}
