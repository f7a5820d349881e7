/*
 * api_admin.c - the public API's administration calls: create's dry run (xlcp_create_plan)
 * and retention (xlcp_prune), on top of engine_plan.c and engine_prune.c.
 */
#include "audit.h"
#include "ctx.h"
#include "engine.h"

#include <stdio.h>
#include <stdlib.h>

#define fail xlcp_api_fail
#define need_hv xlcp_api_need_hv
#define need_disk xlcp_api_need_disk
#define usable xlcp_api_usable
#define audit xlcp_api_audit

int xlcp_create_plan(xlcp_ctx *ctx, const char *domain, const xlcp_create_options *opts,
                     char **report_out)
{
    xlcp_create_options defaults = XLCP_CREATE_OPTIONS_INIT;
    struct xlcp_err err;
    int rc;

    if (!report_out || !domain)
        return XLCP_EINVAL;
    *report_out = NULL;
    if ((rc = usable(ctx)) || (rc = need_hv(ctx)) || (rc = need_disk(ctx)))
        return rc;
    xlcp_err_clear(&err);
    rc = xlcp_engine_plan(&ctx->ports, domain,
                          opts ? xlcp_api_create_opts(opts, &defaults) : &defaults, report_out,
                          &err);
    return rc ? fail(ctx, &err) : 0;
}

int xlcp_prune_options_init(xlcp_prune_options *opts, unsigned int version)
{
    xlcp_prune_options init = XLCP_PRUNE_OPTIONS_INIT;

    if (!opts || version != XLCP_PRUNE_OPTIONS_VERSION)
        return XLCP_EINVAL;
    *opts = init;
    return 0;
}

void xlcp_prune_entries_free(xlcp_prune_entry *entries)
{
    free(entries);
}

int xlcp_prune(xlcp_ctx *ctx, const char *domain, const xlcp_prune_options *opts,
               xlcp_prune_entry **entries_out, size_t *count_out)
{
    struct xlcp_prune_rule rule;
    struct xlcp_prune_item *items = NULL;
    xlcp_prune_entry *e;
    struct xlcp_err err;
    size_t n = 0, ndel = 0;
    int rc;

    if (!entries_out || !count_out || !opts || opts->version != XLCP_PRUNE_OPTIONS_VERSION)
        return XLCP_EINVAL;
    *entries_out = NULL;
    *count_out = 0;
    if ((rc = usable(ctx)) || (opts->apply && (rc = need_disk(ctx))))
        return rc;
    rule.keep_last = opts->keep_last;
    rule.keep_within_s = opts->keep_within_s;
    xlcp_err_clear(&err);
    rc = xlcp_engine_prune(&ctx->ports, domain, &rule, opts->apply, &items, &n, &err);
    e = calloc(n ? n : 1, sizeof(*e));
    if (!e) {
        free(items);
        return fail(ctx, &(struct xlcp_err){XLCP_EINTERNAL, XLCP_STEP_NONE, "out of memory"});
    }
    for (size_t i = 0; i < n; i++) {
        snprintf(e[i].id, sizeof(e[i].id), "%s", items[i].id);
        snprintf(e[i].domain_name, sizeof(e[i].domain_name), "%s", items[i].dom_name);
        snprintf(e[i].domain_uuid, sizeof(e[i].domain_uuid), "%s", items[i].dom_uuid);
        snprintf(e[i].created, sizeof(e[i].created), "%s", items[i].created);
        snprintf(e[i].reason, sizeof(e[i].reason), "%s", items[i].reason);
        snprintf(e[i].error_msg, sizeof(e[i].error_msg), "%s", items[i].error);
        e[i].keep = items[i].keep;
        e[i].deleted = items[i].deleted;
        e[i].error = items[i].rc;
        if (items[i].deleted || items[i].rc)
            audit(ctx, &(struct xlcp_audit_rec){"delete", items[i].id, items[i].dom_name,
                                                items[i].dom_uuid, items[i].rc, items[i].error, -1,
                                                -1, "by=prune"});
        ndel += items[i].deleted;
    }
    if (opts->apply) {
        char extra[96];
        snprintf(extra, sizeof(extra), "keep_last=%u keep_within_s=%llu deleted=%zu considered=%zu",
                 opts->keep_last, (unsigned long long)opts->keep_within_s, ndel, n);
        audit(ctx,
              &(struct xlcp_audit_rec){"prune", NULL, domain, NULL, rc, err.msg, -1, -1, extra});
    }
    free(items);
    *entries_out = e;
    *count_out = n;
    return rc ? fail(ctx, &err) : 0;
}
