/*
 * engine_group_catalog.c - committed group checkpoints: load, and status, verify and
 * delete member by member (here, or through each member's host's agent: group_ops.h),
 * and what group runs that died left (recover). A group's members are ordinary
 * checkpoints whose manifests carry the group's id; group.xml names them.
 */
#include "engine.h"
#include "group_manifest.h"
#include "group_ops.h"

#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define CALL(port, op, ...) ((port)->ops->op((port)->self, __VA_ARGS__))

static int load_id(const struct xlcp_ports *p, const char *gid, struct xlcp_group_manifest *g,
                   struct xlcp_err *err)
{
    char *xml = NULL;
    char what[XLCP_ID_MAX + 32];
    int rc = CALL(&p->store, group_get, XLCP_GROUP_MANIFEST, gid, &xml, err);

    if (rc)
        return rc;
    snprintf(what, sizeof(what), "group %s", gid);
    rc = xlcp_group_manifest_parse(xml, what, g, err);
    free(xml);
    if (rc == 0 && strcmp(g->id, gid) != 0)
        rc = xlcp_err_set(err, XLCP_ECORRUPT, "group %s: holds id '%s'", gid, g->id);
    return rc;
}

int xlcp_engine_group_load(const struct xlcp_ports *p, const char *id_or_name,
                           struct xlcp_group_manifest *g, struct xlcp_err *err)
{
    char **ids = NULL, found[XLCP_ID_MAX] = "";
    size_t n = 0;
    int matches = 0, rc;

    xlcp_err_clear(err);
    if (!id_or_name || !*id_or_name)
        return xlcp_err_set(err, XLCP_EINVAL, "no group given");
    if (xlcp_engine_id_ok(id_or_name)) {
        rc = load_id(p, id_or_name, g, err);
        if (rc != XLCP_ENOTFOUND)
            return rc;
        xlcp_err_clear(err);
    }
    rc = CALL(&p->store, group_list, XLCP_GROUP_MANIFEST, &ids, &n, err);
    if (rc)
        return rc;
    for (size_t i = 0; i < n; i++) {
        struct xlcp_group_manifest one;
        struct xlcp_err e2;
        xlcp_err_clear(&e2);
        if (load_id(p, ids[i], &one, &e2) == 0 && strcmp(one.name, id_or_name) == 0) {
            matches++;
            snprintf(found, sizeof(found), "%s", ids[i]);
        }
    }
    for (size_t i = 0; i < n; i++)
        free(ids[i]);
    free(ids);
    if (matches == 0)
        return xlcp_err_set(err, XLCP_ENOTFOUND, "no group checkpoint '%s'", id_or_name);
    if (matches > 1)
        return xlcp_err_set(err, XLCP_EINVAL,
                            "%d group checkpoints are named '%s': give the id (list --groups)",
                            matches, id_or_name);
    return load_id(p, found, g, err);
}

/* ---- member by member ------------------------------------------------------------- */

const char *xlcp_member_op_name(enum xlcp_member_op op)
{
    return op == XLCP_MEMBER_VERIFY ? "verify" : op == XLCP_MEMBER_DELETE ? "delete" : "status";
}

void xlcp_group_result_set(struct xlcp_group_result *r, const char *outcome, int rc,
                           const char *step, const char *msg)
{
    snprintf(r->outcome, sizeof(r->outcome), "%s", outcome);
    r->rc = rc;
    snprintf(r->step, sizeof(r->step), "%s", rc ? step : "");
    snprintf(r->msg, sizeof(r->msg), "%s", rc && msg ? msg : "");
}

void xlcp_group_results_init(const struct xlcp_group_manifest *g, struct xlcp_group_result *res)
{
    for (int i = 0; i < g->n; i++) {
        memset(&res[i], 0, sizeof(res[i]));
        snprintf(res[i].host, sizeof(res[i].host), "%s", g->members[i].host);
        snprintf(res[i].dom_name, sizeof(res[i].dom_name), "%s", g->members[i].dom_name);
        snprintf(res[i].checkpoint_id, sizeof(res[i].checkpoint_id), "%s",
                 g->members[i].checkpoint_id);
    }
}

int xlcp_group_results_error(const struct xlcp_group_manifest *g,
                             const struct xlcp_group_result *res, const char *what,
                             struct xlcp_err *err)
{
    int first = -1, others = 0;

    for (int i = 0; i < g->n; i++)
        if (res[i].rc && first < 0)
            first = i;
        else if (res[i].rc)
            others++;
    if (first < 0)
        return 0;
    xlcp_err_set(err, res[first].rc, "group '%s' (%s): %s%s%s%s%sdomain '%s' step %s: %s", g->name,
                 g->id, what ? what : "", what ? ": " : "", res[first].host[0] ? "host " : "",
                 res[first].host, res[first].host[0] ? ": " : "", res[first].dom_name,
                 res[first].step, res[first].msg);
    if (others)
        snprintf(err->msg + strlen(err->msg), sizeof(err->msg) - strlen(err->msg),
                 " (and %d other member%s)", others, others > 1 ? "s" : "");
    return res[first].rc;
}

