/*
 * engine_group_restore.c - `restore --group`: every member of a group checkpoint brought
 * back, on one host (here) or across hosts (group_coord_restore.c drives the agents, each
 * of which runs its host's members here with a link):
 *
 *   each member restored paused beside its original (engine_restore.c: begin), checked
 *   first to be this group's -> [link: "restored", the coordinator's "commit"]
 *   -> the originals replaced (--replace) -> [link: "committed", its "unpause"]
 *   -> every member unpaused, back to back (unless --paused).
 *
 * No member runs before every member is restored; no original is touched before every
 * member is restored. A failure before the originals are touched destroys every domain
 * made so far (only while it is the one made: domid, name and uuid) and its volumes.
 */
#include "engine.h"
#include "group_ops.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Each member made: destroyed again (outcome "undone"; what could not be undone is said);
 * replaced ones are kept, paused (their originals are gone). The member whose failure
 * this is (failed) keeps its outcome. */
static void undo_all(struct xlcp_restore_run *runs, size_t made, struct xlcp_group_result *res,
                     size_t failed, struct xlcp_err *err)
{
    for (size_t i = made; i-- > 0;) {
        struct xlcp_err e2;
        xlcp_err_clear(&e2);
        if (runs[i].replaced) {
            if (i != failed)
                xlcp_group_result_set(&res[i], runs[i].paused ? "kept" : "running", 0, "", NULL);
            continue;
        }
        xlcp_engine_restore_undo(&runs[i], &e2);
        if (e2.msg[0]) /* a domain or a volume left behind: said */
            xlcp_err_prefix(err, "%s", e2.msg);
        if (i == failed)
            continue;
        if (e2.msg[0])
            xlcp_group_result_set(&res[i], "failed", XLCP_EHV, "undo", e2.msg);
        else
            xlcp_group_result_set(&res[i], "undone", 0, "", NULL);
    }
}

static void made(struct xlcp_group_result *r, const struct xlcp_restore_run *run)
{
    r->domid = run->made.domid;
    snprintf(r->new_name, sizeof(r->new_name), "%s", run->made.name);
    xlcp_group_result_set(r, run->paused ? "paused" : "running", 0, "", NULL);
}

int xlcp_engine_group_restore_run(const struct xlcp_ports *p, const char *gid,
                                  const char *const *ids, const char *const *uuids, size_t n,
                                  const xlcp_restore_options *opts,
                                  const struct xlcp_group_restore_link *link,
                                  struct xlcp_group_result *res, struct xlcp_err *err)
{
    struct xlcp_restore_run *runs = calloc(n ? n : 1, sizeof(*runs));
    xlcp_restore_options o = *opts;
    size_t nmade = 0, failed = n;
    int rc = 0, unpause = !opts->paused;

    xlcp_err_clear(err);
    if (!runs)
        return xlcp_err_set(err, XLCP_EINTERNAL, "out of memory");
    o.new_name = NULL; /* each member: "<name>-<its checkpoint id>", or its original's */
    for (size_t i = 0; i < n; i++)
        xlcp_group_result_set(&res[i], "not-restored", 0, "", NULL);
    /* 1. every member made, paused; the originals untouched */
    for (size_t i = 0; i < n && rc == 0; i++) {
        rc = xlcp_engine_group_member(p, XLCP_MEMBER_STATUS, gid, uuids[i], ids[i], 0, &res[i]);
        if (rc) {
            xlcp_err_set(err, rc, "%s", res[i].msg);
        } else if ((rc = xlcp_engine_restore_begin(p, ids[i], &o, 1, &runs[i], err)) != 0) {
            xlcp_group_result_set(&res[i], "failed", rc, "restore", err->msg);
        } else {
            nmade = i + 1;
            made(&res[i], &runs[i]);
        }
        if (rc)
            failed = i;
    }
    if (rc == 0 && link)
        rc = link->restored(link->self, res, n, err);
    /* 2. only now the originals (--replace) */
    for (size_t i = 0; i < n && rc == 0; i++) {
        rc = xlcp_engine_restore_replace(&runs[i], err);
        if (rc) {
            xlcp_err_prefix(err, "restore of checkpoint %s", ids[i]);
            xlcp_group_result_set(&res[i], runs[i].replaced ? "kept" : "failed", rc, "replace",
                                  err->msg);
            failed = i;
        }
    }
    if (rc == 0 && link)
        rc = link->committed(link->self, &unpause, err);
    /* 3. all run together: each unpause is one hypercall, back to back */
    for (size_t i = 0; i < n && rc == 0 && unpause; i++) {
        rc = xlcp_engine_restore_unpause(&runs[i], err);
        if (rc) {
            xlcp_err_prefix(err, "unpausing member %s (domid %u)", runs[i].made.name,
                            runs[i].made.domid);
            xlcp_group_result_set(&res[i], "failed", rc, "unpause", err->msg);
            failed = i;
        }
    }
    if (rc) {
        undo_all(runs, nmade, res, failed, err);
    } else {
        for (size_t i = 0; i < n; i++)
            made(&res[i], &runs[i]);
    }
    for (size_t i = 0; i < nmade; i++)
        xlcp_engine_restore_end(&runs[i]);
    free(runs);
    return rc;
}

int xlcp_engine_group_restore(const struct xlcp_ports *p, const char *id_or_name,
                              const xlcp_restore_options *opts, struct xlcp_group_manifest *g,
                              struct xlcp_group_result *res, struct xlcp_err *err)
{
    const char *ids[XLCP_GROUP_MAX], *uuids[XLCP_GROUP_MAX];
    int rc, hosts = 0;

    if (!opts || opts->version < 1 || opts->version > XLCP_RESTORE_OPTIONS_VERSION)
        return xlcp_err_set(err, XLCP_EINVAL, "restore options of unknown version");
    rc = xlcp_engine_group_load(p, id_or_name, g, err);
    if (rc)
        return rc;
    xlcp_group_results_init(g, res);
    for (int i = 0; i < g->n; i++) {
        ids[i] = g->members[i].checkpoint_id;
        uuids[i] = g->members[i].dom_uuid;
        hosts |= g->members[i].host[0] != '\0';
    }
    if (hosts || g->nhosts > 0)
        rc = xlcp_engine_hosts_restore(p, g, opts, res, err);
    else
        rc =
            xlcp_engine_group_restore_run(p, g->id, ids, uuids, (size_t)g->n, opts, NULL, res, err);
    /* the member that failed, with its host, domain and step; else the cause as it is */
    if (rc && xlcp_group_results_error(g, res, NULL, err) == 0)
        xlcp_err_prefix(err, "group '%s' (%s)", g->name, g->id);
    return rc;
}
