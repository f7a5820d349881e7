/*
 * api_group_ops.c - the public API of the operations on committed group checkpoints
 * (xlcheckpoint.h): list, status, verify, delete and restore, each with a report of what
 * became of every member and on which host (group_ops.h: on this host, or through the
 * agents of a group across hosts). A group across hosts needs no Xen or LVM here: the
 * adapters are opened only for a group of this host.
 */
#include "audit.h"
#include "ctx.h"
#include "group_ops.h"

#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct xlcp_group_report {
    struct xlcp_group_manifest g;
    struct xlcp_group_result res[XLCP_GROUP_MAX];
    xlcp_group_member_result out[XLCP_GROUP_MAX];
};

const char *xlcp_group_report_group(const xlcp_group_report *r)
{
    return r->g.id;
}

size_t xlcp_group_report_count(const xlcp_group_report *r)
{
    return (size_t)r->g.n;
}

const xlcp_group_member_result *xlcp_group_report_member(const xlcp_group_report *r, size_t i)
{
    return i < (size_t)r->g.n ? &r->out[i] : NULL;
}

void xlcp_group_report_free(xlcp_group_report *r)
{
    free(r);
}

/* The public view of the engine's results. */
static void publish(xlcp_group_report *r)
{
    for (int i = 0; i < r->g.n; i++) {
        const struct xlcp_group_result *e = &r->res[i];
        r->out[i] =
            (xlcp_group_member_result){e->host, e->dom_name, e->checkpoint_id, e->outcome, e->rc,
                                       e->step, e->msg,      e->domid,         e->new_name};
    }
}

/* What the operation needs here: nothing more than the catalog for a group across hosts
 * (its agents do the work), else the adapters of `need` (XLCP_AGENT_NEED_*). */
static int need_here(xlcp_ctx *ctx, const char *id_or_name, unsigned int need)
{
    struct xlcp_group_manifest *g = calloc(1, sizeof(*g));
    struct xlcp_err err;
    int rc, hosts = 0;

    if (!g)
        return XLCP_EINTERNAL;
    xlcp_err_clear(&err);
    rc = xlcp_engine_group_load(&ctx->ports, id_or_name, g, &err);
    for (int i = 0; rc == 0 && i < g->n; i++)
        hosts |= g->members[i].host[0] != '\0';
    free(g);
    if (rc) /* the operation reports it */
        return 0;
    if (hosts)
        return 0;
    if ((need & XLCP_AGENT_NEED_HV) && (rc = xlcp_api_need_hv(ctx)))
        return rc;
    if ((need & XLCP_AGENT_NEED_DISK) && (rc = xlcp_api_need_disk(ctx)))
        return rc;
    return 0;
}

enum op { OP_STATUS, OP_VERIFY, OP_DELETE, OP_RESTORE };

static int run(xlcp_ctx *ctx, enum op op, const char *id_or_name, unsigned int flags,
               const xlcp_restore_options *ropts, xlcp_group_report **out)
{
    static const unsigned int need[] = {0, XLCP_AGENT_NEED_DISK, XLCP_AGENT_NEED_DISK,
                                        XLCP_AGENT_NEED_HV | XLCP_AGENT_NEED_DISK};
    static const char *const names[] = {"group-status", "group-verify", "group-delete",
                                        "group-restore"};
    xlcp_group_report *r;
    struct xlcp_err err;
    int rc;

    if (out)
        *out = NULL;
    if ((rc = xlcp_api_usable(ctx)))
        return rc;
    if (op == OP_VERIFY && (flags & XLCP_VERIFY_NO_DISKS))
        rc = need_here(ctx, id_or_name, 0);
    else
        rc = need_here(ctx, id_or_name, need[op]);
    if (rc)
        return rc;
    r = calloc(1, sizeof(*r));
    if (!r)
        return XLCP_EINTERNAL;
    xlcp_err_clear(&err);
    if (op == OP_STATUS)
        rc = xlcp_engine_group_status(&ctx->ports, id_or_name, &r->g, r->res, &err);
    else if (op == OP_VERIFY)
        rc = xlcp_engine_group_verify(&ctx->ports, id_or_name, flags, &r->g, r->res, &err);
    else if (op == OP_DELETE)
        rc = xlcp_engine_group_delete(&ctx->ports, id_or_name, &r->g, r->res, &err);
    else
        rc = xlcp_engine_group_restore(&ctx->ports, id_or_name, ropts, &r->g, r->res, &err);
    if (op != OP_STATUS)
        xlcp_api_audit(ctx, &(struct xlcp_audit_rec){names[op], r->g.id[0] ? r->g.id : id_or_name,
                                                     NULL, NULL, rc, err.msg, -1, -1, NULL});
    publish(r);
    if (out && r->g.id[0])
        *out = r;
    else
        free(r);
    return rc ? xlcp_api_fail(ctx, &err) : 0;
}