int xlcp_engine_group_member(const struct xlcp_ports *p, enum xlcp_member_op op, const char *gid,
                             const char *uuid, const char *id, unsigned int flags,
                             struct xlcp_group_result *res)
{
    const char *step = xlcp_member_op_name(op);
    struct xlcp_manifest m;
    char dir[XLCP_PATH_MAX];
    struct xlcp_err e;
    int rc;

    xlcp_err_clear(&e);
    if (!xlcp_engine_id_ok(id)) {
        xlcp_group_result_set(res, "failed", XLCP_EINVAL, step, "not a checkpoint id");
        return res->rc;
    }
    rc = xlcp_engine_load(p, id, &m, dir, sizeof(dir), &e);
    if (rc == 0 && (strcmp(m.group_id, gid) != 0 || strcmp(m.dom_uuid, uuid) != 0)) {
        /* not this group's: never touched */
        xlcp_err_set(&e, XLCP_ECORRUPT,
                     "checkpoint %s: its manifest names group '%s' and domain %s, the group "
                     "expects '%s' and %s: not touched",
                     id, m.group_id, m.dom_uuid, gid, uuid);
        xlcp_manifest_free(&m);
        xlcp_group_result_set(res, "refused", XLCP_ECORRUPT, step, e.msg);
        return res->rc;
    }
    xlcp_manifest_free(&m);
    if (rc == XLCP_ENOTFOUND) {
        if (op == XLCP_MEMBER_DELETE) {
            xlcp_group_result_set(res, "gone", 0, step, NULL); /* a delete interrupted before */
            return 0;
        }
        xlcp_err_set(&e, XLCP_ENOTFOUND, "checkpoint %s is not in the catalog", id);
        xlcp_group_result_set(res, "missing", XLCP_ENOTFOUND, step, e.msg);
        return res->rc;
    }
    /* an unreadable manifest: its id is the group's, in our catalog; delete removes it
     * (and the volumes tagged with its id), status and verify report it */
    if (rc && !(rc == XLCP_ECORRUPT && op == XLCP_MEMBER_DELETE)) {
        xlcp_group_result_set(res, "failed", rc, step, e.msg);
        return rc;
    }
    if (op == XLCP_MEMBER_VERIFY)
        rc = xlcp_engine_verify(p, id, flags, &e);
    else if (op == XLCP_MEMBER_DELETE)
        rc = xlcp_engine_delete(p, id, &e);
    else
        rc = 0;
    if (rc == XLCP_ENOTFOUND && op == XLCP_MEMBER_DELETE)
        rc = 0; /* deleted meanwhile */
    if (rc)
        xlcp_group_result_set(res, "failed", rc, step, e.msg);
    else
        xlcp_group_result_set(res,
                              op == XLCP_MEMBER_VERIFY   ? "ok"
                              : op == XLCP_MEMBER_DELETE ? "deleted"
                                                         : "present",
                              0, step, NULL);
    return rc;
}

/* Members on other hosts: their agents are asked. */
static int across_hosts(const struct xlcp_group_manifest *g)
{
    for (int i = 0; i < g->n; i++)
        if (g->members[i].host[0])
            return 1;
    return g->nhosts > 0;
}

int xlcp_engine_group_members(const struct xlcp_ports *p, const struct xlcp_group_manifest *g,
                              enum xlcp_member_op op, unsigned int flags,
                              struct xlcp_group_result *res, struct xlcp_err *err)
{
    if (across_hosts(g))
        return xlcp_engine_hosts_members(p, g, op, flags, res, err);
    for (int i = 0; i < g->n; i++)
        xlcp_engine_group_member(p, op, g->id, g->members[i].dom_uuid, g->members[i].checkpoint_id,
                                 flags, &res[i]);
    return 0;
}

static int load_and_ask(const struct xlcp_ports *p, const char *id_or_name, enum xlcp_member_op op,
                        unsigned int flags, struct xlcp_group_manifest *g,
                        struct xlcp_group_result *res, struct xlcp_err *err)
{
    int rc = xlcp_engine_group_load(p, id_or_name, g, err);

    if (rc)
        return rc;
    xlcp_group_results_init(g, res);
    rc = xlcp_engine_group_members(p, g, op, flags, res, err);
    return rc ? xlcp_err_prefix(err, "group '%s' (%s)", g->name, g->id) : 0;
}

int xlcp_engine_group_status(const struct xlcp_ports *p, const char *id_or_name,
                             struct xlcp_group_manifest *g, struct xlcp_group_result *res,
                             struct xlcp_err *err)
{
    return load_and_ask(p, id_or_name, XLCP_MEMBER_STATUS, 0, g, res, err);
}

