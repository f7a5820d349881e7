/*
 * pagestore_verify.c - checks the whole page store: every page of every published pack is
 * read back, decompressed and re-hashed against its digest; every map is read (checksum,
 * bounds) and each of its pfns is looked up. Each problem is reported by pfn and pack
 * through the caller's callback: a corrupt page once per map and pfn that use it (and once
 * with no map if none does), a map that cannot be read, a pfn whose page is missing.
 */
#include "pagestore_int.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct bad_page {
    size_t ei;
    char why[XLCP_ERR_MSG_MAX];
};

struct vf {
    struct xlcp_pagestore *ps;
    struct ps_index idx;
    uint8_t *bad;          /* per entry: 1 if its page is corrupt */
    uint8_t *used;         /* per entry: a map uses it */
    struct bad_page *list; /* the corrupt pages, with why */
    size_t nlist;
    xlcp_ps_bad_fn fn;
    void *arg;
    struct xlcp_ps_verify_stats st;
    struct xlcp_err first;
};

static void report(struct vf *v, const char *map, uint64_t pfn, uint64_t pack, const char *why)
{
    struct xlcp_ps_bad b = {map, pfn, pack, why};

    if (v->st.bad++ == 0) {
        if (map)
            xlcp_err_set(&v->first, XLCP_ECORRUPT, "map %s pfn %#" PRIx64 ": %s", map, pfn, why);
        else
            xlcp_err_set(&v->first, XLCP_ECORRUPT, "%s", why);
    }
    if (v->fn)
        v->fn(v->arg, &b);
}

static int check_packs(struct vf *v, struct xlcp_err *err)
{
    struct ps_packr r;
    uint8_t *page = malloc(PS_PAGE);
    int rc;

    if (!page)
        return xlcp_err_errno(err, ENOMEM, "verify");
    if ((rc = ps_packr_init(&r, v->ps, &v->idx, err)) != 0) {
        free(page);
        return rc;
    }
    for (size_t pi = 0; pi < v->idx.npacks; pi++) {
        const struct ps_pack *p = &v->idx.packs[pi];
        v->st.packs++;
        for (size_t ei = p->first; ei < p->first + p->n; ei++) {
            struct xlcp_err e;
            struct bad_page *nl;
            v->st.pages++;
            xlcp_err_clear(&e);
            if (ps_packr_page(&r, &v->idx.ents[ei], page, &e) == 0)
                continue;
            v->bad[ei] = 1;
            nl = realloc(v->list, (v->nlist + 1) * sizeof(*nl));
            if (!nl) {
                rc = xlcp_err_errno(err, ENOMEM, "verify");
                break;
            }
            v->list = nl;
            nl[v->nlist].ei = ei;
            snprintf(nl[v->nlist].why, sizeof(nl[0].why), "%s", e.msg);
            v->nlist++;
        }
    }
    ps_packr_free(&r);
    free(page);
    return rc;
}

static const char *why_of(const struct vf *v, size_t ei)
{
    for (size_t i = 0; i < v->nlist; i++)
        if (v->list[i].ei == ei)
            return v->list[i].why;
    return "corrupt";
}

static int check_one(void *arg, const char *map, const struct ps_ment *e, const struct ps_loc *loc,
                     const char *problem, struct xlcp_err *err)
{
    struct vf *v = arg;
    size_t ei;
    (void)err;

    if (!loc) {
        report(v, map, e ? e->pfnt & PS_PFN_MASK : 0, 0, problem);
        return 0;
    }
    ei = (size_t)(loc - v->idx.ents);
    v->used[ei] = 1;
    if (v->bad[ei])
        report(v, map, e->pfnt & PS_PFN_MASK, v->idx.packs[loc->pack].id, why_of(v, ei));
    return 0;
}

int xlcp_ps_verify(struct xlcp_pagestore *ps, xlcp_ps_bad_fn bad, void *arg,
                   struct xlcp_ps_verify_stats *st, struct xlcp_err *err)
{
    struct vf v;
    int lockfd = -1, rc;

    memset(&v, 0, sizeof(v));
    v.ps = ps;
    v.fn = bad;
    v.arg = arg;
    xlcp_err_clear(&v.first);
    if ((rc = ps_lock(ps, 0, 0, &lockfd, err)) != 0)
        return xlcp_err_prefix(err, "page store: verify");
    if ((rc = ps_index_load(ps, &v.idx, err)) == 0) {
        v.bad = calloc(v.idx.nents ? v.idx.nents : 1, 1);
        v.used = calloc(v.idx.nents ? v.idx.nents : 1, 1);
        if (!v.bad || !v.used)
            rc = xlcp_err_errno(err, ENOMEM, "verify");
    }
    if (rc == 0)
        rc = check_packs(&v, err);
    if (rc == 0)
        rc = ps_map_each(ps, &v.idx, check_one, &v, &v.st.maps, &v.st.pfns, err);
    for (size_t i = 0; rc == 0 && i < v.nlist; i++)
        if (!v.used[v.list[i].ei])
            report(&v, NULL, 0, v.idx.packs[v.idx.ents[v.list[i].ei].pack].id, v.list[i].why);
    ps_index_free(&v.idx);
    free(v.bad);
    free(v.used);
    free(v.list);
    ps_unlock(lockfd);
    if (st)
        *st = v.st;
    if (rc == 0 && v.st.bad) {
        *err = v.first;
        rc = XLCP_ECORRUPT;
    }
    return rc ? xlcp_err_prefix(err, "page store: verify") : 0;
}
