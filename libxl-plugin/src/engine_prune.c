/*
 * engine_prune.c - retention: which checkpoints of a domain to keep, and deleting the rest.
 *
 * Rules, per domain (grouped by uuid, so a renamed domain keeps one history):
 *   - the newest checkpoint is always kept;
 *   - keep_last N keeps the N newest;
 *   - keep_within S keeps those created less than S seconds ago (by the clock port);
 *   - a member of a group checkpoint is kept: a group is deleted as a whole, never a
 *     member at a time;
 *   - a checkpoint whose manifest cannot be read is kept and reported (verify tells why):
 *     we cannot know its domain, its age, or what needs it.
 * Everything else is pruned; with apply it is deleted (xlcp_engine_delete: the domain's
 * lock, its snapshots, then its directory), without apply only reported. A failed delete
 * does not stop the others; the first failure is returned after all were tried.
 */
#include "engine.h"
#include "engine_run.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

/* Seconds since the epoch of an ISO 8601 UTC time as manifests write it; -1 if malformed. */
static int64_t iso_epoch(const char *s)
{
    struct tm tm;
    int y, mo, d, h, mi, sec;

    if (sscanf(s, "%4d-%2d-%2dT%2d:%2d:%2d", &y, &mo, &d, &h, &mi, &sec) != 6)
        return -1;
    memset(&tm, 0, sizeof(tm));
    tm.tm_year = y - 1900;
    tm.tm_mon = mo - 1;
    tm.tm_mday = d;
    tm.tm_hour = h;
    tm.tm_min = mi;
    tm.tm_sec = sec;
    return (int64_t)timegm(&tm);
}

static int matches(const struct xlcp_manifest *m, const char *domain)
{
    return !domain || strcmp(m->dom_name, domain) == 0 || strcmp(m->dom_uuid, domain) == 0;
}

static int by_domain_then_newest(const void *a, const void *b)
{
    const struct xlcp_prune_item *x = a, *y = b;
    int c = strcmp(x->dom_uuid, y->dom_uuid);

    if (c)
        return c;
    return strcmp(y->id, x->id); /* ids sort by creation time: newest first */
}

/* Decides keep/prune for items[0..n) sorted by domain, newest first. */
static void decide(struct xlcp_prune_item *items, size_t n, const struct xlcp_prune_rule *rule,
                   int64_t now_s)
{
    size_t rank = 0;

    for (size_t i = 0; i < n; i++) {
        struct xlcp_prune_item *it = &items[i];
        if (it->unreadable)
            continue; /* already decided: kept */
        rank = (i > 0 && strcmp(items[i - 1].dom_uuid, it->dom_uuid) == 0) ? rank + 1 : 0;
        it->keep = 1;
        if (rank == 0)
            snprintf(it->reason, sizeof(it->reason), "newest of its domain");
        else if (rule->keep_last && rank < rule->keep_last)
            snprintf(it->reason, sizeof(it->reason), "one of the %u newest", rule->keep_last);
        else if (rule->keep_within_s && it->created_s >= 0 &&
                 now_s - it->created_s < (int64_t)rule->keep_within_s)
            snprintf(it->reason, sizeof(it->reason), "younger than %llu s",
                     (unsigned long long)rule->keep_within_s);
        else if (it->group_id[0])
            snprintf(it->reason, sizeof(it->reason), "member of group %s (delete the group)",
                     it->group_id);
        else {
            it->keep = 0;
            snprintf(it->reason, sizeof(it->reason), "%s",
                     rule->keep_within_s ? "older than the rules keep" : "beyond the newest kept");
        }
    }
}

int xlcp_engine_prune(const struct xlcp_ports *p, const char *domain,
                      const struct xlcp_prune_rule *rule, int apply,
                      struct xlcp_prune_item **items_out, size_t *n_out, struct xlcp_err *err)
{
    struct xlcp_prune_item *items = NULL;
    char **ids = NULL;
    size_t nids = 0, n = 0;
    int rc, first_rc = 0;
    struct xlcp_err first;

    xlcp_err_clear(err);
    xlcp_err_clear(&first);
    *items_out = NULL;
    *n_out = 0;
    if (!rule->keep_last && !rule->keep_within_s)
        return xlcp_err_set(err, XLCP_EINVAL,
                            "prune: no rule given (keep-last or keep-within): it would keep "
                            "only the newest checkpoint of each domain");
    rc = CALL(&p->store, list, NULL, &ids, &nids, err);
    if (rc)
        return xlcp_err_prefix(err, "prune");
    items = calloc(nids ? nids : 1, sizeof(*items));
    if (!items) {
        rc = xlcp_err_set(err, XLCP_EINTERNAL, "prune: out of memory");
        goto out;
    }
    for (size_t i = 0; i < nids; i++) {
        struct xlcp_manifest m;
        char dir[XLCP_PATH_MAX];
        struct xlcp_err lerr;
        struct xlcp_prune_item *it = &items[n];

        xlcp_err_clear(&lerr);
        if (xlcp_engine_load(p, ids[i], &m, dir, sizeof(dir), &lerr) != 0) {
            xlcp_manifest_free(&m);
            if (domain)
                continue; /* its domain is unknown: not one of the domain's */
            snprintf(it->id, sizeof(it->id), "%s", ids[i]);
            it->unreadable = 1;
            it->keep = 1;
            it->created_s = -1;
            snprintf(it->reason, sizeof(it->reason), "manifest unreadable (see verify)");
            n++;
            continue;
        }
        if (matches(&m, domain)) {
            snprintf(it->id, sizeof(it->id), "%s", m.id);
            snprintf(it->dom_name, sizeof(it->dom_name), "%s", m.dom_name);
            snprintf(it->dom_uuid, sizeof(it->dom_uuid), "%s", m.dom_uuid);
            snprintf(it->created, sizeof(it->created), "%s", m.created);
            snprintf(it->group_id, sizeof(it->group_id), "%s", m.group_id);
            it->created_s = iso_epoch(m.created);
            n++;
        }
        xlcp_manifest_free(&m);
    }
    qsort(items, n, sizeof(*items), by_domain_then_newest);
    decide(items, n, rule, p->clock.ops->wall_ns(p->clock.self) / 1000000000);
    for (size_t i = 0; apply && i < n; i++) {
        struct xlcp_err derr;
        if (items[i].keep)
            continue;
        xlcp_err_clear(&derr);
        items[i].rc = xlcp_engine_delete(p, items[i].id, &derr);
        if (items[i].rc == 0) {
            items[i].deleted = 1;
            continue;
        }
        snprintf(items[i].error, sizeof(items[i].error), "%s", derr.msg);
        if (!first_rc) {
            first_rc = items[i].rc;
            first = derr;
        }
    }
    *items_out = items;
    *n_out = n;
    items = NULL;
    if (first_rc) {
        *err = first;
        rc = xlcp_err_prefix(err, "prune");
    }
out:
    free(items);
    for (size_t i = 0; i < nids; i++)
        free(ids[i]);
    free(ids);
    return rc;
}