int xlcp_engine_group_verify(const struct xlcp_ports *p, const char *id_or_name, unsigned int flags,
                             struct xlcp_group_manifest *g, struct xlcp_group_result *res,
                             struct xlcp_err *err)
{
    int rc = load_and_ask(p, id_or_name, XLCP_MEMBER_VERIFY, flags, g, res, err);

    return rc ? rc : xlcp_group_results_error(g, res, NULL, err);
}

/* All or report: the group file goes only once every member is deleted (or was gone);
 * else it stays, naming them all, and a later delete --group finishes the job. */
int xlcp_engine_group_delete(const struct xlcp_ports *p, const char *id_or_name,
                             struct xlcp_group_manifest *g, struct xlcp_group_result *res,
                             struct xlcp_err *err)
{
    int rc = load_and_ask(p, id_or_name, XLCP_MEMBER_DELETE, 0, g, res, err);
    int left = 0;

    if (rc)
        return rc; /* unreadable: its members are not known; delete them one by one */
    for (int i = 0; i < g->n; i++)
        left += res[i].rc != 0;
    if (left) {
        char what[160];
        snprintf(what, sizeof(what),
                 "%d of %d members not deleted, the group is kept (delete --group again to "
                 "finish)",
                 left, g->n);
        return xlcp_group_results_error(g, res, what, err);
    }
    rc = CALL(&p->store, group_drop, XLCP_GROUP_MANIFEST, g->id, err);
    return rc ? xlcp_err_prefix(err, "group '%s' (%s): every member deleted", g->name, g->id) : 0;
}

/* ---- what group runs that died left --------------------------------------------- */

static int writer_gone(long pid)
{
    if (pid <= 0 || pid == (long)getpid())
        return 1;
    return kill((pid_t)pid, 0) != 0 && errno == ESRCH;
}

/* One group record: deletes the member checkpoints a dead, uncommitted run committed. */
static int recover_one(const struct xlcp_ports *p, const char *gid, unsigned int flags,
                       char **report, unsigned int *count, struct xlcp_err *err)
{
    int dry = (flags & XLCP_RECOVER_DRY_RUN) != 0;
    char *text = NULL, *line, *save = NULL;
    struct xlcp_group_manifest g;
    struct xlcp_err e2;
    long pid = 0;
    int committed, rc;

    rc = CALL(&p->store, group_get, XLCP_GROUP_INTENT, gid, &text, err);
    if (rc)
        return rc == XLCP_ENOTFOUND ? (xlcp_err_clear(err), 0) : rc;
    line = strstr(text, "\npid ");
    if (line)
        pid = strtol(line + 5, NULL, 10);
    if (!writer_gone(pid)) {
        free(text);
        return 0; /* a group run under way */
    }
    if (count)
        (*count)++;
    xlcp_err_clear(&e2);
    committed = load_id(p, gid, &g, &e2) == 0;
    xlcp_engine_say(report, "group %s: intent record of a run that died (pid %ld)%s", gid, pid,
                    committed ? ", group committed" : ", group not committed");
    for (line = strtok_r(text, "\n", &save); !committed && rc == 0 && line;
         line = strtok_r(NULL, "\n", &save)) {
        char uuid[XLCP_UUID_LEN + 2], id[XLCP_ID_MAX], dir[XLCP_PATH_MAX];
        struct xlcp_store_lock *lock = NULL;
        if (sscanf(line, "member %37s %63s", uuid, id) != 2 || !xlcp_engine_id_ok(id))
            continue;
        xlcp_err_clear(&e2);
        if (CALL(&p->store, locate, id, dir, sizeof(dir), &e2) != 0)
            continue; /* never committed: the member's own record undoes it */
        xlcp_engine_say(report, "  member checkpoint %s (domain %s): %s", id, uuid,
                        dry ? "would delete" : "delete");
        if (dry)
            continue;
        rc = CALL(&p->store, lock, uuid, &lock, err);
        if (rc == 0) {
            rc = xlcp_engine_delete_locked(p, id, err);
            p->store.ops->unlock(p->store.self, lock);
        }
    }
    free(text);
    if (rc == 0 && !dry) {
        rc = CALL(&p->store, group_drop, XLCP_GROUP_INTENT, gid, err);
        if (rc == 0)
            xlcp_engine_say(report, "  record removed");
    }
    return rc ? xlcp_err_prefix(err, "group %s", gid) : 0;
}

int xlcp_engine_group_recover(const struct xlcp_ports *p, unsigned int flags, char **report,
                              unsigned int *count, struct xlcp_err *err)
{
    char **ids = NULL;
    size_t n = 0;
    int first = 0, rc;

    rc = CALL(&p->store, group_list, XLCP_GROUP_INTENT, &ids, &n, err);
    if (rc)
        return rc;
    for (size_t i = 0; i < n; i++) {
        struct xlcp_err e1;
        xlcp_err_clear(&e1);
        rc = recover_one(p, ids[i], flags, report, count, &e1);
        if (rc && !first) {
            *err = e1;
            first = rc;
        }
        free(ids[i]);
    }
    free(ids);
    return first;
}
