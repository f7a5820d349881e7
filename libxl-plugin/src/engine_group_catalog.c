/*
 * engine_group_catalog.c - committed group checkpoints (load, verify, delete, restore)
 * and what group runs that died left (recover). A group's members are ordinary
 * checkpoints whose manifests carry the group's id; group.xml names them.
 */
#include "engine.h"
#include "group_manifest.h"

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

int xlcp_engine_group_verify(const struct xlcp_ports *p, const char *id_or_name, unsigned int flags,
                             struct xlcp_err *err)
{
    struct xlcp_group_manifest g;
    int rc = xlcp_engine_group_load(p, id_or_name, &g, err);

    for (int i = 0; rc == 0 && i < g.n; i++) {
        const struct xlcp_group_member *gm = &g.members[i];
        struct xlcp_manifest m;
        char dir[XLCP_PATH_MAX];

        rc = xlcp_engine_verify(p, gm->checkpoint_id, flags, err);
        if (rc == 0) {
            rc = xlcp_engine_load(p, gm->checkpoint_id, &m, dir, sizeof(dir), err);
            if (rc == 0 && (strcmp(m.group_id, g.id) != 0 || strcmp(m.dom_uuid, gm->dom_uuid)))
                rc = xlcp_err_set(err, XLCP_ECORRUPT,
                                  "checkpoint %s: its manifest names group '%s' and domain %s, "
                                  "the group expects '%s' and %s",
                                  gm->checkpoint_id, m.group_id, m.dom_uuid, g.id, gm->dom_uuid);
            xlcp_manifest_free(&m);
        }
        if (rc)
            xlcp_err_prefix(err, "member %s", gm->dom_name);
    }
    if (rc && g.id[0])
        xlcp_err_prefix(err, "group %s", g.id);
    return rc;
}

int xlcp_engine_group_delete(const struct xlcp_ports *p, const char *id_or_name,
                             struct xlcp_err *err)
{
    struct xlcp_group_manifest g;
    int rc = xlcp_engine_group_load(p, id_or_name, &g, err);

    if (rc == XLCP_ECORRUPT)
        return rc; /* its members are not known: delete them one by one */
    /* the members first: a group interrupted here is deleted again (gone members skipped) */
    for (int i = 0; rc == 0 && i < g.n; i++) {
        rc = xlcp_engine_delete(p, g.members[i].checkpoint_id, err);
        if (rc == XLCP_ENOTFOUND) {
            xlcp_err_clear(err);
            rc = 0;
        }
        if (rc)
            xlcp_err_prefix(err, "member %s", g.members[i].dom_name);
    }
    if (rc == 0)
        rc = CALL(&p->store, group_drop, XLCP_GROUP_MANIFEST, g.id, err);
    if (rc && g.id[0])
        xlcp_err_prefix(err, "group %s", g.id);
    return rc;
}

int xlcp_engine_group_restore(const struct xlcp_ports *p, const char *id_or_name,
                              const xlcp_restore_options *opts, uint32_t *domids, size_t max,
                              size_t *n_out, struct xlcp_err *err)
{
    struct xlcp_group_manifest g;
    xlcp_restore_options o;
    uint32_t got[XLCP_GROUP_MAX];
    int done = 0, rc;

    *n_out = 0;
    rc = xlcp_engine_group_load(p, id_or_name, &g, err);
    if (rc)
        return rc;
    o = *opts;
    o.new_name = NULL; /* each member: "<name>-<its checkpoint id>" */
    o.paused = 1;      /* all paused until every member is restored */
    for (int i = 0; rc == 0 && i < g.n; i++) {
        rc = xlcp_engine_restore(p, g.members[i].checkpoint_id, &o, &got[i], err);
        if (rc)
            xlcp_err_prefix(err, "member %s", g.members[i].dom_name);
        else
            done = i + 1;
    }
    /* then all together: each unpause is one hypercall, back to back */
    for (int i = 0; rc == 0 && !opts->paused && i < g.n; i++) {
        rc = CALL(&p->hv, unpause, got[i], err);
        if (rc)
            xlcp_err_prefix(err, "unpausing member %s (domid %u)", g.members[i].dom_name, got[i]);
    }
    if (rc) {
        for (int i = 0; i < done; i++) {
            struct xlcp_domain d;
            struct xlcp_err e2;
            char spec[16];
            xlcp_err_clear(&e2);
            snprintf(spec, sizeof(spec), "%u", got[i]);
            if (CALL(&p->hv, lookup, spec, &d, &e2) != 0 || CALL(&p->hv, destroy, &d, &e2) != 0)
                xlcp_err_prefix(err, "restored member domid %u left behind (%s); first error",
                                got[i], e2.msg);
        }
        return xlcp_err_prefix(err, "group %s", g.id);
    }
    for (int i = 0; i < g.n && (size_t)i < max; i++)
        domids[i] = got[i];
    *n_out = (size_t)g.n;
    return 0;
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