int xlcp_group_status(xlcp_ctx *ctx, const char *id_or_name, xlcp_group_report **out)
{
    return run(ctx, OP_STATUS, id_or_name, 0, NULL, out);
}

int xlcp_group_verify_members(xlcp_ctx *ctx, const char *id_or_name, unsigned int flags,
                              xlcp_group_report **out)
{
    /* XLCP_VERIFY_ENGINE_QUICK_MAP is the engine's own (restore's), never a caller's */
    return run(ctx, OP_VERIFY, id_or_name, flags & ~XLCP_VERIFY_ENGINE_QUICK_MAP, NULL, out);
}

int xlcp_group_delete_members(xlcp_ctx *ctx, const char *id_or_name, xlcp_group_report **out)
{
    return run(ctx, OP_DELETE, id_or_name, 0, NULL, out);
}

int xlcp_group_restore_members(xlcp_ctx *ctx, const char *id_or_name,
                               const xlcp_restore_options *opts, xlcp_group_report **out)
{
    xlcp_restore_options defaults = XLCP_RESTORE_OPTIONS_INIT;

    if (opts && opts->version < XLCP_RESTORE_OPTIONS_VERSION) { /* its version's fields */
        memcpy(&defaults, opts, xlcp_restore_options_size(opts->version));
        opts = NULL;
    }
    if ((opts ? opts : &defaults)->config_json) {
        struct xlcp_err err;
        int rc = xlcp_api_usable(ctx);
        if (rc)
            return rc;
        xlcp_err_set(&err, XLCP_EINVAL,
                     "group restore: a configuration to restore with names one domain; "
                     "restore the member alone to use it");
        return xlcp_api_fail(ctx, &err);
    }
    return run(ctx, OP_RESTORE, id_or_name, 0, opts ? opts : &defaults, out);
}

int xlcp_group_verify(xlcp_ctx *ctx, const char *id_or_name, unsigned int flags)
{
    return xlcp_group_verify_members(ctx, id_or_name, flags, NULL);
}

int xlcp_group_delete(xlcp_ctx *ctx, const char *id_or_name)
{
    return xlcp_group_delete_members(ctx, id_or_name, NULL);
}

int xlcp_group_restore(xlcp_ctx *ctx, const char *id_or_name, const xlcp_restore_options *opts,
                       uint32_t *domids_out, size_t max)
{
    xlcp_group_report *r = NULL;
    int rc = xlcp_group_restore_members(ctx, id_or_name, opts, &r);

    for (size_t i = 0; rc == 0 && r && domids_out && i < xlcp_group_report_count(r) && i < max; i++)
        domids_out[i] = r->res[i].domid;
    xlcp_group_report_free(r);
    return rc;
}

int xlcp_group_list(xlcp_ctx *ctx, const char *name, char ***ids_out, size_t *count_out)
{
    struct xlcp_err err;
    char **ids = NULL;
    size_t n = 0, k = 0;
    int rc;

    if (!ids_out || !count_out)
        return XLCP_EINVAL;
    *ids_out = NULL;
    *count_out = 0;
    if ((rc = xlcp_api_usable(ctx)))
        return rc;
    xlcp_err_clear(&err);
    rc = ctx->ports.store.ops->group_list(ctx->ports.store.self, XLCP_GROUP_MANIFEST, &ids, &n,
                                          &err);
    if (rc)
        return xlcp_api_fail(ctx, &err);
    for (size_t i = 0; i < n; i++) {
        int keep = 1;
        if (name) {
            struct xlcp_group_manifest g;
            struct xlcp_err e2;
            xlcp_err_clear(&e2);
            /* an unreadable group is listed (info says why) unless a name is asked for */
            keep = xlcp_engine_group_load(&ctx->ports, ids[i], &g, &e2) == 0 &&
                   strcmp(g.name, name) == 0;
        }
        if (keep)
            ids[k++] = ids[i];
        else
            free(ids[i]);
    }
    *ids_out = ids;
    *count_out = k;
    return 0;
}
